"""The sweep overview on a real sweep folder (TRL-shaped event files, one per run, each with its
TrainingArguments): it opens first, ranks the runs worst first, shows the config keys that
differ, filters, groups, and opens one run or a selection in a dashboard of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from rltui import session
from rltui.ui.app import RltuiApp, UiOptions
from rltui.ui.run_subset import RunSubset
from rltui.ui.screens.dashboard import DashboardScreen
from rltui.ui.screens.sweep import SweepScreen
from rltui.ui.sweep_rows import differing_keys, grouped, key_instruments, matches, rank, rows_of
from tests.e2e._writer import DPO_CONFIG, TrlEventWriter, exploding_dpo, healthy_dpo
from tests.ui._text import screen_text
from tests.ui.conftest import FROZEN_NOW, settle
from tests.ui.test_pump_discovery import running, until

BETAS = (0.05, 0.1, 0.2, 0.5)
LRS = (5e-6, 5e-5)
#: The runs that memorise the pairs from step 20 on (their margins explode).
EXPLODING = {"b0.05_lr5e-05", "b0.1_lr5e-05"}
STEPS = 60


def _name(beta: float, lr: float) -> str:
    return f"b{beta}_lr{lr:.0e}"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sweep")
    for beta in BETAS:
        for lr in LRS:
            name = _name(beta, lr)
            with TrlEventWriter(root / name) as writer:
                writer.write_args(
                    DPO_CONFIG | {"beta": beta, "learning_rate": lr, "max_steps": STEPS, "output_dir": name}
                )
                for step in range(1, STEPS + 1):
                    bad = name in EXPLODING and step >= 20
                    writer.log(step, exploding_dpo(step, since=20) if bad else healthy_dpo(step))
    return root


def _app(sweep: Path) -> RltuiApp:
    runs = session.open_sessions([str(sweep)])
    return RltuiApp(runs, UiOptions(mode="compare", follow=False, frozen_now=FROZEN_NOW))


def test_rows_rank_worst_first_and_show_what_differs(sweep: Path) -> None:
    runs = session.open_sessions([str(sweep)])
    snaps = []
    for r in runs:
        r.load()
        snaps.append(r.snapshot())
    names = [s.info.name for s in snaps]
    rows = rows_of(snaps, names)
    ranked = rank(rows)
    assert {r.name for r in ranked[:2]} == EXPLODING
    assert all(r.worst == "critical" for r in ranked[:2])
    assert all(r.worst not in ("critical", "warn") for r in ranked[2:]), [(r.name, r.worst) for r in ranked]
    top = ranked[0].top_alert
    assert top is not None
    assert top.severity == "critical"
    # beta and the learning rate differ; output_dir differs too but is a folder name, not a knob.
    assert differing_keys(snaps) == ["beta", "learning_rate"]
    assert ranked[0].config["beta"] in {"0.05", "0.1"}
    # The first sparkline column is the instrument in trouble (the preference margin, "reward").
    key = key_instruments(rows)[0]
    assert ranked[0].readings[key].status == "critical"
    assert ranked[-1].readings[key].status not in ("critical", "warn")
    by_beta = grouped(rows, "beta")
    assert [r.config["beta"] for r in by_beta] == sorted((r.config["beta"] for r in rows), key=float)
    assert sorted(r.name for r in rows if matches(r, "beta=0.5")) == ["b0.5_lr5e-05", "b0.5_lr5e-06"]
    assert {r.name for r in rows if matches(r, "critical")} == EXPLODING


async def test_the_overview_opens_first_and_opens_runs(sweep: Path) -> None:
    app = _app(sweep)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == len(BETAS) * len(LRS)
        labels = [str(c.label) for c in table.columns.values()]
        assert labels[:6] == ["", "run", "trainer", "step", "verdict", "top alert"]
        assert "beta" in labels
        assert "learning_rate" in labels
        first = [app.snapshots[i].info.name for i in screen.order[:2]]  # type: ignore[union-attr]
        assert set(first) == EXPLODING

        # Enter on the top row: that run alone, in a dashboard; Escape comes back.
        await pilot.press("enter")
        await settle(pilot)
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        assert isinstance(dash.host, RunSubset)
        assert [r.info.name for r in dash.host.runs] == first[:1]
        await pilot.pause()
        assert first[0] in screen_text(app).splitlines()[0]
        await pilot.press("escape")
        await pilot.pause()
        assert id(app.screen) == id(screen)  # the same overview, back on top

        # Filter to the beta=0.5 runs, select both, Enter overlays them.
        await pilot.press("slash")
        for ch in "beta=0.5":
            await pilot.press(ch)
        await pilot.press("enter")
        await pilot.pause()
        assert table.row_count == 2
        await pilot.press("space", "space")
        assert len(screen.selected) == 2
        await pilot.press("enter")
        await settle(pilot)
        dash = app.screen
        assert isinstance(dash, DashboardScreen)
        assert isinstance(dash.host, RunSubset)
        assert sorted(r.info.name for r in dash.host.runs) == ["b0.5_lr5e-05", "b0.5_lr5e-06"]
        await pilot.pause()
        assert "compare 2 runs" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        # ``o`` from the all-runs dashboard comes back to the same overview, not a second one.
        await pilot.press("escape", "escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert not isinstance(app.screen.host, RunSubset)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, SweepScreen)


async def test_group_key_cycles_through_the_differing_config_keys(sweep: Path) -> None:
    app = _app(sweep)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        await pilot.press("g")
        assert screen.group_by == "beta"
        betas = [app.snapshots[i].info.config["beta"] for i in screen.order]  # type: ignore[union-attr]
        assert betas == sorted(betas)  # type: ignore[type-var]
        await pilot.press("g")
        assert screen.group_by == "learning_rate"
        await pilot.press("g")
        assert screen.group_by is None


def write_sweep(root: Path, betas: tuple[float, ...], lrs: tuple[float, ...], steps: int) -> list[str]:
    """A sweep folder as a TRL grid search leaves it; runs with a high LR and a low beta explode."""
    exploding = []
    for beta in betas:
        for lr in lrs:
            name = _name(beta, lr)
            bad = lr >= 1e-4 and beta <= 0.1
            if bad:
                exploding.append(name)
            with TrlEventWriter(root / name) as writer:
                writer.write_args(
                    DPO_CONFIG | {"beta": beta, "learning_rate": lr, "max_steps": steps, "output_dir": name}
                )
                for step in range(1, steps + 1):
                    values = exploding_dpo(step, since=10) if bad and step >= 10 else healthy_dpo(step)
                    writer.log(step, values)
    return exploding


BIG_BETAS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 2.0)
BIG_LRS = (1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3)


@pytest.fixture(scope="module")
def big_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("sweep100")
    return root, write_sweep(root, BIG_BETAS, BIG_LRS, 30)


async def test_a_100_run_sweep_fits_one_screen_worst_first(big_sweep: tuple[Path, list[str]]) -> None:
    root, exploding = big_sweep
    app = _app(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, timeout=60)
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        assert screen.query_one(DataTable).row_count == 100
        names = [app.snapshots[i].info.name for i in screen.order]  # type: ignore[union-attr]
        assert set(names[: len(exploding)]) == set(exploding)  # every exploding run on top
        text = screen_text(app)
        assert f"sweep: 100 runs  {len(exploding)} CRIT" in text
        for name in names[:10]:
            assert name in text


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_sweep_overview_snapshot(
    snap_compare: Callable[..., bool], big_sweep: tuple[Path, list[str]], size: tuple[int, int]
) -> None:
    async def ready(pilot: Pilot[Any]) -> None:
        await settle(pilot, timeout=60)
        await pilot.pause(0.2)

    assert snap_compare(_app(big_sweep[0]), terminal_size=size, run_before=ready)


def test_a_sweep_is_published_run_by_run_then_as_one_baseline(
    sweep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 100-run sweep showed nothing for 23 s (every run read before the first batch); now the
    runs are published as they load, each snapshot taken once."""
    import threading

    from rltui.ui import pump as pump_module

    monkeypatch.setattr(pump_module, "PROGRESS_PUBLISH_S", 0.0)
    monkeypatch.setattr(pump_module, "MIN_PUBLISH_S", 0.0)
    runs = session.open_sessions([str(sweep)])
    batches: list[pump_module.Batch] = []
    pump = pump_module.Pump(runs, pump_module.PumpConfig(follow=False), batches.append, threading.Event())
    with running(pump):
        until(lambda: bool(batches) and batches[-1].baseline, 30)
    loaded = [sum(s is not None for s in b.snapshots) for b in batches]
    assert loaded[0] == 1
    assert loaded == sorted(loaded)
    assert loaded[-1] == len(runs)
    assert len(batches) == len(runs)  # one per run; the last is the baseline with all of them
    assert [b.baseline for b in batches] == [False] * (len(runs) - 1) + [True]
    # The snapshot taken when a run was read is the one the baseline carries (not taken again).
    for i in range(len(runs)):
        first = next(b.snapshots[i] for b in batches if b.snapshots[i] is not None)
        assert batches[-1].snapshots[i] is first


