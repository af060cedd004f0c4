"""What a detail chart shows: which series of which runs, reference lines and alert markers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rltui.model.snapshot import Alert, InstrumentReading, RunSnapshot
from rltui.ui.glyphs import safe

#: Severities that get a vertical "alert start" line on a chart. Info alerts (anomaly markers,
#: missing instruments) are notes, not events: a line for each would bury the real ones.
MARKED_SEVERITIES = ("warn", "critical")


@dataclass(frozen=True, slots=True)
class ChartSeries:
    label: str
    run_index: int
    metric: str


@dataclass(frozen=True, slots=True)
class ChartSpec:
    title: str
    series: tuple[ChartSeries, ...]
    thresholds: dict[str, float] = field(default_factory=dict)
    alerts: tuple[Alert, ...] = ()


def spec_for_instrument(
    title: str, rows: list[tuple[int, str | None, InstrumentReading | None]], alerts: tuple[Alert, ...]
) -> ChartSpec | None:
    """One run: every trace of the instrument. Several runs: each run's primary series, overlaid."""
    present = [(i, name, r) for i, name, r in rows if r is not None and (r.primary or r.traces)]
    if not present:
        return None
    series: list[ChartSeries] = []
    thresholds: dict[str, float] = {}
    if len(rows) == 1:
        i, _, r = present[0]
        assert r is not None
        names = [t.name for t in r.traces] or ([r.primary] if r.primary else [])
        if r.primary and r.primary in names:
            names.remove(r.primary)
            names.insert(0, r.primary)
        series = [ChartSeries(n, i, n) for n in names[:6]]
        thresholds = dict(r.thresholds)
    else:
        for i, name, r in present:
            assert r is not None
            metric = r.primary or r.traces[0].name
            series.append(ChartSeries(name or metric, i, metric))
            thresholds.update(r.thresholds)
    ids = {r.id for _, _, r in present if r is not None}
    metrics = {s.metric for s in series}
    rel = tuple(
        a
        for a in alerts
        if a.severity in MARKED_SEVERITIES
        and a.instrument in ids
        and (a.metric is None or a.metric in metrics)
    )
    return ChartSpec(title, tuple(series), thresholds, rel)


def spec_for_alert(snaps: Sequence[RunSnapshot | None], run_index: int, alert: Alert) -> ChartSpec | None:
    """The chart of the metric an alert is about (overlaid across runs that log it), marked with
    the alert itself whatever its severity: the user asked for this one."""
    snap = snaps[run_index] if 0 <= run_index < len(snaps) else None
    metric = alert.metric
    thresholds: dict[str, float] = {}
    if snap is not None:
        for r in snap.instruments:
            if r.id == alert.instrument:
                thresholds = dict(r.thresholds)
                if metric is None:
                    metric = r.primary or (r.traces[0].name if r.traces else None)
    if metric is None:
        return None
    multi = len(snaps) > 1
    series = tuple(
        ChartSeries(safe(s.info.name, 30) if multi else metric, i, metric)
        for i, s in enumerate(snaps)
        if s is not None and metric in s.metrics
    )
    return ChartSpec(f"{alert.id}: {metric}", series, thresholds, (alert,))
