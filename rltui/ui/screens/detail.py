"""Detail chart: raw and smoothed series, threshold lines, alert markers, TensorBoard-like knobs.

Every redraw re-reads the series from the run (as of the app's current step), keeps the step
range the :class:`~rltui.ui.chart_view.ChartView` shows (zoom, pan), downsamples each to the plot
width with min/max per column (so spikes survive), then hands them to plotext. A cursor names the
value of every series at one logged step, with its clock time.
"""

from __future__ import annotations

import math
from typing import ClassVar, Protocol, cast

import numpy as np
from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual_plotext import PlotextPlot

from rltui import numfmt
from rltui.model.snapshot import SEVERITY_RANK
from rltui.model.store import SeriesView
from rltui.ui.chart_spec import ChartSpec
from rltui.ui.chart_view import (
    X_LABELS,
    ZOOM_FACTOR,
    ChartView,
    clock_text,
    clock_ticks,
    in_range,
    union_steps,
    value_at,
)
from rltui.ui.downsample import minmax_downsample
from rltui.ui.glyphs import fmt_value, safe
from rltui.ui.host import Host
from rltui.ui.runs import smooth

COLORS = ("cyan", "magenta", "green", "blue", "red", "white")  # valid in plotext and rich
#: Each series also has its own marker, so series are told apart without colour (issue 12,
#: point 11: a 16-colour or colour-blind reader saw five lines of the same kind). The first is a
#: braille line; the legend shows each marker before the series' name.
MARKERS = ("braille", "+", "x", "o", "*", "#")
LEGEND_GLYPH = {"braille": "⣀"}
THRESHOLD_COLORS = {"warn": "yellow", "critical": "red", "info": "blue"}
ALERT_COLORS = {"warn": "yellow", "critical": "red", "info": "blue"}


def percentile_range(
    values: list[np.ndarray], lo: float = 5.0, hi: float = 95.0
) -> tuple[float, float] | None:
    """The y-range that ignores outliers: the 5–95 % band of all finite values, padded 10 %."""
    finite = [v[np.isfinite(v)] for v in values]
    allv = np.concatenate(finite) if finite else np.empty(0)
    if len(allv) == 0:
        return None
    a, b = (float(x) for x in np.percentile(allv, [lo, hi]))
    pad = (b - a) * 0.1 or max(abs(a) * 0.05, 1e-9)
    return a - pad, b + pad


