"""One instrument gauge: title and status, value with trend and threshold hint, the instrument's
summary, and a sparkline coloured by status.

Layout (single run), top to bottom::

    Loss                              CRIT     title + status in words (survives NO_COLOR)
    3.48e-11 ↓ ~7.56e-06     crit > 10         value, trend, smoothed, threshold hint
    loss 3.48e-11, down from 0.693 …           summary, word-wrapped (never cut mid-number)
    ▁▁▁▂▃▅▇█                           37.3    sparkline over the whole history, 1-6 rows
    ▁▁▁▁▁▁▁▁                           0.02    tall, its scale (max, min) on the right
    1       ▲26                         800    step axis, the alert's onset marked

The dashboard decides how many rows a gauge gets (:attr:`Gauge.target_height`): compact at 80x24,
taller sparklines and more summary when the terminal has room. A compact gauge has no room for
the step axis: its one sparkline row ends with its scale "min–max" and the onset's cell is marked.
In compare mode the same gauge holds one line per run, so a sweep reads down a column, and every
run's sparkline shares one scale (0.7 and 37 must not look alike).

Redraws are skipped when nothing drawn changed (:func:`drawn_key`), and the sparkline is cached
per (series, width, rows): with 16 gauges a live update repaints only what moved. Within a gauge
that changed, rows are cached Strips (single-style rows built straight as Segments, no Text) and
only the rows whose Strip changed are refreshed, so Textual re-styles and re-composites those only.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget
from typing_extensions import Self

from rltui.model.snapshot import SEVERITY_RANK, InstrumentReading
from rltui.ui.downsample import column_extremes, column_of
from rltui.ui.glyphs import (
    STATUS_STYLE,
    Scale,
    fmt_value,
    safe,
    spark_range,
    spark_rows,
    status_label,
    to_ascii,
    trend_glyph,
    wrap_words,
)
from rltui.ui.runs import Onset

#: Content rows of a compact gauge: title, value, one summary line, one sparkline row.
COMPACT_HEIGHT = 4
#: The tallest a gauge grows: title, value, up to 3 summary lines, the step axis and up to 16
#: sparkline rows. A few gauges on a big terminal fill it (issue 12: at 200x60, 28 rows stayed
#: empty under gauges capped at 11 rows): a taller sparkline shows a smaller change.
MAX_SPARK_ROWS = 16
MAX_SUMMARY_LINES = 3
MAX_HEIGHT = 2 + MAX_SUMMARY_LINES + 1 + MAX_SPARK_ROWS

Rows = list[tuple[str | None, InstrumentReading | None]]
#: One drawn row: rich Text, (words, style) for a row in a single style, or a list of such runs
#: (a sparkline and its scale label); the last two are drawn straight as Segments, without Text.
Line = Text | tuple[str, str] | list[tuple[str, str]]
#: Narrowest sparkline that still gets scale labels beside it.
MIN_LABELLED_SPARK = 10
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


def drawn_key(rows: Rows, onsets: tuple[Onset | None, ...] = ()) -> tuple[object, ...]:
    """Everything of the readings a gauge draws; equal keys mean an identical picture."""
    out: list[object] = [onsets]
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


def allocate(rest: int, summary_lines: int) -> tuple[int, int, bool]:
    """Split the rows under title and value between summary lines, sparkline rows and the step
    axis: (summary lines, sparkline rows, whether the axis row is drawn).

    Priority: one summary line, one sparkline row, the step axis, a second sparkline row, a second
    summary line, two more sparkline rows, a third summary line, then sparkline rows up to the
    maximum (every row left, up to MAX_SPARK_ROWS).
    """
    summary = spark = 0
    axis = False
    order = ("s", "p", "a", "p", "s", "p", "p", "s", "p", "p")
    for kind in order:
        if rest <= 0:
            break
        if kind == "s" and summary < summary_lines:
            summary += 1
            rest -= 1
        elif kind == "p" and spark < MAX_SPARK_ROWS:
            spark += 1
            rest -= 1
        elif kind == "a" and spark:
            axis = True
            rest -= 1
    if rest > 0:
        spark += min(rest, MAX_SPARK_ROWS - spark)
    return summary, max(1, spark), axis


def scale_of(values: np.ndarray) -> Scale | None:
    """The whole finite history's (min, max): what a gauge's sparkline spans and labels."""
    finite = values[np.isfinite(values)] if not np.isfinite(values).all() else values
    if len(finite) == 0:
        return None
    return float(np.min(finite)), float(np.max(finite))


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
        onsets: tuple[Onset | None, ...] = (),
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.instrument_id = instrument_id
        self.rows = rows
        #: Per row, the onset of the worst active alert about it (marked on the sparkline).
        self.onsets = onsets
        self.ascii_only = ascii_only
        self.target_height = target_height
        self.renders = 0  # how many times the gauge was actually drawn (tests, benchmarks)
        self._key = drawn_key(rows, onsets)
        self._spark_cache: tuple[tuple[object, ...], list[Line]] | None = None
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

    def update_rows(self, rows: Rows, onsets: tuple[Onset | None, ...] | None = None) -> bool:
        """Take new readings; repaint only if something drawn changed. Returns whether it did."""
        onsets = self.onsets if onsets is None else onsets
        key = drawn_key(rows, onsets)
        if key == self._key:
            self.rows = rows
            return False
        resized = len(rows) != len(self.rows)
        self.rows = rows
        self.onsets = onsets
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
            elif isinstance(line, list):
                lkey = (tuple(line), width, base)
            else:
                lkey = (line, width, base)
            strip = self._line_cache.get(lkey)
            if strip is None:
                if isinstance(line, Text):
                    segments = Segment.apply_style(line.render(console, end=""), base)
                    strip = Strip(segments).adjust_cell_length(width, base)
                else:
                    # Runs of words in one style each: the Segments Text.render would make, built
                    # directly (sparkline and summary rows change on every live update).
                    runs = line if isinstance(line, list) else [line]
                    segs = []
                    for plain, style_name in runs:
                        style = styles.get(style_name) if plain else base
                        if style is None:
                            row = console.get_style(ROW_STYLE)
                            style = (
                                base + Style.combine([row, console.get_style(style_name)])
                                if style_name
                                else base
                            )
                            styles[style_name] = style
                        segs.append(Segment(plain, style))
                    strip = Strip(segs).adjust_cell_length(width, base)
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
            elif isinstance(line, list):
                for plain, style in line:
                    t.append(plain, style=style)
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

    def _spark(self, r: InstrumentReading, width: int, rows: int, axis: bool) -> list[Line]:
        """The sparkline over the whole history, its scale on the right and (``axis``) a step axis
        with the alert's onset marked: cached per series, geometry and onset."""
        onset = self.onsets[0] if self.onsets else None
        key = (_series_key(r), width, rows, axis, onset, r.status, self.ascii_only)
        if self._spark_cache is not None and self._spark_cache[0] == key:
            return self._spark_cache[1]
        lines = self._draw_spark(r, width, rows, axis, onset)
        self._spark_cache = (key, lines)
        return lines

    def _draw_spark(
        self, r: InstrumentReading, width: int, rows: int, axis: bool, onset: Onset | None
    ) -> list[Line]:
        blank: list[Line] = [("", "") for _ in range(rows + axis)]
        if not r.traces or len(r.traces[0].values) == 0:
            return blank
        steps, values = r.traces[0].steps, np.asarray(r.traces[0].values, dtype=np.float64)
        finite = np.isfinite(values)
        if not finite.all():
            steps, values = steps[finite], values[finite]
        scale = scale_of(values)
        if scale is None:
            return blank
        dash = ".." if self.ascii_only else "–"
        lo, hi = fmt_value(scale[0]), fmt_value(scale[1])
        if lo == hi:  # a flat series: one label says its one value
            labels = [*([""] * (rows - 1)), lo]
        else:
            labels = [f"{lo}{dash}{hi}"] if rows == 1 else [hi, *([""] * (rows - 2)), lo]
        gutter = max(len(x) for x in labels) + 1
        if width - gutter < MIN_LABELLED_SPARK:
            labels, gutter = [""] * rows, 0
        spark_w = width - gutter
        cols = column_extremes(values, spark_w)
        drawn = spark_rows(cols, rows, scale, ascii_only=self.ascii_only)
        style = STATUS_STYLE.get(r.status, "")
        col = None if onset is None else column_of(steps, onset[0], len(cols))
        out: list[Line] = []
        for row, label in zip(drawn, labels, strict=True):
            runs = [(row, style)]
            if col is not None and not axis and col < len(row):
                # No axis row: the onset's own cell is the mark.
                mark = f"reverse {STATUS_STYLE.get(onset[1], '') if onset else ''}".strip()
                runs = [(row[:col], style), (row[col], mark), (row[col + 1 :], style)]
            runs.append((label.rjust(gutter), "dim" if label else ""))
            out.append([x for x in runs if x[0]])
        if axis:
            out.append(self._axis(steps, spark_w, col, onset))
        return out

    def _axis(
        self, steps: np.ndarray, width: int, col: int | None, onset: Onset | None
    ) -> list[tuple[str, str]]:
        """``1     ▲26        800``: the first and last step under the sparkline's ends, and the
        onset's mark (and step, where it fits) under its column."""
        first, last = str(int(steps[0])), str(int(steps[-1]))
        cells = [" "] * width
        styles = ["dim"] * width

        def put(at: int, text: str, style: str) -> bool:
            if (
                at < 0
                or at + len(text) > width
                or any(c != " " for c in cells[max(0, at - 1) : at + len(text) + 1])
            ):
                return False
            for i, ch in enumerate(text):
                cells[at + i], styles[at + i] = ch, style
            return True

        if col is not None and onset is not None:
            # The onset first: it is what the axis is for; the end labels go where it leaves room.
            mark = "^" if self.ascii_only else "▲"
            sev = STATUS_STYLE.get(onset[1], "")
            label = f"{mark}{onset[0]}"
            if not put(col, label, sev) and not put(col - len(label) + 1, f"{onset[0]}{mark}", sev):
                cells[min(col, width - 1)], styles[min(col, width - 1)] = mark, sev
        put(0, first, "dim")
        if len(steps) > 1:
            put(width - len(last), last, "dim")
        runs: list[tuple[str, str]] = []
        for ch, st in zip(cells, styles, strict=True):
            if runs and runs[-1][1] == st:
                runs[-1] = (runs[-1][0] + ch, st)
            else:
                runs.append((ch, st))
        return runs

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
        n_summary, n_spark, axis = allocate(self.target_height - 2, len(wanted))
        for line in wrap_words(summary, width, n_summary):
            lines.append((line.replace("…", "...")[:width] if self.ascii_only else line, "dim"))
        # Unused rows go between the words and the sparkline, so sparklines line up at the bottom.
        used = min(n_summary, len(wanted)) + n_spark + axis
        lines.extend(("", "") for _ in range(self.target_height - 2 - used))
        lines.extend(self._spark(r, width, n_spark, axis))
        return lines

    @property
    def chart_rows(self) -> int:
        """Rows at the bottom of a single gauge that are its sparkline and axis, not words."""
        reading = self.rows[0][1] if self.rows else None
        summary = safe(reading.summary, 400) if reading is not None and reading.summary else ""
        width = max(10, self.content_size.width)
        _, n_spark, axis = allocate(
            self.target_height - 2, len(wrap_words(summary, width, MAX_SUMMARY_LINES))
        )
        return n_spark + axis

    def _render_compare(self, width: int) -> list[Line]:
        t = Text(self.title, style="bold", no_wrap=True, overflow="ellipsis")
        longest = max((len(n or "") for n, _ in self.rows), default=6)
        name_w = max(6, min(longest, width // 3))
        shown = [(n, r) for n, r in self.rows if r is not None and r.status != "unavailable"]
        values = {id(r): fmt_value(r.value, r.unit) for _, r in shown}
        # Values keep their units (tokens/s, steps/min): the column is as wide as the widest.
        value_w = min(16, max([10, *(len(v) for v in values.values())]))
        spark_w = width - name_w - value_w - 9
        # One scale for every run of the instrument, or 0.7 and 37 draw alike.
        cols = {
            id(r): column_extremes(r.traces[0].values, spark_w) for _, r in shown if r.traces and spark_w > 3
        }
        ranges = [x for x in (spark_range(c) for c in cols.values()) if x is not None]
        scale = (min(a for a, _ in ranges), max(b for _, b in ranges)) if ranges else None
        if scale is not None:
            dash = ".." if self.ascii_only else "–"
            label = f"scale {fmt_value(scale[0])}{dash}{fmt_value(scale[1])}"
            if len(t) + 2 + len(label) <= width:
                t.append(" " * (width - len(t) - len(label)))
                t.append(label, style="dim")
        for run_name, r in self.rows:
            t.append("\n")
            t.append(safe(run_name or "", name_w).ljust(name_w)[:name_w], style="dim")
            if r is None or r.status == "unavailable":
                t.append("  –  N/A", style="dim")
                continue
            value = values[id(r)]
            value = (value if len(value) <= value_w else fmt_value(r.value))[:value_w].rjust(value_w)
            t.append(f" {value} {trend_glyph(r.trend, r.accelerating, ascii_only=self.ascii_only):2}")
            t.append_text(status_label(r.status))
            c = cols.get(id(r))
            if c is not None:
                t.append(" " * (5 - len(status_label(r.status))))
                t.append(spark_rows(c, 1, scale, ascii_only=self.ascii_only)[0], style=STATUS_STYLE[r.status])
        return list(t.split("\n", allow_blank=True))
