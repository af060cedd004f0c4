"""Every logged metric, with its sparkline and last value; ``/`` filters, Enter opens a chart."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from rltui.ui.chart_spec import ChartSeries, ChartSpec
from rltui.ui.glyphs import fmt_value, safe, sparkline
from rltui.ui.host import Host
from rltui.ui.widgets.filter_box import FilterBox


class MetricsScreen(Screen[None]):
    HELP_SCOPE = "metrics"  # which keys ? lists first
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("slash", "filter", "Filter"),
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
    ]

    def __init__(self, host: Host) -> None:
        super().__init__()
        self.host = host
        self.filter_text = ""

    @property
    def rltui(self) -> Host:
        return self.host

    def compose(self) -> ComposeResult:
        yield Static(id="metrics-title")
        yield FilterBox(placeholder="filter metrics", id="filter")
        yield DataTable(id="metrics", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        multi = len(self.rltui.runs) > 1
        cols = ["metric", *(["run"] if multi else []), "points", "last", "min", "max", "history"]
        table.add_columns(*cols)
        self.show()
        table.focus()
        self.watch(self.app, "snapshots", self._snapshots_changed, init=False)

    def _snapshots_changed(self) -> None:
        self.show()

    def metric_names(self) -> list[tuple[int, str]]:
        out = []
        for i, snap in enumerate(self.rltui.snapshots):
            if snap is None:
                continue
            for name in sorted(snap.metrics):
                if self.filter_text.lower() in name.lower():
                    out.append((i, name))
        return out

    def show(self) -> None:
        app = self.rltui
        table = self.query_one(DataTable)
        multi = len(app.runs) > 1
        keep = table.cursor_row
        table.clear()
        names = self.metric_names()
        for i, name in names:
            snap = app.snapshots[i]
            assert snap is not None
            m = snap.metrics[name]
            view = app.runs[i].view(name, app.view_step(i))
            spark = sparkline(view.values[-120:], 24, ascii_only=app.ascii_only) if view is not None else ""
            cells: list[Text | str] = [Text(safe(name, 80))]
            if multi:
                cells.append(Text(safe(snap.info.name, 30)))
            cells += [str(m.points), fmt_value(m.last), fmt_value(m.min), fmt_value(m.max), Text(spark)]
            table.add_row(*cells, key=f"{i}\x00{name}")
        table.move_cursor(row=min(keep, max(0, len(names) - 1)))
        total = sum(len(s.metrics) for s in app.snapshots if s is not None)
        title = Text(f"{len(names)} of {total} metrics", style="bold")
        if self.filter_text:
            title.append(f"  filter: {safe(self.filter_text, 40)}", style="dim")
        self.query_one("#metrics-title", Static).update(title)

    def action_filter(self) -> None:
        self.query_one(FilterBox).open()

    def action_cursor(self, delta: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(0, table.cursor_row + delta))

    def action_back(self) -> None:
        if self.query_one(FilterBox).close():
            self.query_one(DataTable).focus()
            return
        self.app.pop_screen()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.show()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None:
            return
        idx, name = key.split("\x00", 1)
        run_index = int(idx)
        snap = self.rltui.snapshots[run_index]
        label = safe(snap.info.name, 30) if snap is not None and len(self.rltui.runs) > 1 else name
        self.rltui.open_chart(ChartSpec(name, (ChartSeries(label, run_index, name),)))
