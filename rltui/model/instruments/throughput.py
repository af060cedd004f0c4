"""Throughput: tokens per second and steps per minute ([CvC-I] #7, patterns.md U-11).

Stock TRL logs no throughput, so it is derived, in order of preference:

1. a logged tokens/s key (verl ``perf/throughput``, HF ``train_tokens_per_second``);
2. ``num_tokens`` deltas over TensorBoard wall-clock deltas (tokens/s);
3. GRPO's ``step_time`` (seconds per step, shown as steps/min);
4. wall-clock deltas of the loss series (steps/min).

``trainer_state.json`` carries no clock, so a run read only from it has no throughput unless it
logs ``step_time``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rltui.model.instruments.base import (
    SHORT,
    Ctx,
    Gauge,
    arrow,
    fmt,
    gauge_numbers,
    gauge_trend,
    join,
    reading,
    trace,
    unavailable,
)
from rltui.model.prefix import Growing
from rltui.model.snapshot import InstrumentReading, Trace, Trend
from rltui.model.store import Series, SeriesView
from rltui.records import FloatArray, IntArray

IID, TITLE = "throughput", "Throughput"


def _interval_rate(values: FloatArray, walls: FloatArray, per: float = 1.0) -> FloatArray:
    """Δvalue/Δwall for each consecutive pair; NaN where the clock did not move forward."""
    dv = np.diff(values)
    dw = np.diff(walls)
    with np.errstate(all="ignore"):
        return np.where((dw > 0) & np.isfinite(dw), dv / dw * per, np.nan)


def _recent_steps_per_min(view: SeriesView) -> float | None:
    """Steps per minute over the last ``SHORT`` intervals of a series with wall times: O(1)."""
    steps, walls = view.steps[-(SHORT + 1) :], view.wall_times[-(SHORT + 1) :]
    ok = np.isfinite(walls)
    if np.count_nonzero(ok) < 2:
        return None
    s, w = steps[ok], walls[ok]
    dt = float(w[-1] - w[0])
    if dt <= 0:
        return None
    return float(s[-1] - s[0]) / dt * 60.0


def _tokens_per_s(steps: IntArray, walls: FloatArray, values: FloatArray) -> tuple[IntArray, FloatArray]:
    return steps[1:], _interval_rate(values, walls)


def _steps_per_min_from_step_time(
    steps: IntArray, walls: FloatArray, values: FloatArray
) -> tuple[IntArray, FloatArray]:
    with np.errstate(all="ignore"):
        return steps, np.where(values > 0, 60.0 / values, np.nan)


def _steps_per_min_from_clock(
    steps: IntArray, walls: FloatArray, values: FloatArray
) -> tuple[IntArray, FloatArray]:
    return steps[1:], _interval_rate(steps.astype(np.float64), walls, per=60.0)


Derive = Callable[[IntArray, FloatArray, FloatArray], tuple[IntArray, FloatArray]]


@dataclass(slots=True)
class _Derived:
    steps: Growing
    values: Growing


def _fold_derived(derive: Derive, overlap: int) -> Callable[[_Derived | None, Series, int, int], _Derived]:
    """The derived series, extended by the newly appended points (each derived value depends only
    on its own point, or its pair with the point before: ``overlap``), equal to deriving it whole."""

    def count(n: int) -> int:
        return max(0, n - overlap)

    def fold(state: _Derived | None, series: Series, lo: int, hi: int) -> _Derived:
        out = state if state is not None else _Derived(Growing(np.int64), Growing())
        new = count(hi) - count(lo)
        if new > 0:
            start = max(0, lo - overlap)
            part = slice(start, hi)
            steps, values = derive(series.steps[part], series.wall_times[part], series.values[part])
            out.steps.extend(steps[len(steps) - new :])
            out.values.extend(values[len(values) - new :])
        return out

    return fold


def _last_finite(values: FloatArray) -> int | None:
    """Index of the newest finite value, looking back in growing blocks (O(distance), not O(n))."""
    end = len(values)
    block = 64
    while end > 0:
        lo = max(0, end - block)
        ok = np.flatnonzero(np.isfinite(values[lo:end]))
        if len(ok):
            return lo + int(ok[-1])
        end, block = lo, block * 4
    return None


def _derived_gauge(ctx: Ctx, view: SeriesView, name: str, derive: Derive) -> tuple[Gauge, Trace] | None:
    """A gauge over a series derived from ``view`` (a rate); smoothing is cached on the full series.

    The derived series is kept per stored series and extended as points are appended
    (:class:`~rltui.model.prefix.PrefixFolds`), so a live refresh costs O(new points).
    """
    series = ctx.store.get(view.name)
    if series is None:
        return None
    overlap = 0 if derive is _steps_per_min_from_step_time else 1
    derived = ctx.cache.folds.get(f"{name}:{view.name}", series, _fold_derived(derive, overlap))
    m = max(0, len(view) - overlap)
    steps, values = derived.steps.head(m), derived.values.head(m)
    last = _last_finite(values)
    if last is None:
        return None
    value = float(values[last])
    tr = gauge_trend(values)
    direction: Trend = tr.direction  # type: ignore[assignment]

    def full() -> FloatArray:
        return derived.values.head(derived.values.n)

    smoothed = ctx.smoothed_derived(f"{name}:{view.name}", series.version, full, last + 1)
    g = Gauge(value, smoothed, direction, tr.accelerating and direction == "rising", tr.slope, "ok")
    return g, Trace(name, steps, values)


def throughput(ctx: Ctx) -> InstrumentReading:
    loss = ctx.role_view("loss")
    spm_view = loss if loss is not None else ctx.role_view("num_tokens")
    spm = _recent_steps_per_min(spm_view) if spm_view is not None else None
    spm_text = f"{fmt(spm)} steps/min" if spm is not None else ""
    eta = ""
    if spm and ctx.info.max_steps and spm_view is not None and spm_view.last_step is not None:
        left = ctx.info.max_steps - spm_view.last_step
        if left > 0:
            eta = f"ETA {_duration(left / spm * 60.0)}"

    direct = ctx.role("throughput")
    if direct is not None:
        key, view = direct
        return _rate(gauge_numbers(ctx, view), key.name, "tok/s", (trace(view),), spm_text, eta)

    tokens = ctx.role("num_tokens")
    if tokens is not None and len(tokens[1]) >= 2:
        got = _derived_gauge(ctx, tokens[1], "tokens/s", _tokens_per_s)
        if got is not None:
            g, tr = got
            return _rate(g, tokens[1].name, "tok/s", (tr, trace(tokens[1])), spm_text, eta)

    st = ctx.role("step_time")
    if st is not None:
        got = _derived_gauge(ctx, st[1], "steps/min", _steps_per_min_from_step_time)
        if got is not None:
            g, tr = got
            last_st = st[1].last
            per_step = f"{fmt(last_st)} s/step" if last_st is not None else ""
            return _rate(g, st[0].name, "steps/min", (tr, trace(st[1])), per_step, eta)

    if loss is not None and len(loss) >= 2:
        got = _derived_gauge(ctx, loss, "steps/min", _steps_per_min_from_clock)
        if got is not None:
            g, tr = got
            return _rate(g, loss.name, "steps/min", (tr,), eta)

    return unavailable(
        IID, TITLE, "no clock: no wall times (trainer_state.json has none), step_time or num_tokens logged"
    )


def _rate(g: Gauge, primary: str, unit: str, traces: tuple[Trace, ...], *details: str) -> InstrumentReading:
    """A throughput reading: the summary opens with "value unit arrow", then the non-empty details."""
    head = f"{fmt(g.value)} {unit} {arrow(g.trend)}".rstrip()
    return reading(IID, TITLE, g, primary=primary, summary=join(head, *details), traces=traces, unit=unit)


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
