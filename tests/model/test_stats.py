"""Statistics of rltui.model.stats against independent re-implementations and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rltui.model import stats
from rltui.model.stats import (
    MAD_TO_SIGMA,
    TbSmoother,
    ZClip,
    cusum,
    robust_center_scale,
    robust_z,
    sustained,
    tb_smooth,
    theil_sen,
    trend,
)


def tb_reference(values: list[float], weight: float) -> list[float]:
    """TensorBoard's classicSmoothing, written straight from anchors.md §2.1, one point at a time."""
    w = weight if math.isfinite(weight) else 0.0
    w = max(0.0, min(w, 1.0))
    if values and all(v == values[0] for v in values):
        return list(values)
    last, n, out = 0.0, 0, []
    for y in values:
        if not math.isfinite(y):
            out.append(y)
            continue
        last = last * w + (1 - w) * y
        n += 1
        debias = 1.0 if w == 1 else 1 - w**n
        out.append(last / debias)
    return out


def assert_same(got: np.ndarray, want: list[float], rtol: float = 1e-9) -> None:
    want_a = np.asarray(want, dtype=np.float64)
    assert got.shape == want_a.shape
    # Non-finite values pass through unchanged, in place.
    assert np.array_equal(np.isnan(got), np.isnan(want_a))
    inf = np.isinf(want_a)
    assert np.array_equal(got[inf], want_a[inf])
    fin = np.isfinite(want_a)
    np.testing.assert_allclose(got[fin], want_a[fin], rtol=rtol, atol=1e-12)


# -- TensorBoard smoothing --------------------------------------------------------------------


def test_tb_smooth_hand_computed() -> None:
    # w = 0.5: last = 0.5 -> /0.5 = 1; last = 0.25 + 1 = 1.25 -> /0.75 = 5/3
    assert_same(tb_smooth(np.array([1.0, 2.0]), 0.5), [1.0, 5.0 / 3.0])
    # NaN passes through and does not count in the debias term: third point is 1.75/0.75
    assert_same(tb_smooth(np.array([1.0, np.nan, 3.0]), 0.5), [1.0, math.nan, 7.0 / 3.0])
    # weight 0 is the identity
    assert_same(tb_smooth(np.array([3.0, -1.0, 4.0]), 0.0), [3.0, -1.0, 4.0])


def test_tb_smooth_constant_series_is_returned_unchanged() -> None:
    # TB issue #786: even with weight 1, where a non-constant series smooths to zeros
    assert tb_smooth(np.array([5.0, 5.0, 5.0]), 1.0).tolist() == [5.0, 5.0, 5.0]
    assert tb_smooth(np.array([5.0, 6.0]), 1.0).tolist() == [0.0, 0.0]
    # NaN is never equal to itself, so an all-NaN series is not "constant": it passes through
    assert np.isnan(tb_smooth(np.array([np.nan, np.nan]), 0.6)).all()
    assert len(tb_smooth(np.array([]), 0.6)) == 0


@pytest.mark.parametrize(
    "weight", [0.0, 1e-3, 0.3, 0.6, 0.9, 0.99, 0.999, 1.0, -0.5, 1.7, math.nan, math.inf]
)
def test_tb_smooth_matches_reference(weight: float) -> None:
    rng = np.random.default_rng(7)
    y = np.cumsum(rng.normal(size=3000)) * 50.0 + 1000.0
    y[::37] = np.nan
    y[5] = np.inf
    y[900] = -np.inf
    y[1500:1510] = 1e9  # a burst of huge values
    assert_same(tb_smooth(y, weight), tb_reference(y.tolist(), weight))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(-1e6, 1e6), st.just(math.nan), st.just(math.inf)),
        min_size=0,
        max_size=80,
    ),
    st.floats(0.0, 1.0),
)
def test_tb_smooth_matches_reference_property(values: list[float], weight: float) -> None:
    assert_same(
        tb_smooth(np.asarray(values, dtype=np.float64), weight), tb_reference(values, weight), rtol=1e-7
    )


