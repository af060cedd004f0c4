"""The engine gives the same verdict for a step however it got there (live, replay, --at-step)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rltui.model.engine import RunModel
from rltui.session import open_sessions

RUN = Path(__file__).resolve().parents[2] / "fixtures" / "runs" / "dpo_margin_explosion"


def _key(snap):  # type: ignore[no-untyped-def]
    return [(a.id, a.severity, a.first_step, a.last_step, a.active, a.metric) for a in snap.alerts]


@pytest.fixture(scope="module")
def session():  # type: ignore[no-untyped-def]
    (s,) = open_sessions([str(RUN)])
    s.load()
    return s


def test_scrubbing_back_equals_a_fresh_evaluation(session) -> None:  # type: ignore[no-untyped-def]
    scrubbed = RunModel(session.info, session.store)
    for step in (30, 260, 790, 120, 55, 400):
        fresh = RunModel(session.info, session.store).snapshot(at_step=step)
        got = scrubbed.snapshot(at_step=step)
        assert got.step == step
        assert _key(got) == _key(fresh), f"at step {step}"


def test_cursor_does_not_disturb_the_live_verdict(session) -> None:  # type: ignore[no-untyped-def]
    model = RunModel(session.info, session.store)
    live = model.snapshot()
    model.snapshot(at_step=40)
    again = model.snapshot()
    assert _key(live) == _key(again)
    assert {a.id for a in live.alerts if a.active} >= {"margin_runaway"}
    early = model.snapshot(at_step=20)
    assert "margin_runaway" not in {a.id for a in early.alerts}
