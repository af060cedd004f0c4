"""Words and numbers on screen (issue 12 points 1, 3, 8, 9, 10, 11), read off the real app."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import tests.ui._factory as factory
from rltui import numfmt
from rltui.ui import ascii_mode
from rltui.ui.app import RltuiApp
from rltui.ui.screens.detail import DetailScreen
from rltui.ui.widgets.banner import AlertRow
from rltui.ui.widgets.gauge import Gauge
from tests.ui._text import screen_text
from tests.ui.conftest import dashboard_app, settle
from tests.ui.test_snapshots import _ready, session_app


async def _open_reward_chart(app: RltuiApp, pilot: object) -> DetailScreen:
    await settle(pilot)  # type: ignore[arg-type]
    await pilot.press("enter")  # type: ignore[attr-defined]  # the critical gauge leads the grid
    await pilot.pause(0.1)  # type: ignore[attr-defined]
    assert isinstance(app.screen, DetailScreen)
    assert app.screen.spec.series[0].metric == "rewards/margins"
    return app.screen


async def test_wall_time_axis_of_a_short_run_is_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory, "SECONDS_PER_STEP", 0.002)  # 800 steps in 1.6 s
    app = dashboard_app("dpo_margin_explosion")
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_reward_chart(app, pilot)
        await pilot.press("x")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "wall time (s)" in text
        assert "(min)" not in text


async def test_log_y_ticks_are_plain_numbers() -> None:
    app = dashboard_app("dpo_margin_explosion")
    async with app.run_test(size=(80, 24)) as pilot:
        detail = await _open_reward_chart(app, pilot)
        await pilot.press("y")
        await pilot.pause(0.1)
        assert detail.log_y
        text = screen_text(app)
        ticks = {m[1] for line in text.splitlines() if (m := re.match(r"\s*([-\d.e]+)[┤├]", line))}
        assert {"1", "10"} <= ticks, ticks
        assert "log10" not in text


async def test_header_rate_is_written_like_the_gauge() -> None:
    app = dashboard_app("grpo_length_hacking")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "steps/min" in text
        assert "e+" not in text
        assert "e-0" not in text


# -- points 1 and 3: the action readable, the banner's number the gauge's --------------------


async def test_banner_shows_condition_now_value_and_the_action_at_80x24() -> None:
    app = session_app("dpo_margin_explosion")
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        text = screen_text(app)
        gauge = next(g for g in app.screen.query(Gauge) if g.instrument_id == "reward")
        value = gauge.rows[0][1]
        assert value is not None
        assert value.value is not None
        now = numfmt.num(value.value)
        assert now in text  # the gauge's number ...
        assert f"now {now}; rule: 20-point medians" in text  # ... is the banner's, said as such
        assert "loss below 0.001 with accuracy >= 0.98" in text  # which condition fired
        assert "→ Margin 35.6" in text  # the action starts on screen
        assert "(a: full text)" in text


async def test_alerts_screen_has_cause_and_action_uncut() -> None:
    app = session_app("dpo_margin_explosion")
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        await pilot.press("a")
        await pilot.pause(0.2)
        row = next(r for r in app.screen.query(AlertRow) if r.alert.id == "margin_runaway")
        shown = " ".join(row.render().plain.split())
        for words in (row.alert.action, row.alert.cause, row.alert.condition):
            assert " ".join(numfmt.short_exponent(words).split()) in shown
        assert len(row.alert.action) > 300  # longer than the old cut
        assert row.region.height > 12  # drawn in full (the list scrolls), not capped at 4 rows


# -- point 10: ASCII really everywhere, and on its own where the terminal is not UTF-8 --------


def test_a_terminal_without_utf8_gets_ascii() -> None:
    code = (
        "import sys; from rltui.ui.ascii_mode import wants_ascii; "
        "print(wants_ascii(False, sys.stdout.encoding))"
    )
    env = {**os.environ, "PYTHONUTF8": "0", "LC_ALL": "C"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    assert not ascii_mode.wants_ascii(False, "utf-8")
    assert ascii_mode.wants_ascii(True, "utf-8")


async def test_ascii_mode_puts_only_ascii_on_every_screen() -> None:
    app = session_app("dpo_margin_explosion", ascii_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(pilot)
        seen = []
        for keys in ([], ["a"], ["escape", "enter"], ["y"], ["escape", "question_mark"]):
            for key in keys:
                await pilot.press(key)
                await pilot.pause(0.2)
            text = screen_text(app)
            seen.append(type(app.screen).__name__)
            assert text.isascii(), sorted({c for c in text if not c.isascii()})
        assert seen[2] == "DetailScreen"
