"""What a detail chart shows: which series of which runs, reference lines and alert markers."""

from __future__ import annotations

from dataclasses import dataclass, field

from rltui.model.snapshot import Alert, InstrumentReading


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
    rel = tuple(a for a in alerts if a.instrument in {r.id for _, _, r in present if r is not None})
    return ChartSpec(title, tuple(series), thresholds, rel)
