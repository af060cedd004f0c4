"""Regressions from the review: an empty watched folder, thread safety of series reads, the tmux-only
launch, input problems on the dashboard, which alerts are news, replay's alert jumps, OSC 9 in
tmux, the help screen's background, gauge status from alerts, integer step ticks."""

from __future__ import annotations

import argparse
import json
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rltui import session
from rltui.cli import build_parser
from rltui.commands import launch as launch_mod
from rltui.model.snapshot import Alert
from rltui.ui.alerting import AlertTracker, osc9, tmux_passthrough
from rltui.ui.app import RltuiApp, UiOptions
from rltui.ui.runs import fallback_readings
from rltui.ui.screens.detail import integer_ticks
from rltui.ui.screens.help import HelpScreen
from tests.ui._factory import RUNS, make_run
from tests.ui._text import screen_text
from tests.ui.conftest import settle


def _captured_app(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> RltuiApp:
    """Run the real launcher up to ``app.run()`` and hand back the app it built."""
    seen: dict[str, RltuiApp] = {}

    def fake_run(self: RltuiApp) -> int:
        seen["app"] = self
        return 0

    monkeypatch.setattr(RltuiApp, "run", fake_run)
    args: argparse.Namespace = build_parser().parse_args(argv)
    assert launch_mod.launch(args) == 0
    return seen["app"]


# -- 1. an empty watched folder ----------------------------------------------------------------


async def test_a_run_created_in_an_empty_watched_folder_replaces_the_placeholder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "e"
    folder.mkdir()
    app = _captured_app(monkeypatch, ["watch", str(folder)])  # watchfiles mode, the real reopen
    assert not app.options.poll
    assert app.options.reopen is not None
    expected_last = max(
        int(e["step"])
        for e in json.loads((RUNS / "dpo_healthy" / "trainer_state.json").read_text())["log_history"]
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert [r.info.name for r in app.runs] == ["e"]
        await pilot.pause(0.5)  # let the watcher start
        shutil.copytree(RUNS / "dpo_healthy", folder / "run1")
        await settle(
            pilot,
            until=lambda: (
                [r.info.name for r in app.runs] == ["run1"]
                and app.snapshots[0] is not None
                and app.snapshots[0].step == expected_last
            ),
            timeout=20,
        )
        text = screen_text(app)
        assert "run1" in text
        assert f"step {expected_last}" in text


# -- 2. ingest, snapshots and UI reads at the same time ----------------------------------------


def test_reads_and_snapshots_while_appending_never_fail_and_never_shrink(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    log = run / "metrics.jsonl"
    log.write_text("".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in range(1, 50)))
    (sess,) = session.open_sessions([str(run)])
    sess.load()
    stop = threading.Event()
    errors: list[BaseException] = []

    def guard(fn: object) -> None:
        try:
            fn()  # type: ignore[operator]
        except BaseException as exc:  # the test reports any failure
            errors.append(exc)
            stop.set()

    def writer() -> None:
        step = 50
        while not stop.is_set() and step < 20_000:
            with log.open("a") as fh:
                fh.write(
                    "".join(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in range(step, step + 20))
                )
            step += 20

    def ingest() -> None:
        while not stop.is_set():
            sess.poll()
            sess.rescan()

    def snapshots() -> None:
        while not stop.is_set():
            sess.snapshot()

    def reader() -> None:
        last = 0
        while not stop.is_set():
            view = sess.view("loss")
            assert view is not None
            n = len(view.steps)
            assert n >= last, f"points went back from {last} to {n}"
            assert len(view.values) == n
            assert np.all(np.diff(view.steps) > 0)
            last = n

    threads = [threading.Thread(target=guard, args=(f,)) for f in (writer, ingest, snapshots, reader)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors[0]
    sess.poll()
    view = sess.view("loss")
    assert view is not None
    with log.open() as fh:
        written = sum(1 for _ in fh)
    assert len(view.steps) == written


# -- 3 and 4. the tmux-only launch and input problems ------------------------------------------


def test_tmux_without_paths_does_not_scan_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_open(paths: list[str], tmux: str | None, config: str | None, wait: bool) -> list[object]:
        seen["paths"] = paths
        return []  # "no run": launch returns 2 before any app is built

    monkeypatch.setattr(launch_mod, "tmux_pane_missing", lambda target: None)
    monkeypatch.setattr(launch_mod, "_open", fake_open)
    launch_mod.launch(build_parser().parse_args(["watch", "--tmux", "train:0.0"]))
    assert seen["paths"] == []


def test_a_missing_tmux_pane_as_the_only_source_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RltuiApp, "run", lambda self: 0)  # an empty "OK" dashboard would exit 0
    target = "rltui-no-such-session-7f3a:0.0"
    assert launch_mod.launch(build_parser().parse_args(["watch", "--tmux", target])) == 2
    err = capsys.readouterr().err
    assert err.startswith("rltui: cannot follow tmux pane")
    assert target in err
    assert "Traceback" not in err


async def test_input_problems_are_counted_on_the_dashboard(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    lines = [json.dumps({"step": s, "loss": 1.0 / s}) for s in range(1, 6)]
    lines.insert(2, "{not json")
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    runs = session.open_sessions([str(run)])
    app = RltuiApp(runs, UiOptions(poll=True, poll_interval=0.1))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, until=lambda: app.snapshots[0] is not None and app.snapshots[0].step == 5)
        text = screen_text(app)
        assert "1 input problem (? to see)" in text


# -- 5. which alerts are news ------------------------------------------------------------------


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


def test_an_escalation_is_announced_again() -> None:
    snap = make_run("dpo_healthy").snapshot()
    warn = Alert(
        id="x", severity="warn", first_step=5, last_step=9, active=True, message="m", cause="c", action="a"
    )
    tracker = AlertTracker()
    tracker.reset_to([replace(snap, alerts=(warn,))])
    assert tracker.new_alerts([replace(snap, alerts=(warn,))]) == []
    critical = replace(warn, severity="critical")
    fresh = tracker.new_alerts([replace(snap, alerts=(critical,))])
    assert [a.severity for _, a in fresh] == ["critical"]
    assert tracker.new_alerts([replace(snap, alerts=(critical,))]) == []


# -- 6. replay n lands where the banner shows --------------------------------------------------


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


# -- 7. OSC 9 inside tmux ----------------------------------------------------------------------


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


# -- 8. the help screen covers the dashboard ---------------------------------------------------


async def test_help_screen_is_opaque_and_mentions_tmux_passthrough() -> None:
    app = RltuiApp([make_run("dpo_margin_explosion")], UiOptions(follow=False))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        assert screen.styles.background.a == 1.0
        body = screen.query_one("#help-body")
        assert body.styles.background.a == 1.0
        assert body.region.width == 120
        assert "allow-passthrough on" in screen_text(app).replace("\n ", " ")


# -- 9. a raw-metric gauge follows the alerts about its metric ---------------------------------


def test_raw_metric_gauge_is_not_ok_while_an_alert_is_about_its_metric() -> None:
    run = make_run("dpo_healthy")
    snap = run.snapshot()
    metric = "loss"
    nonfinite = Alert(
        id="nonfinite",
        severity="critical",
        first_step=1,
        last_step=9,
        active=True,
        message="m",
        cause="c",
        action="a",
        metric=metric,
    )
    cleared = replace(nonfinite, active=False, metric="grad_norm")
    # An info alert names a metric only as where to chart it (instrument_missing names loss).
    info = replace(nonfinite, id="instrument_missing", severity="info", metric="learning_rate")
    alerts = (nonfinite, cleared, info)
    readings = {r.primary: r for r in fallback_readings(replace(snap, alerts=alerts), run)}
    assert readings[metric].status == "critical"
    assert readings["grad_norm"].status == "ok"  # a cleared alert does not count
    assert readings["learning_rate"].status == "ok"


# -- 10. integer step ticks --------------------------------------------------------------------


@pytest.mark.parametrize(("lo", "hi"), [(200, 201), (0, 800), (1, 7), (5, 5), (26, 1003), (190, 215)])
def test_step_ticks_are_integers_inside_the_range(lo: int, hi: int) -> None:
    ticks = integer_ticks(lo, hi)
    assert ticks
    assert all(isinstance(t, int) for t in ticks)
    assert all(lo <= t <= hi for t in ticks)
    assert ticks == sorted(set(ticks))
    assert len(ticks) <= 6
