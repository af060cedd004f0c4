"""The samples screen and the evidence view on the real grpo_length_hacking run (TRL parquet)."""

from __future__ import annotations

import pytest

pytest.importorskip("pyarrow")

from rltui.session import RunSession, open_sessions
from rltui.ui.app import RltuiApp, UiOptions
from rltui.ui.screens.samples import SamplesScreen
from tests.ui._factory import RUNS
from tests.ui._text import screen_text
from tests.ui.conftest import FROZEN_NOW, settle

#: A completion of the last step: word salad at the 32-token cap (reward 3.2 = 32 tokens / 10).
SALAD = "ju r bee sleeps near the hend duck ray snake"


def _session(run: str = "grpo_length_hacking") -> RunSession:
    session = open_sessions([str(RUNS / run)])[0]
    session.load()
    return session


def _app(*sessions: RunSession, **opts: object) -> RltuiApp:
    return RltuiApp(list(sessions), UiOptions(follow=False, frozen_now=FROZEN_NOW, **opts))  # type: ignore[arg-type]


async def test_samples_screen_shows_the_newest_step_and_walks_steps() -> None:
    session = _session()
    app = _app(session)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SamplesScreen)
        text = screen_text(app)
        assert "step 150" in text
        assert "16 completions" in text
        assert SALAD in text
        assert "Samples" in text
        assert "Filter" in text
        await pilot.press("left")
        await settle(pilot)
        assert screen.step == 149
        assert "step 149" in screen_text(app)
        await pilot.press("home")
        await settle(pilot)
        assert screen.step == 1
        assert "sleeps near the house ." in screen_text(app)  # step 1 still speaks toy English
        # order by reward: the highest reward of the step is the first row
        await pilot.press("o")
        await settle(pilot)
        assert screen.order == "reward"
        rewards = [s.reward for s in screen.rows if s.reward is not None]
        assert len(rewards) == len(screen.rows)  # every completion of this run has a reward
        assert rewards == sorted(rewards, reverse=True)
        await pilot.press("o")
        await settle(pilot)
        lengths = [len(s.completion) for s in screen.rows]
        assert screen.order == "length"
        assert lengths == sorted(lengths, reverse=True)


async def test_filter_and_group_view() -> None:
    app = _app(_session())
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SamplesScreen)
        total = len(screen.rows)
        await pilot.press("slash")
        await pilot.press(*"hend duck", "left", "right", "home", "end")
        await settle(pilot)
        assert screen.step == 150  # typing (and moving in the box) did not change the step
        assert screen.filter_text == "hend duck"
        assert 1 <= len(screen.rows) < total
        assert all("hend duck" in s.completion for s in screen.rows)
        await pilot.press("escape")
        await settle(pilot)
        assert len(screen.rows) == total
        await pilot.press("g")
        await settle(pilot)
        text = screen_text(app)
        # every group of the last step scored the same (all at the cap): no learning signal
        assert "no signal" in text
        assert "#4" in text  # num_generations=4 completions side by side


async def test_evidence_view_under_the_truncation_alert() -> None:
    session = _session()
    snap = session.snapshot()
    alert = next(a for a in snap.alerts if a.id == "truncation" and a.active)
    app = _app(session)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        banner = next(b for b in app.screen.query("AlertBanner") if b.alert.id == "truncation")  # type: ignore[attr-defined]
        banner.focus()
        await pilot.pause()
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SamplesScreen)
        assert screen.alert is not None
        assert screen.alert.id == "truncation"
        assert screen.step is not None
        assert screen.step <= (alert.raised_step or alert.last_step)
        text = screen_text(app)
        assert f"evidence for truncation (raised at step {alert.raised_step})" in text
        assert "★" in text
        # the marked samples are cut-off word salad at the length cap (reward 3.2 = 32 tokens)
        assert screen.evidence
        for s in screen.evidence:
            assert s.reward == pytest.approx(3.2)
            assert not s.completion.rstrip().endswith(".")
            assert s.completion.strip()[:30] in text
        # walking to the last step shows the salad of the end of the run
        await pilot.press("end")
        await settle(pilot)
        assert SALAD in screen_text(app)


async def test_replay_shows_the_replayed_steps_samples() -> None:
    session = _session()
    app = RltuiApp([session], UiOptions(mode="replay", autoplay=False, frozen_now=FROZEN_NOW))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, until=lambda: app.loaded)
        app.seek_step(60)
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SamplesScreen)
        assert screen.step == 59  # the newest sample step at or before the replayed step
        app.seek_step(100)
        await settle(pilot)
        app.redraw()
        assert screen.step == 100  # it follows the cursor until a step is picked by hand


async def test_a_run_without_samples_says_so() -> None:
    app = _app(_session("dpo_healthy"))
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert "no completion samples in this run" in screen_text(app)


def test_samples_screen_snapshot(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def open_samples(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)

    assert snap_compare(_app(_session()), terminal_size=(120, 32), run_before=open_samples)


async def test_markup_and_escapes_in_a_completion_reach_the_screen_as_plain_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa
    import pyarrow.parquet as pq

    run = tmp_path / "run"
    (run / "completions").mkdir(parents=True)
    (run / "metrics.jsonl").write_text('{"step": 1, "loss": 1.0}\n')
    evil = "[bold red]not bold[/bold red] \x1b[2J\x1b]0;title\x07tail"
    table = pa.table({"step": [1], "prompt": ["p"], "completion": [evil], "r": [1.0], "advantage": [0.0]})
    pq.write_table(table, run / "completions" / "completions_00001.parquet")
    session = open_sessions([str(run)])[0]
    session.load()
    app = _app(session)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        text = screen_text(app)
        assert "[bold red]not bold[/bold red] tail" in text
        assert "title" not in text


async def test_compare_shows_the_same_prompt_across_runs() -> None:
    """Two runs of one sweep see the same prompts at step 150: ``x`` puts their completions together."""
    app = _app(_session("grpo_healthy"), _session("grpo_length_hacking"))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SamplesScreen)
        assert screen.step == 150
        prompt = screen.rows[0].prompt
        await pilot.press("x")
        await settle(pilot)
        assert screen.across == prompt
        names = [name for name, _, found in screen.across_rows if found]
        assert len(names) == 2, screen.across_rows
        text = screen_text(app)
        assert "across 2 of 2 runs" in text
        # Each run's own completions of that prompt: the healthy run's short answers, the word salad.
        assert all(s.prompt == prompt for s in screen.rows)
        steps = {step for _, step, _ in screen.across_rows}
        assert steps == {150}
        hacked = [s for name, _, found in screen.across_rows if "hacking" in name for s in found]
        assert hacked
        assert all(len(s.completion) > 40 for s in hacked)
        await pilot.press("x")
        await settle(pilot)
        assert screen.across is None
        assert "across" not in screen_text(app).split("\n")[1]


async def test_across_runs_is_not_offered_with_one_run() -> None:
    app = _app(_session())
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SamplesScreen)
        assert screen.across is None
        assert "Across runs" not in screen_text(app)
