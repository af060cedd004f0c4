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
from textual.widgets import Footer, Input, Static

from rltui.model.snapshot import SEVERITY_RANK, Alert, RunSnapshot
from rltui.ui.chart_spec import spec_for_alert
from rltui.ui.glyphs import safe
from rltui.ui.host import Host
from rltui.ui.widgets.banner import AlertRow
from rltui.ui.widgets.filter_box import FilterBox


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


#: What ``f`` cycles through (issue 12, point 9: the demo ends with 6 active and 55 cleared
#: alerts, and there was no way to see only the ones that matter now).
VIEWS = ("all", "active", "warn+")


def filter_alerts(
    items: list[tuple[int, Alert]], view: str, text: str = "", names: Sequence[str | None] = ()
) -> list[tuple[int, Alert]]:
    """``items`` limited to a view (all; active; active warn and critical) and to the alerts whose
    id, message, kind or run name hold every word of ``text`` (case-insensitive)."""
    words = text.lower().split()
    out = []
    for i, a in items:
        if view == "active" and not a.active:
            continue
        if view == "warn+" and not (a.active and a.severity in ("warn", "critical")):
            continue
        run = (names[i] or "") if i < len(names) else ""
        hay = f"{a.id} {a.severity} {a.kind} {a.message} {run}".lower()
        if all(w in hay for w in words):
            out.append((i, a))
    return out


def alerts_title(items: list[tuple[int, Alert]], shown: int | None = None, what: str = "") -> Text:
    active = sum(1 for _, a in items if a.active)
    t = Text("Alerts", style="bold")
    t.append(f"  {active} active, {len(items) - active} cleared", style="dim")
    if shown is not None and shown != len(items):
        t.append(f"  showing {shown} ({safe(what, 60)})", style="bold cyan")
    return t


class AlertsScreen(Screen[None]):
    HELP_SCOPE = "alerts"  # which keys ? lists first
    #: Not the filter box, hidden until ``/``: typed keys would filter instead of acting.
    AUTO_FOCUS = "AlertRow"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,a", "back", "Back"),
        Binding("enter", "open", "Chart"),
        Binding("f", "view", "All/active/warn+"),
        Binding("slash", "filter", "Filter"),
        # The arrows have priority: the rows' scrolling container would otherwise take them and
        # scroll a line instead of moving the focus. j/k do not, so they type into the / box.
        Binding("down", "move(1)", "Down", show=False, priority=True),
        Binding("up", "move(-1)", "Up", show=False, priority=True),
        Binding("j", "move(1)", "Down", show=False),
        Binding("k", "move(-1)", "Up", show=False),
    ]

    def __init__(self, host: Host) -> None:
        super().__init__()
        self.host = host
        self._keys: list[tuple[int, str, int]] = []
        #: One of VIEWS, and the ``/`` words.
        self.view = "all"
        self.filter_text = ""

    @property
    def rltui(self) -> Host:
        return self.host

    def compose(self) -> ComposeResult:
        yield Static(id="alerts-title")
        yield FilterBox(placeholder="filter alerts: id, severity, message, run", id="filter")
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
        every = all_alerts(snaps)
        run_names = [s.info.name if s is not None else None for s in snaps]
        items = filter_alerts(every, self.view, self.filter_text, run_names)
        what = ", ".join(x for x in (self.view if self.view != "all" else "", self.filter_text) if x)
        self.query_one("#alerts-title", Static).update(alerts_title(every, len(items), what))
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
            box.mount(Static(Text("no alerts so far" if not every else "no alert matches", style="dim")))
            return
        multi = len(snaps) > 1
        names = [safe(s.info.name, 30) if multi and s is not None else None for s in snaps]
        ascii_only = self.rltui.ascii_only
        rows = [AlertRow(a, i, names[i], ascii_only=ascii_only) for i, a in items]
        box.mount_all(rows)
        keyed = {(r.run_index, r.alert.id, r.alert.first_step): r for r in rows}
        target = keyed.get(focused_key, rows[0]) if focused_key else rows[0]
        if not self.query_one(FilterBox).has_focus:  # typing a filter keeps the focus in its box
            self.call_after_refresh(target.focus)

    def action_back(self) -> None:
        """Escape clears the filter first (and hides its box), then leaves the screen."""
        if not self.query_one(FilterBox).close():
            self.app.pop_screen()

    def action_view(self) -> None:
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        self.show()

    def action_filter(self) -> None:
        self.query_one(FilterBox).open()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        del event
        rows = list(self.query(AlertRow))
        if rows:
            rows[0].focus()

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
