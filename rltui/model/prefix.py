"""Numbers over a whole series, kept up to date in O(new points) while a run only appends.

Why: a live refresh must not cost more at step 500k than at step 20k (issue 11). Min, max and
the non-finite count of every series (``check --json``'s ``metrics`` map), the run's wall-clock
range, a rate derived from consecutive points: each is a fold over the points, so when the
series only grew (:attr:`Series.rewrites` unchanged, same :class:`Series` object) the cached
state is folded over the new points and is exactly what a pass over the whole series gives. Any
other change (a resume, a replaced value) recomputes from scratch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from rltui.model.store import Series
from rltui.records import FloatArray

S = TypeVar("S")


@dataclass(slots=True)
class _Entry(Generic[S]):
    series: Series
    rewrites: int
    n: int
    state: S


class PrefixFolds:
    """Per key, a state folded over ``series[0:n]``; :meth:`get` extends it to ``len(series)``.

    ``fold(state, series, lo, hi)`` returns the state over the first ``hi`` points given the state
    over the first ``lo`` (``state`` is None when ``lo`` is 0). It must treat the points it is given
    exactly as a single pass would, which folds such as min, max, counts and elementwise maps do.
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Entry[Any]] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> PrefixFolds:
        """A cache: a copy (a replay checkpoint of the engine) starts empty instead of copying the
        series it refers to."""
        return PrefixFolds()

    def get(self, key: str, series: Series, fold: Callable[[S | None, Series, int, int], S]) -> S:
        n = len(series)
        e = self._entries.get(key)
        if e is not None and e.series is series and e.rewrites == series.rewrites and e.n <= n:
            if e.n < n:
                e.state = fold(e.state, series, e.n, n)
                e.n = n
            cached: S = e.state  # the entry for this key was made by this fold
            return cached
        state = fold(None, series, 0, n)
        self._entries[key] = _Entry(series, series.rewrites, n, state)
        return state


@dataclass(frozen=True, slots=True)
class Summary:
    """Finite min and max (None when no finite value), non-finite count, finite wall-time range."""

    vmin: float | None
    vmax: float | None
    nonfinite: int
    wmin: float | None
    wmax: float | None


def _lo(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _hi(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _range(a: FloatArray) -> tuple[float | None, float | None, int]:
    ok = a[np.isfinite(a)]
    if len(ok) == 0:
        return None, None, len(a)
    return float(ok.min()), float(ok.max()), len(a) - len(ok)


def fold_summary(state: Summary | None, series: Series, lo: int, hi: int) -> Summary:
    vmin, vmax, bad = _range(series.values[lo:hi])
    wmin, wmax, _ = _range(series.wall_times[lo:hi])
    if state is None:
        return Summary(vmin, vmax, bad, wmin, wmax)
    return Summary(
        _lo(state.vmin, vmin),
        _hi(state.vmax, vmax),
        state.nonfinite + bad,
        _lo(state.wmin, wmin),
        _hi(state.wmax, wmax),
    )


class Growing:
    """A growable array (amortised O(1) appends). Full buffers are replaced, never written again
    below ``n``, so a slice handed out earlier (a trace in a snapshot) keeps its values."""

    __slots__ = ("_buf", "n")

    def __init__(self, dtype: Any = np.float64) -> None:
        self._buf: np.ndarray = np.empty(64, dtype=dtype)
        self.n = 0

    def extend(self, part: np.ndarray) -> None:
        need = self.n + len(part)
        if need > len(self._buf):
            buf = np.empty(max(need, 2 * len(self._buf)), dtype=self._buf.dtype)
            buf[: self.n] = self._buf[: self.n]
            self._buf = buf
        self._buf[self.n : need] = part
        self.n = need

    def head(self, n: int) -> np.ndarray:
        """The first ``n`` entries (a view)."""
        return self._buf[: min(n, self.n)]


class Running(Growing):
    """Per point, the running finite min or max so far (+-inf before any finite value)."""

    __slots__ = ()

    def at(self, i: int) -> float:
        """The running value over points ``0..i`` (inclusive)."""
        return float(self._buf[i])

    @property
    def last(self) -> float | None:
        return float(self._buf[self.n - 1]) if self.n else None


def fold_running(kind: str) -> Callable[[Running | None, Series, int, int], Running]:
    """A fold keeping, per point, the running finite min or max (``kind``) so far (+-inf before any).

    A rule that asks "the lowest finite reward up to the point I am evaluating" then reads one
    cell for any point, instead of scanning the prefix (a catch-up asks at many earlier points).
    """
    neutral = math.inf if kind == "min" else -math.inf
    acc = np.fmin.accumulate if kind == "min" else np.fmax.accumulate

    def fold(state: Running | None, series: Series, lo: int, hi: int) -> Running:
        out = Running() if state is None else state
        v = series.values[lo:hi]
        part = np.where(np.isfinite(v), v, neutral)
        prev = out.last
        run = acc(np.concatenate(([neutral if prev is None else prev], part)))[1:]
        out.extend(run)
        return out

    return fold
