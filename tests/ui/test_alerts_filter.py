"""The alerts screen. Issue 12, point 9: it lists every alert ever raised (the demo ends with 6
active and 55 cleared); ``f`` narrows it to the active ones, then to active warn/critical, and
``/`` to alerts whose id, message or run hold the typed words. Active ones come first, cleared
ones say so, and enter charts the alert's metric."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from rltui.model.snapshot import Alert
from rltui.ui.screens.alerts import AlertsScreen, all_alerts, filter_alerts
from rltui.ui.screens.dashboard import DashboardScreen
from rltui.ui.screens.detail import DetailScreen
from rltui.ui.widgets.banner import AlertRow
from tests.ui._text import screen_text
from tests.ui.conftest import settle
from tests.ui.test_snapshots import session_app


async def _rows(pilot: Pilot[Any], screen: AlertsScreen, want: int) -> list[Alert]:
    """The rows on screen once the rebuild is done (old rows are removed asynchronously)."""
    for _ in range(50):
        await pilot.pause(0.02)
        rows = [r.alert for r in screen.query(AlertRow) if r.is_attached and not r._closing]
        if len(rows) == want:
            return rows
    return [r.alert for r in screen.query(AlertRow)]


async def test_view_and_text_filters_narrow_the_list() -> None:
    app = session_app("grpo_length_hacking")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        every = all_alerts(app.snapshots)
        assert any(not a.active for _, a in every)  # cleared ones are there to filter out
        assert len(screen.query(AlertRow)) == len(every)

        await pilot.press("f")
        active = [a for _, a in every if a.active]
        assert await _rows(pilot, screen, len(active)) == active
        assert f"showing {len(active)} (active)" in screen_text(app)

        await pilot.press("f")
        acting = [a for a in active if a.severity in ("warn", "critical")]
        assert await _rows(pilot, screen, len(acting)) == acting
        assert len(acting) < len(active)  # the info alerts are gone

        await pilot.press("f", "slash")
        for ch in "truncat":
            await pilot.press(ch)
        want = [a for _, a in filter_alerts(every, "all", "truncat")]
        rows = await _rows(pilot, screen, len(want))
        assert rows == want
        assert rows
        assert all("truncat" in f"{a.id} {a.kind} {a.message}".lower() for a in rows)

        await pilot.press("escape")  # clears the filter, stays on the screen
        assert len(await _rows(pilot, screen, len(every))) == len(every)
        assert app.screen is screen
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, AlertsScreen)


async def test_alerts_screen_lists_active_and_cleared_and_charts_one() -> None:
    app = session_app("grpo_length_hacking")
    snap = app.runs[0].snapshot()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        rows = list(screen.query(AlertRow))
        assert len(rows) == len(snap.alerts)
        assert sorted(r.alert.id for r in rows) == sorted(a.id for a in snap.alerts)
        cleared = [r for r in rows if not r.alert.active]
        assert cleared
        assert all("cleared" in r.render().plain for r in cleared)
        assert all(r.alert.active for r in rows[: len(rows) - len(cleared)])  # active ones first
        target = next(i for i, r in enumerate(rows) if r.alert.metric and r.alert.severity == "info")
        await pilot.press(*["j"] * target)
        assert screen.focused is rows[target]
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, DetailScreen)
        assert app.screen.spec.series[0].metric == rows[target].alert.metric
        assert app.screen.spec.alerts == (rows[target].alert,)
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_arrow_keys_move_between_alert_rows_when_the_list_scrolls() -> None:
    """The rows sit in a scrolling container whose own up/down bindings scrolled it by a line
    instead of moving the focus once the list overflowed (j/k worked)."""
    from rltui.ui.screens.alerts import AlertsScreen
    from rltui.ui.widgets.banner import AlertRow
    from tests.ui.conftest import dashboard_app, settle

    app = dashboard_app("grpo_length_hacking")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        rows = list(screen.query(AlertRow))
        assert len(rows) > 6  # more rows than fit: the list scrolls
        first = screen.focused
        assert first is rows[0]
        await pilot.press("down", "down", "down")
        assert screen.focused is rows[3]
        await pilot.press("up")
        assert screen.focused is rows[2]
        await pilot.press("slash", "k")  # typed into the filter box, not a move
        assert "k" in str(getattr(screen.focused, "value", ""))
