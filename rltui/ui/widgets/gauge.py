"""One instrument gauge: title, status label, value, trend glyph, sparkline, threshold hint.

In compare mode the same gauge holds one line per run, so a sweep reads down a column.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from rltui.model.snapshot import SEVERITY_RANK, InstrumentReading
from rltui.ui.glyphs import STATUS_STYLE, fmt_value, safe, sparkline, status_label, trend_glyph

#: Points of history a gauge's sparkline covers (the detail chart has everything).
SPARK_HISTORY = 200


class Gauge(Widget, can_focus=True):
    """A focusable gauge; Enter on it opens the detail chart (handled by the dashboard)."""

    DEFAULT_CSS = "Gauge { height: auto; }"

    def __init__(
        self,
        instrument_id: str,
        rows: list[tuple[str | None, InstrumentReading | None]],
        *,
        ascii_only: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.instrument_id = instrument_id
        self.rows = rows
        self.ascii_only = ascii_only
        self._apply_height_and_status()

    @property
    def status(self) -> str:
        readings = [r for _, r in self.rows if r is not None]
        if not readings:
            return "unavailable"
        return max((r.status for r in readings), key=lambda s: SEVERITY_RANK.get(s, 0))

    @property
    def title(self) -> str:
        for _, r in self.rows:
            if r is not None:
                return safe(r.title or r.id, 40)
        return safe(self.instrument_id, 40)

    def update_rows(self, rows: list[tuple[str | None, InstrumentReading | None]]) -> None:
        resized = len(rows) != len(self.rows)
        self.rows = rows
        self._apply_height_and_status()
        self.refresh(layout=resized)

    @property
    def compare(self) -> bool:
        return len(self.rows) > 1 or bool(self.rows and self.rows[0][0] is not None)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Title + one line per run when comparing; title, value, sparkline, hint otherwise."""
        return 1 + len(self.rows) if self.compare else 4

    def _apply_height_and_status(self) -> None:
        for s in STATUS_STYLE:
            self.set_class(self.status == s, f"-{s}")

    def render(self) -> Text:
        width = max(10, self.content_size.width)
        if not self.compare:
            reading = self.rows[0][1]
            assert reading is not None
            return self._render_single(reading, width)
        return self._render_compare(width)

    def _title_line(self, width: int) -> Text:
        label = status_label(self.status)
        t = Text(self.title, style="bold", no_wrap=True, overflow="ellipsis")
        t.truncate(max(1, width - len(label) - 1))
        t.append(" " * max(1, width - len(t) - len(label)))
        t.append_text(label)
        return t

    def _render_single(self, r: InstrumentReading, width: int) -> Text:
        t = self._title_line(width)
        t.append("\n")
        glyph = trend_glyph(r.trend, r.accelerating, ascii_only=self.ascii_only)
        t.append(fmt_value(r.value, r.unit), style="bold")
        t.append(f" {glyph}")
        if r.smoothed is not None:
            t.append(f"  ~{fmt_value(r.smoothed)}", style="dim")
        if r.summary:
            t.append("  " + safe(r.summary, 200), style="dim")
        t.truncate(len(t.plain.split("\n")[0]) + 1 + width)
        t.append("\n")
        values = r.traces[0].values[-SPARK_HISTORY:] if r.traces else np.empty(0)
        t.append(sparkline(values, width, ascii_only=self.ascii_only), style=STATUS_STYLE[r.status])
        t.append("\n")
        t.append(safe(r.hint, width) if r.hint else "", style="dim italic")
        t.no_wrap = True
        t.overflow = "ellipsis"
        return t

    def _render_compare(self, width: int) -> Text:
        t = Text(self.title, style="bold", no_wrap=True, overflow="ellipsis")
        name_w = max(6, min(18, width // 4))
        for run_name, r in self.rows:
            t.append("\n")
            t.append(safe(run_name or "", name_w).ljust(name_w)[:name_w], style="dim")
            if r is None or r.status == "unavailable":
                t.append("  –  N/A", style="dim")
                continue
            value = fmt_value(r.value, r.unit)[:10].rjust(10)
            t.append(f" {value} {trend_glyph(r.trend, r.accelerating, ascii_only=self.ascii_only):2}")
            t.append_text(status_label(r.status))
            spark_w = width - name_w - 19
            if spark_w > 3 and r.traces:
                t.append(" " * (5 - len(status_label(r.status))))
                t.append(
                    sparkline(r.traces[0].values[-SPARK_HISTORY:], spark_w, ascii_only=self.ascii_only),
                    style=STATUS_STYLE[r.status],
                )
        return t
