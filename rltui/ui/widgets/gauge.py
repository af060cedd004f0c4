"""One instrument gauge: title and status, value with trend and threshold hint, the instrument's
summary, and a sparkline coloured by status.

Layout (single run), top to bottom::

    Loss                              CRIT     title + status in words (survives NO_COLOR)
    3.48e-11 ↓ ~7.56e-06     crit > 10         value, trend, smoothed, threshold hint
    loss 3.48e-11, down from 0.693 …           summary, word-wrapped (never cut mid-number)
    ▁▁▁▂▃▅▇█                                   sparkline, 1-4 rows tall

The dashboard decides how many rows a gauge gets (:attr:`Gauge.target_height`): compact at 80x24,
taller sparklines and more summary when the terminal has room. In compare mode the same gauge
holds one line per run, so a sweep reads down a column.

Redraws are skipped when nothing drawn changed (:func:`drawn_key`), and the sparkline is cached
per (series, width, rows): with 16 gauges a live update repaints only what moved. Within a gauge
that changed, rows are cached Strips (single-style rows built straight as Segments, no Text) and
only the rows whose Strip changed are refreshed, so Textual re-styles and re-composites those only.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget
from typing_extensions import Self

from rltui.model.snapshot import SEVERITY_RANK, InstrumentReading
from rltui.ui.glyphs import (
    STATUS_STYLE,
    block_chart,
    fmt_value,
    safe,
    sparkline,
    status_label,
    to_ascii,
    trend_glyph,
    wrap_words,
)

#: Points of history a gauge's sparkline covers (the detail chart has everything).
SPARK_HISTORY = 200
#: Content rows of a compact gauge: title, value, one summary line, one sparkline row.
COMPACT_HEIGHT = 4
#: The tallest a gauge grows: title, value, up to 3 summary lines, up to 6 sparkline rows.
MAX_HEIGHT = 11
MAX_SPARK_ROWS = 6
MAX_SUMMARY_LINES = 3

Rows = list[tuple[str | None, InstrumentReading | None]]
#: One drawn row: rich Text, or (words, style) for a row in a single style (drawn without Text).
Line = Text | tuple[str, str]
#: Every row of a single gauge sits on the title's bold base style, as when the gauge was one Text
#: split into lines (a styled run is bold + its style; an unstyled run is the widget's own style).
ROW_STYLE = "bold"


def _series_key(r: InstrumentReading) -> tuple[object, ...]:
    """Identifies the sparkline's input without hashing arrays: length, last step and value."""
    if not r.traces:
        return ()
    t = r.traces[0]
    n = len(t.values)
    if n == 0:
        return (t.name, 0)
    return (t.name, n, int(t.steps[-1]) if len(t.steps) else None, repr(float(t.values[-1])))


def drawn_key(rows: Rows) -> tuple[object, ...]:
    """Everything of the readings a gauge draws; equal keys mean an identical picture."""
    out: list[object] = []
    for name, r in rows:
        if r is None:
            out.append((name, None))
            continue
        out.append(
            (
                name,
                r.id,
                r.title,
                r.status,
                repr(r.value),
                repr(r.smoothed),
                r.unit,
                r.trend,
                r.accelerating,
                r.summary,
                r.hint,
                _series_key(r),
            )
        )
    return tuple(out)


def allocate(rest: int, summary_lines: int) -> tuple[int, int]:
    """Split the rows under title and value between summary lines and sparkline rows.

    Priority: one summary line, one sparkline row, a second sparkline row, a second summary line,
    two more sparkline rows, a third summary line, then sparkline rows up to the maximum.
    """
    summary = spark = 0
    order = ("s", "p", "p", "s", "p", "p", "s", "p", "p")
    for kind in order:
        if rest <= 0:
            break
        if kind == "s" and summary < summary_lines:
            summary += 1
            rest -= 1
        elif kind == "p" and spark < MAX_SPARK_ROWS:
            spark += 1
            rest -= 1
    return summary, max(1, spark)


