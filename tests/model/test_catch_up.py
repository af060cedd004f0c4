"""Opening a long run thins the historical evaluation but keeps the verdict and every NaN."""

from __future__ import annotations

import numpy as np

from rltui.model.engine import RunModel
from rltui.model.patterns.engine import CATCH_UP_LIMIT, PatternEngine
from rltui.model.snapshot import RunInfo
from rltui.model.store import MetricStore
from rltui.records import PointChunk


def _store(n: int, nan_at: int, margin_from: int) -> MetricStore:
    rng = np.random.default_rng(7)
    steps = np.arange(1, n + 1, dtype=np.int64)
    walls = 1.7e9 + steps.astype(np.float64)
    loss = 0.69 - 0.2 * steps / n + rng.normal(0, 0.01, n)
    loss[nan_at - 1] = np.nan
    margin = 0.5 + 0.3 * steps / n + rng.normal(0, 0.05, n)
    margin[margin_from - 1 :] = 60.0 + rng.normal(0, 1, n - margin_from + 1)
    acc = np.clip(0.6 + 0.3 * steps / n + rng.normal(0, 0.02, n), 0, 1)
    store = MetricStore()
    store.add(
        "tb",
        {
            "loss": PointChunk(steps, walls, loss),
            "rewards/margins": PointChunk(steps, walls, margin),
            "rewards/accuracies": PointChunk(steps, walls, acc),
        },
    )
    return store


INFO = RunInfo(name="long", path="/tmp/long", framework="trl", trainer="dpo", config={"beta": 0.1})


def test_long_backlog_keeps_the_current_verdict_and_an_early_nan() -> None:
    n = 6 * CATCH_UP_LIMIT
    store = _store(n, nan_at=1234, margin_from=n - 80)
    cold = PatternEngine(INFO)
    cold.advance(store)  # one catch-up over the whole history: thinned
    alerts = {a.id: a for a in cold.alerts()}
    assert alerts["nonfinite"].first_step == 1234
    assert alerts["nonfinite"].severity == "critical"
    runaway = [a for a in cold.alerts() if a.id == "margin_runaway" and a.active]
    assert runaway
    assert runaway[0].severity == "critical"
    assert n - 80 <= runaway[0].first_step <= n - 70  # the tail is evaluated point by point


def test_live_and_cold_agree_on_what_is_active_now() -> None:
    n = 3 * CATCH_UP_LIMIT
    store = _store(n, nan_at=500, margin_from=n - 100)
    live = PatternEngine(INFO)
    for upto in range(0, n + 1, 97):  # as if watched live, a few points at a time
        live.advance(store, upto)
    live.advance(store)
    cold = RunModel(INFO, store).snapshot()
    now_live = {(a.id, a.metric, a.severity) for a in live.alerts() if a.active}
    now_cold = {(a.id, a.metric, a.severity) for a in cold.alerts if a.active}
    assert now_live == now_cold
