"""Synthetic series for every family of rules: each must fire at the right severity close to its
onset, and a near miss must not; plus hysteresis, NaN handling and chunked == whole advancing."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rltui.model.config import Config
from rltui.model.patterns import CATALOGUE, PatternEngine
from rltui.model.patterns.example_recipes import (
    GRPO_CFG,
    N,
    grpo,
    noise,
    ramp,
    sft,
    step_change,
    with_point,
)
from rltui.model.snapshot import Alert, RunInfo
from rltui.model.store import MetricStore
from rltui.records import PointChunk


def store_of(series: dict[str, np.ndarray], steps: dict[str, np.ndarray] | None = None) -> MetricStore:
    store = MetricStore()
    chunks = {}
    for name, values in series.items():
        st_ = steps.get(name) if steps and name in steps else np.arange(1, len(values) + 1)
        st_ = np.asarray(st_, dtype=np.int64)
        chunks[name] = PointChunk(st_, 1000.0 + st_.astype(np.float64), np.asarray(values, dtype=np.float64))
    store.add("test", chunks)
    return store


def run(
    trainer: str,
    series: dict[str, np.ndarray],
    config: dict[str, object] | None = None,
    steps: dict[str, np.ndarray] | None = None,
    max_steps: int | None = N,
    cfg: Config | None = None,
) -> tuple[Alert, ...]:
    info = RunInfo("t", "/t", "trl", trainer, max_steps, 1, dict(config or {}))  # type: ignore[arg-type]
    engine = PatternEngine(info, cfg or Config.defaults())
    engine.advance(store_of(series, steps))
    return engine.alerts()


def _of(alerts: tuple[Alert, ...], rule_id: str) -> list[Alert]:
    return [a for a in alerts if a.id == rule_id]


def test_every_rule_is_documented_and_has_a_case_or_a_reason() -> None:
    for spec in CATALOGUE:
        assert spec.logic
        assert spec.cause
        assert spec.action
        assert spec.source
        assert spec.severities
        assert spec.instrument
        for t in spec.thresholds.values():
            assert t.source.startswith("["), spec.id


def test_nan_in_loss_is_critical_and_in_other_keys_a_warn() -> None:
    s = sft(loss=with_point(ramp(2, 0.5, 0), 30, np.inf), eval_runtime=np.array([1.0, np.nan, 1.0]))
    alerts = run("sft", s, steps={"eval_runtime": np.array([25, 50, 75])})
    by_metric = {a.metric: a for a in alerts if a.id == "nonfinite"}
    assert by_metric["loss"].severity == "critical"
    assert by_metric["loss"].first_step == 31
    assert by_metric["loss"].evidence["value"] == "Infinity"
    assert by_metric["eval_runtime"].severity == "warn"
    assert by_metric["eval_runtime"].first_step == 50


def test_hysteresis_clears_after_five_clean_points() -> None:
    clipped = np.zeros(N)
    clipped[40:50] = 0.7  # ten bad points, then clean
    alerts = _of(run("grpo", grpo(**{"completions/clipped_ratio": clipped}), GRPO_CFG), "truncation")
    assert len(alerts) == 1
    a = alerts[0]
    assert not a.active
    # The rolling median of the last 20 points stays above 0.5 while >= 11 of them are bad... it is bad
    # for points 41..50 only by level, so the median crosses back once the bad points are <= 10 of 20.
    info = RunInfo("t", "/t", "trl", "grpo", N, 1, GRPO_CFG)
    store = store_of(grpo(**{"completions/clipped_ratio": clipped}))
    eng = PatternEngine(info, Config.defaults())
    cleared_at = None
    for s in range(1, N + 1):
        eng.advance(store, s)
        tr = _of(eng.alerts(), "truncation")
        if tr and not tr[0].active and cleared_at is None:
            cleared_at = s
    assert cleared_at is not None
    assert cleared_at - a.last_step == 5


def test_reactivation_is_a_new_episode() -> None:
    clipped = np.zeros(N)
    clipped[20:30] = 0.7
    clipped[70:80] = 0.7
    alerts = _of(run("grpo", grpo(**{"completions/clipped_ratio": clipped}), GRPO_CFG), "truncation")
    assert len(alerts) == 2
    assert not alerts[0].active
    assert alerts[1].first_step > alerts[0].last_step


def test_severity_escalates_within_one_alert() -> None:
    alerts = _of(run("grpo", grpo(kl=ramp(0.05, 2.0, 20, sd=0.01)), GRPO_CFG), "kl_level")
    assert len(alerts) == 1
    assert alerts[0].severity == "critical"
    assert alerts[0].first_step < 80  # it began as a warn before the critical level


def test_disabled_rule_and_overridden_threshold() -> None:
    s = grpo(kl=step_change(0.05, 0.8, 50, 0.02))
    assert _of(run("grpo", s, GRPO_CFG), "kl_level")
    off = Config.from_mapping({"rules": {"kl_level": {"enabled": False}}})
    assert not _of(run("grpo", s, GRPO_CFG, cfg=off), "kl_level")
    higher = Config.from_mapping({"rules": {"kl_level": {"warn_token": 0.9}}})
    assert not _of(run("grpo", s, GRPO_CFG, cfg=higher), "kl_level")


def test_upto_step_equals_a_truncated_run() -> None:
    s = grpo(**{"completions/mean_length": ramp(10.0, 30.0, 30, sd=0.3)})
    info = RunInfo("t", "/t", "trl", "grpo", N, 1, GRPO_CFG)
    eng = PatternEngine(info, Config.defaults())
    eng.advance(store_of(s), 60)
    cut = {k: v[:60] for k, v in s.items()}
    assert eng.alerts() == run("grpo", cut, GRPO_CFG)
    assert eng.step == 60


def _chunked(
    series: dict[str, np.ndarray], cuts: list[int], trainer: str, config: dict[str, object]
) -> tuple[Alert, ...]:
    info = RunInfo("t", "/t", "trl", trainer, N, 1, config)  # type: ignore[arg-type]
    eng = PatternEngine(info, Config.defaults())
    store = MetricStore()
    prev = 0
    for cut in [*sorted(set(cuts)), N]:
        if cut <= prev:
            continue
        st_ = np.arange(prev + 1, cut + 1, dtype=np.int64)
        store.add("t", {k: PointChunk(st_, st_.astype(float), v[prev:cut]) for k, v in series.items()})
        eng.advance(store)
        prev = cut
    return eng.alerts()


@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=N - 1), max_size=6))
def test_chunked_advance_equals_one_advance(cuts: list[int]) -> None:
    s = grpo(
        **{"completions/mean_length": ramp(10.0, 30.0, 30, sd=0.3)}, kl=with_point(noise(0.1, 0.005), 60, 1.0)
    )
    whole = _chunked(s, [], "grpo", GRPO_CFG)
    assert whole  # the case is not vacuous
    assert _chunked(s, cuts, "grpo", GRPO_CFG) == whole


def test_rewind_rebuilds() -> None:
    s = grpo()
    info = RunInfo("t", "/t", "trl", "grpo", N, 1, GRPO_CFG)
    eng = PatternEngine(info, Config.defaults())
    store = store_of(s)
    eng.advance(store)
    before = eng.alerts()
    eng.advance(store, 50)  # asking for an earlier step rebuilds
    assert eng.step == 50
    eng.advance(store)
    assert eng.alerts() == before