class Gauge(Widget, can_focus=True):
    """A focusable gauge; Enter on it opens the detail chart (handled by the dashboard)."""

    DEFAULT_CSS = "Gauge { height: auto; }"

    def __init__(
        self,
        instrument_id: str,
        rows: Rows,
        *,
        ascii_only: bool = False,
        target_height: int = COMPACT_HEIGHT,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.instrument_id = instrument_id
        self.rows = rows
        self.ascii_only = ascii_only
        self.target_height = target_height
        self.renders = 0  # how many times the gauge was actually drawn (tests, benchmarks)
        self._key = drawn_key(rows)
        self._spark_cache: tuple[tuple[object, ...], list[str]] | None = None
        self._strips: tuple[tuple[object, ...], list[Strip]] | None = None
        self._line_cache: dict[tuple[object, ...], Strip] = {}
        self._base_style: Style | None = None
        self._status = self.status
        self._apply_status()

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

    def update_rows(self, rows: Rows) -> bool:
        """Take new readings; repaint only if something drawn changed. Returns whether it did."""
        key = drawn_key(rows)
        if key == self._key:
            self.rows = rows
            return False
        resized = len(rows) != len(self.rows)
        self.rows = rows
        self._key = key
        status = self.status
        self._apply_status()
        if resized or status != self._status or not self._refresh_changed_rows():
            self.refresh(layout=resized)
        self._status = status
        return True

    def _refresh_changed_rows(self) -> bool:
        """Repaint just the rows whose strips changed (a title or hint that did not change is
        not re-styled and re-composited). False when that cannot be known: nothing drawn yet,
        geometry changed, or the gauge is off screen (then Textual draws it when it scrolls in)."""
        old = self._strips
        base = self._base_style
        width = self.content_size.width
        if old is None or base is None or width <= 0:
            return False
        if old[0][1:] != self._strip_key(width, base)[1:] or not self.is_on_screen:
            return False
        new = self._build_strips(width, base)
        self._strips = (self._strip_key(width, base), new)
        if len(new) != len(old[1]):
            return False
        changed = [y for y, (a, b) in enumerate(zip(old[1], new, strict=True)) if a is not b and a != b]
        if changed:
            self.refresh(*(Region(0, y, width, 1) for y in changed))
        return True

    def set_target_height(self, height: int) -> None:
        height = max(COMPACT_HEIGHT, min(MAX_HEIGHT, height))
        if height != self.target_height:
            self.target_height = height
            self.refresh(layout=True)

    @property
    def compare(self) -> bool:
        return len(self.rows) > 1 or bool(self.rows and self.rows[0][0] is not None)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Title + one line per run when comparing; :attr:`target_height` otherwise."""
        return 1 + len(self.rows) if self.compare else self.target_height

    def _apply_status(self) -> None:
        for s in STATUS_STYLE:
            self.set_class(self.status == s, f"-{s}")

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        self._base_style = None  # focus, hover or status class may have changed the colours
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def render_line(self, y: int) -> Strip:
        """Lines straight from cached strips: a live update rebuilds only the lines whose words
        changed (Textual's generic Text path re-wraps and re-styles every line of every gauge)."""
        width = self.content_size.width
        if self._base_style is None:
            # Computing the widget's style walks the CSS; once per repaint, not once per line.
            self._base_style = self.rich_style
        base = self._base_style
        key = self._strip_key(width, base)
        if self._strips is None or self._strips[0] != key:
            self._strips = (key, self._build_strips(width, base))
        lines = self._strips[1]
        return lines[y] if 0 <= y < len(lines) else Strip.blank(width, base)

    def _strip_key(self, width: int, base: Style) -> tuple[object, ...]:
        return (self._key, width, self.size.height, self.target_height, self.ascii_only, base)

    def _build_strips(self, width: int, base: Style) -> list[Strip]:
        self.renders += 1
        console = self.app.console
        styles: dict[str, Style] = {}
        cache: dict[tuple[object, ...], Strip] = {}
        out = []
        for line in self._lines(max(10, width)):
            if isinstance(line, Text):
                spans = tuple((sp.start, sp.end, str(sp.style)) for sp in line.spans)
                lkey: tuple[object, ...] = (line.plain, spans, str(line.style), width, base)
            else:
                lkey = (line, width, base)
            strip = self._line_cache.get(lkey)
            if strip is None:
                if isinstance(line, Text):
                    segments = Segment.apply_style(line.render(console, end=""), base)
                    strip = Strip(segments).adjust_cell_length(width, base)
                else:
                    # One run of words in one style: the Segment Text.render would make, built
                    # directly (sparkline and summary rows change on every live update).
                    plain, style_name = line
                    style = styles.get(style_name) if plain else base
                    if style is None:
                        row = console.get_style(ROW_STYLE)
                        style = (
                            base + Style.combine([row, console.get_style(style_name)]) if style_name else base
                        )
                        styles[style_name] = style
                    strip = Strip([Segment(plain, style)]).adjust_cell_length(width, base)
            cache[lkey] = strip
            out.append(strip)
        self._line_cache = cache  # keep only what is on screen now
        return out

    def render(self) -> Text:
        """The gauge as one Text (tests read its words); drawing goes through :meth:`_lines`."""
        self.renders += 1
        t = Text(style="" if self.compare else ROW_STYLE)
        for i, line in enumerate(self._lines(max(10, self.content_size.width))):
            if i:
                t.append("\n")
            if isinstance(line, Text):
                t.append_text(line)
            else:
                t.append(line[0], style=line[1])
        if not self.compare:
            t.no_wrap = True
            t.overflow = "ellipsis"
        return t

    def _lines(self, width: int) -> list[Line]:
        if not self.compare:
            reading = self.rows[0][1]
            assert reading is not None
            return self._render_single(reading, width)
        return self._render_compare(width)

    def _title_line(self, width: int) -> Text:
        label = status_label(self.status)
        t = Text(self.title, style="bold", no_wrap=True, overflow="ellipsis")
        t.truncate(max(1, width - len(label) - 1), overflow="ellipsis")
        t.append(" " * max(1, width - len(t) - len(label)))
        t.append_text(label)
        return t

    def _spark(self, r: InstrumentReading, width: int, rows: int) -> list[str]:
        key = (_series_key(r), width, rows, self.ascii_only)
        if self._spark_cache is not None and self._spark_cache[0] == key:
            return self._spark_cache[1]
        values = r.traces[0].values[-SPARK_HISTORY:] if r.traces else None
        lines = block_chart(values, width, rows, ascii_only=self.ascii_only) if values is not None else []
        self._spark_cache = (key, lines)
        return lines

    def _render_single(self, r: InstrumentReading, width: int) -> list[Line]:
        lines: list[Line] = [self._title_line(width)]
        glyph = trend_glyph(r.trend, r.accelerating, ascii_only=self.ascii_only)
        value = Text(fmt_value(r.value, r.unit), style="bold")
        value.append(f" {glyph}".rstrip())
        if r.smoothed is not None:
            value.append(f"  ~{fmt_value(r.smoothed)}", style="dim")
        hint = safe(r.hint, 80) if r.hint else ""
        summary = safe(r.summary, 400) if r.summary else ""
        sep = " · "
        if self.ascii_only:
            hint, summary, sep = to_ascii(hint), to_ascii(summary), " - "
        if hint and len(value) + 2 + len(hint) <= width:
            value.append(" " * (width - len(value) - len(hint)))
            value.append(hint, style="dim italic")
        elif hint:
            # No room beside the value: the hint follows the summary (the reading matters more
            # than the rule, so on a compact gauge the hint is what gets dropped).
            summary = f"{summary}{sep}{hint}" if summary else hint
        value.truncate(width)
        value_line = Text(style=ROW_STYLE)
        value_line.append_text(value)
        lines.append(value_line)
        wanted = wrap_words(summary, width, MAX_SUMMARY_LINES)
        n_summary, n_spark = allocate(self.target_height - 2, len(wanted))
        for line in wrap_words(summary, width, n_summary):
            lines.append((line.replace("…", "...")[:width] if self.ascii_only else line, "dim"))
        # Unused rows go between the words and the sparkline, so sparklines line up at the bottom.
        lines.extend(("", "") for _ in range(self.target_height - 2 - min(n_summary, len(wanted)) - n_spark))
        style = STATUS_STYLE.get(r.status, "")
        lines.extend((line, style) for line in self._spark(r, width, n_spark))
        return lines

    def _render_compare(self, width: int) -> list[Line]:
        t = Text(self.title, style="bold", no_wrap=True, overflow="ellipsis")
        name_w = max(6, min(18, width // 4))
        for run_name, r in self.rows:
            t.append("\n")
            t.append(safe(run_name or "", name_w).ljust(name_w)[:name_w], style="dim")
            if r is None or r.status == "unavailable":
                t.append("  –  N/A", style="dim")
                continue
            value = fmt_value(r.value, r.unit)
            value = (value if len(value) <= 10 else fmt_value(r.value))[:10].rjust(10)
            t.append(f" {value} {trend_glyph(r.trend, r.accelerating, ascii_only=self.ascii_only):2}")
            t.append_text(status_label(r.status))
            spark_w = width - name_w - 19
            if spark_w > 3 and r.traces:
                t.append(" " * (5 - len(status_label(r.status))))
                t.append(
                    sparkline(r.traces[0].values[-SPARK_HISTORY:], spark_w, ascii_only=self.ascii_only),
                    style=STATUS_STYLE[r.status],
                )
        return list(t.split("\n", allow_blank=True))
