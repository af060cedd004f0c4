"""The live path with the real session (files appended while the app runs) and the launcher,
including a tmux pane as the only source."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from rltui import session
from rltui.cli import build_parser
from rltui.commands import launch as launch_mod
from rltui.commands.launch import demo_path, launch
from rltui.ui.app import RltuiApp, UiOptions
from tests.ui._text import screen_text
from tests.ui.conftest import settle


def write_jsonl(path: Path, steps: range, key: str = "loss") -> None:
    with path.open("a") as fh:
        for s in steps:
            fh.write(json.dumps({"step": s, key: 1.0 / s}) + "\n")


@pytest.mark.parametrize("poll", [False, True], ids=["watchfiles", "poll"])
async def test_appended_records_reach_the_screen(tmp_path: Path, poll: bool) -> None:
    run = tmp_path / "run"
    run.mkdir()
    write_jsonl(run / "metrics.jsonl", range(1, 6))
    runs = session.open_sessions([str(run)])
    app = RltuiApp(runs, UiOptions(poll=poll, poll_interval=0.1))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, until=lambda: app.snapshots[0] is not None and app.snapshots[0].step == 5)
        assert "step 5" in screen_text(app)
        await pilot.pause(0.3)  # let the watcher start
        write_jsonl(run / "metrics.jsonl", range(6, 9))
        await settle(pilot, until=lambda: app.snapshots[0].step == 8, timeout=10)  # type: ignore[union-attr]
        await settle(pilot)
        assert "step 8" in screen_text(app)


async def test_a_new_run_in_a_sweep_folder_appears(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    (sweep / "a").mkdir(parents=True)
    write_jsonl(sweep / "a" / "metrics.jsonl", range(1, 4))
    runs = session.open_sessions([str(sweep)])
    known = list(runs)

    def reopen() -> list:  # type: ignore[type-arg]
        fresh = session.open_new_sessions([str(sweep)], known)
        known.extend(fresh)
        return fresh

    opts = UiOptions(mode="compare", poll=True, poll_interval=0.05, reopen=reopen, watch_roots=(str(sweep),))
    app = RltuiApp(runs, opts)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        (sweep / "b").mkdir()
        write_jsonl(sweep / "b" / "metrics.jsonl", range(1, 3))
        await settle(pilot, until=lambda: len(app.runs) == 2 and all(app.snapshots), timeout=15)
        assert sorted(r.info.name for r in app.runs) == ["a", "b"]


def test_unopenable_run_exits_2_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["replay", str(tmp_path / "missing")])
    assert launch(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("rltui: ")
    assert "Traceback" not in err


def test_demo_run_is_found() -> None:
    path = demo_path()
    assert path is not None
    assert (path / "trainer_state.json").exists()


def test_launch_options_follow_the_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, UiOptions] = {}

    def fake_run(self: RltuiApp) -> int:
        seen["options"] = self.options
        return 0

    monkeypatch.setattr(RltuiApp, "run", fake_run)
    path = demo_path()
    assert path is not None
    args: argparse.Namespace = build_parser().parse_args(
        ["replay", str(path), "--speed", "3", "--ascii", "--no-bell", "--no-notify", "--on-alert", "cat"]
    )
    assert launch(args) == 0
    opts = seen["options"]
    assert (opts.mode, opts.speed, opts.ascii_only, opts.bell, opts.notify, opts.on_alert) == (
        "replay",
        3.0,
        True,
        False,
        False,
        "cat",
    )
    assert launch(build_parser().parse_args(["demo"])) == 0
    assert seen["options"].mode == "replay"


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
