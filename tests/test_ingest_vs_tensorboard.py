"""Every real TRL run in fixtures/runs/, read through the session, against TensorBoard's own reader.

Expectations come from tensorboard's ``EventAccumulator`` (all scalars kept), from the stdlib
``json`` parse of ``trainer_state.json`` and from the fixtures' README (which trainer wrote each
run), never from rltui's own output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rltui.session import open_sessions
from rltui.sources.names import canonical_tb_tag

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "runs"
#: From the fixtures' README: which TRL trainer wrote each run.
TRAINERS = {
    "sft_healthy": "sft",
    "dpo_healthy": "dpo",
    "dpo_margin_explosion": "dpo",
    "grpo_healthy": "grpo",
    "grpo_length_hacking": "grpo",
    "dpo_healthy_tf4": "dpo",
}
RUN_NAMES = sorted(p.name for p in RUNS.iterdir() if p.is_dir())


def tensorboard_scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """(step, value) per canonical metric name, as TensorBoard reads every event file of the run."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out: dict[str, list[tuple[int, float]]] = {}
    for f in sorted(run.rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(f), size_guidance={"scalars": 0, "tensors": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            out.setdefault(canonical_tb_tag(tag), []).extend((e.step, e.value) for e in acc.Scalars(tag))
    return out


def trainer_state_last(run: Path) -> dict[str, tuple[int, float]]:
    """Last (step, value) per key of the top-level trainer_state.json (full float64 precision)."""
    state = json.loads((run / "trainer_state.json").read_text())
    last: dict[str, tuple[int, float]] = {}
    for entry in state["log_history"]:
        for k, v in entry.items():
            if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool):
                last[k] = (entry["step"], float(v))
    return last


def test_every_fixture_run_is_covered() -> None:
    assert set(RUN_NAMES) == set(TRAINERS)


@pytest.mark.parametrize("name", RUN_NAMES)
def test_store_matches_tensorboard(name: str) -> None:
    run = RUNS / name
    tb = tensorboard_scalars(run)
    state_last = trainer_state_last(run)
    sessions = open_sessions([str(run)])
    assert len(sessions) == 1
    session = sessions[0]
    session.load()
    store = session.store
    assert tb, "fixture has scalars"
    for metric, points in tb.items():
        series = store.get(metric)
        assert series is not None, metric
        distinct = sorted({s for s, _ in points})
        assert len(series) == len(distinct), metric  # one point per step (design.md §4)
        assert series.steps.tolist() == distinct, metric
        last_step = max(s for s, _ in points)
        tb_last = [v for s, v in points if s == last_step][-1]  # the last written at that step
        assert series.last_step == last_step, metric
        got = float(series.values[-1])
        if metric in state_last and state_last[metric][0] == last_step:
            # trainer_state.json (float64) may win a step over TensorBoard (float32)
            expected = state_last[metric][1]
            assert math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-12) or math.isclose(
                got, tb_last, rel_tol=1e-6, abs_tol=1e-12
            ), metric
        else:
            assert math.isclose(got, tb_last, rel_tol=1e-6, abs_tol=1e-12), metric
    assert session.info.trainer == TRAINERS[name]
    assert session.info.framework == "trl"
    state = json.loads((run / "trainer_state.json").read_text())
    assert session.info.max_steps == state["max_steps"]
    assert session.info.logging_steps == state["logging_steps"]
    assert session.info.config.get("output_dir"), "args/text_summary parsed into the config"
    assert not session.problems
    assert all(not s.problems for s in session.sources())


@pytest.mark.parametrize("name", RUN_NAMES)
def test_trainer_detected_without_the_model_card(name: str, tmp_path: Path) -> None:
    """The event file alone (config text + metric names) still tells the trainer."""
    src = next((RUNS / name).rglob("events.out.tfevents.*"))
    dst = tmp_path / name / "runs" / "stamp" / src.name
    dst.parent.mkdir(parents=True)
    dst.write_bytes(src.read_bytes())
    (session,) = open_sessions([str(tmp_path / name)])
    session.load()
    assert session.info.trainer == TRAINERS[name]
    assert session.detection.evidence.startswith("config")
