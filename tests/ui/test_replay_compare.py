"""Replay keys move the cursor and alerts fire as they would have live; compare overlays runs."""

from __future__ import annotations

import json

from rltui import session
from rltui.ui.app import RltuiApp, UiOptions
from rltui.ui.screens.detail import DetailScreen
from rltui.ui.widgets.gauge import Gauge
from tests.ui._factory import RUNS, make_run
from tests.ui._text import screen_text
from tests.ui.conftest import FROZEN_NOW, dashboard_app, settle


def logged_steps(run: str) -> list[int]:
    history = json.loads((RUNS / run / "trainer_state.json").read_text())["log_history"]
    return sorted({int(e["step"]) for e in history})


def replay_app(speed: float = 10.0, autoplay: bool = False) -> RltuiApp:
    opts = UiOptions(mode="replay", speed=speed, autoplay=autoplay, frozen_now=FROZEN_NOW)
    return RltuiApp([make_run("dpo_margin_explosion")], opts)


async def test_replay_keys_move_the_cursor() -> None:
    steps = logged_steps("dpo_margin_explosion")
    app = replay_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: app.loaded)
        assert app.cursor == steps[0]
        assert "REPLAY paused" in screen_text(app)
        await pilot.press("right", "right")
        await settle(pilot)
        assert app.cursor == steps[2]
        snap = app.snapshots[0]
        assert snap is not None
        assert snap.step == steps[2]
        await pilot.press("left")
        await settle(pilot)
        assert app.cursor == steps[1]
        await pilot.press("G")
        await settle(pilot)
        assert app.cursor == steps[-1]
        await pilot.press("g")
        await settle(pilot)
        assert app.cursor == steps[0]
        speed = app.speed
        await pilot.press("right_square_bracket")
        assert app.speed > speed
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.speed < speed


async def test_next_alert_jumps_to_its_first_step_and_banner_fires() -> None:
    steps = logged_steps("dpo_margin_explosion")
    app = replay_app()
    full = app.runs[0].snapshot()
    runaway = next(a for a in full.alerts if a.id == "margin_runaway" and a.active)
    first = runaway.raised_step
    assert first is not None
    # The real model: an info at the very first step (DPO starts with policy = reference), then
    # margin_runaway is the first alert raised, as a warn (critical later).
    raised = sorted({a.raised_step or a.first_step for a in full.alerts})
    assert raised[:2] == [steps[0], first]
    assert [(a.id, a.severity) for a in app.runs[0].snapshot(first).alerts if a.active] == [
        ("margin_runaway", "warn")
    ]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: app.loaded)
        assert app.cursor == steps[0]
        assert app.bells == 0
        assert "margin_runaway" not in screen_text(app)
        await pilot.press("N")  # no alert before the first step: the cursor stays
        await settle(pilot)
        assert app.cursor == steps[0]
        await pilot.press("n")
        await settle(pilot)
        assert app.cursor == first  # where the banner first shows, not the backdated onset
        assert "WARN margin_runaway" in screen_text(app)
        assert app.bells == 0  # a warn never rings
        await pilot.press("G")  # at the end it is critical, and the chosen likelihood falls too
        await settle(pilot)
        assert app.bells == 2
        assert [s.split(": ")[1].split(" at ")[0] for s in app.sent_notifications] == [
            "CRITICAL margin_runaway",
            "CRITICAL likelihood_displacement",
        ]
        await pilot.press("g")
        await settle(pilot)
        await pilot.press("n")  # firing again after a jump back is a new event in the replay
        await settle(pilot)
        assert app.cursor == first
        await pilot.press("G")
        await settle(pilot)
        assert app.bells == 4


async def test_space_plays_until_the_end() -> None:
    app = replay_app(speed=1000.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: app.loaded)
        await pilot.press("space")
        assert app.playing
        await settle(pilot, until=lambda: not app.playing, timeout=15)
        await settle(pilot)
        assert app.cursor == logged_steps("dpo_margin_explosion")[-1]
        assert "REPLAY end" in screen_text(app)


async def test_compare_shows_one_line_per_run_and_overlays_charts() -> None:
    app = dashboard_app("dpo_healthy", "dpo_margin_explosion")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "compare 2 runs" in text
        gauge = next(g for g in app.screen.query(Gauge) if g.instrument_id == "reward")
        assert [name for name, _ in gauge.rows] == ["healthy", "margin_explosion"]  # what tells them apart
        rendered = gauge.render().plain
        assert "healthy" in rendered
        assert "CRIT" in rendered
        gauge.focus()
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert isinstance(app.screen, DetailScreen)
        assert [(s.label, s.metric) for s in app.screen.spec.series] == [
            ("healthy", "rewards/margins"),
            ("margin_explosion", "rewards/margins"),
        ]
        assert "healthy" in screen_text(app)  # legend


async def test_replay_next_alert_lands_on_the_first_step_the_banner_shows() -> None:
    runs = session.open_sessions([str(RUNS / "dpo_margin_explosion")])
    app = RltuiApp(runs, UiOptions(mode="replay", autoplay=False))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, until=lambda: app.loaded)

        def runaway(step: int) -> bool:
            return any(a.id == "margin_runaway" and a.active for a in runs[0].snapshot(at_step=step).alerts)

        for _ in range(6):
            await pilot.press("n")
            await settle(pilot)
            assert app.cursor is not None
            if runaway(app.cursor):
                break
        cursor = app.cursor
        assert cursor is not None
        assert runaway(cursor)
        assert "margin_runaway since step" in screen_text(app)
        previous = int(app.replay_steps[app.cursor_index - 1])
        assert not runaway(previous), "n went past the step where the banner first shows"
