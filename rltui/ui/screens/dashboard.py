"""The main screen: header, alert banners, the gauge grid and the unavailable line.

It owns no data: :meth:`DashboardScreen.show` redraws from the app's current snapshots, and
reuses widgets where the layout did not change so a live update only repaints what changed
(a text that did not change is not even re-set: a Static update costs a screen layout).

Banners are for warn and critical alerts only (patterns.md: info is "notable, goes on the status
line ..., no banner"); info alerts are counted in the header and listed on the alerts screen (a).
"""

from __future__ import annotations

import gc
import math
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Static

from rltui.model.snapshot import SEVERITY_RANK, Alert, InstrumentReading, RunSnapshot
from rltui.ui.chart_spec import ChartSpec, spec_for_alert, spec_for_instrument
from rltui.ui.glyphs import STATUS_LABEL, STATUS_STYLE, safe
from rltui.ui.host import Host
from rltui.ui.names import distinct_names
from rltui.ui.prefs import arrange
from rltui.ui.runs import Onset, alert_onset, alert_status, fallback_readings
from rltui.ui.status_line import freshness, header_text, info_note, input_problems
from rltui.ui.widgets.banner import AlertBanner
from rltui.ui.widgets.gauge import COMPACT_HEIGHT, Gauge

#: Cells per gauge column; the grid gets as many columns as fit.
GAUGE_WIDTH = 38
COMPARE_GAUGE_WIDTH = 56
MAX_COLUMNS = 6
#: Alert severities that get a banner.
BANNER_SEVERITIES = ("warn", "critical")
#: Runs the compare header lists one a line (the header is at most 6 rows: title + 5).
HEADER_RUNS = 5
#: instrument id -> one (run index, run label, reading or None) per run.
GaugeRows = dict[str, list[tuple[int, str | None, InstrumentReading | None]]]


