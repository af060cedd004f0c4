"""The sweep overview: one row per run, worst first, for sweeps too big for the dashboard.

With 100 runs the dashboard's header can list five of them and its gauges grow to 100 rows; this
screen is what a person scans instead: name, trainer, step, the verdict and its top alert, the
config values that differ between the runs, and a sparkline of each key instrument (the same
column for every run, so the eye runs down it). Rows come from :mod:`rltui.ui.sweep_rows`
(pure, tested on its own). ``/`` filters, ``g`` groups by the next differing config key, Space
selects runs and Enter opens the selected runs (or the one under the cursor) in a dashboard of
their own, overlaid when there are several; Escape there comes back here.

It opens first when a watch or compare starts with more than :data:`OPEN_FIRST_AT` runs, and
``o`` opens it from the dashboard of any multi-run view.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.widgets.data_table import ColumnKey

from rltui.model.snapshot import RunSnapshot
from rltui.ui.glyphs import STATUS_LABEL, STATUS_STYLE, fmt_value, safe, sparkline
from rltui.ui.host import Host
from rltui.ui.run_subset import RunSubset
from rltui.ui.screens.dashboard import DashboardScreen, run_labels
from rltui.ui.sweep_rows import SweepRow, differing_keys, grouped, key_instruments, matches, rows_of
from rltui.ui.widgets.filter_box import FilterBox

#: A watch or compare of more runs than this opens on the overview (the header lists 5).
OPEN_FIRST_AT = 5
SPARK_WIDTH = 12
ALERT_WIDTH = 48


class SweepTable(DataTable[Text | str]):
    """The rows; Enter is shown in the footer as what it does here (open the run)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open")]


