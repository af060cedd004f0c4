"""Header words: freshness, pace and ETA from a snapshot and a given clock; glyph helpers; the
clock tick repaints the header only when its words change."""

from __future__ import annotations

import dataclasses

import numpy as np
from rich.text import Text
from textual.widgets import Static

from rltui.ui.app import RltuiApp
from rltui.ui.glyphs import (
    ASCII_LEVELS,
    fmt_duration,
    fmt_value,
    sparkline,
    trend_glyph,
)
from rltui.ui.screens.dashboard import DashboardScreen
from rltui.ui.status_line import freshness, header_text, pace
from tests.ui._factory import SECONDS_PER_STEP, T0, make_run
from tests.ui.conftest import settle


def test_finished_live_and_stale() -> None:
    snap = make_run("dpo_margin_explosion").snapshot()
    assert freshness(snap, T0 + 10**6)[0] == "finished"
    half = make_run("dpo_margin_explosion").snapshot(at_step=400)
    last = T0 + 400 * SECONDS_PER_STEP
    assert freshness(half, last + 5)[0] == "live"
    assert freshness(half, last + 3600)[0] == "stale for 1h00m"


def test_pace_and_eta_follow_the_clock() -> None:
    half = make_run("dpo_margin_explosion").snapshot(at_step=400)
    p = pace(half)
    assert p.steps_per_min == 60.0 / SECONDS_PER_STEP
    assert p.eta == (800 - 400) * SECONDS_PER_STEP
    text = header_text(half, T0 + 400 * SECONDS_PER_STEP).plain
    assert "step 400/800 (50%)" in text
    assert "ETA 20m00s" in text


def test_no_clock_is_said() -> None:
    snap = dataclasses.replace(make_run("dpo_healthy").snapshot(at_step=10), last_wall_time=None)
    assert freshness(snap, 0.0)[0] == "no clock"


def test_glyphs() -> None:
    assert trend_glyph("rising", True) == "⇈"
    assert trend_glyph("rising", True, ascii_only=True) == "^^"
    assert trend_glyph("falling", ascii_only=True) == "v"
    assert trend_glyph("flat", ascii_only=True) == "="  # "-" reads as a minus sign (issue 12)
    assert trend_glyph("flat") == "≈"
    line = sparkline(np.linspace(0, 1, 50), 10, ascii_only=True)
    assert len(line) == 10
    assert set(line) <= set(ASCII_LEVELS)
    assert line[0] == "_"
    assert line[-1] == "#"
    assert fmt_value(float("nan")) == "NaN"
    assert fmt_value(float("-inf")) == "-Inf"
    assert fmt_value(None) == "–"
    assert fmt_duration(59) == "59s"
    assert fmt_duration(3600 * 25) == "1d01h"


async def test_clock_tick_repaints_the_header_only_when_its_text_changes(explosion_app: RltuiApp) -> None:
    async with explosion_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = explosion_app.screen
        assert isinstance(screen, DashboardScreen)
        header = screen.query_one("#header", Static)
        calls: list[object] = []
        original = header.update

        def counting_update(*a: object, **k: object) -> None:
            calls.append(a)
            original(*a, **k)  # type: ignore[arg-type]

        header.update = counting_update  # type: ignore[method-assign]
        screen.show_header()
        screen.show_header()
        assert calls == []  # frozen clock, finished run: the words are the same
        explosion_app.options.frozen_now = (explosion_app.options.frozen_now or 0) + 10**6
        screen.show_header()
        assert calls == []  # "finished" does not age
        screen._header = lambda snaps: Text("other words")  # type: ignore[method-assign]
        screen.show_header()
        assert len(calls) == 1
