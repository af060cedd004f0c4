"""Bell, OSC 9 and --on-alert for new alerts (not for those a run already has when opened; OSC 9
wrapped for tmux passthrough); hostile run text is shown literally."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rltui import session
from rltui.model.snapshot import Alert, RunSnapshot
from rltui.model.store import MetricStore
from rltui.records import PointChunk
from rltui.ui.alerting import AlertTracker, alert_env, alert_json, osc9, tmux_passthrough
from rltui.ui.app import RltuiApp, UiOptions
from rltui.ui.widgets.banner import AlertBanner
from rltui.ui.widgets.gauge import Gauge
from tests.ui._factory import RUNS, make_run
from tests.ui._text import screen_text
from tests.ui.conftest import dashboard_app, settle

#: An --on-alert command that appends the alert it gets on stdin to a file, one line each.
APPEND_STDIN = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')"
HOSTILE = "[bold red]x[/] \x1b[31mred\x1b]0;pwned\x07 \x9b2J"


#: The critical alerts the real model raises on dpo_margin_explosion, active at its end.
EXPLOSION_CRITICAL = ["margin_runaway", "likelihood_displacement"]


async def test_new_critical_alert_rings_and_notifies_once() -> None:
    app = dashboard_app("dpo_margin_explosion")
    snap = app.runs[0].snapshot()
    assert [a.id for a in snap.alerts if a.active and a.severity == "critical"] == EXPLOSION_CRITICAL
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.bells == len(EXPLOSION_CRITICAL)  # once per critical alert, info ones never
        assert len(app.sent_notifications) == len(EXPLOSION_CRITICAL)
        for seq, alert_id in zip(app.sent_notifications, EXPLOSION_CRITICAL, strict=True):
            assert seq.startswith("\x1b]9;")
            assert seq.endswith("\x07")
            assert f"CRITICAL {alert_id} at step 800" in seq
        app.request_snapshots()  # same alerts again: nothing new
        await settle(pilot)
        assert app.bells == len(EXPLOSION_CRITICAL)


async def test_no_bell_and_no_notify_switch_them_off() -> None:
    app = dashboard_app("dpo_margin_explosion", bell=False, notify=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.bells == 0
        assert app.sent_notifications == []
        assert app.screen.query(AlertBanner)  # the banner still shows


async def test_on_alert_gets_the_alert_as_json_and_failures_are_shown(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    app = dashboard_app(
        "dpo_margin_explosion",
        on_alert=f"{sys.executable} -c \"{APPEND_STDIN}\" '{out}'",
    )

    def payloads() -> list[dict[str, Any]]:
        lines = out.read_text().splitlines() if out.exists() else []
        return [json.loads(line) for line in lines]

    async with app.run_test(size=(80, 24)) as pilot:
        # One command per warn/critical alert (the commands run side by side, so each appends).
        await settle(pilot, until=lambda: len(payloads()) == len(EXPLOSION_CRITICAL))
        await settle(pilot)
    by_id = {p["id"]: p for p in payloads()}
    assert sorted(by_id) == sorted(EXPLOSION_CRITICAL)  # info alerts never reach the command
    payload = by_id["margin_runaway"]
    assert payload["severity"] == "critical"
    assert payload["run"] == "dpo_margin_explosion"
    assert payload["metric"] == "rewards/margins"
    assert "margin" in payload["evidence"]

    failing = dashboard_app("dpo_margin_explosion", on_alert="echo boom >&2; exit 3")
    async with failing.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: bool(failing.on_alert_failures))
        assert "exit 3" in failing.on_alert_failures[0]
        assert "boom" in failing.on_alert_failures[0]
        assert failing.is_running  # shown, not raised


def test_alert_json_has_no_nan_and_osc9_cannot_be_broken_out_of() -> None:
    snap = make_run("dpo_healthy").snapshot()
    alert = Alert("nonfinite", "critical", 5, 5, True, HOSTILE, "c", "a", evidence={"loss": float("nan")})
    data = json.loads(alert_json(snap, alert))
    assert data["evidence"]["loss"] == "NaN"
    evil = RunSnapshot(snap.info.__class__(name="run\x07\x1b]9;x", path="/r"), 1, (), (), {})
    seq = osc9(evil, alert)
    assert seq.count("\x07") == 1
    assert seq.count("\x1b") == 1


def test_tracker_reports_each_alert_once_and_resets() -> None:
    snap = make_run("dpo_margin_explosion").snapshot()
    active = [a for a in snap.alerts if a.active]
    # Two anomaly markers (grad_norm and loss) share a step: each is an alert of its own.
    assert len({(a.id, a.first_step) for a in active}) < len(active)
    tracker = AlertTracker()
    assert [a for _, a in tracker.new_alerts([snap])] == active
    assert tracker.new_alerts([snap]) == []
    tracker.reset_to([])
    assert [a for _, a in tracker.new_alerts([snap])] == active


async def test_hostile_metric_names_and_messages_render_literally() -> None:
    run = make_run("dpo_healthy")
    steps = np.arange(1, 11, dtype=np.int64)
    run.store = MetricStore()
    run.store.add("x", {HOSTILE: PointChunk(steps, steps.astype(np.float64), np.linspace(0, 1, 10))})
    run.extra_alerts.append(
        Alert("nonfinite", "warn", 3, 10, True, HOSTILE, HOSTILE, HOSTILE, {HOSTILE: 1.0})
    )
    app = dashboard_app("dpo_healthy")
    app.runs = [run]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "[bold red]x[/]" in text  # markup shown, not applied
        assert "\x1b" not in text
        assert "\x9b" not in text
        assert "pwned" not in text
        gauges = [g for g in app.screen.query(Gauge) if g.title.startswith("[bold")]
        assert gauges, "the fallback gauge shows the hostile name literally"
        await pilot.press("m")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "[bold red]x[/] red" in text
        assert "\x1b" not in text


def test_on_alert_environment_carries_the_alert_as_sanitised_data() -> None:
    snap = make_run("dpo_healthy").snapshot()
    evil = RunSnapshot(snap.info.__class__(name="run $(touch x)\x1b]0;t\x07\nnext", path="/r"), 7, (), (), {})
    alert = Alert("margin_runaway", "critical", 5, 7, True, HOSTILE, "c", "do \x1b[2Jthis")
    env = alert_env(evil, alert)
    assert env["RLTUI_ALERT_ID"] == "margin_runaway"
    assert env["RLTUI_ALERT_SEVERITY"] == "critical"
    assert env["RLTUI_STEP"] == "7"
    assert env["RLTUI_ALERT_FIRST_STEP"] == "5"
    assert env["RLTUI_RUN"].startswith("run $(touch x)")  # kept literally, as data ...
    for value in env.values():  # ... on one line, with no escape or control character
        assert not any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in value), repr(value)
    assert json.loads(env["RLTUI_ALERT_JSON"])["id"] == "margin_runaway"


async def test_ctrl_c_quits() -> None:
    """Issue 12, point 7: Ctrl+C quits, as in btop, nvitop, k9s and lazygit."""
    app = dashboard_app("dpo_healthy")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.is_running


async def test_opening_a_run_does_not_announce_the_alerts_it_already_has(tmp_path: Path) -> None:
    marker = tmp_path / "on-alert-ran"
    runs = session.open_sessions([str(RUNS / "dpo_margin_explosion")])
    opts = UiOptions(poll=True, poll_interval=0.1, on_alert=f"touch {marker}")
    app = RltuiApp(runs, opts)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        snap = app.snapshots[0]
        assert snap is not None
        assert any(a.active and a.severity == "critical" for a in snap.alerts)  # there is news to suppress
        assert "margin_runaway" in screen_text(app)  # still on screen
        assert app.bells == 0
        assert app.sent_notifications == []
        await pilot.pause(0.3)
    assert not marker.exists()


def test_osc9_is_wrapped_for_tmux_passthrough() -> None:
    snap = make_run("dpo_margin_explosion").snapshot()
    alert = Alert(
        id="nonfinite",
        severity="critical",
        first_step=3,
        last_step=3,
        active=True,
        message="m",
        cause="c",
        action="a",
    )
    plain = osc9(snap, alert)
    wrapped = osc9(snap, alert, tmux=True)
    assert wrapped == tmux_passthrough(plain)
    assert wrapped.startswith("\x1bPtmux;\x1b\x1b]9;")
    assert wrapped.endswith("\x07\x1b\\")
    inner = wrapped[len("\x1bPtmux;") : -2]
    assert inner.replace("\x1b\x1b", "\x1b") == plain
    assert "\x1b" not in inner.replace("\x1b\x1b", "")  # no lone ESC could end the DCS early


async def test_notifications_are_wrapped_when_tmux_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,123,0")
    app = RltuiApp([make_run("dpo_margin_explosion")], UiOptions(follow=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.sent_notifications
        assert all(s.startswith("\x1bPtmux;") for s in app.sent_notifications)