class SweepScreen(Screen[None]):
    HELP_SCOPE = "overview"  # which keys ? lists first
    #: The table, not the filter box (hidden until ``/``).
    AUTO_FOCUS = "#sweep"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "select", "Select"),
        Binding("slash", "filter", "Filter"),
        Binding("g", "group", "Group"),
        Binding("escape", "back", "Back"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
    ]

    def __init__(self, host: Host) -> None:
        super().__init__()
        self.host = host
        self.filter_text = ""
        #: The config key the rows are grouped by (None: plain worst-first).
        self.group_by: str | None = None
        #: App indexes of the runs picked with Space.
        self.selected: list[int] = []
        #: App indexes of the rows as shown, top to bottom.
        self.order: list[int] = []
        self._stale = False
        #: What the table shows now: its layout (columns, rows in order, loading rows), the
        #: column keys and each row's cells, so that a live update touches changed cells only.
        self._layout: tuple[object, ...] = ()
        self._column_keys: list[ColumnKey] = []
        self._drawn: dict[int, list[Text | str]] = {}
        self._cell_cache: dict[int, tuple[RunSnapshot | None, tuple[object, ...], list[Text | str]]] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="sweep-title")
        yield FilterBox(placeholder="filter runs: name, trainer, verdict, alert id, key=value", id="filter")
        yield SweepTable(id="sweep", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.show()
        self.query_one(DataTable).focus()
        # The app's ``o`` is hidden here (check_action looks at the screen on top): make the
        # footer ask again now that this screen is the one on top.
        self.call_after_refresh(self.app.refresh_bindings)
        self.watch(self.app, "snapshots", self._snapshots_changed, init=False)

    def _snapshots_changed(self) -> None:
        if not self.is_active:
            self._stale = True  # a dashboard it opened is on top: redraw when back
            return
        self.show()

    def on_screen_resume(self) -> None:
        self.app.refresh_bindings()
        if self._stale:
            self._stale = False
            self.show()

    # -- drawing -------------------------------------------------------------------------------
    def _shown(self, all_rows: list[SweepRow]) -> list[SweepRow]:
        """The rows as shown: filtered, ranked worst first (grouped if asked)."""
        return grouped([r for r in all_rows if matches(r, self.filter_text)], self.group_by)

    def show(self) -> None:
        if not self.is_mounted:
            return
        snaps = list(self.host.snapshots)
        keys = differing_keys(snaps)
        all_rows = rows_of(snaps, run_labels(snaps), keys)
        if self.group_by not in keys:
            self.group_by = None
        instruments = key_instruments(all_rows)
        rows = self._shown(all_rows)
        table = self.query_one(DataTable)
        columns = ("", "run", "trainer", "step", "verdict", "top alert", *keys, *instruments)
        cells = {r.index: self._cells_of(r, snaps[r.index], keys, instruments) for r in rows}
        layout = (columns, tuple(cells), frozenset(r.index for r in rows if r.loading))
        if layout == self._layout:
            # Same columns, rows and order (a live update): only the cells that changed. A full
            # rebuild of 100 rows took ~150 ms of the UI thread at every batch.
            for index, row_cells in cells.items():
                before = self._drawn.get(index, [])
                for key, new, old in zip(self._column_keys, row_cells, before, strict=False):
                    if new != old:
                        table.update_cell(str(index), key, new, update_width=True)
        else:
            # The cursor stays on its run as rows re-rank, unless it is on the top row: there it
            # stays on top, on whichever run is worst now (the first runs to load are rarely it).
            row = table.cursor_row
            keep = self.order[row] if self.order and 0 < row < len(self.order) else None
            # Columns are made again: a DataTable's auto widths only grow, and a "loading …"
            # cell would leave its column wide after the run loaded.
            table.clear(columns=True)
            self._column_keys = table.add_columns(*columns)
            self.order = list(cells)
            for index, row_cells in cells.items():
                table.add_row(*row_cells, key=str(index))
            if keep in self.order:
                table.move_cursor(row=self.order.index(keep))
        self._layout = layout
        self._drawn = cells
        self.query_one("#sweep-title", Static).update(self._title(len(rows), len(all_rows), all_rows))

    def _title(self, shown: int, total: int, rows: list[SweepRow]) -> Text:
        t = Text(f"sweep: {total} runs", style="bold")
        counts = {w: sum(1 for r in rows if not r.loading and r.worst == w) for w in ("critical", "warn")}
        for worst, n in counts.items():
            if n:
                t.append("  ")
                t.append(f"{n} {STATUS_LABEL[worst]}", style=STATUS_STYLE[worst])
        loading = sum(1 for r in rows if r.loading)
        if loading:
            t.append(f"  {loading} loading", style="dim")
        if shown != total:
            t.append(f"  showing {shown} (filter: {safe(self.filter_text, 40)})", style="dim")
        if self.group_by:
            t.append(f"  grouped by {safe(self.group_by, 30)}", style="bold cyan")
        if self.selected:
            t.append(f"  {len(self.selected)} selected: Enter compares them", style="bold")
        return t

    def _cells_of(
        self, r: SweepRow, snap: RunSnapshot | None, keys: list[str], instruments: list[str]
    ) -> list[Text | str]:
        """The row's cells, made again only when its snapshot or what the row shows changed:
        in a live sweep most runs are quiet, and their sparklines were most of a redraw."""
        key = (r.index in self.selected, tuple(keys), tuple(instruments), r.name, self.host.ascii_only)
        hit = self._cell_cache.get(r.index)
        if hit is not None and hit[0] is snap and hit[1] == key:
            return hit[2]
        made = self._cells(r, keys, instruments)
        self._cell_cache[r.index] = (snap, key, made)  # holds the snapshot: its id stays unique
        return made

    def _cells(self, r: SweepRow, keys: list[str], instruments: list[str]) -> list[Text | str]:
        ascii_only = self.host.ascii_only
        mark = Text("*" if ascii_only else "●", style="bold") if r.index in self.selected else Text(" ")
        if r.loading:
            blank = [""] * (len(keys) + len(instruments))
            return [mark, Text(r.name), "", "–", Text("loading …", style="dim"), "", *blank]
        step = "–" if r.step is None else str(r.step)
        if r.max_steps:
            step += f"/{r.max_steps}"
        verdict = Text(STATUS_LABEL[r.worst], style=STATUS_STYLE[r.worst])
        top = r.top_alert
        alert = Text("")
        if top is not None:
            words = safe(f"{top.id} since {top.first_step}", ALERT_WIDTH)
            alert = Text(words, style=STATUS_STYLE[top.severity])
            if len(r.alerts) > 1:
                alert.append(f" +{len(r.alerts) - 1}", style="dim")
        name = Text(r.name, style="bold")
        cells: list[Text | str] = [mark, name, safe(r.trainer, 12), step, verdict, alert]
        cells += [r.config.get(k, "–") for k in keys]
        for iid in instruments:
            reading = r.readings.get(iid)
            if reading is None or not reading.traces:
                cells.append(Text("–", style="dim"))
                continue
            values = np.asarray(reading.traces[0].values, dtype=float)[-200:]
            spark = sparkline(values, SPARK_WIDTH, ascii_only=ascii_only)
            cell = Text(spark, style=STATUS_STYLE.get(reading.status, ""))
            cell.append(f" {fmt_value(reading.value)}")
            cells.append(cell)
        return cells

    # -- keys ----------------------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(0, table.cursor_row + delta))

    def _cursor_run(self) -> int | None:
        row = self.query_one(DataTable).cursor_row
        return self.order[row] if 0 <= row < len(self.order) else None

    def action_select(self) -> None:
        index = self._cursor_run()
        if index is None:
            return
        if index in self.selected:
            self.selected.remove(index)
        else:
            self.selected.append(index)
        self.show()
        self.action_cursor(1)

    def action_open(self) -> None:
        picked = list(self.selected) or ([i] if (i := self._cursor_run()) is not None else [])
        if not picked:
            return
        self.app.push_screen(DashboardScreen(RunSubset(self.host, picked), back=True))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        del event
        self.action_open()

    def action_group(self) -> None:
        keys = differing_keys(list(self.host.snapshots))
        if not keys:
            self.host.notify_user("no config key differs between these runs", "warning")
            return
        nxt = 0 if self.group_by not in keys else keys.index(self.group_by) + 1
        self.group_by = keys[nxt] if nxt < len(keys) else None
        self.show()

    def action_filter(self) -> None:
        self.query_one(FilterBox).open()

    def action_back(self) -> None:
        if self.query_one(FilterBox).close():
            self.query_one(DataTable).focus()
            return
        if self.selected:
            self.selected.clear()
            self.show()
            return
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        del event
        self.query_one(DataTable).focus()
