"""The engine gives the same verdict for a step however it got there (live, replay, --at-step)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rltui.model.engine import RunModel
from rltui.model.snapshot import RunSnapshot
from rltui.session import RunSession, open_sessions

RUN = Path(__file__).resolve().parents[2] / "fixtures" / "runs" / "dpo_margin_explosion"


def _key(snap: RunSnapshot) -> list[tuple[str, str, int, int, bool, str | None]]:
    return [(a.id, a.severity, a.first_step, a.last_step, a.active, a.metric) for a in snap.alerts]


@pytest.fixture(scope="module")
def session() -> RunSession:
    (s,) = open_sessions([str(RUN)])
    s.load()
    return s


def test_scrubbing_back_equals_a_fresh_evaluation(session: RunSession) -> None:
    scrubbed = RunModel(session.info, session.store)
    for step in (30, 260, 790, 120, 55, 400):
        fresh = RunModel(session.info, session.store).snapshot(at_step=step)
        got = scrubbed.snapshot(at_step=step)
        assert got.step == step
        assert _key(got) == _key(fresh), f"at step {step}"


def test_cursor_does_not_disturb_the_live_verdict(session: RunSession) -> None:
    model = RunModel(session.info, session.store)
    live = model.snapshot()
    model.snapshot(at_step=40)
    again = model.snapshot()
    assert _key(live) == _key(again)
    assert {a.id for a in live.alerts if a.active} >= {"margin_runaway"}
    early = model.snapshot(at_step=20)
    assert "margin_runaway" not in {a.id for a in early.alerts}


def test_a_gauge_is_not_ok_next_to_a_critical_alert_on_its_own_metric() -> None:
    """A NaN in ``grad_norm`` fires ``nonfinite`` (a universal rule, not the gradients
    instrument's own); while that alert is active the gradients gauge must say critical, in
    ``check`` as on screen, even though its current value is finite again."""
    import numpy as np

    from rltui.model.snapshot import RunInfo
    from rltui.model.store import MetricStore
    from rltui.records import PointChunk

    steps = np.arange(1, 41, dtype=np.int64)
    walls = 1.7e9 + steps.astype(np.float64)
    grad = np.full(40, 0.8)
    grad[-4] = np.nan  # the gauge's current value is finite again; the alert is still active
    store = MetricStore()
    store.add(
        "tb", {"grad_norm": PointChunk(steps, walls, grad), "loss": PointChunk(steps, walls, 0.5 + 0 * grad)}
    )
    snap = RunModel(RunInfo(name="r", path="/r", framework="trl", trainer="sft"), store).snapshot()
    fired = [a for a in snap.alerts if a.id == "nonfinite" and a.active and a.metric == "grad_norm"]
    assert fired
    assert fired[0].severity == "critical"
    gauge = next(r for r in snap.instruments if r.id == "gradients")
    assert gauge.primary == "grad_norm"
    assert gauge.status == "critical"
