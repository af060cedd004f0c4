"""Issue 12: a config panel with the run's hyperparameters (``i``) and a tail of the console log
(``t``), on real TRL runs through the real session."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.pilot import Pilot

from rltui.session import open_sessions
from rltui.ui.app import RltuiApp, UiOptions
from rltui.ui.screens.console import ConsoleScreen
from rltui.ui.screens.run_info import RunInfoScreen, info_text
from tests.ui._factory import RUNS
from tests.ui._text import screen_text
from tests.ui.conftest import settle
from tests.ui.test_snapshots import session_app


async def test_run_info_shows_the_hyperparameters_first() -> None:
    app = session_app("dpo_margin_explosion")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("i")
        assert isinstance(app.screen, RunInfoScreen)
        text = screen_text(app)
        hyper = text.index("Hyperparameters")
        assert text.index("beta") > hyper
        assert "0.1" in text.splitlines()[next(i for i, x in enumerate(text.splitlines()) if " beta " in x)]
        assert "learning_rate" in text
        assert "trl dpo" in text
        assert "All other config" in text
        await pilot.press("i")
        assert not isinstance(app.screen, RunInfoScreen)


def test_run_info_of_several_runs_puts_what_differs_first() -> None:
    sessions = open_sessions([str(RUNS / "dpo_healthy"), str(RUNS / "grpo_healthy")])
    for s in sessions:
        s.load()
    text = info_text([s.snapshot() for s in sessions]).plain
    lines = text.splitlines()
    hyper = lines.index("Hyperparameters")
    first = lines[hyper + 1]
    # DPO and GRPO differ in beta (0.1 vs 0.0 here) or learning rate: a differing key leads.
    key = first.split()[0]
    values = first.split()[1:]
    assert len(set(values)) > 1, first
    assert key in text


def test_run_info_of_a_big_sweep_shows_eight_runs_and_names_the_rest() -> None:
    sessions = open_sessions([str(RUNS / "dpo_healthy")])
    sessions[0].load()
    snap = sessions[0].snapshot()
    text = info_text([snap] * 11).plain
    assert text.startswith("3 more runs not shown")
    assert text.count("trl dpo") == 8


def _folder_app(run: Path) -> RltuiApp:
    """The app over the real session of the run folder ``run`` (read before the app starts)."""
    sessions = open_sessions([str(run)])
    for s in sessions:
        s.load()
    return RltuiApp(list(sessions), UiOptions(follow=False))


async def _open_console(app: RltuiApp, pilot: Pilot[int]) -> ConsoleScreen:
    """``t``, then wait for the console's first read to be drawn."""
    await settle(pilot)
    await pilot.press("t")
    screen = app.screen
    assert isinstance(screen, ConsoleScreen)
    await settle(pilot, until=lambda: screen.reads >= 1)
    return screen


async def test_console_tail_shows_the_newest_lines_and_follows_the_log(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUNS / "dpo_margin_explosion", run)
    log = run / "console.log"
    with log.open("ab") as f:
        f.write(b"\x1b[31mWARNING\x1b[0m: Token indices sequence length is longer than the maximum\n")
    app = _folder_app(run)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await _open_console(app, pilot)
        text = screen_text(app)
        assert "WARNING: Token indices sequence length" in text
        assert "\x1b" not in text
        assert str(log) in text or "console.log" in text
        with log.open("ab") as f:
            f.write(b"step 801 retried after OOM\n")
        screen.refresh_tail()
        await settle(pilot, until=lambda: screen.reads >= 2)
        await pilot.pause()
        assert "step 801 retried after OOM" in screen_text(app)  # the view follows the end


async def test_console_screen_says_why_when_there_is_no_log(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(RUNS / "dpo_healthy" / "trainer_state.json", run / "trainer_state.json")
    app = _folder_app(run)
    async with app.run_test(size=(100, 24)) as pilot:
        await _open_console(app, pilot)
        assert "no console log in this run: rltui reads *.log files and --tmux panes" in screen_text(app)


async def test_console_tail_in_replay_says_it_shows_the_logs_end() -> None:
    app = session_app("dpo_margin_explosion", mode="replay", autoplay=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await _open_console(app, pilot)
        top = " ".join(x.strip() for x in screen_text(app).splitlines()[:2])  # the title may wrap
        assert "(the log's end, not the replay step)" in top
