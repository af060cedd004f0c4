"""Detail chart: raw and smoothed series, threshold lines, alert markers, TensorBoard-like knobs.

Every redraw re-reads the series from the run (as of the app's current step), downsamples each
to the plot width with min/max per column (so spikes survive), then hands them to plotext.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from rich.text import Text
from textual.app import ComposeResult, RenderResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual_plotext import PlotextPlot

from rltui.model.snapshot import SEVERITY_RANK
from rltui.model.store import SeriesView
from rltui.ui.chart_spec import ChartSpec
from rltui.ui.downsample import minmax_downsample
from rltui.ui.glyphs import safe
from rltui.ui.host import Host
from rltui.ui.runs import smooth

COLORS = ("cyan", "magenta", "green", "blue", "red", "white")  # valid in plotext and rich
THRESHOLD_COLORS = {"warn": "yellow", "critical": "red", "info": "blue"}
ALERT_COLORS = {"warn": "yellow", "critical": "red", "info": "blue"}
DEFAULT_SMOOTHING = 0.6


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


class SafePlot(PlotextPlot):
    """plotext raises on some inputs (degenerate ranges, legends with braille markers); a chart
    that cannot be drawn says so instead of taking the dashboard down."""

    def render(self) -> RenderResult:
        try:
            return super().render()
        except Exception as exc:
            return Text(f"chart could not be drawn: {safe(str(exc), 200)}", style="red")


class DetailScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "app.pop_screen", "Back"),
        Binding("x", "toggle_x", "Step/time"),
        Binding("y", "toggle_log", "Log y"),
        Binding("o", "toggle_outliers", "5–95%"),
        Binding("plus,equals_sign", "smoothing(0.05)", "Smooth+"),
        Binding("minus", "smoothing(-0.05)", "Smooth-"),
        Binding("e", "export", "CSV"),
    ]

    def __init__(self, host: Host, spec: ChartSpec) -> None:
        super().__init__()
        self.host = host
        self.spec = spec
        self.x_wall = False
        self.log_y = False
        self.clip_outliers = False
        self.weight = DEFAULT_SMOOTHING
        self.hidden_nonfinite = 0

    @property
    def rltui(self) -> Host:
        return self.host

    def compose(self) -> ComposeResult:
        yield Static(id="chart-title")
        yield SafePlot(id="plot")
        yield Static(id="chart-legend")
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
        t.append(f" · x: {'wall time (min)' if self.x_wall else 'step'}")
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
        legend = Text()
        shown: list[np.ndarray] = []
        t0 = min(
            (float(np.nanmin(v.wall_times)) for _, v in views if np.isfinite(v.wall_times).any()), default=0.0
        )
        for k, (label, view) in enumerate(views):
            color = COLORS[k % len(COLORS)]
            if self.x_wall:
                ok = np.isfinite(view.wall_times)
                x = (view.wall_times[ok] - t0) / 60.0
                y = view.values[ok]
            else:
                x, y = view.steps.astype(np.float64), view.values
            self.hidden_nonfinite += int(np.count_nonzero(~np.isfinite(y)))
            ys = smooth(y, self.weight) if self.weight > 0 else y
            if self.log_y:
                # log10 is applied here, not by plotext (which fails on values <= 0).
                y, ys = _log10(y), _log10(ys)
            rx, ry = minmax_downsample(x, y, width)
            sx, sy = minmax_downsample(x, ys, width)
            if len(rx):
                plt.plot(rx.tolist(), ry.tolist(), color="gray", marker="braille")
                shown.append(ry)
            if len(sx) and self.weight > 0:
                plt.plot(sx.tolist(), sy.tolist(), color=color, marker="braille")
            elif len(rx):
                plt.plot(rx.tolist(), ry.tolist(), color=color, marker="braille")
            legend.append(safe(label, 40) + " ", style=f"bold {color}")
            legend.append("(gray: raw)  " if self.weight > 0 else " ", style="dim")
        for name, value in self.spec.thresholds.items():
            level = float(np.log10(value)) if self.log_y and value > 0 else (None if self.log_y else value)
            if level is not None and np.isfinite(level):
                plt.hline(level, THRESHOLD_COLORS.get(name, "yellow"))
                legend.append(f"── {safe(name, 12)} {value:g}  ", style=THRESHOLD_COLORS.get(name, "yellow"))
        drawn: set[float] = set()
        for alert in self.spec.alerts:
            x_alert = self._alert_x(alert.first_step, views, t0)
            if x_alert is not None and x_alert not in drawn:
                drawn.add(x_alert)
                plt.vline(x_alert, ALERT_COLORS.get(alert.severity, "yellow"))
        if drawn:
            worst = max(self.spec.alerts, key=lambda a: SEVERITY_RANK.get(a.severity, 0))
            legend.append("│ alert start", style=ALERT_COLORS.get(worst.severity, "yellow"))
        self.query_one("#chart-legend", Static).update(legend)
        if self.clip_outliers:
            band = percentile_range(shown)
            if band is not None:
                plt.ylim(*band)
        if not self.x_wall:
            xs = [float(v.steps[0]) for _, v in views if len(v.steps)] + [
                float(v.steps[-1]) for _, v in views if len(v.steps)
            ]
            ticks = integer_ticks(min(xs), max(xs)) if xs else []
            if ticks:
                plt.xticks([float(t) for t in ticks], [str(t) for t in ticks])
        plt.xlabel("wall time (min)" if self.x_wall else "step")
        plt.ylabel("log10" if self.log_y else "")
        widget.refresh()
        self.query_one("#chart-status", Static).update(self.status_text())

    def _alert_x(self, step: int, views: list[tuple[str, SeriesView]], t0: float) -> float | None:
        if not self.x_wall:
            return float(step)
        for _, v in views:
            ok = np.isfinite(v.wall_times)
            if ok.sum() >= 1:
                return float((np.interp(step, v.steps[ok], v.wall_times[ok]) - t0) / 60.0)
        return None

    def action_toggle_x(self) -> None:
        self.x_wall = not self.x_wall
        self.show()

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self.show()

    def action_toggle_outliers(self) -> None:
        self.clip_outliers = not self.clip_outliers
        self.show()

    def action_smoothing(self, delta: float) -> None:
        self.weight = round(min(0.99, max(0.0, self.weight + delta)), 2)
        self.show()

    def action_export(self) -> None:
        self.rltui.export_csv([(s.run_index, s.metric) for s in self.spec.series], self.spec.title)