def integer_ticks(lo: float, hi: float, count: int = 6) -> list[int]:
    """At most ``count`` round integer ticks covering [lo, hi]: steps are whole numbers, and
    plotext's own ticks split the range evenly into fractions ("200.8")."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return []
    span = hi - lo
    raw = max(1.0, span / max(1, count - 1))
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(
        int(m * magnitude) for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw and (m * magnitude) % 1 == 0
    )
    first = math.ceil(lo / step) * step
    return list(range(first, math.floor(hi) + 1, step)) or [round(lo)]


def _log10(values: np.ndarray) -> np.ndarray:
    out = np.full(len(values), np.nan)
    pos = values > 0
    out[pos] = np.log10(values[pos])
    return out


class _Plt(Protocol):
    """The few plotext calls the x axis makes (textual_plotext's ``plt`` is untyped)."""

    def xlim(self, lo: float, hi: float) -> None: ...
    def xticks(self, ticks: list[float], labels: list[str]) -> None: ...


class SafePlot(PlotextPlot):
    """plotext raises on some inputs (degenerate ranges, legends with braille markers); a chart
    that cannot be drawn says so instead of taking the dashboard down."""

    def render(self) -> RenderResult:
        try:
            return super().render()
        except Exception as exc:
            return Text(f"chart could not be drawn: {safe(str(exc), 200)}", style="red")


class DetailScreen(Screen[None]):
    HELP_SCOPE = "chart"  # which keys ? lists first
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "Back"),
        Binding("left,h", "cursor(-1)", "Cursor", key_display="←→"),
        Binding("right,l", "cursor(1)", "Cursor+", show=False),
        Binding("shift+left", "cursor_jump(-1)", "Cursor jump back", show=False),
        Binding("shift+right", "cursor_jump(1)", "Cursor jump on", show=False),
        Binding("home", "edge(0)", "First step", show=False),
        Binding("end", "edge(1)", "Newest step", show=False),
        Binding("plus,equals_sign", "zoom(1)", "Zoom", key_display="+-"),
        Binding("minus", "zoom(-1)", "Zoom out", show=False),
        Binding("left_square_bracket", "pan(-1)", "Pan", key_display="[]"),
        Binding("right_square_bracket", "pan(1)", "Pan on", show=False),
        Binding("0", "reset_view", "Reset"),
        Binding("x", "toggle_x", "Axis"),
        Binding("y", "toggle_log", "Log y"),
        Binding("o", "toggle_outliers", "5–95%"),
        Binding("greater_than_sign", "smoothing(0.05)", "Smooth", key_display="<>"),
        Binding("less_than_sign", "smoothing(-0.05)", "Smooth-", show=False),
        Binding("e", "export", "CSV"),
    ]

    def __init__(self, host: Host, spec: ChartSpec) -> None:
        super().__init__()
        self.host = host
        self.spec = spec
        self.chart_view = ChartView()
        self.log_y = False
        self.clip_outliers = False
        self.weight = host.prefs.smoothing  # [ui] smoothing, or what < > last set
        self.hidden_nonfinite = 0
        self.time_unit: tuple[float, str] = (60.0, "min")

    @property
    def x_wall(self) -> bool:
        """Whether the x axis is wall time (elapsed or clock), not steps."""
        return self.chart_view.x_mode != "step"

    @property
    def rltui(self) -> Host:
        return self.host

    def compose(self) -> ComposeResult:
        yield Static(id="chart-title")
        yield SafePlot(id="plot")
        yield Static(id="chart-legend")
        yield Static(id="chart-readout")
        yield Static(id="chart-status")
        yield Footer()

    def on_mount(self) -> None:
        self.show()
        self.watch(self.app, "snapshots", self._snapshots_changed, init=False)

    def _snapshots_changed(self) -> None:
        self.show()

    def views(self) -> list[tuple[str, SeriesView]]:
        out = []
        for s in self.spec.series:
            run = self.rltui.runs[s.run_index]
            view = run.view(s.metric, self.rltui.view_step(s.run_index))
            if view is not None:
                out.append((s.label, view))
        return out

    def status_text(self) -> Text:
        t = Text()
        t.append(f"smoothing {self.weight:.2f}")
        t.append(f" · x: {self._x_label()}")
        if self.chart_view.zoomed:
            t.append(" · zoomed (0: all)")
        t.append(f" · y: {'log' if self.log_y else 'linear'}")
        t.append(f" · range: {'5–95%' if self.clip_outliers else 'all'}")
        if self.hidden_nonfinite:
            t.append(f" · {self.hidden_nonfinite} non-finite points not drawn", style="bold red")
        return t

    def show(self) -> None:
        title = Text(safe(self.spec.title, 120), style="bold")
        step = self.rltui.view_step(0)
        if step is not None:
            title.append(f"  (as of step {step})", style="dim")
        self.query_one("#chart-title", Static).update(title)
        widget = self.query_one("#plot", PlotextPlot)
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        width = max(20, widget.size.width - 12)
        views = self.views()
        self.hidden_nonfinite = 0
        self.time_unit = self._time_unit(views)
        legend = Text()
        shown: list[np.ndarray] = []
        t0 = min(
            (float(np.nanmin(v.wall_times)) for _, v in views if np.isfinite(v.wall_times).any()), default=0.0
        )
        steps = union_steps([v.steps for _, v in views])
        bounds = self.chart_view.bounds(steps)
        lo, hi = bounds if bounds is not None else (0, 0)
        several = len(views) > 1
        for k, (label, view) in enumerate(views):
            color = COLORS[k % len(COLORS)]
            marker = MARKERS[k % len(MARKERS)]
            y_all = view.values
            ys_all = smooth(y_all, self.weight) if self.weight > 0 else y_all
            keep = in_range(view.steps, lo, hi)
            if self.x_wall:
                keep &= np.isfinite(view.wall_times)
                x = self._wall_x(view.wall_times[keep], t0)
            else:
                x = view.steps[keep].astype(np.float64)
            y, ys = y_all[keep], ys_all[keep]
            self.hidden_nonfinite += int(np.count_nonzero(~np.isfinite(y)))
            if self.log_y:
                # log10 is applied here, not by plotext (which fails on values <= 0).
                y, ys = _log10(y), _log10(ys)
            rx, ry = minmax_downsample(x, y, width)
            sx, sy = minmax_downsample(x, ys, width)
            smoothed = len(sx) > 0 and self.weight > 0
            if len(rx):
                # One series: raw in grey under its smoothed line, as TensorBoard draws it. Several:
                # each raw series in its own colour as dots, or all raws were the same grey.
                if several and smoothed:
                    plt.plot(rx.tolist(), ry.tolist(), color=color, marker=".")
                elif smoothed:
                    plt.plot(rx.tolist(), ry.tolist(), color="gray", marker="braille")
                shown.append(ry)
            if smoothed:
                plt.plot(sx.tolist(), sy.tolist(), color=color, marker=marker)
            elif len(rx):
                plt.plot(rx.tolist(), ry.tolist(), color=color, marker=marker)
            legend.append(f"{LEGEND_GLYPH.get(marker, marker)} {safe(label, 40)}  ", style=f"bold {color}")
        if views and self.weight > 0:
            legend.append("(. raw)  " if several else "(gray: raw)  ", style="dim")
        for name, value in self.spec.thresholds.items():
            level = float(np.log10(value)) if self.log_y and value > 0 else (None if self.log_y else value)
            if level is not None and np.isfinite(level):
                plt.hline(level, THRESHOLD_COLORS.get(name, "yellow"))
                legend.append(f"── {safe(name, 12)} {value:g}  ", style=THRESHOLD_COLORS.get(name, "yellow"))
        drawn: set[float] = set()
        for alert in self.spec.alerts:
            if bounds is not None and not lo <= alert.first_step <= hi:
                continue
            x_alert = self._alert_x(alert.first_step, views, t0)
            if x_alert is not None and x_alert not in drawn:
                drawn.add(x_alert)
                plt.vline(x_alert, ALERT_COLORS.get(alert.severity, "yellow"))
        if drawn:
            worst = max(self.spec.alerts, key=lambda a: SEVERITY_RANK.get(a.severity, 0))
            legend.append("│ alert start", style=ALERT_COLORS.get(worst.severity, "yellow"))
        cursor = self.chart_view.cursor_step(steps)
        if self.chart_view.cursor is not None and cursor is not None:
            x_cursor = self._alert_x(cursor, views, t0)
            if x_cursor is not None:
                plt.vline(x_cursor, "white")
                legend.append("  ┆ cursor", style="bold")
        self.query_one("#chart-legend", Static).update(legend)
        self.query_one("#chart-readout", Static).update(self.readout(views, cursor))
        if self.clip_outliers:
            band = percentile_range(shown)
            if band is not None:
                plt.ylim(*band)
        if bounds is not None:
            self._x_axis(plt, views, t0, lo, hi)
        if self.log_y:
            self._log_yticks(shown)
        plt.xlabel(self._x_label())
        plt.ylabel("log scale" if self.log_y else "")
        widget.refresh()
        self.query_one("#chart-status", Static).update(self.status_text())

    def _x_label(self) -> str:
        """The x axis's name; elapsed wall time in the unit its span calls for (s, min, h)."""
        if self.chart_view.x_mode == "elapsed":
            return f"wall time ({self.time_unit[1]})"
        return X_LABELS[self.chart_view.x_mode]

    def _wall_x(self, wall_times: np.ndarray, t0: float) -> np.ndarray:
        """Wall times as x: time since the first point in the axis unit (s, min, h), or seconds
        since it (clock mode, whose ticks are labelled with the time of day)."""
        per = self.time_unit[0] if self.chart_view.x_mode == "elapsed" else 1.0
        return np.asarray((wall_times - t0) / per, dtype=np.float64)

    def _x_axis(self, plt: object, views: list[tuple[str, SeriesView]], t0: float, lo: int, hi: int) -> None:
        """The shown step range [lo, hi] as x limits, with round ticks: whole steps, or clock times."""
        p = cast("_Plt", plt)
        x_lo, x_hi = self._alert_x(lo, views, t0), self._alert_x(hi, views, t0)
        if x_lo is None or x_hi is None:
            return
        if x_hi > x_lo:
            p.xlim(x_lo, x_hi)
        if self.chart_view.x_mode == "step":
            ticks = integer_ticks(float(lo), float(hi))
            if ticks:
                p.xticks([float(t) for t in ticks], [str(t) for t in ticks])
        elif self.chart_view.x_mode == "clock":
            pos, labels = clock_ticks(t0 + x_lo, t0 + x_hi)
            if pos:
                p.xticks([q - t0 for q in pos], labels)

    def readout(self, views: list[tuple[str, SeriesView]], step: int | None) -> Text:
        """``step 412 · 2026-12-03 08:41:07 · margin 11.62 (raw 12.1)``: every plotted series at
        the cursor step (its smoothed value first when smoothing is on), or at the newest step
        while there is no cursor; a series not logged at that step gives its last value before it."""
        t = Text()
        if step is None:
            return t
        t.append(f"step {step}", style="bold")
        wall = next(
            (float(v.wall_times[i]) for _, v in views for i in np.flatnonzero(v.steps == step)[:1]), None
        )
        t.append(f" · {clock_text(wall)}")
        for k, (label, view) in enumerate(views):
            t.append(" · ")
            t.append(safe(label, 40), style=f"bold {COLORS[k % len(COLORS)]}")
            found = value_at(view.steps, view.values, step)
            if found is None:
                t.append(" –")
                continue
            raw, at = found
            where = "" if at == step else f" at step {at}"
            if self.weight > 0:
                i = int(np.searchsorted(view.steps, at))
                smoothed = float(smooth(view.values, self.weight)[i])
                t.append(f" {fmt_value(smoothed)} (raw {fmt_value(raw)}{where})")
            else:
                t.append(f" {fmt_value(raw)}" + (f" ({where.strip()})" if where else ""))
        if self.chart_view.cursor is None:
            t.append("  (newest; ←→ move the cursor)", style="dim")
        return t

    @staticmethod
    def _time_unit(views: list[tuple[str, SeriesView]]) -> tuple[float, str]:
        """Seconds, minutes or hours for the wall-time axis, by the span the series cover."""
        walls = [v.wall_times[np.isfinite(v.wall_times)] for _, v in views]
        walls = [w for w in walls if len(w)]
        if not walls:
            return numfmt.time_axis(0.0)
        return numfmt.time_axis(max(float(w.max()) for w in walls) - min(float(w.min()) for w in walls))

    def _log_yticks(self, shown: list[np.ndarray]) -> None:
        """Log-y ticks labelled with the values themselves (0.01, 1, 100), not their log10."""
        finite = [y[np.isfinite(y)] for y in shown]
        finite = [y for y in finite if len(y)]
        if not finite:
            return
        pos, labels = numfmt.log_ticks(
            min(float(y.min()) for y in finite), max(float(y.max()) for y in finite)
        )
        if pos:
            self.query_one("#plot", PlotextPlot).plt.yticks(pos, labels)

    def _alert_x(self, step: int, views: list[tuple[str, SeriesView]], t0: float) -> float | None:
        """The x of a step on the current axis (wall time interpolated between logged points)."""
        if not self.x_wall:
            return float(step)
        for _, v in views:
            ok = np.isfinite(v.wall_times)
            if ok.sum() >= 1:
                wall = np.interp(step, v.steps[ok], v.wall_times[ok])
                return float(self._wall_x(np.asarray([wall]), t0)[0])
        return None

    def _steps(self) -> np.ndarray:
        return union_steps([v.steps for _, v in self.views()])

    def _set_view(self, view: ChartView) -> None:
        if view != self.chart_view:
            self.chart_view = view
            self.show()

    def action_cursor(self, n: int) -> None:
        self._set_view(self.chart_view.move(self._steps(), n))

    def action_cursor_jump(self, direction: int) -> None:
        steps = self._steps()
        self._set_view(self.chart_view.move(steps, direction * self.chart_view.jump_size(steps)))

    def action_edge(self, end: int) -> None:
        self._set_view(self.chart_view.edge(self._steps(), end=bool(end)))

    def action_zoom(self, direction: int) -> None:
        factor = ZOOM_FACTOR if direction > 0 else 1 / ZOOM_FACTOR
        self._set_view(self.chart_view.zoom(self._steps(), factor))

    def action_pan(self, direction: int) -> None:
        self._set_view(self.chart_view.pan(self._steps(), direction))

    def action_reset_view(self) -> None:
        self._set_view(self.chart_view.reset())

    def action_toggle_x(self) -> None:
        self.chart_view = self.chart_view.next_x_mode()
        self.show()

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self.show()

    def action_toggle_outliers(self) -> None:
        self.clip_outliers = not self.clip_outliers
        self.show()

    def action_smoothing(self, delta: float) -> None:
        self.weight = round(min(0.99, max(0.0, self.weight + delta)), 2)
        self.host.set_prefs(self.host.prefs.with_smoothing(self.weight))  # remembered
        self.show()

    def action_export(self) -> None:
        self.rltui.export_csv([(s.run_index, s.metric) for s in self.spec.series], self.spec.title)
