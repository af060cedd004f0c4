"""rltui's own commands in Textual's command palette (``ctrl+p``), beside Textual's (theme, keys,
screenshot, quit): open a screen, open one run of several, jump to an active alert's chart,
pin or hide a gauge of the dashboard on screen.

The palette is how a k9s or lazygit user finds what a key does without reading the help: every
command here is also a key (named in its help line). Titles carry run names, alert ids and
gauge titles, which come from run files: each is sanitised (``safe``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from textual.app import SystemCommand
from textual.screen import Screen

from rltui.model.snapshot import RunSnapshot
from rltui.ui.chart_spec import ChartSpec, spec_for_alert
from rltui.ui.glyphs import STATUS_LABEL, safe
from rltui.ui.host import Host
from rltui.ui.names import distinct_names
from rltui.ui.prefs import UiPrefs
from rltui.ui.screens.dashboard import DashboardScreen, banner_order
from rltui.ui.widgets.gauge import Gauge


class PaletteHost(Host, Protocol):
    """What the commands call on the app."""

    @property
    def replaying(self) -> bool: ...

    def action_alerts(self) -> None: ...

    def action_metrics(self) -> None: ...

    def action_samples(self) -> None: ...

    def action_run_info(self) -> None: ...

    def action_console(self) -> None: ...

    def action_overview(self) -> None: ...

    def open_run(self, index: int) -> None: ...


#: (title, help, the app's action) of the screens the palette opens.
_SCREENS = (
    ("Alerts", "every alert, active and cleared, with evidence and action (a)", "action_alerts"),
    ("Metrics browser", "every logged metric with its sparkline (m)", "action_metrics"),
    ("Samples", "the newest step's prompts and completions (c)", "action_samples"),
    ("Run info: hyperparameters", "β, learning rate, batch, max lengths; files read (i)", "action_run_info"),
    ("Console tail", "the newest lines of the run's log or tmux pane (t)", "action_console"),
)


def _screens(app: PaletteHost) -> Iterator[SystemCommand]:
    for title, what, action in _SCREENS:
        yield SystemCommand(title, what, getattr(app, action))
    if len(app.runs) > 1 and not app.replaying:
        yield SystemCommand("Sweep overview", "one row per run, worst first (o)", app.action_overview)


def _runs(app: PaletteHost, snaps: list[RunSnapshot | None]) -> Iterator[SystemCommand]:
    if len(app.runs) < 2:
        return
    names = distinct_names([r.info.name for r in app.runs])
    for i, name in enumerate(names):
        snap = snaps[i] if i < len(snaps) else None
        verdict = STATUS_LABEL.get(snap.worst, "") if snap is not None else "loading"
        yield SystemCommand(
            f"Open run: {safe(name, 60)}",
            f"{verdict} · its own dashboard (esc comes back)",
            _bind(app.open_run, i),
            discover=False,
        )


def _alerts(app: PaletteHost, snaps: list[RunSnapshot | None]) -> Iterator[SystemCommand]:
    several = len(snaps) > 1
    for i, alert in banner_order(snaps):
        spec = spec_for_alert(snaps, i, alert)
        snap = snaps[i]
        if spec is None:
            continue
        where = f" ({safe(snap.info.name, 40)})" if several and snap is not None else ""
        yield SystemCommand(
            f"Jump to alert: {STATUS_LABEL[alert.severity]} {safe(alert.id, 40)}{where}",
            f"since step {alert.first_step}: {safe(alert.message, 120)}",
            _bind_chart(app, spec),
        )


def _gauges(app: PaletteHost, screen: Screen[Any]) -> Iterator[SystemCommand]:
    if not isinstance(screen, DashboardScreen):
        return
    prefs = app.prefs
    for g in screen.query(Gauge):
        title = safe(g.title, 40)
        pinned = g.instrument_id in prefs.pinned
        yield SystemCommand(
            f"{'Unpin' if pinned else 'Pin'} gauge: {title}",
            "unpin it" if pinned else "put it first in the grid, remembered (p)",
            _bind_prefs(app, prefs.toggle_pin(g.instrument_id)),
            discover=False,
        )
        yield SystemCommand(
            f"Hide gauge: {title}",
            "leave it out of the grid, remembered; its alerts keep their banners (d)",
            _bind_prefs(app, prefs.hide(g.instrument_id)),
            discover=False,
        )
    if prefs.hidden:
        names = ", ".join(safe(h, 20) for h in prefs.hidden)
        yield SystemCommand("Show hidden gauges", f"{names} (u)", _bind_prefs(app, prefs.show_all()))


def commands(app: PaletteHost, screen: Screen[Any]) -> Iterator[SystemCommand]:
    """rltui's commands for the palette opened on ``screen``."""
    snaps = list(app.snapshots)
    yield from _screens(app)
    yield from _alerts(app, snaps)
    yield from _runs(app, snaps)
    yield from _gauges(app, screen)


def _bind(fn: Callable[[int], None], i: int) -> Callable[[], None]:
    return lambda: fn(i)


def _bind_chart(app: PaletteHost, spec: ChartSpec) -> Callable[[], None]:
    return lambda: app.open_chart(spec)


def _bind_prefs(app: PaletteHost, prefs: UiPrefs) -> Callable[[], None]:
    return lambda: app.set_prefs(prefs)