async def test_alerts_of_runs_that_load_later_are_not_news(
    sweep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alerts a run already has when opened are on screen, not rung: this held for the first
    batch only, and runs published later while the sweep loads would each have rung."""
    from rltui.ui import pump as pump_module

    monkeypatch.setattr(pump_module, "PROGRESS_PUBLISH_S", 0.0)
    runs = session.open_sessions([str(sweep)])
    app = RltuiApp(runs, UiOptions(mode="compare", follow=True, frozen_now=FROZEN_NOW))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        critical = [s for s in app.snapshots if s is not None and s.worst == "critical"]
        assert len(critical) == len(EXPLODING)
        assert app.bells == 0
        assert app.sent_notifications == []


def test_only_runs_published_while_the_sweep_loads_are_baseline() -> None:
    """Runs that load one by one are each their own baseline; once the pump's baseline batch
    is in, a run that appears later (created by the training in a watched folder) is news."""
    from rltui.ui.alerting import Announcer
    from tests.ui._factory import RUNS

    sessions = session.open_sessions([str(RUNS / "dpo_healthy"), str(RUNS / "dpo_margin_explosion")])
    for s in sessions:
        s.load()
    healthy, exploding = (s.snapshot() for s in sessions)
    assert exploding.worst == "critical"

    loading = Announcer(loading=True)
    assert loading.observe([healthy, None]) == []
    assert loading.observe([healthy, exploding]) == []  # loaded after the first batch: baseline
    loading.rebaseline()
    assert loading.observe([healthy, exploding]) == []

    later = Announcer(loading=True)
    later.rebaseline()
    assert later.observe([healthy]) == []  # the baseline batch: one run so far
    news = later.observe([healthy, exploding])  # a run discovered after it
    assert {n.alert.id for n in news} >= {"margin_runaway"}
    assert all(n.snap is exploding for n in news)


async def test_a_live_update_redraws_the_changed_row_in_place(sweep: Path) -> None:
    """Same rows in the same order: only the cells that changed are written (a rebuild of 100
    rows took ~150 ms of the UI thread per batch); the table must still show the new values."""
    from dataclasses import replace

    app = _app(sweep)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        table = screen.query_one(DataTable)
        last = screen.order[-1]
        snaps = list(app.snapshots)
        old = snaps[last]
        assert old is not None
        snaps[last] = replace(old, step=59)  # the run is one step behind now (order unchanged)
        before = [table.get_row_at(i) for i in range(table.row_count)]
        app.set_snapshots(snaps)
        await pilot.pause()
        after = [table.get_row_at(i) for i in range(table.row_count)]
        assert screen.order[-1] == last
        assert str(after[-1][3]) == "59/60"
        assert after[:-1] == before[:-1]  # every other row as it was
