"""Window statistics of one series at many steps at once, for the pattern engine's catch-up.

Opening a run evaluates each rule at a few hundred logged points one by one (``engine._run``):
the same rolling median, robust scale, robust z and Theil–Sen trend of a series are asked for at
every one of those steps, each on a 20–50-point window, and each call paid numpy's per-call
overhead (issue 11: this was most of the catch-up). A :class:`WindowStats` is made for one
catch-up: the first time a statistic of a series is asked for, it is computed for *every* prefix
length the catch-up will ask about, as rows of one matrix, and later steps read the answer.

Results are identical to the one-window functions in :mod:`rltui.model.stats`, bit for bit: the
rows hold the same numbers in the same order, so the same floating-point operations run on them
(``np.partition`` along rows is the 1-D selection applied to each row). Only the common case is
batched — a full window of finite values whose scale needs no fallback; any other row (NaN in
the window, a constant window, a slope that overflowed) is left out of the table and the caller
computes it with the one-window function, as before. A live refresh (one new step) never
batches: below :data:`MIN_BATCH` prefixes the tables stay empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rltui.model import stats
from rltui.model.store import MetricStore
from rltui.records import FloatArray

#: Fewer prefixes than this to answer: compute each on its own (what a live refresh does).
MIN_BATCH = 16
_MIN_POINTS = 5  # context.MIN_POINTS: med/sig need five points (not imported: context imports us)

Table = dict[int, Any]


def _rows_median(m: FloatArray) -> FloatArray:
    """Per row, exactly :func:`stats.median` of that row (no NaN in ``m``)."""
    k = m.shape[1]
    h = k // 2
    p = np.array(m, dtype=np.float64)
    if k % 2:
        p.partition(h, axis=1)
        out: FloatArray = p[:, h].copy()
        return out
    p.partition((h - 1, h), axis=1)
    mid: FloatArray = (p[:, h - 1] + p[:, h]) / 2.0
    return mid


def _rows_center_scale(m: FloatArray) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Per row (median, 1.4826*MAD, whether that scale is usable as is); rows need the fallbacks
    of :func:`stats.robust_center_scale` where it is not (they are left to it)."""
    med = _rows_median(m)
    scale = stats.MAD_TO_SIGMA * _rows_median(np.abs(m - med[:, None]))
    return med, scale, (scale > 0.0) & np.isfinite(scale)


def _rows_theil_sen(m: FloatArray) -> tuple[FloatArray, np.ndarray]:
    """Per row, :func:`stats.theil_sen` of a finite row, and whether every pairwise slope was finite
    (a row whose slopes overflowed is left to the one-window function)."""
    k = m.shape[1]
    i, j, d = stats._pairs(k)
    with np.errstate(all="ignore"):
        slopes = (m[:, j] - m[:, i]) / d
    ok = np.isfinite(slopes).all(axis=1)
    slopes[~ok] = 0.0  # placeholders: those rows are not used
    return _rows_median(slopes), ok


class WindowStats:
    """The batched statistics of one catch-up over ``store`` at the (sorted, unique) ``steps``."""

    def __init__(self, store: MetricStore, steps: np.ndarray) -> None:
        self.store = store
        self.steps = steps
        self._tables: dict[tuple[str, str, int, int], Table] = {}

    def get(self, what: str, name: str, n: int, long: int, count: int, one: Callable[[], Any]) -> Any:
        """The statistic ``what`` of series ``name`` over its first ``count`` points (window ``n``,
        ``long`` for trends), from the table, or ``one()`` where the table has no answer."""
        key = (what, name, n, long)
        table = self._tables.get(key)
        if table is None:
            table = self._build(what, name, n, long)
            self._tables[key] = table
        value = table.get(count, _MISSING)
        return one() if value is _MISSING else value

    def _build(self, what: str, name: str, n: int, long: int) -> Table:
        s = self.store.get(name)
        if s is None or len(self.steps) < MIN_BATCH:
            return {}
        counts = np.unique(np.searchsorted(s.steps, self.steps, side="right"))
        if len(counts) < MIN_BATCH:
            return {}
        values = np.asarray(s.values, dtype=np.float64)
        # Huge values overflow in differences exactly as in the one-window functions; those rows
        # are left to them (not finite, or no usable scale), without a warning on the terminal.
        with np.errstate(all="ignore"):
            if what in ("med", "lvl", "sig"):
                return _window_table(what, values, counts, n)
            if what == "rz":
                return _rz_table(values, counts, n)
            if what == "trend":
                return _trend_table(values, counts, n, long)
        return {}


_MISSING = object()


def _full_rows(values: FloatArray, counts: np.ndarray, width: int) -> tuple[np.ndarray, FloatArray]:
    """The prefixes (counts) with at least ``width`` points whose last ``width`` are all finite,
    and those windows as rows."""
    counts = counts[counts >= width]
    if width <= 0 or len(counts) == 0 or len(values) < width:
        return counts[:0], np.empty((0, max(width, 0)))
    rows = np.lib.stride_tricks.sliding_window_view(values, width)[counts - width]
    finite = np.isfinite(rows).all(axis=1)
    return counts[finite], rows[finite]


def _window_table(what: str, values: FloatArray, counts: np.ndarray, n: int) -> Table:
    """Context.med / lvl / sig: over the finite values among the last ``n`` points."""
    if n < (1 if what == "lvl" else _MIN_POINTS):
        return {}
    got, rows = _full_rows(values, counts, n)
    if len(got) == 0:
        return {}
    if what == "sig":
        _, scale, ok = _rows_center_scale(rows)
        return {int(c): float(v) for c, v, good in zip(got, scale, ok, strict=True) if good}
    med = _rows_median(rows)
    return {int(c): float(v) for c, v in zip(got, med, strict=True)}


def _rz_table(values: FloatArray, counts: np.ndarray, n: int) -> Table:
    """Context.rz: the newest point against the ``n`` before it (stats.robust_z_last)."""
    if n < stats.MIN_HISTORY:
        return {}
    got, rows = _full_rows(values, counts, n + 1)
    if len(got) == 0:
        return {}
    med, scale, ok = _rows_center_scale(rows[:, :-1])
    with np.errstate(all="ignore"):
        z = (rows[:, -1] - med) / scale
    return {int(c): float(v) for c, v, good in zip(got, z, ok, strict=True) if good}


def _trend_table(values: FloatArray, counts: np.ndarray, short: int, long: int) -> Table:
    """Context.trend: direction over ``short`` points, acceleration over ``long`` (stats.trend)."""
    width = max(short, long)
    half = long // 2
    if short < stats.MIN_HISTORY or half < 5 or long - half < 5:
        return {}
    got, rows = _full_rows(values, counts, width)
    if len(got) == 0:
        return {}
    w = rows[:, width - short :]
    slope, ok = _rows_theil_sen(w)
    _, scale, ok_scale = _rows_center_scale(w)
    lp = rows[:, width - long :]
    s1, ok1 = _rows_theil_sen(lp[:, :half])
    s2, ok2 = _rows_theil_sen(lp[:, half:])
    good = ok & ok_scale & ok1 & ok2
    out: Table = {}
    for c, sl, sc, a, b, g in zip(got, slope, scale, s1, s2, good, strict=True):
        if not g:
            continue
        slope_f = float(sl)
        out[int(c)] = stats.TrendReading(
            stats.direction_of(slope_f, short, float(sc)), slope_f, *stats.accel_of(float(a), float(b))
        )
    return out
