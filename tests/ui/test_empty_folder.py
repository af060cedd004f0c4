"""Issue 12, point 2: an empty folder, or one that is not a run, said "OK" with every instrument
unavailable. It now says it is waiting and for what, until a run appears there, and that run
replaces the placeholder (``rltui watch`` on an empty folder, the real launcher and reopen)."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from rltui import session
from rltui.cli import build_parser
from rltui.commands import launch as launch_mod
from rltui.records import NO_RUN_YET, Problem
from rltui.ui.app import RltuiApp, UiOptions
from rltui.ui.runs import RunSource
from tests.ui._factory import RUNS
from tests.ui._text import screen_text
from tests.ui.conftest import settle


def _watch(folder: Path) -> RltuiApp:
    """The app as ``rltui watch FOLDER`` builds it (launch.py): a stand-in run, and a rescan."""
    runs = session.open_sessions([str(folder)], wait=True)
    known = list(runs)

    def reopen() -> list[RunSource]:
        fresh = session.open_new_sessions([str(folder)], known)
        known.extend(fresh)
        return list(fresh)

    return RltuiApp(list(runs), UiOptions(reopen=reopen, watch_roots=(str(folder),)))


@pytest.mark.parametrize("content", ["empty", "not_a_run"])
async def test_a_folder_without_a_run_waits_then_shows_the_run(tmp_path: Path, content: str) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    if content == "not_a_run":
        (folder / "notes.md").write_text("# my experiment\n")
        (folder / "data").mkdir()
    app = _watch(folder)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        header = "\n".join(text.splitlines()[:2])
        assert "WAITING" in header
        assert " OK " not in header
        assert NO_RUN_YET in header
        assert "trainer_state.json" in text  # the body says what it waits for
        assert "events.out.tfevents" in text
        assert "unavailable:" not in text  # not fourteen "unavailable" instruments
        assert "input problem" not in text  # waiting is a state, not an input problem

        shutil.copytree(RUNS / "dpo_healthy", folder / "run1")
        await settle(pilot, until=lambda: any(r.info.name == "run1" for r in app.runs), timeout=20)
        await pilot.pause(0.2)
        header = "\n".join(screen_text(app).splitlines()[:2])
        assert "run1" in header
        assert "WAITING" not in header
        assert NO_RUN_YET not in screen_text(app)


def test_help_keeps_every_rule_id_apart_from_its_title() -> None:
    """Issue 12, point 13: the help ran ``train_inference_mismatch`` into its title."""
    from rltui.ui.runs import catalogue
    from rltui.ui.screens.help import help_text

    class _NoRuns:
        snapshots: tuple[None, ...] = ()
        runs: tuple[RunSource, ...] = ()

    lines = help_text(_NoRuns()).plain.splitlines()  # type: ignore[arg-type]
    entries = catalogue()
    assert max(len(rule_id) for rule_id, _, _ in entries) >= 22  # the case that broke
    for rule_id, _, title in entries:
        found = [x for x in lines if f" {rule_id} " in x]  # the id, then a space, then the title
        assert found, f"{rule_id} runs into its title"
        assert title[:20] in found[0]


def test_a_lost_link_before_anything_was_read_is_not_called_waiting_for_files(tmp_path: Path) -> None:
    """Only the empty-folder state reads as "no run files here yet"; a host that cannot be
    reached before the first point keeps its own message (in red)."""
    from dataclasses import replace

    from rltui.ui.status_line import header_text

    (stand_in,) = session.open_sessions([str(tmp_path)], wait=True)
    snap = stand_in.snapshot()
    assert snap.problems[0].message.startswith(NO_RUN_YET)
    lost = Problem("ssh://gpu1/runs/a", None, "gpu1 unreachable since 10:04: retrying", transient=True)
    header = header_text(replace(snap, problems=(lost,)), 0.0).plain
    assert "gpu1 unreachable since 10:04" in header
    assert NO_RUN_YET not in header
    assert NO_RUN_YET in header_text(snap, 0.0).plain


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
