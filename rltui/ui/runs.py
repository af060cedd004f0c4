"""What the UI needs from a followed run, and small helpers that guard model parts still moving.

The UI depends on this protocol, not on ``rltui.session`` directly, so tests drive the app with
hand-built runs (``tests/ui/_factory.py``) and the real session plugs in unchanged.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Protocol

import numpy as np

from rltui.model.snapshot import SEVERITY_RANK, InstrumentReading, RunInfo, RunSnapshot, Trace
from rltui.model.store import MetricStore, SeriesView
from rltui.records import FloatArray


class RunSource(Protocol):
    """The subset of ``rltui.session.RunSession`` the dashboard uses."""

    @property
    def info(self) -> RunInfo: ...

    @property
    def store(self) -> MetricStore: ...

    def poll(self) -> int: ...

    def rescan(self) -> None: ...

    def watch_paths(self) -> list[str]: ...

    def snapshot(self, at_step: int | None = None) -> RunSnapshot: ...

    def view(self, name: str, at_step: int | None = None) -> SeriesView | None:
        """A series as of ``at_step``, safe to call while a worker thread ingests (the UI reads
        series only through this, never through ``store`` directly)."""
        ...

    def names(self) -> list[str]: ...


def alert_status(snap: RunSnapshot, reading: InstrumentReading) -> InstrumentReading:
    """``reading`` with its status raised to the worst active alert about its primary metric.

    A raw-metric gauge has no verdict of its own (it says OK), and an instrument may not know
    about an alert from another rule (a ``nonfinite`` on its input): the gauge must not say OK
    next to a banner about the very metric it shows. Only warn and critical count (those with a
    banner): an info alert's metric is where to chart it (``instrument_missing`` names ``loss``),
    not a verdict on that metric.
    """
    if reading.primary is None or reading.status == "unavailable":
        return reading
    worst = reading.status
    for alert in snap.alerts:
        rank = SEVERITY_RANK.get(alert.severity, 0)
        if alert.severity == "info" or not alert.active or alert.metric != reading.primary:
            continue
        if rank > SEVERITY_RANK.get(worst, 0):
            worst = alert.severity
    return reading if worst == reading.status else replace(reading, status=worst)


def smooth(values: FloatArray, weight: float) -> FloatArray:
    """TensorBoard's debiased EMA (``rltui.model.stats.tb_smooth``), with a local copy of the
    same formula while the model's version is not available."""
    try:
        from rltui.model.stats import tb_smooth

        return tb_smooth(values, weight)
    except (ImportError, NotImplementedError):
        pass
    out = np.empty(len(values), dtype=np.float64)
    last, n = 0.0, 0
    for i, v in enumerate(np.asarray(values, dtype=np.float64)):
        if not math.isfinite(v):
            out[i] = v
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        debias = 1.0 - weight**n if weight < 1 else 1.0
        out[i] = last / debias if debias > 0 else v
    return out


#: Metrics shown as plain gauges while the model produces no instruments (engine not wired, or a
#: framework no instrument recognises), most telling first.
FALLBACK_METRICS = (
    "loss",
    "grad_norm",
    "learning_rate",
    "rewards/margins",
    "rewards/accuracies",
    "reward",
    "kl",
    "entropy",
    "completions/mean_length",
    "eval_loss",
)


def fallback_readings(snap: RunSnapshot, run: RunSource, limit: int = 8) -> tuple[InstrumentReading, ...]:
    """Raw-metric gauges (status ``ok`` unless an alert is about the metric) so a run is never
    an empty screen."""
    names = [n for n in FALLBACK_METRICS if n in snap.metrics]
    names += [n for n in sorted(snap.metrics) if n not in names and not n.startswith(("epoch", "total_flos"))]
    out = []
    for name in names[:limit]:
        view = run.view(name, snap.step)
        if view is None:
            continue
        reading = InstrumentReading(
            id=f"metric:{name}",
            title=name,
            status="ok",
            value=view.last,
            primary=name,
            traces=(Trace(name, view.steps, view.values),),
            summary="raw metric",
        )
        out.append(alert_status(snap, reading))
    return tuple(out)


def catalogue() -> list[tuple[str, str, str]]:
    """(id, severity, title) of every failure pattern, or [] while the catalogue is not there."""
    try:
        from rltui.model import patterns

        specs = patterns.CATALOGUE
    except Exception:
        return []
    out = []
    items = specs.values() if isinstance(specs, dict) else specs
    for spec in items:
        severities = getattr(spec, "severities", None) or (getattr(spec, "severity", ""),)
        worst = max((str(s) for s in severities), key=lambda s: SEVERITY_RANK.get(s, 0))
        out.append((str(getattr(spec, "id", "?")), worst, str(getattr(spec, "title", ""))))
    return out
