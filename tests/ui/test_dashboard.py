"""Pilot tests of the dashboard, the detail chart, the metrics browser and help, on real numbers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from rltui import session
from rltui.model.config import Config
from rltui.model.snapshot import Alert, InstrumentReading
from rltui.ui.app import RltuiApp, UiOptions
from rltui.ui.screens.dashboard import DashboardScreen
from rltui.ui.screens.detail import DetailScreen
from rltui.ui.screens.help import HelpScreen
from rltui.ui.screens.metrics import MetricsScreen
from rltui.ui.widgets.banner import AlertBanner
from rltui.ui.widgets.gauge import Gauge
from tests.ui._factory import RUNS, make_run
from tests.ui._text import screen_text
from tests.ui.conftest import dashboard_app, settle


def explosion_alert(alert_id: str, app: RltuiApp) -> Alert:
    """The real model's active ``alert_id`` on the explosion run (what the screen must show)."""
    snap = app.runs[0].snapshot()
    return next(a for a in snap.alerts if a.id == alert_id and a.active)


def reading(app: RltuiApp, instrument: str) -> InstrumentReading:
    return next(r for r in app.runs[0].snapshot().instruments if r.id == instrument)


async def test_dashboard_shows_header_banner_gauges_and_unavailable(explosion_app: RltuiApp) -> None:
    runaway = explosion_alert("margin_runaway", explosion_app)
    assert runaway.severity == "critical"
    async with explosion_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(explosion_app)
        assert "dpo_margin_explosion" in text
        assert "step 800/800" in text
        assert "finished" in text
        assert f"CRIT margin_runaway since step {runaway.first_step}" in text
        assert "CRIT likelihood_displacement since step" in text
        assert "unavailable: " in text
        assert "kl" in text
        titles = [g.title for g in explosion_app.screen.query(Gauge)]
        # The critical gauge first, then the rest in the instruments' order.
        assert titles[:4] == ["Preference margin", "Loss", "Gradient norm", "Learning rate"]
        length = reading(explosion_app, "length")
        assert length.status == "unavailable"
        assert length.title not in titles  # DPO logs no lengths: listed, not drawn


async def test_hjkl_and_arrows_move_focus_through_the_grid(explosion_app: RltuiApp) -> None:
    async with explosion_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = explosion_app.screen
        gauges = list(screen.query(Gauge))
        # Two banners leave the gauge body a line short: it scrolls, and the arrows still move
        # the focus (the body's own arrow bindings once scrolled it by a line instead).
        assert screen.query_one("#body").max_scroll_y > 0
        assert screen.focused is gauges[0]
        await pilot.press("l")
        assert screen.focused is gauges[1]
        await pilot.press("h")
        assert screen.focused is gauges[0]
        await pilot.press("j")
        assert screen.focused is gauges[2]  # two columns at 80 cells
        await pilot.press("right", "left", "down")
        assert screen.focused is gauges[4]
        await pilot.press("up", "k")
        assert screen.focused is gauges[0]
        await pilot.press("k")
        assert isinstance(screen.focused, AlertBanner)
        await pilot.press("down")
        assert screen.focused is gauges[0]


async def test_enter_on_gauge_opens_chart_and_keys_change_it(explosion_app: RltuiApp) -> None:
    async with explosion_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # The reward gauge is critical: it leads the grid and has the focus (issue 12, point 5).
        assert explosion_app.screen.focused.title == "Preference margin"  # type: ignore[union-attr]
        await pilot.press("enter")
        await pilot.pause(0.1)
        detail = explosion_app.screen
        assert isinstance(detail, DetailScreen)
        assert [s.metric for s in detail.spec.series] == [
            "rewards/margins",
            "rewards/accuracies",
            "rewards/chosen",
            "rewards/rejected",
        ]
        # The chart draws margin_runaway's configured levels (10 / 20 / 50 by default).
        levels = Config.defaults().thresholds("margin_runaway")
        assert detail.spec.thresholds == {lv: levels[f"{lv}_margin"] for lv in ("info", "warn", "critical")}
        # Marked: every warn/critical episode on the charted metrics, cleared ones too (chosen's
        # likelihood fell once before, 122-134, and again from 145 on).
        assert [(a.id, a.active) for a in detail.spec.alerts] == [
            ("margin_runaway", True),
            ("likelihood_displacement", True),
            ("likelihood_displacement", False),
        ]
        await pilot.press("x", "y", "o", "greater_than_sign", "greater_than_sign", "less_than_sign")
        await pilot.pause(0.1)
        assert (detail.x_wall, detail.log_y, detail.clip_outliers) == (True, True, True)
        assert detail.weight == pytest.approx(0.65)
        text = screen_text(explosion_app)
        assert "smoothing 0.65" in text
        assert "wall time" in text
        assert "5–95%" in text
        await pilot.press("escape")
        assert isinstance(explosion_app.screen, DashboardScreen)


async def test_enter_on_banner_charts_the_alerts_metric(explosion_app: RltuiApp) -> None:
    async with explosion_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        banners = list(explosion_app.screen.query(AlertBanner))
        assert [b.alert.id for b in banners] == ["margin_runaway", "likelihood_displacement"]
        await pilot.press("k")  # from the first gauge to the banner just above it
        assert explosion_app.screen.focused is banners[-1]
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert isinstance(explosion_app.screen, DetailScreen)
        assert explosion_app.screen.spec.series[0].metric == "rewards/chosen"
        await pilot.press("escape")
        await pilot.press("k", "enter")  # the banner above: margin_runaway
        await pilot.pause(0.1)
        assert isinstance(explosion_app.screen, DetailScreen)
        assert explosion_app.screen.spec.series[0].metric == "rewards/margins"


