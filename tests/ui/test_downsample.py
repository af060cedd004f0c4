"""Min/max-per-column downsampling keeps every spike and every column's extremes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rltui.ui.downsample import column_extremes, minmax_downsample


def brute_force_extremes(x: np.ndarray, y: np.ndarray, columns: int) -> set[tuple[float, float]]:
    """Each column's min and max point, computed the slow obvious way."""
    lo, hi = x[0], x[-1]
    out = set()
    for c in range(columns):
        a = lo + (hi - lo) * c / columns
        b = lo + (hi - lo) * (c + 1) / columns
        sel = (x >= a) & ((x < b) if c < columns - 1 else (x <= b))
        if sel.any():
            ys = y[sel]
            out.add((float(x[sel][np.argmin(ys)]), float(ys.min())))
            out.add((float(x[sel][np.argmax(ys)]), float(ys.max())))
    return out


def test_single_spike_in_100k_points_survives() -> None:
    rng = np.random.default_rng(7)
    n = 100_000
    x = np.arange(n, dtype=np.float64)
    y = rng.normal(0.0, 1.0, n)
    spike_at = 61_234
    y[spike_at] = 50.0
    y[12_345] = -40.0
    dx, dy = minmax_downsample(x, y, 120)
    assert len(dx) <= 240
    assert 50.0 in dy
    assert spike_at in dx
    assert -40.0 in dy
    assert np.all(np.diff(dx) > 0), "points stay in x order"


def test_small_input_is_returned_unchanged() -> None:
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([3.0, 1.0, 2.0])
    dx, dy = minmax_downsample(x, y, 10)
    assert dx.tolist() == [1.0, 2.0, 3.0]
    assert dy.tolist() == [3.0, 1.0, 2.0]


def test_non_finite_values_are_dropped() -> None:
    x = np.arange(1000, dtype=np.float64)
    y = np.sin(x)
    y[10] = np.nan
    y[20] = np.inf
    dx, dy = minmax_downsample(x, y, 50)
    assert np.isfinite(dy).all()
    assert 10.0 not in dx
    assert 20.0 not in dx


def test_uneven_x_uses_the_range_not_the_count() -> None:
    # 1000 points crammed in [0, 1), then one point far right: two columns only.
    x = np.concatenate([np.linspace(0, 0.999, 1000), [100.0]])
    y = np.concatenate([np.linspace(0, 1, 1000), [5.0]])
    dx, dy = minmax_downsample(x, y, 2)
    assert (100.0, 5.0) in set(zip(dx.tolist(), dy.tolist(), strict=True))
    assert len(dx) == 3  # left column min and max, right column its one point


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=400),
    columns=st.integers(1, 40),
)
def test_every_columns_min_and_max_are_kept(values: list[float], columns: int) -> None:
    y = np.asarray(values)
    x = np.arange(len(y), dtype=np.float64)
    dx, dy = minmax_downsample(x, y, columns)
    assert len(dx) <= max(2 * columns, len(y))
    got = set(zip(dx.tolist(), dy.tolist(), strict=True))
    if len(y) <= 2 * columns:
        assert len(got) == len(y)
        return
    for point_x, point_y in brute_force_extremes(x, y, columns):
        # Ties may pick another point with the same value in the same column.
        assert (point_x, point_y) in got or point_y in dy


def test_column_extremes_keeps_a_downward_spike() -> None:
    y = np.ones(10_000)
    y[5_000] = -9.0
    cols = column_extremes(y, 40)
    assert len(cols) == 40
    assert cols.min() == -9.0
