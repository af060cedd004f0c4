"""Streaming statistics for short, noisy, interval-averaged training series (patterns.md §3, §6).

SKELETON: the signatures below are the contract shared by instruments and patterns; the
implementer replaces the bodies (and may add helpers), but must keep these names and meanings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rltui.records import FloatArray

MAD_TO_SIGMA = 1.4826


def tb_smooth(values: FloatArray, weight: float) -> FloatArray:
    """TensorBoard's debiased EMA smoothing, exactly (anchors.md §2.1); NaN/Inf handled as TB does."""
    raise NotImplementedError


class TbSmoother:
    """Streaming :func:`tb_smooth`: ``extend(new_values)`` is O(k); ``last`` is the newest smoothed value."""

    def __init__(self, weight: float) -> None:
        raise NotImplementedError

    def extend(self, values: FloatArray) -> FloatArray:
        raise NotImplementedError

    @property
    def last(self) -> float | None:
        raise NotImplementedError


def robust_center_scale(x: FloatArray) -> tuple[float, float]:
    """(median, sigma_hat) of the finite values, sigma_hat = 1.4826*MAD with the fallbacks of
    patterns.md §3 (1.2533*mean|x-med|, then 1e-3*|med|, then a tiny epsilon). NaN, NaN when empty."""
    raise NotImplementedError


def robust_z(x: FloatArray, window: int = 20) -> FloatArray:
    """Per-point rz: (x_t - med) / sigma_hat over the ``window`` points *before* t (NaN until
    there are at least 5 earlier points)."""
    raise NotImplementedError


def theil_sen(y: FloatArray) -> float:
    """Theil–Sen slope per point (x = 0..n-1) of the finite values; NaN with fewer than 3."""
    raise NotImplementedError


@dataclass(frozen=True, slots=True)
class TrendReading:
    direction: str  # "rising" | "flat" | "falling" | "unknown"
    slope: float  # Theil–Sen slope per point over the short window
    accelerating: bool  # second-half slope > first-half slope > 0 over the long window
    decelerating: bool  # 0 < second-half slope < first-half slope (growth slowing)


def trend(y: FloatArray, short: int = 20, long: int = 50) -> TrendReading:
    """Direction over the last ``short`` points (slope*W > 2 sigma_hat_W) and acceleration over
    the last ``long`` points, as patterns.md §3 defines them."""
    raise NotImplementedError


class ZClip:
    """ZClip-style EMA mean/variance z-score for gradient norms (alpha 0.97, 25-point warm-up,
    updated with the clipped value). ``update(x)`` returns z (NaN during warm-up)."""

    def __init__(self, alpha: float = 0.97, warmup: int = 25, z_clip: float = 2.5) -> None:
        raise NotImplementedError

    def update(self, x: float) -> float:
        raise NotImplementedError


def cusum(z: FloatArray, k: float = 0.5, h: float = 5.0) -> tuple[float, float, int | None]:
    """Two-sided CUSUM over standardised values: (S+ at the end, S- at the end, index of the first
    alarm or None). Resets after an alarm."""
    raise NotImplementedError


def sustained(flags: FloatArray | np.ndarray, need: int = 3, of: int = 4) -> bool:
    """True when at least ``need`` of the last ``of`` flags are true (patterns.md §3)."""
    raise NotImplementedError