def test_streaming_smoother_equals_batch_in_any_chunking() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(size=5000) + np.linspace(0, 10, 5000)
    y[::101] = np.nan
    want = tb_reference(y.tolist(), 0.6)
    for size in (1, 7, 640, 5000):
        sm = TbSmoother(0.6)
        parts = [sm.extend(y[i : i + size]) for i in range(0, len(y), size)]
        got = np.concatenate(parts)
        assert all(len(p) == len(y[i : i + size]) for p, i in zip(parts, range(0, len(y), size), strict=True))
        assert_same(got, want)
        assert sm.last == pytest.approx(want[-1], rel=1e-9)
        assert len(sm) == len(y)


def test_streaming_smoother_constant_prefix_then_change() -> None:
    sm = TbSmoother(0.6)
    head = sm.extend(np.array([2.0, 2.0, 2.0]))
    assert head.tolist() == [2.0, 2.0, 2.0]  # constant so far: raw, as TB shows it
    assert sm.revised is None
    tail = sm.extend(np.array([4.0]))
    want = tb_reference([2.0, 2.0, 2.0, 4.0], 0.6)
    assert tail[0] == pytest.approx(want[-1], rel=1e-12)
    assert sm.revised is not None
    np.testing.assert_allclose(sm.revised, want[:3], rtol=1e-12)
    # at weight 1 the revision is what tells a caller that the prefix now smooths to 0
    sm1 = TbSmoother(1.0)
    sm1.extend(np.array([5.0, 5.0]))
    assert sm1.extend(np.array([6.0])).tolist() == [0.0]
    assert sm1.revised is not None
    assert sm1.revised.tolist() == [0.0, 0.0]
    assert TbSmoother(0.6).last is None


# -- robust location and scale ----------------------------------------------------------------


