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
    """One value per column for a sparkline: the column's min or max, whichever strays further
    from the series median, so a spike (up or down) survives even at one value per cell."""
    ys = np.asarray(y, dtype=np.float64)
    ys = ys[np.isfinite(ys)]
    n = len(ys)
    if columns < 1 or n == 0:
        return np.empty(0, dtype=np.float64)
    if n <= columns:
        return ys
    med = float(np.median(ys))
    edges = np.linspace(0, n, columns + 1).astype(np.int64)
    # n > columns, so every column is non-empty: reduceat gives each column's min and max at once.
    starts = edges[:-1]
    lo = np.minimum.reduceat(ys, starts)
    hi = np.maximum.reduceat(ys, starts)
    return np.where(np.abs(hi - med) >= np.abs(lo - med), hi, lo)
