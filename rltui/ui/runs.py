"""What the UI needs from a followed run, and small helpers over its snapshots.

The UI depends on this protocol, not on ``rltui.session`` directly, so tests drive the app with
hand-built runs (``tests/ui/_factory.py``) and the real session plugs in unchanged.
"""

from __future__ import annotations

from typing import Protocol

from rltui.model.engine import merge_status
from rltui.model.snapshot import SEVERITY_RANK, InstrumentReading, RunInfo, RunSnapshot, Trace
from rltui.model.stats import tb_smooth
from rltui.model.store import MetricStore, SeriesView
from rltui.records import FloatArray


class Waker(Protocol):
    """A wake-up for a run without file events (``rltui.sources.wake``; a tmux pane)."""

    def wait(self, timeout: float) -> bool: ...

    def close(self) -> None: ...


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
    """``reading`` raised to the worst active alert about it (the engine's rule, applied here to
    the raw-metric gauges the UI builds itself)."""
    return merge_status(reading, snap.alerts)


#: An alert's onset as a gauge marks it: (first step, severity).
Onset = tuple[int, str]


def alert_onset(snap: RunSnapshot, reading: InstrumentReading) -> Onset | None:
    """Where "since when" starts on a gauge: the onset of the worst active warn/critical alert about
    it (same "about it" as :func:`alert_status`), the earliest one of that severity."""
    best: tuple[int, int, str] | None = None
    for a in snap.alerts:
        if not a.active or a.severity not in ("warn", "critical"):
            continue
        about = a.instrument == reading.id or (reading.primary is not None and a.metric == reading.primary)
        if not about:
            continue
        cand = (-SEVERITY_RANK[a.severity], a.first_step, a.severity)
        if best is None or cand < best:
            best = cand
    return None if best is None else (best[1], best[2])


def smooth(values: FloatArray, weight: float) -> FloatArray:
    """TensorBoard's debiased EMA, as the detail chart's smoothed line."""
    return tb_smooth(values, weight)


#: Metrics shown as plain gauges when no instrument recognises the run's metrics (an unknown
#: framework), most telling first.
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