class DashboardScreen(Screen[None]):
    HELP_SCOPE = "dashboard"  # which keys ? lists first
    AUTO_FOCUS = None
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Chart"),
        # Priority: the focused gauge sits in a scrolling container whose own arrow bindings
        # would scroll it by a line instead of moving the focus (the body overflows at 80x24).
        Binding("left,h", "move(-1, 0)", "Left", show=False, priority=True),
        Binding("right,l", "move(1, 0)", "Right", show=False, priority=True),
        Binding("down,j", "move(0, 1)", "Down", show=False, priority=True),
        Binding("up,k", "move(0, -1)", "Up", show=False, priority=True),
        Binding("a", "app.alerts", "Alerts"),
        Binding("m", "app.metrics", "Metrics"),
        Binding("e", "export", "CSV"),
        # Not in the footer (at 80 columns they pushed out Samples): on ? and in the palette.
        Binding("p", "pin", "Pin", show=False),
        Binding("d", "hide", "Hide", show=False),
        Binding("u", "unhide", "Unhide"),  # shown only while gauges are hidden
        Binding("i", "app.run_info", "Run info", show=False),
        Binding("t", "app.console", "Console", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, host: Host, *, back: bool = False) -> None:
        super().__init__()
        self.host = host
        #: Opened over another screen (the sweep overview): Escape goes back to it.
        self.can_go_back = back
        #: Snapshots changed while another screen was on top.
        self._stale = False
        self._gauge_order: list[str] = []
        #: What the empty grid says now: None until drawn, then whether the runs are still read.
        self._grid_loading: bool | None = None
        self._banner_keys: list[tuple[int, str, int]] = []
        self._grid_cols = 0
        self._gauge_height = COMPACT_HEIGHT
        self._texts: dict[str, Text] = {}

    @property
    def rltui(self) -> Host:
        return self.host

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield Static(id="pump-error")
        banners = VerticalScroll(id="banners")
        body = VerticalScroll(id="body")
        # Focus moves between banners and gauges only; the containers just scroll.
        banners.can_focus = body.can_focus = False
        yield banners
        with body:
            yield Grid(id="gauges")
        yield Static(id="unavailable")
        yield Footer()

    def on_mount(self) -> None:
        self.show()
        # ``is_mounted`` is only true once Mount is handled: a dashboard pushed over the sweep
        # overview, with no new batch coming (a finished run), drew nothing without this.
        self.call_after_refresh(self.show)
        # Data arrives through the app's reactives: redraw from what they hand over.
        self.watch(self.app, "snapshots", self._snapshots_changed, init=False)
        self.watch(self.app, "pump_error", self._pump_error_changed)
        # Everything alive now (Textual, Rich, the app, the loaded runs) lives as long as the
        # app: move it out of the cyclic GC's reach, or each full collection rescans it all and
        # stalls a live frame by tens of ms (the p95 of benchmarks/bench_frame.py).
        gc.freeze()

    def on_resize(self, event: events.Resize) -> None:
        del event
        self.call_after_refresh(self._fit_columns)

    # -- drawing -------------------------------------------------------------------------------
    def _fit_columns(self) -> int:
        per = COMPARE_GAUGE_WIDTH if len(self.rltui.runs) > 1 else GAUGE_WIDTH
        cols = max(1, self.size.width // per)
        cols = min(cols, MAX_COLUMNS)
        grid = self.query_one("#gauges", Grid)
        if cols != self._grid_cols:
            # Column counts are CSS classes: an inline grid_size_columns blanked the screen in
            # Textual 8.2 (layout never settled).
            grid.remove_class(f"-cols-{self._grid_cols}")
            grid.add_class(f"-cols-{cols}")
            self._grid_cols = cols
        self._fit_height(cols)
        return cols

    def _fit_height(self, cols: int) -> None:
        """Share the body's rows among the grid rows: compact at 80x24, taller sparklines and
        more summary lines where the terminal has room (gauges stop growing at MAX_HEIGHT)."""
        gauges = list(self.query(Gauge))
        body = self.query_one("#body", VerticalScroll)
        avail = body.size.height
        if not gauges or avail <= 0:
            return
        grid_rows = math.ceil(len(gauges) / cols)
        per_row = (avail - (grid_rows - 1)) // grid_rows  # one gutter row between grid rows
        height = max(COMPACT_HEIGHT, per_row)
        self._gauge_height = height
        for g in gauges:
            g.set_target_height(height)

    def _set_text(self, widget_id: str, text: Text) -> None:
        """Update a Static only when its text changed; relayout only when its height may have."""
        old = self._texts.get(widget_id)
        if old is not None and old == text:
            return
        self._texts[widget_id] = text
        # Same line lengths -> same wrapping -> same height (the clock ticking "stale for 3m10s").
        same_height = old is not None and [len(x) for x in old.plain.split("\n")] == [
            len(x) for x in text.plain.split("\n")
        ]
        self.query_one(f"#{widget_id}", Static).update(text, layout=not same_height)

    def _snapshots_changed(self) -> None:
        if not self.is_active:
            # Under another screen (the sweep overview, a chart): redraw when shown again. A
            # 100-run dashboard redrawn under the overview at every batch of a loading sweep
            # tripled its load time.
            self._stale = True
            return
        self.show()  # the host's snapshots: all of the app's, or the runs a sweep opened here

    def on_screen_resume(self) -> None:
        self.app.refresh_bindings()  # the app's "o" shows again once back on top
        if self._stale:
            self._stale = False
            self.show()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Back only where there is somewhere to go back to (hidden from the footer otherwise)."""
        del parameters
        if action == "back":
            return self.can_go_back
        if action in ("pin", "hide"):
            return isinstance(self.focused, Gauge)
        if action == "unhide":
            return bool(self.rltui.prefs.hidden)
        return True

    def action_back(self) -> None:
        if self.can_go_back:
            self.app.pop_screen()

    def _pump_error_changed(self, error: str | None) -> None:
        """A dead reader is visible: what is on screen is no longer live, and why."""
        problem = self.query_one("#pump-error", Static)
        problem.display = error is not None
        if error is not None:
            problem.update(Text(f"reader stopped, the screen is no longer live: {error}", style="bold red"))

    def show(self, snaps: list[RunSnapshot | None] | None = None) -> None:
        """Redraw from the given snapshots (the host's current ones by default)."""
        if not self.is_mounted:
            return
        snaps = list(self.rltui.snapshots) if snaps is None else snaps
        self._set_text("header", self._header(snaps))
        self._show_banners(snaps)
        rows, hidden = self._gauge_layout()
        self._show_gauges(snaps, rows)
        self._set_text("unavailable", self._unavailable(snaps, rows, hidden))
        self._fit_columns()

    def show_header(self) -> None:
        """The 1 Hz clock: repaints the header only if its words changed (a finished or replayed
        run's header is constant, so an idle dashboard paints nothing)."""
        if self.is_mounted:
            self._set_text("header", self._header(list(self.rltui.snapshots)))

    def _header(self, snaps: list[RunSnapshot | None]) -> Text:
        app = self.rltui
        now = app.now()
        if len(snaps) == 1:
            snap = snaps[0]
            if snap is None:
                return Text(f"loading {safe(app.runs[0].info.name, 60)} …")
            # The header has one cell of padding each side.
            width = self.size.width - 2 if self.size.width > 2 else None
            return header_text(snap, now, mode_label=app.mode_label(), width=width)
        t = Text(f"compare {len(snaps)} runs", style="bold")
        if app.mode_label():
            t.append(f"  {app.mode_label()}", style="bold cyan")
        names = run_labels(snaps)
        # Every run gets a line, or the last line says which ones did not fit: never a silent cut.
        listed = len(snaps) if len(snaps) <= HEADER_RUNS else HEADER_RUNS - 1
        name_w = min(30, max((len(n) for n in names), default=0))
        for snap, name in zip(snaps[:listed], names[:listed], strict=True):
            t.append("\n")
            if snap is None:
                t.append("loading …", style="dim")
                continue
            t.append(name.ljust(name_w)[:name_w], style="bold")
            step = "–" if snap.step is None else str(snap.step)
            t.append(f" step {step}{'/' + str(snap.info.max_steps) if snap.info.max_steps else ''}")
            label, style = freshness(snap, now)
            t.append(f"  {label}", style=style)
            t.append("  ")
            t.append(STATUS_LABEL[snap.worst], style=STATUS_STYLE[snap.worst])
            note = info_note(snap)
            if note:
                t.append(f"  {note}", style=STATUS_STYLE["info"])
            rules = snap.rule_config.summary()
            if rules:
                t.append(f"  {rules}", style="bold yellow")
        if listed < len(snaps):
            rest = snaps[listed:]
            worst = max(
                (s.worst for s in rest if s is not None), key=lambda w: SEVERITY_RANK.get(w, 0), default="ok"
            )
            t.append(f"\n+{len(rest)} more: ", style="bold")
            t.append(", ".join(names[listed:]), style="dim")
            t.append("  worst ")
            t.append(STATUS_LABEL[worst], style=STATUS_STYLE[worst])
        return t

    def _show_banners(self, snaps: list[RunSnapshot | None]) -> None:
        box = self.query_one("#banners", VerticalScroll)
        items = banner_order(snaps)
        keys = [(i, a.id, a.first_step) for i, a in items]
        multi = len(snaps) > 1
        if keys == self._banner_keys:
            for banner, (_, alert) in zip(box.query(AlertBanner), items, strict=False):
                banner.set_alert(alert)
            return
        focused_key = self._focused_banner_key()
        self._banner_keys = keys
        box.remove_children()
        names = [s.info.name if multi and s is not None else None for s in snaps]
        banners = [AlertBanner(a, i, names[i], ascii_only=self.rltui.ascii_only) for i, a in items]
        box.mount_all(banners)
        box.display = bool(banners)
        # The body's height changed: let the gauges re-share it once the banners are laid out.
        self.call_after_refresh(self._fit_columns)
        if focused_key is not None:
            for b in banners:
                if (b.run_index, b.alert.id, b.alert.first_step) == focused_key:
                    self.call_after_refresh(b.focus)

    def _focused_banner_key(self) -> tuple[int, str, int] | None:
        f = self.focused
        if isinstance(f, AlertBanner):
            return (f.run_index, f.alert.id, f.alert.first_step)
        return None

    def gauge_rows(self) -> GaugeRows:
        """instrument id -> one (run index, run label, reading) per run, available ones only."""
        return self._gauge_layout()[0]

    def _gauge_layout(self) -> tuple[GaugeRows, list[str]]:
        """The gauges shown, in order (pinned, then trouble, then the instruments' order), and the
        ids of those the user hid that the runs have (named on the bottom line)."""
        app = self.rltui
        snaps = list(app.snapshots)
        multi = len(snaps) > 1
        order: list[str] = []
        by_run: list[dict[str, InstrumentReading]] = []
        for i, snap in enumerate(snaps):
            readings = {}
            if snap is not None:
                instruments = snap.instruments
                if not any(r.status != "unavailable" for r in instruments):
                    # No verdict yet (model not wired, unknown framework): show raw metrics.
                    instruments = fallback_readings(snap, app.runs[i])
                for r in instruments:
                    if r.status == "unavailable":
                        continue
                    r = alert_status(snap, r)
                    readings[r.id] = r
                    if r.id not in order:
                        order.append(r.id)
            by_run.append(readings)
        out: GaugeRows = {}
        labels = run_labels(snaps)
        # Critical gauges first, then warn, then the rest in the instruments' own order: at 80x24
        # the critical "length" gauge of a length-hacking run was below the fold (issue 12, 5).
        worst = {
            iid: max((SEVERITY_RANK.get(r[iid].status, 0) for r in by_run if iid in r), default=0)
            for iid in order
        }
        order.sort(key=lambda iid: -worst[iid] if worst[iid] >= SEVERITY_RANK["warn"] else 0)
        # Pinned gauges lead, hidden ones are left out (p / d / u; remembered across sessions).
        order, hidden = arrange(order, app.prefs)
        for iid in order:
            out[iid] = [
                (i, labels[i] if multi and snaps[i] else None, by_run[i].get(iid)) for i in range(len(snaps))
            ]
        return out, hidden

    def _show_gauges(self, snaps: list[RunSnapshot | None], rows: GaugeRows) -> None:
        grid = self.query_one("#gauges", Grid)
        order = list(rows)
        as_rows = {k: [(name, r) for _, name, r in v] for k, v in rows.items()}
        onsets = {k: _onsets(snaps, v) for k, v in rows.items()}
        loading = bool(snaps) and all(s is None for s in snaps)
        if order == self._gauge_order and (order or loading == self._grid_loading):
            for g in grid.query(Gauge):
                g.update_rows(as_rows[g.instrument_id], onsets[g.instrument_id])
            return
        focused = self.focused.instrument_id if isinstance(self.focused, Gauge) else None
        self._gauge_order = order
        self._grid_loading = loading
        grid.remove_children()
        gauges = [
            Gauge(
                k,
                as_rows[k],
                ascii_only=self.rltui.ascii_only,
                target_height=self._gauge_height,
                onsets=onsets[k],
            )
            for k in order
        ]
        grid.mount_all(gauges)
        self.call_after_refresh(self._fit_columns)
        if not gauges:
            # Before the first snapshot the run is being read (a 35 MB event file takes a moment):
            # say so, instead of a blank screen or "no metrics" (issue 12, point 13).
            waiting = "no metrics yet — waiting for the first logged step"
            words = "reading the run files …" if loading else waiting
            grid.mount(Static(Text(words, style="dim")))
        for g in gauges:
            if g.instrument_id == focused:
                self.call_after_refresh(g.focus)
        if focused is None and self.focused is None and gauges:
            self.call_after_refresh(gauges[0].focus)

    def _unavailable(self, snaps: list[RunSnapshot | None], rows: GaugeRows, hidden: list[str]) -> Text:
        seen: dict[str, str] = {}
        available = set(rows)
        for snap in snaps:
            if snap is None:
                continue
            for r in snap.instruments:
                if r.status == "unavailable" and r.id not in available:
                    seen.setdefault(r.id, r.reason)
        t = Text()
        ready = [s for s in snaps if s is not None]
        if len(ready) == 1 and not ready[0].metrics:
            # Nothing read: what is awaited, not fourteen instruments that are "unavailable".
            waiting = next((p for p in ready[0].problems if p.transient), None)
            if waiting is not None:
                t.append(safe(waiting.message, 300), style="yellow")
                return t
        # A run-level state (a lost link, an empty folder: the header says it) is not an input
        # problem; a source's problems are, transient ones included (a torn write being retried).
        problems = sum(len(input_problems(s)) - sum(p.transient for p in s.problems) for s in ready)
        if hidden:
            t.append("hidden: ", style="dim")
            t.append(", ".join(safe(k, 20) for k in hidden), style="dim")
            t.append(" (u shows)  ", style="dim italic")
        if problems:
            # Unreadable lines, a missing pane, a reader that failed: the numbers may be partial.
            t.append(f"{problems} input problem{'s' if problems != 1 else ''}", style="bold yellow")
            t.append(" (? to see)", style="yellow")
        if not seen:
            return t
        if problems:
            t.append("  ")
        t.append("unavailable: ", style="dim")
        t.append(", ".join(safe(k, 20) for k in seen), style="dim")
        t.append("  (? for reasons)", style="dim italic")
        return t

    # -- navigation ----------------------------------------------------------------------------
    def focus_items(self) -> list[Widget]:
        return [*self.query(AlertBanner), *self.query(Gauge)]

    def action_move(self, dx: int, dy: int) -> None:
        banners = list(self.query(AlertBanner))
        gauges = list(self.query(Gauge))
        items: list[Widget] = [*banners, *gauges]
        if not items:
            return
        f = self.focused
        if f not in items:
            (gauges or banners)[0].focus()
            return
        cols = self._fit_columns()
        if isinstance(f, AlertBanner):
            idx = banners.index(f) + (dx or dy)
            if idx < 0:
                return
            target = banners[idx] if idx < len(banners) else (gauges[0] if gauges else None)
        else:
            assert isinstance(f, Gauge)
            gi = gauges.index(f)
            ni = gi + dx + dy * cols
            if ni < 0:
                target = banners[-1] if banners and dy < 0 else None
            elif ni >= len(gauges):
                target = gauges[-1] if dy > 0 and gi // cols < (len(gauges) - 1) // cols else None
            else:
                target = gauges[ni]
        if target is not None:
            target.focus()
            target.scroll_visible()

    def chart_for_focused(self) -> ChartSpec | None:
        f = self.focused
        app = self.rltui
        snaps = list(app.snapshots)
        all_alerts = tuple(a for s in snaps if s is not None for a in s.alerts)
        if isinstance(f, Gauge):
            rows = self.gauge_rows().get(f.instrument_id)
            return spec_for_instrument(f.title, rows, all_alerts) if rows else None
        if isinstance(f, AlertBanner):
            return spec_for_alert(snaps, f.run_index, f.alert)
        return None

    def action_open(self) -> None:
        spec = self.chart_for_focused()
        if spec is None:
            self.rltui.notify_user("Focus a gauge or a banner first (arrows / h j k l)", "warning")
            return
        self.rltui.open_chart(spec)

    def action_pin(self) -> None:
        """Pin the focused gauge to the top of the grid (again: unpin); remembered."""
        f = self.focused
        if isinstance(f, Gauge):
            self.rltui.set_prefs(self.rltui.prefs.toggle_pin(f.instrument_id))
            self.call_after_refresh(self._refocus, f.instrument_id)

    def action_hide(self) -> None:
        """Hide the focused gauge (its alerts still get banners); ``u`` shows it again."""
        f = self.focused
        if isinstance(f, Gauge):
            gauges = list(self.query(Gauge))
            i = gauges.index(f)
            after = gauges[i + 1] if i + 1 < len(gauges) else gauges[i - 1] if i > 0 else None
            self.rltui.set_prefs(self.rltui.prefs.hide(f.instrument_id))
            if after is not None:
                self.call_after_refresh(self._refocus, after.instrument_id)

    def action_unhide(self) -> None:
        self.rltui.set_prefs(self.rltui.prefs.show_all())

    def _refocus(self, instrument_id: str) -> None:
        for g in self.query(Gauge):
            if g.instrument_id == instrument_id:
                g.focus()
                g.scroll_visible()
                return

    def action_export(self) -> None:
        rows = self.gauge_rows()
        series: list[tuple[int, str]] = []
        for per_run in rows.values():
            for i, _, r in per_run:
                if r is not None:
                    series.extend((i, t.name) for t in r.traces)
        self.rltui.export_csv(series, "dashboard")


def _onsets(
    snaps: list[RunSnapshot | None], rows: list[tuple[int, str | None, InstrumentReading | None]]
) -> tuple[Onset | None, ...]:
    """Per gauge row, where its worst active alert began (the sparkline's "since when" mark)."""
    out: list[Onset | None] = []
    for i, _, r in rows:
        snap = snaps[i] if 0 <= i < len(snaps) else None
        out.append(alert_onset(snap, r) if snap is not None and r is not None else None)
    return tuple(out)


def banner_order(snaps: Sequence[RunSnapshot | None]) -> list[tuple[int, Alert]]:
    """The banners: active warn and critical alerts, most severe first, then in the order they
    appeared (their raised step). Sorting by onset, which rules backdate, put a banner that had
    just appeared above the ones already being read (issue 12, point 12)."""
    items = [
        (i, a)
        for i, s in enumerate(snaps)
        if s is not None
        for a in s.alerts
        if a.active and a.severity in BANNER_SEVERITIES
    ]
    items.sort(
        key=lambda ia: (
            -SEVERITY_RANK[ia[1].severity],
            ia[1].raised_step if ia[1].raised_step is not None else ia[1].first_step,
            ia[1].first_step,
            ia[0],
            ia[1].id,
        )
    )
    return items


def run_labels(snaps: list[RunSnapshot | None]) -> list[str]:
    """Each run's name by the part that tells it from the others (``healthy``, not
    ``fixtures/runs/dpo…`` three times), sanitised."""
    return [safe(n, 60) for n in distinct_names([s.info.name if s is not None else "" for s in snaps])]
