"""Every catalogue rule fires on its own example and stays quiet on its near miss.

The examples live beside the rules (``rltui/model/patterns/examples.py``); this test fails when a
rule of the catalogue has none, so a new rule cannot land without its fixtures.
"""

from __future__ import annotations

import json

import pytest

from rltui.model.config import Config
from rltui.model.patterns import CATALOGUE, PatternEngine
from rltui.model.patterns.example_recipes import Series
from rltui.model.patterns.examples import EXAMPLES, N, RuleExample, store_of
from rltui.model.snapshot import SEVERITY_RANK, Alert, RunInfo


def run(example: RuleExample, series: Series) -> tuple[Alert, ...]:
    info = RunInfo("t", "/t", "trl", example.trainer, N, 1, dict(example.config))
    engine = PatternEngine(info, Config.defaults())
    engine.advance(store_of(series, example.steps or None))
    return engine.alerts()


def test_every_rule_has_its_examples() -> None:
    missing = [s.id for s in CATALOGUE if s.id not in EXAMPLES]
    assert not missing, f"rules without a firing example and a near miss: {missing}"
    assert set(EXAMPLES) <= {s.id for s in CATALOGUE}


@pytest.mark.parametrize("example", list(EXAMPLES.values()), ids=list(EXAMPLES))
def test_rule_fires_near_onset(example: RuleExample) -> None:
    fired = [a for a in run(example, example.fires()) if a.id == example.rule]
    assert fired, f"{example.rule} did not fire"
    worst = max(fired, key=lambda a: SEVERITY_RANK[a.severity])
    assert worst.severity == example.severity
    # Steps are index + 1; the sustained rule needs 3 of 4 points and a rolling median ~half a window.
    assert example.onset + 1 <= fired[0].first_step <= example.onset + 1 + example.within, fired[0]
    json.dumps(worst.evidence, allow_nan=False)
    assert "{" not in worst.action
    assert "?" not in worst.action.split(".")[0]
    if example.rule != "nonfinite":  # a NaN is that rule's finding; elsewhere a NaN is a defect
        assert "nan" not in worst.message.lower()


@pytest.mark.parametrize("example", list(EXAMPLES.values()), ids=list(EXAMPLES))
def test_near_miss_stays_quiet(example: RuleExample) -> None:
    assert [a for a in run(example, example.near_miss()) if a.id == example.rule] == []
