"""The catch-up's batched window statistics equal the one-window functions bit for bit, on
series built to hit every fallback: NaN and inf in windows, constant stretches (MAD 0), values so
large that slopes overflow, signed zeros, short prefixes. The golden file checks the same end to
end on every fixture; this checks each statistic at every prefix, so a difference is named."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from rltui.model import stats
from rltui.model.patterns.window_stats import MIN_BATCH, WindowStats
from rltui.model.store import MetricStore
from rltui.records import PointChunk


def _bits(x: object) -> object:
    """A float by its bits (NaN, -0.0 and 0.0 told apart); other values as they are."""
    if isinstance(x, float):
        return struct.pack("<d", x)
    if isinstance(x, stats.TrendReading):
        return (x.direction, _bits(x.slope), x.accelerating, x.decelerating)
    return x


def _series(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=n).cumsum()
    if kind == "noisy":
        v = rng.normal(size=n)
    if kind == "gaps":
        v[rng.choice(n, n // 7, replace=False)] = np.nan
        v[rng.choice(n, 3, replace=False)] = np.inf
    if kind == "flat":
        v[40:120] = 2.5  # MAD 0 and mean |dev| 0: every fallback of the scale
        v[200:230] = 0.0
        v[230:240] = -0.0
    if kind == "huge":
        v = rng.normal(size=n) * 3e307  # differences overflow to inf: slopes are filtered
    if kind == "steps":
        v = np.round(v)  # many ties
    return v.astype(np.float64)


def _one(what: str, a: np.ndarray, n: int, long: int) -> object:
    """What Ctx computes on its own for a prefix ``a`` (context.py's med/lvl/sig/rz/trend)."""
    fin = a[-n:][np.isfinite(a[-n:])] if what != "trend" and what != "rz" else None
    if what == "med":
        assert fin is not None
        return stats.robust_center_scale(fin)[0] if len(fin) >= 5 else math.nan
    if what == "lvl":
        assert fin is not None
        return stats.median(fin) if len(fin) else math.nan
    if what == "sig":
        assert fin is not None
        return stats.robust_center_scale(fin)[1] if len(fin) >= 5 else math.nan
    if what == "rz":
        return stats.robust_z_last(a[-(n + 1) :], n)
    return stats.trend(a[-max(n, long) :], n, long)


CASES = [("med", 20, 0), ("lvl", 20, 0), ("lvl", 3, 0), ("sig", 20, 0), ("sig", 50, 0), ("rz", 20, 0)]
CASES += [("trend", 20, 50), ("trend", 10, 50), ("trend", 50, 50)]


@pytest.mark.parametrize("kind", ["walk", "noisy", "gaps", "flat", "huge", "steps"])
@pytest.mark.parametrize(("what", "n", "long"), CASES)
def test_batched_tables_equal_the_one_window_functions(kind: str, what: str, n: int, long: int) -> None:
    rng = np.random.default_rng(abs(hash((kind, what, n))) % 2**32)
    size = 300
    values = _series(kind, size, rng)
    steps = np.arange(1, size + 1, dtype=np.int64) * 2
    store = MetricStore()
    store.add("t", {"m": PointChunk(steps, np.zeros(size), values)})
    ws = WindowStats(store, steps[::1])  # every step: every prefix length 1..300
    answered = 0
    sentinel = object()
    for count in range(1, size + 1):
        prefix = values[:count]
        want = _one(what, prefix, n, long)
        got = ws.get(what, "m", n, long, count, lambda: sentinel)
        if got is sentinel:
            continue  # left to the one-window function: the same call as ``want``
        answered += 1
        assert _bits(got) == _bits(want), (kind, what, n, count, got, want)
    if kind in ("walk", "noisy", "steps"):
        assert answered > size // 2  # the batch answers the common case


def test_few_steps_are_never_batched() -> None:
    store = MetricStore()
    values = np.arange(100, dtype=np.float64)
    steps = np.arange(100, dtype=np.int64)
    store.add("t", {"m": PointChunk(steps, np.zeros(100), values)})
    ws = WindowStats(store, steps[-(MIN_BATCH - 1) :])
    marker = object()
    assert ws.get("med", "m", 20, 0, 100, lambda: marker) is marker
    assert ws.get("med", "missing", 20, 0, 100, lambda: marker) is marker
