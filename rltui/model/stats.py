"""Streaming statistics for short, noisy, interval-averaged training series (patterns.md §3, §6).

TRL logs a point every ``logging_steps`` steps, averaged over the interval, so a run has hundreds
to a few thousand points per key and single-point spikes are common. Everything here is therefore
*robust* (median/MAD, Theil–Sen) and *windowed*: the cost per new point is O(window), never
O(series), so the model can re-evaluate a live run on every refresh.

The one whole-series statistic, TensorBoard's smoothing, is made streaming by
:class:`TbSmoother`, which carries the EMA state across ``extend`` calls.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np

from rltui.records import FloatArray

MAD_TO_SIGMA = 1.4826
#: sqrt(pi/2): turns a mean absolute deviation into a Gaussian sigma (the MAD = 0 fallback).
MEAN_ABS_TO_SIGMA = 1.2533
#: Last-resort scale relative to |median| when every point equals the median.
REL_SCALE_FLOOR = 1e-3
#: Absolute floor so that a series of zeros does not divide by zero.
TINY_SCALE = 1e-12
#: The fewest earlier points :func:`robust_z` needs before it says anything.
MIN_HISTORY = 5


# -- TensorBoard smoothing -------------------------------------------------------------------


def _clean_weight(weight: float) -> float:
    """TB: a non-finite weight means 0, then clamp to [0, 1]."""
    w = float(weight)
    if not math.isfinite(w):
        w = 0.0
    return max(0.0, min(w, 1.0))


def _block_len(w: float) -> int:
    """Block length for the closed-form EMA so that ``w**-B`` stays far from overflow."""
    if w <= 0.0 or w >= 1.0:
        return 4096
    per = -math.log10(w)
    return int(max(1, min(4096, 200.0 / per)))


def _ema_finite(y: FloatArray, w: float, last: float) -> FloatArray:
    """The undebiased EMA ``last = last*w + (1-w)*y`` over finite ``y``, vectorised by blocks.

    Within a block of length m starting from carry L:
    ``last_j = w**(j+1) * (L + (1-w) * sum_{i<=j} y_i * w**-(i+1))``. Blocks keep ``w**-m`` below
    1e200, so the rounding error stays around ``B`` ulps (< 1e-12 relative). A block whose closed form is not
    finite (absurd magnitudes) is redone with the literal recurrence.
    """
    n = len(y)
    out = np.empty(n, dtype=np.float64)
    if n == 0:
        return out
    if w == 0.0:
        # last*0 + 1*y == y exactly.
        out[:] = y
        return out
    if w == 1.0:
        # last*1 + 0*y == last: the state never moves (TB emits last/1).
        out[:] = last
        return out
    one_minus = 1.0 - w
    b = _block_len(w)
    j = np.arange(1, min(b, n) + 1, dtype=np.float64)
    with np.errstate(all="ignore"):
        grow = np.power(w, -j)
        shrink = np.power(w, j)
        for a in range(0, n, b):
            blk = y[a : a + b]
            m = len(blk)
            acc = np.cumsum(blk * grow[:m])
            vals = shrink[:m] * (last + one_minus * acc)
            if not bool(np.all(np.isfinite(vals))):
                cur = last
                for i in range(m):
                    cur = cur * w + one_minus * float(blk[i])
                    vals[i] = cur
            out[a : a + m] = vals
            last = float(vals[-1])
    return out


def _debias_len(w: float) -> int:
    """How many points until ``1 - w**n`` rounds to exactly 1.0 (w**n < 2**-54)."""
    if w <= 0.0:
        return 1
    if w >= 1.0:
        return 0
    return math.ceil(-54.0 * math.log(2.0) / math.log(w)) + 2


class TbSmoother:
    """Streaming :func:`tb_smooth`: ``extend(new_values)`` is O(k); ``last`` is the newest smoothed value.

    It follows TensorBoard's ``classicSmoothing`` (anchors.md §2.1) point for point: non-finite
    values pass through without touching the EMA state, the debias divisor counts finite points
    only, and a series whose values are all equal is returned unchanged (TB issue #786). The last
    rule is the only non-causal one: while every value so far equals the first, values are emitted
    raw. On the call where a different value arrives, the values of this call are all smoothed and
    :attr:`revised` holds the smoothed values of the earlier (constant) points, which a caller
    keeping the whole output should write over what it got before. (They differ from the raw ones
    by rounding only, except at weight 1, where TB smooths a non-constant series to zeros.)
    """

    __slots__ = ("_constant", "_first", "_last", "_n", "_num_accum", "_out_last", "revised", "weight")

    def __init__(self, weight: float) -> None:
        self.weight = _clean_weight(weight)
        self._last = 0.0
        self._num_accum = 0
        self._n = 0
        self._first: float | None = None
        self._constant = True
        self._out_last: float | None = None
        #: Set by the ``extend`` call that ends a constant run: smoothed values for the points
        #: emitted raw before that call (else None).
        self.revised: FloatArray | None = None

    def __len__(self) -> int:
        return self._n

    def _smooth(self, y: FloatArray, idx: np.ndarray) -> tuple[FloatArray, FloatArray]:
        """Undebiased EMA states and smoothed values of the finite points ``y[idx]``."""
        w = self.weight
        m = len(idx)
        lasts = _ema_finite(y if m == len(y) else y[idx], w, self._last)
        # 1 - w**n is exactly 1.0 in float64 once w**n < 2**-54: only the first points need pow.
        exact = _debias_len(w) - self._num_accum
        if w == 1.0 or exact <= 0:
            return lasts, lasts
        head = min(m, exact)
        counts = self._num_accum + np.arange(1, head + 1, dtype=np.float64)
        smoothed = lasts.copy()
        with np.errstate(all="ignore"):
            smoothed[:head] = lasts[:head] / (1.0 - np.power(w, counts))
        return lasts, smoothed

    def extend(self, values: FloatArray) -> FloatArray:
        y = np.asarray(values, dtype=np.float64)
        k = len(y)
        self.revised = None
        if k == 0:
            return np.empty(0, dtype=np.float64)
        if self._first is None:
            self._first = float(y[0])
        still_constant = False
        if self._constant:
            still_constant = bool(np.all(y == self._first))
            if not still_constant:
                self._constant = False
                if self._n:
                    # The earlier points were all equal to the (finite) first value.
                    prior = np.full(self._n, self._first)
                    state = TbSmoother(self.weight)
                    state._constant = False
                    self.revised = state._smooth(prior, np.arange(self._n))[1]
        finite = np.isfinite(y)
        idx = np.arange(k) if bool(finite.all()) else np.flatnonzero(finite)
        out = y.copy()
        if len(idx):
            lasts, smoothed = self._smooth(y, idx)
            if not still_constant:
                if len(idx) == k:
                    out = smoothed
                else:
                    out[idx] = smoothed
            self._last = float(lasts[-1])
            self._num_accum += len(idx)
        self._n += k
        self._out_last = float(out[-1])
        return out

    @property
    def last(self) -> float | None:
        return self._out_last


def tb_smooth(values: FloatArray, weight: float) -> FloatArray:
    """TensorBoard's debiased EMA smoothing, exactly (anchors.md §2.1); NaN/Inf handled as TB does."""
    y = np.asarray(values, dtype=np.float64)
    if len(y) and bool(np.all(y == y[0])):
        return y.copy()
    return TbSmoother(weight).extend(y)


# -- robust location / scale ------------------------------------------------------------------


def median(a: FloatArray) -> float:
    """Median of a 1-D array without NaN, via ``ndarray.partition`` on a copy: the same number as
    ``np.median`` at a fraction of its per-call overhead, which dominates on 20–50-point windows
    (``np.partition`` is the same copy-and-partition behind two layers of dispatch)."""
    n = len(a)
    if n == 0:
        return math.nan
    h = n // 2
    p = np.array(a, dtype=np.float64)
    if n % 2:
        p.partition(h)
        return float(p[h])
    p.partition((h - 1, h))
    return (float(p[h - 1]) + float(p[h])) / 2.0


def robust_center_scale(x: FloatArray) -> tuple[float, float]:
    """(median, sigma_hat) of the finite values, sigma_hat = 1.4826*MAD with the fallbacks of
    patterns.md §3 (1.2533*mean|x-med|, then 1e-3*|med|, then a tiny epsilon). NaN, NaN when empty."""
    a = np.asarray(x, dtype=np.float64)
    a = a[np.isfinite(a)]
    if len(a) == 0:
        return math.nan, math.nan
    med = median(a)
    dev = np.abs(a - med)
    scale = MAD_TO_SIGMA * median(dev)
    if not scale > 0.0:
        scale = MEAN_ABS_TO_SIGMA * float(np.mean(dev))
    if not scale > 0.0:
        scale = REL_SCALE_FLOOR * abs(med)
    if not scale > 0.0:
        scale = TINY_SCALE
    return med, scale


def rows_nanmedian(win: FloatArray) -> FloatArray:
    """``np.nanmedian(win, axis=1)`` for a 2-D matrix of finite values and NaN gaps, exactly.

    numpy computes small row medians through ``numpy.ma`` (imported on first use, ~17 ms of a tiny
    ``check``); this is the same arithmetic: sort each row (NaN last), take the low and high middle
    of its c values (the same one twice when c is odd) and halve their sum from 0.0; NaN when c is 0.
    """
    s = np.sort(win, axis=1)
    c = np.count_nonzero(~np.isnan(win), axis=1)
    h = c // 2
    lo_i = np.where(c % 2 == 1, h, h - 1)
    rows = np.arange(len(win))
    last = max(win.shape[1] - 1, 0)
    lo = s[rows, np.clip(lo_i, 0, last)]
    hi = s[rows, np.minimum(h, last)]
    med: FloatArray = (0.0 + lo + hi) / 2.0  # numpy sums from 0.0: a median of -0.0 comes out +0.0
    med[c == 0] = np.nan
    return med


def _rows_center_scale(win: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Row-wise (median, sigma_hat, finite count) of a 2-D window matrix with NaN gaps."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = rows_nanmedian(win)
        dev = np.abs(win - med[:, None])
        scale = MAD_TO_SIGMA * rows_nanmedian(dev)
        mean_abs = MEAN_ABS_TO_SIGMA * np.nanmean(dev, axis=1)
    scale = np.where(scale > 0.0, scale, mean_abs)
    scale = np.where(scale > 0.0, scale, REL_SCALE_FLOOR * np.abs(med))
    scale = np.where(scale > 0.0, scale, TINY_SCALE)
    count = np.count_nonzero(np.isfinite(win), axis=1)
    return med, scale, count


def robust_z(x: FloatArray, window: int = 20) -> FloatArray:
    """Per-point rz: (x_t - med) / sigma_hat over the ``window`` points *before* t (NaN until
    there are at least 5 earlier points)."""
    a = np.asarray(x, dtype=np.float64)
    n = len(a)
    out = np.full(n, np.nan)
    if n == 0 or window <= 0:
        return out
    clean = np.where(np.isfinite(a), a, np.nan)
    padded = np.concatenate([np.full(window, np.nan), clean])
    # Row t covers x[t-window .. t-1]: the trailing window that excludes x_t.
    win = np.lib.stride_tricks.sliding_window_view(padded, window)[:n]
    med, scale, count = _rows_center_scale(win)
    with np.errstate(all="ignore"):
        z = (a - med) / scale
    ok = (count >= MIN_HISTORY) & np.isfinite(a)
    out[ok] = z[ok]
    return out


def robust_z_last(x: FloatArray, window: int = 20) -> float:
    """rz of the newest point only, in O(window): what a streaming rule needs per refresh."""
    a = np.asarray(x, dtype=np.float64)
    if len(a) < 2 or not math.isfinite(float(a[-1])):
        return math.nan
    hist = a[max(0, len(a) - 1 - window) : -1]
    if np.count_nonzero(np.isfinite(hist)) < MIN_HISTORY:
        return math.nan
    med, scale = robust_center_scale(hist)
    return (float(a[-1]) - med) / scale


# -- trend ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs i < j for ``n`` points and their distances ``j - i`` as floats (cached:
    windows come in a handful of sizes)."""
    i, j = np.triu_indices(n, k=1)
    d = (j - i).astype(np.float64)
    for x in (i, j, d):
        x.setflags(write=False)
    return i, j, d


def theil_sen(y: FloatArray) -> float:
    """Theil–Sen slope per point (x = 0..n-1) of the finite values; NaN with fewer than 3."""
    a = np.asarray(y, dtype=np.float64)
    finite = np.isfinite(a)
    if finite.all():
        if len(a) < 3:
            return math.nan
        # x = 0..n-1 itself: the distances are the cached j - i (the same floats as xs[j] - xs[i]).
        i, j, d = _pairs(len(a))
        ys = a
    else:
        xs = np.flatnonzero(finite)
        if len(xs) < 3:
            return math.nan
        ys = a[xs]
        i, j, _ = _pairs(len(xs))
        d = (xs[j] - xs[i]).astype(np.float64)
    with np.errstate(all="ignore"):
        slopes = (ys[j] - ys[i]) / d
    ok = np.isfinite(slopes)
    if not ok.all():
        slopes = slopes[ok]
        if len(slopes) == 0:
            return math.nan
    return median(slopes)


@dataclass(frozen=True, slots=True)
class TrendReading:
    direction: str  # "rising" | "flat" | "falling" | "unknown"
    slope: float  # Theil–Sen slope per point over the short window
    accelerating: bool  # second-half slope > first-half slope > 0 over the long window
    decelerating: bool  # 0 < second-half slope < first-half slope (growth slowing)


UNKNOWN_TREND = TrendReading("unknown", math.nan, False, False)
#: Each half of the long window needs this many finite points to judge acceleration.
_MIN_HALF = 5


def direction_of(slope: float, points: int, scale: float) -> str:
    """"rising" / "falling" when the slope moves the series by more than 2 sigma_hat over the
    window's ``points``, else "flat" (patterns.md §3)."""
    move = slope * points
    if move > 2.0 * scale:
        return "rising"
    if move < -2.0 * scale:
        return "falling"
    return "flat"


def accel_of(s1: float, s2: float) -> tuple[bool, bool]:
    """(accelerating, decelerating) from the first- and second-half slopes of the long window."""
    return s2 > s1 > 0.0, 0.0 < s2 < s1


def trend(y: FloatArray, short: int = 20, long: int = 50) -> TrendReading:
    """Direction over the last ``short`` points (slope*W > 2 sigma_hat_W) and acceleration over
    the last ``long`` points, as patterns.md §3 defines them."""
    a = np.asarray(y, dtype=np.float64)
    w_pts = a[-short:] if short > 0 else a[:0]
    n_w = int(np.count_nonzero(np.isfinite(w_pts)))
    if n_w < MIN_HISTORY:
        return UNKNOWN_TREND
    slope = theil_sen(w_pts)
    _, scale = robust_center_scale(w_pts)
    if not math.isfinite(slope):
        return UNKNOWN_TREND
    direction = direction_of(slope, n_w, scale)
    l_pts = a[-long:] if long > 0 else a[:0]
    half = len(l_pts) // 2
    first, second = l_pts[:half], l_pts[half:]
    accelerating = decelerating = False
    if (
        np.count_nonzero(np.isfinite(first)) >= _MIN_HALF
        and np.count_nonzero(np.isfinite(second)) >= _MIN_HALF
    ):
        s1, s2 = theil_sen(first), theil_sen(second)
        if math.isfinite(s1) and math.isfinite(s2):
            accelerating, decelerating = accel_of(s1, s2)
    return TrendReading(direction, slope, accelerating, decelerating)


# -- ZClip, CUSUM, sustained ------------------------------------------------------------------


class ZClip:
    """ZClip-style EMA mean/variance z-score for gradient norms (alpha 0.97, 25-point warm-up,
    updated with the clipped value). ``update(x)`` returns z (NaN during warm-up)."""

    __slots__ = ("_buf", "alpha", "mean", "var", "warmup", "z_clip")

    def __init__(self, alpha: float = 0.97, warmup: int = 25, z_clip: float = 2.5) -> None:
        self.alpha = float(alpha)
        self.warmup = max(1, int(warmup))
        self.z_clip = float(z_clip)
        self._buf: list[float] = []
        self.mean: float | None = None
        self.var: float | None = None

    def update(self, x: float) -> float:
        """z of ``x`` against the state *before* it; non-finite ``x`` gives NaN and is not learnt."""
        x = float(x)
        if not math.isfinite(x):
            return math.nan
        if self.mean is None or self.var is None:
            self._buf.append(x)
            if len(self._buf) >= self.warmup:
                arr = np.asarray(self._buf)
                self.mean = float(np.mean(arr))
                self.var = float(np.var(arr))
                self._buf = []
            return math.nan
        std = math.sqrt(self.var)
        if std > TINY_SCALE * max(1.0, abs(self.mean)):
            z = (x - self.mean) / std
        else:
            z = 0.0 if x == self.mean else math.copysign(math.inf, x - self.mean)
        # Learn a spike only up to the clip boundary so one outlier does not inflate the band.
        learnt = self.mean + self.z_clip * std if z > self.z_clip else x
        a = self.alpha
        self.mean = a * self.mean + (1.0 - a) * learnt
        self.var = a * self.var + (1.0 - a) * (learnt - self.mean) ** 2
        return z


def cusum(z: FloatArray, k: float = 0.5, h: float = 5.0) -> tuple[float, float, int | None]:
    """Two-sided CUSUM over standardised values: (S+ at the end, S- at the end, index of the first
    alarm or None). Resets after an alarm."""
    s_hi = s_lo = 0.0
    first: int | None = None
    for i, v in enumerate(np.asarray(z, dtype=np.float64).tolist()):
        if not math.isfinite(v):
            continue
        s_hi = max(0.0, s_hi + v - k)
        s_lo = max(0.0, s_lo - v - k)
        if s_hi > h or s_lo > h:
            if first is None:
                first = i
            s_hi = s_lo = 0.0
    return s_hi, s_lo, first


def sustained(flags: FloatArray | np.ndarray, need: int = 3, of: int = 4) -> bool:
    """True when at least ``need`` of the last ``of`` flags are true (patterns.md §3)."""
    a = np.asarray(flags)
    if of <= 0:
        return False
    tail = a[-of:]
    hits = np.isfinite(tail) & (tail != 0) if tail.dtype.kind == "f" else tail.astype(bool)
    return int(np.count_nonzero(hits)) >= need
