"""``a``: every alert of every run, active and cleared, info included.

The dashboard's banners only show what needs attention now (warn and critical, active). This list
is where the rest lives: info notes (anomaly markers, missing instruments) and alerts that fired
earlier and cleared, each with its span of steps, evidence and action. Enter charts the metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from rltui.model.snapshot import SEVERITY_RANK, Alert, RunSnapshot
from rltui.ui.chart_spec import spec_for_alert
from rltui.ui.glyphs import safe
from rltui.ui.host import Host
from rltui.ui.widgets.banner import AlertRow


def all_alerts(snaps: Sequence[RunSnapshot | None]) -> list[tuple[int, Alert]]:
    """Active first (most severe, then oldest), then cleared ones (most recently cleared first)."""
    items = [(i, a) for i, s in enumerate(snaps) if s is not None for a in s.alerts]
    items.sort(
        key=lambda ia: (
            not ia[1].active,
            -SEVERITY_RANK.get(ia[1].severity, 0),
            ia[1].first_step if ia[1].active else -ia[1].last_step,
            ia[1].id,
        )
    )
    return items


def alerts_title(items: list[tuple[int, Alert]]) -> Text:
    active = sum(1 for _, a in items if a.active)
    t = Text("Alerts", style="bold")
    t.append(f"  {active} active, {len(items) - active} cleared", style="dim")
    return t


class AlertsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,a", "app.pop_screen", "Back"),
        Binding("enter", "open", "Chart"),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("up,k", "move(-1)", "Up", show=False),
    ]

    def __init__(self, host: Host) -> None:
        super().__init__()
        self.host = host
        self._keys: list[tuple[int, str, int]] = []

    @property
    def rltui(self) -> Host:
        return self.host

    def compose(self) -> ComposeResult:
        yield Static(id="alerts-title")
        box = VerticalScroll(id="alerts-body")
        box.can_focus = False
        yield box
        yield Footer()

    def on_mount(self) -> None:
        self.show()
        self.watch(self.app, "snapshots", self._snapshots_changed, init=False)

    def _snapshots_changed(self, snaps: list[RunSnapshot | None]) -> None:
        self.show()

    def show(self) -> None:
        """Redraw from the app's snapshots (live runs keep adding and clearing alerts)."""
        snaps = self.rltui.snapshots
        items = all_alerts(snaps)
        self.query_one("#alerts-title", Static).update(alerts_title(items))
        box = self.query_one("#alerts-body", VerticalScroll)
        keys = [(i, a.id, a.first_step) for i, a in items]
        if keys == self._keys:
            for row, (_, alert) in zip(box.query(AlertRow), items, strict=False):
                row.set_alert(alert)
            return
        focused = self.focused
        focused_key = (
            (focused.run_index, focused.alert.id, focused.alert.first_step)
            if isinstance(focused, AlertRow)
            else None
        )
        self._keys = keys
        box.remove_children()
        if not items:
            box.mount(Static(Text("no alerts so far", style="dim")))
            return
        multi = len(snaps) > 1
        names = [safe(s.info.name, 30) if multi and s is not None else None for s in snaps]
        ascii_only = self.rltui.ascii_only
        rows = [AlertRow(a, i, names[i], ascii_only=ascii_only) for i, a in items]
        box.mount_all(rows)
        keyed = {(r.run_index, r.alert.id, r.alert.first_step): r for r in rows}
        target = keyed.get(focused_key, rows[0]) if focused_key else rows[0]
        self.call_after_refresh(target.focus)

    def action_move(self, delta: int) -> None:
        rows = list(self.query(AlertRow))
        if not rows:
            return
        f = self.focused
        idx = rows.index(f) + delta if isinstance(f, AlertRow) and f in rows else 0
        target = rows[max(0, min(len(rows) - 1, idx))]
        target.focus()
        target.scroll_visible()

    def action_open(self) -> None:
        f = self.focused
        if not isinstance(f, AlertRow):
            return
        spec = spec_for_alert(self.rltui.snapshots, f.run_index, f.alert)
        if spec is None:
            self.rltui.notify_user("this alert names no metric to chart", "warning")
            return
        self.rltui.open_chart(spec)
