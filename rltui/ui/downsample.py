"""Min/max-per-column downsampling, so that a one-step spike always reaches the screen.

A chart a few hundred cells wide cannot show 100k points. TensorBoard keeps a random 1000-point
reservoir and loses exactly the spikes a user is looking for; averaging per column flattens them
too. Keeping each column's minimum *and* maximum (in their original order) bounds the output to
``2 * columns`` points while preserving every extreme the column covers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rltui.records import FloatArray

Array = npt.NDArray[np.floating] | npt.NDArray[np.integer]


def minmax_downsample(x: Array, y: FloatArray, columns: int) -> tuple[FloatArray, FloatArray]:
    """Reduce (x, y) to at most two points per column: each column's min and max of ``y``.

    Columns split the x *range* evenly (not the point count), so uneven logging or wall-time axes
    keep their shape. ``x`` must be sorted ascending. Non-finite ``y`` values are dropped (a
    chart cannot place them; the caller reports them separately). The returned points stay in
    x order, and when a column holds at most two points they are returned unchanged.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(ys) & np.isfinite(xs)
    xs, ys = xs[keep], ys[keep]
    n = len(xs)
    if columns < 1 or n <= 2 * columns:
        return xs, ys
    lo, hi = xs[0], xs[-1]
    if hi <= lo:
        col = np.zeros(n, dtype=np.int64)
    else:
        col = np.minimum(((xs - lo) / (hi - lo) * columns).astype(np.int64), columns - 1)
    # Columns are contiguous runs because x is sorted: find each run's bounds.
    starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
    ends = np.r_[starts[1:], n]
    idx_min = np.fromiter(
        (s + int(np.argmin(ys[s:e])) for s, e in zip(starts, ends, strict=True)), np.int64, len(starts)
    )
    idx_max = np.fromiter(
        (s + int(np.argmax(ys[s:e])) for s, e in zip(starts, ends, strict=True)), np.int64, len(starts)
    )
    picked = np.unique(np.concatenate([idx_min, idx_max]))
    return xs[picked], ys[picked]


def column_extremes(y: FloatArray, columns: int) -> FloatArray:
    """One value per column for a sparkline over the *whole* series: the column's min or max,
    whichever strays further from the column's mean, so a spike (up or down) survives even at one
    value per cell and a 0 -> 37 climb over 800 steps still reads as a climb.

    Columns split the points evenly (a sparkline has no x axis to keep uneven). The cost is a few
    vectorised passes over the series (no median, no sort): a gauge redraws it on every live step.
    """
    ys = np.asarray(y, dtype=np.float64)
    finite = np.isfinite(ys)
    if not finite.all():
        ys = ys[finite]
    n = len(ys)
    if columns < 1 or n == 0:
        return np.empty(0, dtype=np.float64)
    if n <= columns:
        return ys
    starts = column_starts(n, columns)
    # n > columns, so every column is non-empty: reduceat gives each column's min and max at once.
    lo = np.minimum.reduceat(ys, starts)
    hi = np.maximum.reduceat(ys, starts)
    mean = np.add.reduceat(ys, starts) / np.diff(np.r_[starts, n])
    # A column that is a straight ramp has its mean half-way: rounding must not tip it to the min
    # (the series' maximum would then reach no cell), so near-ties go to the max.
    return np.where(hi - mean >= (mean - lo) - 1e-9 * (hi - lo), hi, lo)


def column_starts(n: int, columns: int) -> npt.NDArray[np.int64]:
    """Index of the first of ``n`` points in each of ``columns`` columns (``n > columns``)."""
    return np.linspace(0, n, columns + 1).astype(np.int64)[:-1]


def column_of(steps: Array, step: int, columns: int) -> int | None:
    """The sparkline column (of :func:`column_extremes` over the points at ``steps``) that holds
    ``step``, or None when the step is outside the series: where an alert's onset is marked."""
    xs = np.asarray(steps)
    n = len(xs)
    if n == 0 or columns < 1 or step < xs[0] or step > xs[-1]:
        return None
    i = int(np.searchsorted(xs, step, side="left"))
    if n <= columns:
        return min(i, n - 1)
    starts = column_starts(n, columns)
    return int(np.searchsorted(starts, i, side="right")) - 1
