"""Pilot tests of the detail chart's cursor, zoom, pan and clock axis, on the real DPO fixture.

The expected numbers come from the run's own store (what was logged), not from the screen code.
"""

from __future__ import annotations

import re

import numpy as np
from textual.pilot import Pilot

from rltui.ui.app import RltuiApp
from rltui.ui.chart_view import clock_text, clock_ticks
from rltui.ui.glyphs import fmt_value
from rltui.ui.runs import smooth
from rltui.ui.screens.detail import DetailScreen
from tests.ui._text import screen_text
from tests.ui.conftest import settle


async def _open_margin_chart(pilot: Pilot[int], app: RltuiApp) -> DetailScreen:
    await settle(pilot)
    for _ in range(30):  # focus the reward gauge, wherever the layout puts it
        if getattr(app.screen.focused, "title", None) == "Preference margin":
            break
        await pilot.press("tab")
    assert getattr(app.screen.focused, "title", None) == "Preference margin"
    await pilot.press("enter")
    await pilot.pause(0.1)
    detail = app.screen
    assert isinstance(detail, DetailScreen)
    assert detail.spec.series[0].metric == "rewards/margins"
    return detail


def _mode(detail: DetailScreen) -> str:
    """The x mode, read afresh (mypy would keep a narrowing across key presses)."""
    return detail.chart_view.x_mode


def _readout(app: RltuiApp) -> str:
    return str(app.screen.query_one("#chart-readout").render())


async def test_cursor_readout_names_the_stored_value_at_the_cursor_step(explosion_app: RltuiApp) -> None:
    async with explosion_app.run_test(size=(160, 48)) as pilot:
        detail = await _open_margin_chart(pilot, explosion_app)
        stored = explosion_app.runs[0].view("rewards/margins", None)
        assert stored is not None
        await pilot.press("left", "left", "left")
        await pilot.pause(0.1)
        step = int(stored.steps[-4])
        assert detail.chart_view.cursor == step
        i = int(np.flatnonzero(stored.steps == step)[0])
        raw = float(stored.values[i])
        smoothed = float(smooth(stored.values, detail.weight)[i])
        text = _readout(explosion_app)
        assert text.startswith(f"step {step} · {clock_text(float(stored.wall_times[i]))}")
        assert f"rewards/margins {fmt_value(smoothed)} (raw {fmt_value(raw)})" in text
        # Every plotted series is read out, each at its own stored value.
        for s in detail.spec.series[1:]:
            other = explosion_app.runs[0].view(s.metric, None)
            assert other is not None
            j = int(np.flatnonzero(other.steps == step)[0])
            assert f"(raw {fmt_value(float(other.values[j]))})" in text
        # home / end and shift jumps land on logged steps.
        await pilot.press("home")
        assert detail.chart_view.cursor == int(stored.steps[0])
        await pilot.press("shift+right")
        assert detail.chart_view.cursor == int(stored.steps[detail.chart_view.jump_size(stored.steps)])
        await pilot.press("end")
        assert detail.chart_view.cursor == int(stored.steps[-1])
        assert f"step {int(stored.steps[-1])} ·" in screen_text(explosion_app)


async def test_zoom_narrows_the_range_around_the_cursor_and_pan_and_reset(explosion_app: RltuiApp) -> None:
    async with explosion_app.run_test(size=(160, 48)) as pilot:
        detail = await _open_margin_chart(pilot, explosion_app)
        stored = explosion_app.runs[0].view("rewards/margins", None)
        assert stored is not None
        full = (int(stored.steps[0]), int(stored.steps[-1]))
        await pilot.press("home", *["right"] * 20)
        cursor = int(stored.steps[20])
        await pilot.press("plus", "plus")
        await pilot.pause(0.1)
        bounds = detail.chart_view.bounds(stored.steps)
        assert bounds is not None
        lo, hi = bounds
        assert hi - lo < (full[1] - full[0]) / 3
        assert lo <= cursor <= hi
        assert "zoomed" in screen_text(explosion_app)
        # The x axis shows the zoomed range: its step ticks lie inside it.
        plot_text = str(detail.query_one("#plot").render())
        ticks = [int(t) for t in re.findall(r"(?<![\d.])(\d{2,3})(?![\d.])", plot_text.splitlines()[-2])]
        assert ticks
        assert all(lo <= t <= hi for t in ticks)
        await pilot.press("right_square_bracket")
        moved = detail.chart_view.bounds(stored.steps)
        assert moved is not None
        assert moved[0] > lo
        assert moved[1] - moved[0] == hi - lo
        await pilot.press("minus")
        wider = detail.chart_view.bounds(stored.steps)
        assert wider is not None
        assert wider[1] - wider[0] > hi - lo
        await pilot.press("0")
        assert detail.chart_view.bounds(stored.steps) == full
        assert not detail.chart_view.zoomed


async def test_clock_axis_shows_times_of_day(explosion_app: RltuiApp) -> None:
    async with explosion_app.run_test(size=(160, 48)) as pilot:
        detail = await _open_margin_chart(pilot, explosion_app)
        stored = explosion_app.runs[0].view("rewards/margins", None)
        assert stored is not None
        await pilot.press("x")
        assert _mode(detail) == "elapsed"
        assert "wall time (min)" in screen_text(explosion_app)
        await pilot.press("x")
        await pilot.pause(0.1)
        assert _mode(detail) == "clock"
        text = screen_text(explosion_app)
        assert "x: clock time" in text
        _, labels = clock_ticks(float(stored.wall_times[0]), float(stored.wall_times[-1]))
        assert labels
        assert all(re.fullmatch(r"\d\d:\d\d", s) for s in labels)
        for label in labels:
            assert label in text
        await pilot.press("x")
        assert _mode(detail) == "step"


async def test_chart_keys_are_in_the_footer_and_on_help(explosion_app: RltuiApp) -> None:
    async with explosion_app.run_test(size=(200, 48)) as pilot:
        await _open_margin_chart(pilot, explosion_app)
        footer = screen_text(explosion_app).splitlines()[-1]
        for label in ("Cursor", "Zoom", "Pan", "Reset", "Axis", "Smooth"):
            assert label in footer
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        help_text = str(explosion_app.screen.query_one("#help").render())
        assert "cursor one logged step" in help_text
        assert "zoom in / out around the cursor" in help_text
        assert "clock time" in help_text
