"""Realistic runs for UI tests, built from the real TRL fixtures' numbers.

The model's engine is developed in parallel, so these runs compute a small, independent verdict
of their own (documented thresholds below) from ``trainer_state.json`` parsed with the stdlib.
Wall times are synthetic (a fixed start plus a fixed seconds-per-step) so screenshots are stable.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rltui.model.snapshot import (
    Alert,
    InstrumentReading,
    MetricSummary,
    RunInfo,
    RunSnapshot,
    Trace,
)
from rltui.model.store import MetricStore, SeriesView
from rltui.records import PointChunk

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "fixtures" / "runs"
T0 = 1_790_000_000.0
SECONDS_PER_STEP = 3.0
#: DPO margin above which the factory's stand-in rule fires (patterns.md: margin runaway).
MARGIN_CRITICAL = 10.0


def load_log_history(run: str) -> tuple[list[dict[str, float]], dict[str, object]]:
    state = json.loads((RUNS / run / "trainer_state.json").read_text())
    return state["log_history"], state


def store_from_history(history: list[dict[str, float]]) -> MetricStore:
    cols: dict[str, tuple[list[int], list[float], list[float]]] = {}
    for entry in history:
        step = int(entry["step"])
        for key, value in entry.items():
            if key == "step" or not isinstance(value, int | float):
                continue
            c = cols.setdefault(key, ([], [], []))
            c[0].append(step)
            c[1].append(T0 + step * SECONDS_PER_STEP)
            c[2].append(float(value))
    store = MetricStore()
    store.add("trainer_state", {k: PointChunk.from_lists(*v) for k, v in cols.items()})
    return store


@dataclass
class FactoryRun:
    """Implements the UI's ``RunSource`` protocol over a fixture, without any file following."""

    name: str
    info: RunInfo
    store: MetricStore
    polls: int = 0
    extra_alerts: list[Alert] = field(default_factory=list)

    def poll(self) -> int:
        self.polls += 1
        return 0

    def rescan(self) -> None:
        pass

    def watch_paths(self) -> list[str]:
        return [self.info.path]

    def snapshot(self, at_step: int | None = None) -> RunSnapshot:
        return build_snapshot(self, at_step)

    def view(self, name: str, at_step: int | None = None) -> SeriesView | None:
        return self.store.view(name, at_step)

    def names(self) -> list[str]:
        return list(self.store.names())


def make_run(run: str, *, name: str | None = None, info_path: str | None = None) -> FactoryRun:
    history, state = load_log_history(run)
    trainer = "grpo" if run.startswith("grpo") else "sft" if run.startswith("sft") else "dpo"
    info = RunInfo(
        name=name or run,
        path=info_path or str(RUNS / run),
        framework="trl",
        trainer=trainer,  # type: ignore[arg-type]
        max_steps=int(state["max_steps"]),  # type: ignore[call-overload]
        logging_steps=int(state["logging_steps"]),  # type: ignore[call-overload]
    )
    return FactoryRun(name or run, info, store_from_history(history))


def _trend(values: np.ndarray) -> tuple[str, bool]:
    v = values[np.isfinite(values)][-20:]
    if len(v) < 5:
        return "unknown", False
    slope = np.polyfit(np.arange(len(v)), v, 1)[0]
    spread = float(np.std(v)) or 1e-12
    if slope * len(v) > 2 * spread:
        half = len(v) // 2
        acc = np.polyfit(np.arange(half), v[-half:], 1)[0] > np.polyfit(np.arange(half), v[:half], 1)[0] > 0
        return "rising", bool(acc)
    if slope * len(v) < -2 * spread:
        return "falling", False
    return "flat", False


def _reading(
    run: FactoryRun, iid: str, title: str, metrics: list[str], at: int | None, **kw: object
) -> InstrumentReading:
    traces = []
    for m in metrics:
        view = run.store.view(m, at)
        if view is not None:
            traces.append(Trace(m, view.steps, view.values))
    if not traces:
        return InstrumentReading(iid, title, "unavailable", reason=f"no {metrics[0]} logged")
    trend, acc = _trend(traces[0].values)
    return InstrumentReading(
        id=iid,
        title=title,
        status=kw.pop("status", "ok"),  # type: ignore[arg-type]
        value=float(traces[0].values[-1]),
        primary=traces[0].name,
        traces=tuple(traces),
        trend=trend,  # type: ignore[arg-type]
        accelerating=acc,
        **kw,  # type: ignore[arg-type]
    )


def margin_alert(run: FactoryRun, at: int | None) -> Alert | None:
    view = run.store.view("rewards/margins", at)
    if view is None:
        return None
    over = np.flatnonzero(view.values > MARGIN_CRITICAL)
    if len(over) == 0:
        return None
    first = int(view.steps[over[0]])
    return Alert(
        id="margin_runaway",
        severity="critical",
        first_step=first,
        last_step=int(view.steps[-1]),
        active=bool(view.values[-1] > MARGIN_CRITICAL),
        message=f"reward margin {view.values[-1]:.1f} and still growing",
        cause="the policy pushes rejected log-probs down without bound (beta too low / lr too high)",
        action="raise beta or lower the learning rate; stop before the model collapses",
        evidence={"margin": float(view.values[-1]), "threshold": MARGIN_CRITICAL},
        metric="rewards/margins",
        instrument="reward",
    )


def build_snapshot(run: FactoryRun, at: int | None) -> RunSnapshot:
    store = run.store
    metrics = {}
    for name in store.names():
        v = store.view(name, at)
        if v is None:
            continue
        finite = v.values[np.isfinite(v.values)]
        metrics[name] = MetricSummary(
            points=len(v),
            first_step=int(v.steps[0]),
            last_step=int(v.steps[-1]),
            last=float(v.values[-1]),
            min=float(finite.min()) if len(finite) else None,
            max=float(finite.max()) if len(finite) else None,
            nonfinite=int(len(v) - len(finite)),
        )
    alert = margin_alert(run, at)
    alerts = tuple(a for a in (alert, *run.extra_alerts) if a is not None)
    reward_status = "critical" if alert is not None and alert.active else "ok"
    instruments = (
        _reading(run, "loss", "Loss", ["loss"], at, hint="ln2 = 0.693 at start"),
        _reading(run, "gradients", "Gradient norm", ["grad_norm"], at, hint="warn: spikes > 5 MAD"),
        _reading(run, "learning_rate", "Learning rate", ["learning_rate"], at),
        _reading(
            run,
            "reward",
            "Reward margin",
            ["rewards/margins", "rewards/chosen", "rewards/rejected"],
            at,
            status=reward_status,
            thresholds={"critical": MARGIN_CRITICAL},
            hint=f"crit > {MARGIN_CRITICAL:g}",
        ),
        _reading(run, "entropy", "Entropy", ["entropy"], at),
        _reading(run, "length", "Completion length", ["completions/mean_length"], at),
        InstrumentReading(
            "kl", "KL", "unavailable", reason="no kl or objective/kl logged (DPO has no KL metric)"
        ),
    )
    steps = [m.last_step for m in metrics.values()]
    step = max(steps) if steps else None
    first = min((m.first_step for m in metrics.values()), default=None)
    return RunSnapshot(
        info=run.info,
        step=step,
        instruments=instruments,
        alerts=alerts,
        metrics=metrics,
        last_wall_time=None if step is None else T0 + step * SECONDS_PER_STEP,
        first_wall_time=None if first is None else T0 + first * SECONDS_PER_STEP,
    )


def finite(x: float) -> bool:
    return math.isfinite(x)
