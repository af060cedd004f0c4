"""Realistic runs for UI tests, built from the real TRL fixtures' numbers and judged by the real model.

Each run's ``trainer_state.json`` is parsed with the stdlib into a :class:`MetricStore`, and its
snapshots come from the project's own engine (:class:`rltui.model.engine.RunModel`, the path
``RunSession.snapshot`` takes). The factory once computed a small stand-in verdict of its own,
written while the engine was developed in parallel; it is gone so the UI tests see the alerts,
gauges and thresholds the product really shows on these runs, and cannot pass on a verdict the
product never gives. Wall times are synthetic (a fixed start plus a fixed seconds-per-step) so
screenshots and header words are stable; no file is followed (``poll`` reads nothing).

What the real session knows and this factory does not: the TrainingArguments (``RunInfo.config``,
from the event file's ``args`` text; ``trainer_state.json`` has none), so rules that read the config
(warmup) see none, and a few onsets differ from ``open_sessions`` on the same folder (on
dpo_margin_explosion, likelihood_displacement from step 145 here, 201 there). Tests that need the
session's exact verdict use ``tests.ui.test_snapshots.session_app``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from rltui.model.engine import RunModel
from rltui.model.snapshot import Alert, RunInfo, RunSnapshot
from rltui.model.store import MetricStore, SeriesView
from rltui.records import PointChunk

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "fixtures" / "runs"
T0 = 1_790_000_000.0
SECONDS_PER_STEP = 3.0


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
    #: Alerts a test adds to the model's own (appended to each snapshot's ``alerts``).
    extra_alerts: list[Alert] = field(default_factory=list)
    _model: RunModel | None = field(default=None, init=False, repr=False, compare=False)
    #: The pump asks for snapshots from a worker thread while a test may ask from its own: the
    #: engine keeps state between calls, so they take turns (as ``RunSession.snapshot`` does).
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False, compare=False)

    def poll(self) -> int:
        self.polls += 1
        return 0

    def rescan(self) -> None:
        pass

    def watch_paths(self) -> list[str]:
        return [self.info.path]

    def model(self) -> RunModel:
        """The real engine over this run's store; rebuilt when a test swaps ``store`` or ``info``."""
        if self._model is None or self._model.store is not self.store:
            self._model = RunModel(self.info, self.store)
        else:
            self._model.set_info(self.info)
        return self._model

    def snapshot(self, at_step: int | None = None) -> RunSnapshot:
        with self._lock:
            snap = self.model().snapshot(at_step)
        if self.extra_alerts:
            snap = replace(snap, alerts=(*snap.alerts, *self.extra_alerts))
        return snap

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
