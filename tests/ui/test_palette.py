"""Issue 12: a command palette with rltui's own commands (open a screen or run, jump to an alert,
pin/hide a gauge, theme), driven through Textual's real palette with Pilot."""

from __future__ import annotations

from dataclasses import replace

from textual.command import CommandPalette

from rltui.ui.app import RltuiApp
from rltui.ui.palette import commands
from rltui.ui.screens.alerts import AlertsScreen
from rltui.ui.screens.dashboard import DashboardScreen
from rltui.ui.screens.detail import DetailScreen
from rltui.ui.screens.run_info import RunInfoScreen
from rltui.ui.widgets.gauge import Gauge
from tests.ui.conftest import settle
from tests.ui.test_snapshots import session_app


async def _run_command(app: RltuiApp, pilot: object, query: str) -> None:
    await pilot.press("ctrl+p")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*query)  # type: ignore[attr-defined]
    await pilot.pause(0.4)  # type: ignore[attr-defined]  # the palette searches in a worker
    await pilot.press("enter")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]


async def test_palette_opens_screens_and_jumps_to_an_alert_chart() -> None:
    app = session_app("dpo_margin_explosion")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await _run_command(app, pilot, "Alerts")
        assert isinstance(app.screen, AlertsScreen)
        await pilot.press("escape")
        await _run_command(app, pilot, "Run info")
        assert isinstance(app.screen, RunInfoScreen)
        await pilot.press("escape")
        await _run_command(app, pilot, "Jump to alert: CRIT margin_runaway")
        assert isinstance(app.screen, DetailScreen)
        assert any(s.metric == "rewards/margins" for s in app.screen.spec.series)


async def test_palette_pins_and_hides_gauges() -> None:
    app = session_app("dpo_margin_explosion")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        gauges = list(app.screen.query(Gauge))
        last = gauges[-1]
        await _run_command(app, pilot, f"Pin gauge: {last.title}")
        assert isinstance(app.screen, DashboardScreen)
        assert app.prefs.pinned == (last.instrument_id,)
        assert next(iter(app.screen.query(Gauge))).instrument_id == last.instrument_id
        await _run_command(app, pilot, f"Hide gauge: {last.title}")
        assert last.instrument_id not in [g.instrument_id for g in app.screen.query(Gauge)]
        await _run_command(app, pilot, "Show hidden gauges")
        assert last.instrument_id in [g.instrument_id for g in app.screen.query(Gauge)]


async def test_palette_titles_are_sanitised_and_several_runs_can_be_opened() -> None:
    app = session_app("dpo_healthy", "dpo_margin_explosion")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        # A run name and an alert id carrying terminal escapes, as a hostile folder could.
        snaps = list(app.snapshots)
        bad = snaps[1]
        assert bad is not None
        alerts = tuple(replace(a, id="\x1b]0;pwned\x07" + a.id) for a in bad.alerts)
        snaps[1] = replace(bad, info=replace(bad.info, name="\x1b[31mevil\x1b[0m"), alerts=alerts)
        app.set_snapshots(snaps)
        await pilot.pause()
        found = list(commands(app, app.screen))
        jumps = [c for c in found if c.title.startswith("Jump to alert")]
        assert jumps
        assert all("\x1b" not in c.title and "\x07" not in c.title for c in found)
        assert all("\x1b" not in c.help for c in found)
        opens = [c for c in found if c.title.startswith("Open run: ")]
        assert len(opens) == 2
        await _run_command(app, pilot, "Open run: margin")
        assert isinstance(app.screen, DashboardScreen)
        assert len(app.screen.host.runs) == 1
        assert "margin" in app.screen.host.runs[0].info.name
        await pilot.press("escape")
        assert len(app.screen.host.runs) == 2