def test_robust_center_scale_and_fallbacks() -> None:
    med, s = robust_center_scale(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    assert med == 3.0
    assert s == pytest.approx(MAD_TO_SIGMA * 1.0)  # |dev| = 2,1,0,1,97 -> MAD 1
    # MAD = 0 (quantised series): 1.2533 * mean|x - med| = 1.2533 * 4/5
    med, s = robust_center_scale(np.array([1.0, 1.0, 1.0, 1.0, 5.0]))
    assert med == 1.0
    assert s == pytest.approx(1.2533 * 0.8)
    # every value equal: 1e-3 * |med|
    assert robust_center_scale(np.array([2.0, 2.0, 2.0]))[1] == pytest.approx(2e-3)
    # zeros: a tiny positive epsilon, never a division by zero
    assert 0 < robust_center_scale(np.zeros(4))[1] < 1e-9
    assert all(math.isnan(v) for v in robust_center_scale(np.array([np.nan])))
    # NaN/Inf are ignored
    assert robust_center_scale(np.array([1.0, np.inf, 3.0, np.nan, 2.0]))[0] == 2.0


def test_robust_z_uses_trailing_window_without_current_point() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    x[45] = 40.0
    z = robust_z(x, window=20)
    assert np.isnan(z[:5]).all()
    assert np.isfinite(z[5:]).all()
    # brute force from the definition
    for t in range(5, 60):
        hist = x[max(0, t - 20) : t]
        med = float(np.median(hist))
        s = MAD_TO_SIGMA * float(np.median(np.abs(hist - med)))
        assert z[t] == pytest.approx((x[t] - med) / s, rel=1e-9)
    assert z[45] > 10
    # the spike is in the window of the next points but does not dominate them (robust)
    assert abs(z[46]) < 4
    assert stats.robust_z_last(x[:46]) == pytest.approx(z[45])


def test_robust_z_nonfinite_points() -> None:
    x = np.arange(12, dtype=np.float64)
    x[8] = np.nan
    z = robust_z(x, window=5)
    assert math.isnan(z[8])  # a non-finite point has no z
    assert math.isnan(z[9])  # its window x[4..8] holds only 4 finite points
    z6 = robust_z(x, window=6)
    hist = x[3:8]  # x[3..8] minus the NaN
    med = float(np.median(hist))
    assert z6[9] == pytest.approx((x[9] - med) / (MAD_TO_SIGMA * float(np.median(np.abs(hist - med)))))
    assert len(robust_z(np.array([]))) == 0


# -- Theil–Sen and trend ----------------------------------------------------------------------


def test_theil_sen_is_robust_to_outliers_and_gaps() -> None:
    y = 2.0 * np.arange(30, dtype=np.float64) + 5.0
    y[[3, 11, 20]] = [500.0, -400.0, 900.0]  # 10% outliers
    assert theil_sen(y) == pytest.approx(2.0)
    y[7] = np.nan
    assert theil_sen(y) == pytest.approx(2.0)
    assert math.isnan(theil_sen(np.array([1.0, 2.0])))
    assert math.isnan(theil_sen(np.array([1.0, np.nan, 2.0, np.nan])))


def test_trend_directions() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(scale=0.1, size=50)
    t = np.arange(50, dtype=np.float64)
    assert trend(t * 0.2 + noise).direction == "rising"
    assert trend(-t * 0.2 + noise).direction == "falling"
    assert trend(noise).direction == "flat"
    assert trend(np.array([1.0, 2.0, 3.0])).direction == "unknown"


def test_trend_acceleration() -> None:
    t = np.arange(50, dtype=np.float64)
    quad = trend(0.01 * t**2 + 1.0)
    assert quad.direction == "rising"
    assert quad.accelerating
    assert not quad.decelerating
    sqrt = trend(np.sqrt(t + 1.0))
    assert sqrt.decelerating
    assert not sqrt.accelerating
    lin = trend(t)
    assert not lin.accelerating
    assert not lin.decelerating


# -- ZClip, CUSUM, sustained ------------------------------------------------------------------


def test_zclip_warmup_spike_and_clipped_update() -> None:
    rng = np.random.default_rng(2)
    zc = ZClip()
    base = 1.0 + 0.05 * rng.normal(size=25)
    assert all(math.isnan(zc.update(v)) for v in base)
    mean_before, var_before = zc.mean, zc.var
    assert mean_before is not None
    assert var_before is not None
    assert mean_before == pytest.approx(float(np.mean(base)))
    assert var_before == pytest.approx(float(np.var(base)))
    std_before = math.sqrt(var_before)
    z = zc.update(10.0)
    assert z == pytest.approx((10.0 - mean_before) / std_before)
    # the EMA learnt the clipped value mean + 2.5 sigma, not 10
    assert zc.mean == pytest.approx(0.97 * mean_before + 0.03 * (mean_before + 2.5 * std_before))
    assert math.isnan(zc.update(math.nan))
    assert abs(zc.update(1.0)) < 3


def test_cusum_detects_level_shift() -> None:
    z = np.r_[np.zeros(10), np.full(10, 2.0)]
    # S+ grows by 2 - 0.5 = 1.5 per shifted point: 1.5, 3, 4.5, 6 > 5 at index 13
    s_hi, s_lo, first = cusum(z)
    assert first == 13
    # reset after the alarm, then 6 more points: 1.5*4 = 6 > 5 at index 17 (reset again), 2 left
    assert s_hi == pytest.approx(3.0)
    assert s_lo == 0.0
    assert cusum(np.zeros(100))[2] is None
    assert cusum(np.r_[np.zeros(5), np.full(5, -3.0)])[2] == 7  # 2.5, 5.0, 7.5 > 5
    assert cusum(np.array([np.nan, 1.0]))[0] == pytest.approx(0.5)


def test_sustained() -> None:
    assert sustained(np.array([False, True, True, True]))
    assert sustained(np.array([True, False, True, True]))
    assert not sustained(np.array([True, True, False, False]))
    assert not sustained(np.array([True, True]))
    assert sustained(np.array([0.0, 1.0, 1.0, 2.0]))
    assert not sustained(np.array([np.nan, 1.0, np.nan, 1.0]))
    assert sustained(np.ones(5, dtype=int), need=5, of=5)