async def test_export_csv_writes_the_series_to_the_current_directory(
    explosion_app: RltuiApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with explosion_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the reward gauge, critical, first
        await pilot.pause(0.1)
        await pilot.press("e")
        await pilot.pause(0.1)
    path = explosion_app.last_export
    assert path is not None
    assert path.parent == tmp_path
    assert path.suffix == ".csv"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    history = json.loads((RUNS / "dpo_margin_explosion" / "trainer_state.json").read_text())["log_history"]
    expected = [e["rewards/margins"] for e in history if "rewards/margins" in e]
    got = [float(r["value"]) for r in rows if r["metric"] == "rewards/margins"]
    assert np.allclose(got, expected)
    # Every series the reward gauge draws (margins, accuracies, chosen, rejected), nothing else.
    assert {r["metric"] for r in rows} == {t.name for t in reading(explosion_app, "reward").traces}
    assert {r["metric"] for r in rows} >= {"rewards/margins", "rewards/chosen", "rewards/rejected"}


async def test_export_from_dashboard_and_screenshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = dashboard_app("dpo_healthy")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause(0.05)
        csv_path = app.last_export
        await pilot.press("s")
        await pilot.pause(0.05)
        svg_path = app.last_export
    assert csv_path is not None
    assert csv_path.exists()
    assert csv_path.parent == tmp_path
    assert svg_path is not None
    assert svg_path.suffix == ".svg"
    assert "<svg" in svg_path.read_text()[:200]


async def test_export_never_writes_into_the_run_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(RUNS / "dpo_healthy")
    monkeypatch.setenv("HOME", str(tmp_path))
    app = dashboard_app("dpo_healthy")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause(0.05)
    assert app.last_export is not None
    assert app.last_export.parent == tmp_path


async def test_metrics_browser_filters_and_opens_a_chart(explosion_app: RltuiApp) -> None:
    async with explosion_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await pilot.pause(0.1)
        screen = explosion_app.screen
        assert isinstance(screen, MetricsScreen)
        names = json.loads((RUNS / "dpo_margin_explosion" / "trainer_state.json").read_text())["log_history"]
        all_keys = {k for e in names for k in e if k != "step"}
        assert len(screen.metric_names()) == len(all_keys)
        await pilot.press("slash", *"rewards/m")
        await pilot.pause(0.1)
        assert [n for _, n in screen.metric_names()] == ["rewards/margins"]
        await pilot.press("enter", "enter")
        await pilot.pause(0.1)
        assert isinstance(explosion_app.screen, DetailScreen)
        assert explosion_app.screen.spec.series[0].metric == "rewards/margins"
        await pilot.press("escape")
        await pilot.press("escape")  # clears the filter
        assert screen.filter_text == ""
        await pilot.press("j", "k", "escape")
        assert isinstance(explosion_app.screen, DashboardScreen)


async def test_help_lists_keys_catalogue_and_unavailable_reasons(explosion_app: RltuiApp) -> None:
    async with explosion_app.run_test(size=(100, 200)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        assert isinstance(explosion_app.screen, HelpScreen)
        text = screen_text(explosion_app)
        assert "Keys" in text
        words = " ".join(text.split())
        unavailable = [r for r in explosion_app.runs[0].snapshot().instruments if r.status == "unavailable"]
        assert "kl" in {r.id for r in unavailable}
        for r in unavailable:  # each with the model's reason, in full
            assert f"{r.id} {' '.join(r.reason.split())}" in words
        assert "DPO-style trainers log no KL" in words
        try:
            from rltui.model.patterns import CATALOGUE
        except ImportError:
            CATALOGUE = ()
        for spec in list(CATALOGUE)[:5]:
            assert spec.id in text
        await pilot.press("j", "k", "escape")
        assert isinstance(explosion_app.screen, DashboardScreen)


async def test_q_quits(explosion_app: RltuiApp) -> None:
    async with explosion_app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause(0.05)
    assert explosion_app.return_code == 0 or explosion_app.return_code is None
    assert not explosion_app.is_running


async def test_ascii_mode_draws_no_block_glyphs() -> None:
    app = dashboard_app("dpo_margin_explosion", ascii_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        body = "".join(g.render().plain for g in app.screen.query(Gauge))
        body += "".join(b.render().plain for b in app.screen.query(AlertBanner))
        assert not set(body) & set("▁▂▃▄▅▆▇█↑↓→⇈⇊")
        assert any(ch in body for ch in "_.-:=+*#")


async def test_large_terminal_uses_more_columns() -> None:
    app = dashboard_app("dpo_margin_explosion")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        gauges = list(app.screen.query(Gauge))
        assert gauges[0].region.y == gauges[3].region.y  # four per row at 160 cells


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


async def test_help_screen_is_opaque_and_mentions_tmux_passthrough() -> None:
    app = RltuiApp([make_run("dpo_margin_explosion")], UiOptions(follow=False))
    async with app.run_test(size=(120, 70)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        assert screen.styles.background.a == 1.0
        body = screen.query_one("#help-body")
        assert body.styles.background.a == 1.0
        assert body.region.width == 120
        # The notifications note follows the keys (this screen's first, then the others').
        assert "allow-passthrough on" in screen_text(app).replace("\n ", " ")
