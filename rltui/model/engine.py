"""The model's front door: store + instruments + patterns -> :class:`RunSnapshot`.

Why one class: live watching, replay and ``check --at-step`` must give the same verdict for the
same step, so they share this path. Patterns advance incrementally as the store grows; asking
for an earlier step (replay scrubbing back, ``--at-step``) rebuilds the pattern state from the
start, which is cheap next to reading the files.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import replace

import numpy as np

from rltui.model.config import Config
from rltui.model.instruments import evaluate_instruments
from rltui.model.patterns import PatternEngine
from rltui.model.patterns.catalogue import CATALOGUE
from rltui.model.snapshot import (
    SEVERITY_RANK,
    Alert,
    InstrumentReading,
    MetricSummary,
    RunInfo,
    RunSnapshot,
    SourceInfo,
    Status,
)
from rltui.model.store import MetricStore
from rltui.records import Problem


def summarize_metrics(store: MetricStore, at_step: int | None = None) -> dict[str, MetricSummary]:
    """The ``metrics`` map of ``check --json``: per metric, counts, range and last value."""
    out: dict[str, MetricSummary] = {}
    for name in store.names():
        view = store.view(name, at_step)
        if view is None:
            continue
        values = view.values
        finite = values[np.isfinite(values)]
        out[name] = MetricSummary(
            points=len(view),
            first_step=int(view.steps[0]),
            last_step=int(view.steps[-1]),
            last=float(values[-1]),
            min=float(finite.min()) if len(finite) else None,
            max=float(finite.max()) if len(finite) else None,
            nonfinite=int(len(values) - len(finite)),
        )
    return out


def _wall_range(store: MetricStore, at_step: int | None) -> tuple[float | None, float | None]:
    first: float | None = None
    last: float | None = None
    for name in store.names():
        view = store.view(name, at_step)
        if view is None:
            continue
        walls = view.wall_times[np.isfinite(view.wall_times)]
        if len(walls) == 0:
            continue
        lo, hi = float(walls.min()), float(walls.max())
        first = lo if first is None else min(first, lo)
        last = hi if last is None else max(last, hi)
    return first, last


def merge_status(
    reading: InstrumentReading, alerts: Iterable[Alert], now: Mapping[str, Status] | None = None
) -> InstrumentReading:
    """Raise a gauge's status to the worst *active* alert about it, and to its value now.

    An alert is about a gauge when the rule belongs to that instrument, or when it is a warn or
    critical alert on the very metric the gauge shows (a ``nonfinite`` on its input): a gauge must
    not say OK next to a banner about its own number. An info alert's metric is only where to
    chart it, not a verdict on that metric.

    ``now`` maps an instrument to the worst level its *level* rules give the newest point, sustained
    or not (:meth:`PatternEngine.current_levels`): 91 % of completions truncated is not "length
    OK" while the alert waits for its third point.
    """
    if reading.status == "unavailable":
        return reading
    worst: Status = reading.status
    level_now = (now or {}).get(reading.id)
    if level_now is not None and SEVERITY_RANK[level_now] > SEVERITY_RANK[worst]:
        worst = level_now
    for alert in alerts:
        if not alert.active or SEVERITY_RANK[alert.severity] <= SEVERITY_RANK[worst]:
            continue
        on_its_metric = (
            alert.severity != "info" and reading.primary is not None and alert.metric == reading.primary
        )
        if alert.instrument == reading.id or on_its_metric:
            worst = alert.severity
    if worst == reading.status:
        return reading
    return replace(reading, status=worst)


class RunModel:
    """Turns one run's store into snapshots, for any step up to the newest."""

    #: Replay keeps a copy of the pattern state every this many steps, so scrubbing back
    #: restarts from the nearest copy instead of from step 0.
    CHECKPOINT_EVERY = 50

    def __init__(self, info: RunInfo, store: MetricStore, config: Config | None = None) -> None:
        self.info = info
        self.store = store
        self.config = config if config is not None else Config.defaults()
        # Two engines: the newest step (live) and a replay/--at-step cursor, so asking for an
        # early step never throws away the live state and vice versa.
        self._live = PatternEngine(info, self.config)
        self._cursor = PatternEngine(info, self.config)
        self._checkpoints: dict[int, PatternEngine] = {}
        self._checkpoint_version = store.version
        self._marks_cache: np.ndarray | None = None
        self._marks_version = -1
        self.smoothing = 0.6
        self._rule_thresholds = {s.id: self.config.thresholds(s.id) for s in CATALOGUE}

    def set_info(self, info: RunInfo) -> None:
        """New detection results (trainer, config) change which rules apply: start over."""
        if info != self.info:
            self.info = info
            self._live = PatternEngine(info, self.config)
            self._cursor = PatternEngine(info, self.config)
            self._checkpoints.clear()

    def alerts(self, at_step: int | None = None) -> tuple[Alert, ...]:
        if at_step is None:
            self._live.advance(self.store, None)
            return self._live.alerts()
        return self._advance_cursor(at_step).alerts()

    def _advance_cursor(self, at_step: int) -> PatternEngine:
        if self.store.version != self._checkpoint_version:
            self._checkpoints.clear()
            self._checkpoint_version = self.store.version
        engine = self._cursor
        if engine.step is not None and at_step < engine.step:
            starts = [s for s in self._checkpoints if s <= at_step]
            engine = (
                copy.deepcopy(self._checkpoints[max(starts)])
                if starts
                else PatternEngine(self.info, self.config)
            )
        # Checkpoints sit on steps that exist (every CHECKPOINT_EVERY-th logged step), and nothing
        # is done past the newest point: the cost follows the points, never the step numbers
        # (``--at-step 10**12`` on a 150-step run, one stray point at step 2**40).
        last = self.store.last_step
        target = at_step if last is None else min(at_step, last)
        marks = self._marks()
        lo = int(np.searchsorted(marks, engine.step if engine.step is not None else -(1 << 62), "right"))
        hi = int(np.searchsorted(marks, target, "right"))
        for mark in marks[lo:hi].tolist():
            engine.advance(self.store, mark)
            if mark not in self._checkpoints:
                self._checkpoints[mark] = copy.deepcopy(engine)
        engine.advance(self.store, target)
        self._cursor = engine
        return engine

    def _marks(self) -> np.ndarray:
        """Every CHECKPOINT_EVERY-th distinct logged step (cached per store version)."""
        if self._marks_version != self.store.version or self._marks_cache is None:
            names = self.store.names()
            steps = [self.store[n].steps for n in names]
            union = np.unique(np.concatenate(steps)) if steps else np.empty(0, np.int64)
            every = self.CHECKPOINT_EVERY
            self._marks_cache = union[every - 1 :: every]
            self._marks_version = self.store.version
        return self._marks_cache

    def snapshot(
        self,
        at_step: int | None = None,
        sources: tuple[SourceInfo, ...] = (),
        problems: tuple[Problem, ...] = (),
    ) -> RunSnapshot:
        step = self.store.last_step if at_step is None else min(at_step, self.store.last_step or at_step)
        alerts = self.alerts(at_step)
        engine = self._live if at_step is None else self._cursor
        now = engine.current_levels()
        readings = tuple(
            merge_status(r, alerts, now)
            for r in evaluate_instruments(
                self.store, self.info, at_step, smoothing=self.smoothing, rules=self._rule_thresholds
            )
        )
        first_wall, last_wall = _wall_range(self.store, at_step)
        ordered = tuple(
            sorted(alerts, key=lambda a: (not a.active, -SEVERITY_RANK[a.severity], a.first_step))
        )
        return RunSnapshot(
            info=self.info,
            step=step,
            instruments=readings,
            alerts=ordered,
            metrics=summarize_metrics(self.store, at_step),
            sources=sources,
            problems=problems,
            last_wall_time=last_wall,
            first_wall_time=first_wall,
        )


def json_number(x: float | None) -> float | str | None:
    """JSON has no NaN: non-finite numbers become the strings the contract names."""
    if x is None:
        return None
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x
