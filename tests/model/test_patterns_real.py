"""The pattern engine on the real TRL runs in fixtures/runs (calibration, patterns.md §4).

The runs are loaded with TensorBoard's own EventAccumulator (not the project's readers), so these
tests do not depend on them: tags go through ``canonical_tb_tag``, the run config comes from the
``args/text_summary`` tensor, and the trainer from the README table of fixtures/runs.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from rltui.model.config import Config
from rltui.model.patterns import PatternEngine
from rltui.model.snapshot import Alert, RunInfo, Trainer
from rltui.model.store import MetricStore
from rltui.records import PointChunk
from rltui.sources.names import canonical_tb_tag

RUNS = Path(__file__).resolve().parents[2] / "fixtures" / "runs"
TRAINER: dict[str, Trainer] = {
    "sft_healthy": "sft",
    "dpo_healthy": "dpo",
    "dpo_healthy_tf4": "dpo",
    "dpo_margin_explosion": "dpo",
    "grpo_healthy": "grpo",
    "grpo_length_hacking": "grpo",
}
HEALTHY = ("sft_healthy", "dpo_healthy", "dpo_healthy_tf4", "grpo_healthy")


@functools.cache
def load_run(name: str) -> tuple[RunInfo, MetricStore]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (event_file,) = sorted((RUNS / name).glob("runs/*/events.out.tfevents.*"))
    ea = EventAccumulator(str(event_file), size_guidance={"scalars": 0, "tensors": 0})
    ea.Reload()
    store = MetricStore()
    chunks = {}
    for tag in ea.Tags()["scalars"]:
        evs = ea.Scalars(tag)
        chunks[canonical_tb_tag(tag)] = PointChunk(
            np.array([e.step for e in evs], dtype=np.int64),
            np.array([e.wall_time for e in evs], dtype=np.float64),
            np.array([e.value for e in evs], dtype=np.float64),
        )
    # End-of-training scalars are not training metrics; a reader would report them separately.
    store.add("tb", chunks)
    text = ea.Tensors("args/text_summary")[0].tensor_proto.string_val[0].decode()
    config = json.loads(text)
    info = RunInfo(
        name=name,
        path=str(RUNS / name),
        framework="trl",
        trainer=TRAINER[name],
        max_steps=int(config["max_steps"]),
        logging_steps=int(config["logging_steps"]),
        config=config,
    )
    return info, store


@functools.cache
def run_alerts(name: str) -> tuple[Alert, ...]:
    info, store = load_run(name)
    engine = PatternEngine(info, Config.defaults())
    engine.advance(store)
    return engine.alerts()


def banners(alerts: tuple[Alert, ...], severity: str) -> list[Alert]:
    return [a for a in alerts if a.severity == severity]


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_runs_stay_quiet(name: str) -> None:
    alerts = run_alerts(name)
    assert banners(alerts, "critical") == [], [(a.id, a.first_step, a.message) for a in alerts]
    assert len(banners(alerts, "warn")) <= 1, [
        (a.id, a.first_step, a.message) for a in banners(alerts, "warn")
    ]


def test_margin_explosion_fires_margin_runaway() -> None:
    info, store = load_run("dpo_margin_explosion")
    margins = store["rewards/margins"]
    alerts = [a for a in run_alerts("dpo_margin_explosion") if a.id == "margin_runaway"]
    assert alerts, "margin_runaway must fire"
    first = alerts[0]

    # Onset, derived from the data with plain numpy: the rolling median of the last 20 margins
    # exceeds 10 (info), or the loss median is < 0.05 with accuracy median >= 0.98 ([S1], warn).
    def med20(name: str) -> np.ndarray:
        v = store[name].values
        return np.array([np.median(v[max(0, i - 19) : i + 1]) for i in range(len(v))])

    steps = margins.steps
    flag = (med20("rewards/margins") > 10) | ((med20("loss") < 0.05) & (med20("rewards/accuracies") >= 0.98))
    flag[:4] = False
    onset = int(steps[np.argmax(flag)])
    assert onset <= first.first_step <= onset + 3
    assert max(a.severity == "warn" or a.severity == "critical" for a in alerts)
    # The evidence is the run's own numbers: a margin > 10 and its nats at beta = 0.1.
    ev = alerts[-1].evidence
    assert isinstance(ev["margin"], float)
    assert ev["margin"] > 10
    beta = info.config["beta"]
    assert isinstance(beta, float)
    assert math.isclose(float(ev["nats"]), float(ev["margin"]) / beta)
    assert "memorising" in alerts[-1].action
    assert str(info.config["beta"]) not in ("",)


def test_length_hacking_fires_length_patterns() -> None:
    info, store = load_run("grpo_length_hacking")
    alerts = run_alerts("grpo_length_hacking")
    ids = {a.id for a in alerts}
    assert {"truncation", "length_growth"} <= ids
    trunc = next(a for a in alerts if a.id == "truncation" and a.severity == "critical")
    clipped = store["completions/clipped_ratio"]
    # The clipped ratio first reaches 0.5 at step 62 (README); the sustained median crosses later.
    first_half = int(clipped.steps[np.argmax(clipped.values >= 0.5)])
    assert first_half <= trunc.first_step <= first_half + 30
    max_len = info.config["max_completion_length"]
    assert isinstance(max_len, int)
    assert str(max_len) in trunc.action
    growth = next(a for a in alerts if a.id == "length_growth")
    assert growth.severity == "critical"
    assert float(growth.evidence["ratio"]) > 2.0


def test_beta_zero_grpo_reports_missing_kl() -> None:
    alerts = run_alerts("grpo_length_hacking")
    assert any(a.id == "instrument_missing" and "kl" in str(a.evidence.get("missing")) for a in alerts)
    assert not any(a.instrument == "kl" and a.id.startswith("kl_") for a in alerts)


def test_evidence_is_json_safe() -> None:
    for name in TRAINER:
        for a in run_alerts(name):
            json.dumps(a.evidence, allow_nan=False)
            assert a.first_step <= a.last_step
