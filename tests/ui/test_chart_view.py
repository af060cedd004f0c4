"""ChartView without a terminal: cursor moves over logged steps, zoom and pan stay in the data;
the step axis's ticks are integers inside the range."""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
import pytest

from rltui.ui.chart_view import (
    MIN_POINTS,
    ChartView,
    clock_text,
    clock_ticks,
    in_range,
    union_steps,
    value_at,
)
from rltui.ui.screens.detail import integer_ticks

#: Logged every 10 steps from 10 to 800, like the DPO fixture's trainer_state.
STEPS = np.arange(10, 801, 10, dtype=np.int64)


def test_cursor_starts_at_newest_and_moves_by_logged_steps() -> None:
    v = ChartView()
    assert v.cursor_step(STEPS) == 800
    v = v.move(STEPS, -1)
    assert v.cursor == 790
    v = v.move(STEPS, -3)
    assert v.cursor == 760
    assert v.move(STEPS, 100).cursor == 800
    assert v.move(STEPS, -1000).cursor == 10
    assert v.edge(STEPS, end=False).cursor == 10
    assert v.edge(STEPS, end=True).cursor == 800


def test_cursor_between_logged_steps_snaps_to_nearest() -> None:
    assert ChartView(cursor=414).cursor_step(STEPS) == 410
    assert ChartView(cursor=416).cursor_step(STEPS) == 420


def test_zoom_in_narrows_around_cursor_and_out_restores_whole() -> None:
    v = ChartView(cursor=400)
    assert v.bounds(STEPS) == (10, 800)
    z = v.zoom(STEPS, 0.5)
    lo, hi = z.bounds(STEPS)  # type: ignore[misc]
    assert lo <= 400 <= hi
    assert hi - lo < 800 - 10
    assert abs((hi - lo) - (800 - 10) / 2) <= 1  # half as wide
    zz = z.zoom(STEPS, 0.5)
    lo2, hi2 = zz.bounds(STEPS)  # type: ignore[misc]
    assert hi2 - lo2 < hi - lo
    assert lo2 <= 400 <= hi2
    back = zz.zoom(STEPS, 2.0).zoom(STEPS, 2.0).zoom(STEPS, 2.0)
    assert not back.zoomed
    assert back.bounds(STEPS) == (10, 800)


def test_zoom_never_narrower_than_min_points() -> None:
    v = ChartView(cursor=400)
    for _ in range(30):
        v = v.zoom(STEPS, 0.5)
    lo, hi = v.bounds(STEPS)  # type: ignore[misc]
    shown = int(np.count_nonzero((lo <= STEPS) & (hi >= STEPS)))
    assert shown >= MIN_POINTS
    assert lo <= 400 <= hi


def test_zoom_at_the_edge_slides_inside_the_data() -> None:
    v = ChartView(cursor=800).zoom(STEPS, 0.5)
    lo, hi = v.bounds(STEPS)  # type: ignore[misc]
    assert hi == 800
    assert lo > 10
    assert v.lo is not None
    assert v.lo >= 10


def test_pan_moves_half_width_and_stops_at_the_ends() -> None:
    v = ChartView(cursor=400).zoom(STEPS, 0.25)
    lo, hi = v.bounds(STEPS)  # type: ignore[misc]
    width = hi - lo
    p = v.pan(STEPS, +1)
    plo, phi = p.bounds(STEPS)  # type: ignore[misc]
    assert phi - plo == width
    assert plo > lo
    for _ in range(20):
        p = p.pan(STEPS, +1)
    assert p.bounds(STEPS)[1] == 800  # type: ignore[index]
    assert p.cursor is not None
    assert p.lo is not None
    assert p.cursor >= p.lo
    for _ in range(20):
        p = p.pan(STEPS, -1)
    assert p.bounds(STEPS)[0] == 10  # type: ignore[index]
    assert ChartView().pan(STEPS, 1) == ChartView()  # nothing to pan when not zoomed


def test_moving_the_cursor_out_of_a_zoomed_range_pans_it() -> None:
    v = ChartView(cursor=400).zoom(STEPS, 0.25)
    lo, hi = v.bounds(STEPS)  # type: ignore[misc]
    v = v.edge(STEPS, end=True)
    nlo, nhi = v.bounds(STEPS)  # type: ignore[misc]
    assert nhi == 800
    assert nhi - nlo == hi - lo


def test_reset_and_x_mode_cycle() -> None:
    v = ChartView(cursor=400).zoom(STEPS, 0.5).reset()
    assert not v.zoomed
    assert v.cursor == 400
    assert [v.x_mode, v.next_x_mode().x_mode, v.next_x_mode().next_x_mode().x_mode] == [
        "step",
        "elapsed",
        "clock",
    ]
    assert v.next_x_mode().next_x_mode().next_x_mode().x_mode == "step"


def test_empty_series_change_nothing() -> None:
    empty = np.empty(0, dtype=np.int64)
    v = ChartView()
    assert v.bounds(empty) is None
    assert v.cursor_step(empty) is None
    assert v.move(empty, 1) == v
    assert v.zoom(empty, 0.5) == v
    assert v.edge(empty, True) == v


def test_union_in_range_value_at() -> None:
    u = union_steps([np.array([1, 3, 5]), np.array([2, 3, 8])])
    assert u.tolist() == [1, 2, 3, 5, 8]
    mask = in_range(u, 3, 5)
    assert u[mask].tolist() == [2, 3, 5, 8]
    vals = np.array([0.1, 0.2, 0.3, 0.5, 0.8])
    assert value_at(u, vals, 5) == (0.5, 5)
    assert value_at(u, vals, 6) == (0.5, 5)
    assert value_at(u, vals, 0) is None


def test_clock_ticks_are_round_local_times() -> None:
    t0 = time.mktime((2026, 12, 3, 8, 41, 7, 0, 0, -1))
    pos, labels = clock_ticks(t0, t0 + 40 * 60)
    assert 2 <= len(pos) <= 6
    assert all(len(s) == 5 and s[2] == ":" for s in labels)
    assert labels[:3] == ["08:50", "09:00", "09:10"]  # 10-minute ticks for 40 minutes
    assert all(datetime.fromtimestamp(p).second == 0 for p in pos)
    pos, labels = clock_ticks(t0, t0 + 50)
    assert all(len(s) == 8 for s in labels)  # HH:MM:SS for a short span
    assert clock_text(t0) == "2026-12-03 08:41:07"
    assert clock_text(float("nan")) == "–"


@pytest.mark.parametrize(("lo", "hi"), [(200, 201), (0, 800), (1, 7), (5, 5), (26, 1003), (190, 215)])
def test_step_ticks_are_integers_inside_the_range(lo: int, hi: int) -> None:
    ticks = integer_ticks(lo, hi)
    assert ticks
    assert all(isinstance(t, int) for t in ticks)
    assert all(lo <= t <= hi for t in ticks)
    assert ticks == sorted(set(ticks))
    assert len(ticks) <= 6
