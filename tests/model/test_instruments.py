"""Instruments on the real TRL runs (loaded with tensorboard's own EventAccumulator) and on
synthetic stores for the cases the fixtures do not cover (PPO keys, NaN, rewinds)."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rltui.model.instruments import INSTRUMENT_IDS, evaluate_instruments
from rltui.model.snapshot import InstrumentReading, RunInfo, Trainer
from rltui.model.store import MetricStore
from rltui.records import PointChunk
from rltui.sources.names import canonical_tb_tag

RUNS = Path(__file__).resolve().parents[2] / "fixtures" / "runs"
TRAINERS: dict[str, Trainer] = {
    "sft_healthy": "sft",
    "dpo_healthy": "dpo",
    "dpo_healthy_tf4": "dpo",
    "dpo_margin_explosion": "dpo",
    "grpo_healthy": "grpo",
    "grpo_length_hacking": "grpo",
}


@functools.cache
def tb_scalars(run: str) -> tuple[dict[str, tuple[list[int], list[float], list[float]]], dict[str, object]]:
    """Every scalar of a run's event file as (steps, wall times, values), read by tensorboard itself,
    plus the TrainingArguments JSON from the ``args/text_summary`` tensor."""
    (event_file,) = sorted((RUNS / run / "runs").glob("*/events.out.tfevents.*"))
    acc = EventAccumulator(str(event_file), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    scalars = {}
    for tag in acc.Tags()["scalars"]:
        events = acc.Scalars(tag)
        scalars[canonical_tb_tag(tag)] = (
            [e.step for e in events],
            [e.wall_time for e in events],
            [e.value for e in events],
        )
    text = acc.Tensors("args/text_summary")[0].tensor_proto.string_val[0].decode()
    return scalars, json.loads(text)


def load(run: str) -> tuple[MetricStore, RunInfo]:
    scalars, config = tb_scalars(run)
    store = MetricStore()
    store.add("tb", {name: PointChunk.from_lists(*cols) for name, cols in scalars.items()})
    max_steps = config.get("max_steps")
    info = RunInfo(
        name=run,
        path=str(RUNS / run),
        framework="trl",
        trainer=TRAINERS[run],
        max_steps=max_steps if isinstance(max_steps, int) else None,
        config=config,
    )
    return store, info


def readings(store: MetricStore, info: RunInfo, at_step: int | None = None) -> dict[str, InstrumentReading]:
    out = evaluate_instruments(store, info, at_step)
    assert tuple(r.id for r in out) == INSTRUMENT_IDS
    return {r.id: r for r in out}


def values_upto(run: str, name: str, step: int | None = None) -> np.ndarray:
    steps, _, values = tb_scalars(run)[0][name]
    return np.array([v for s, v in zip(steps, values, strict=True) if step is None or s <= step])


def tb_smoothed_last(values: list[float], w: float = 0.6) -> float:
    """TensorBoard's smoothing of the last point, written from anchors.md §2.1."""
    if all(v == values[0] for v in values):
        return values[-1]
    last, n, out = 0.0, 0, math.nan
    for y in values:
        if not math.isfinite(y):
            out = y
            continue
        last = last * w + (1 - w) * y
        n += 1
        out = last / (1 - w**n)
    return out


# -- shape of the result ----------------------------------------------------------------------


def test_instrument_ids_and_order() -> None:
    assert INSTRUMENT_IDS == (
        "loss", "gradients", "learning_rate", "convergence", "throughput", "reward", "kl",
        "clipping", "length", "entropy", "value", "attention", "lora", "samples",
    )  # fmt: skip
    assert readings(MetricStore(), RunInfo("empty", "/nowhere"))["loss"].status == "unavailable"


def test_empty_store_everything_unavailable_with_a_reason() -> None:
    for r in evaluate_instruments(MetricStore(), RunInfo("empty", "/nowhere")):
        assert r.status == "unavailable"
        assert r.reason
        assert r.value is None
        assert r.traces == ()


# -- DPO --------------------------------------------------------------------------------------


def test_dpo_margin_explosion_reward_shows_huge_margin_in_nats() -> None:
    run = "dpo_margin_explosion"
    store, info = load(run)
    r = readings(store, info)["reward"]
    margins = values_upto(run, "rewards/margins")
    beta = tb_scalars(run)[1]["beta"]
    assert beta == 0.1
    assert r.status == "ok"
    assert r.primary == "rewards/margins"
    assert r.value == pytest.approx(margins[-1])
    assert r.value is not None
    assert r.value > 30
    assert r.smoothed == pytest.approx(tb_smoothed_last(margins.tolist()), rel=1e-9)
    # The margin is beta times the log-ratio gap: the gap in nats is margin / beta, said as such.
    gap = r.value / 0.1
    assert (
        f"log-ratio gap {gap:.3g} nats at β 0.1" in r.summary or f"log-ratio gap {gap:.0f} nats" in r.summary
    )
    acc = values_upto(run, "rewards/accuracies")
    assert f"acc {acc[-1]:.2f}" in r.summary
    assert r.thresholds["critical"] == 50.0
    assert [t.name for t in r.traces][:2] == ["rewards/margins", "rewards/accuracies"]
    assert len(r.traces[0].values) == len(margins)


def test_dpo_margin_explosion_margin_rising_while_it_explodes() -> None:
    run = "dpo_margin_explosion"
    store, info = load(run)
    m = values_upto(run, "rewards/margins", 250)
    # independent check that the margin really climbs here (README: medians 13.8 -> 36.9)
    assert np.median(m[-50:]) > 1.5 * np.median(m[-150:-50])
    r = readings(store, info, at_step=250)["reward"]
    assert r.trend == "rising"
    assert "↑" in r.summary
    assert r.value == pytest.approx(m[-1])


def test_dpo_instruments_unavailable_for_offline_preference_training() -> None:
    store, info = load("dpo_healthy")
    got = readings(store, info)
    assert got["length"].status == "unavailable"
    assert got["length"].reason == "DPO logs no generation length: completions are not sampled"
    assert got["kl"].status == "unavailable"
    assert "DPO" in got["kl"].reason
    assert got["clipping"].status == "unavailable"
    assert "DPO" in got["clipping"].reason
    assert got["value"].status == "unavailable"
    assert "DPO" in got["value"].reason
    # DPO does log a reward-style margin, eval and entropy
    assert got["reward"].status == "ok"
    assert got["convergence"].status == "ok"
    assert got["entropy"].status == "ok"
    assert got["loss"].thresholds.get("ln2") == pytest.approx(math.log(2))


def test_old_trl_dpo_run_has_no_entropy_and_clock_based_throughput() -> None:
    run = "dpo_healthy_tf4"
    store, info = load(run)
    got = readings(store, info)
    assert got["entropy"].status == "unavailable"
    tp = got["throughput"]
    assert tp.status == "ok"
    assert tp.unit == "steps/min"
    steps, walls, _ = tb_scalars(run)[0]["loss"]
    want = (steps[-1] - steps[-2]) / (walls[-1] - walls[-2]) * 60.0
    assert tp.value == pytest.approx(want, rel=1e-9)


# -- GRPO -------------------------------------------------------------------------------------


def test_grpo_healthy_has_kl_length_clipping_reward() -> None:
    run = "grpo_healthy"
    store, info = load(run)
    assert tb_scalars(run)[1]["beta"] == 0.04
    got = readings(store, info)
    for iid in ("kl", "length", "clipping", "reward", "entropy", "loss", "gradients", "throughput"):
        assert got[iid].status == "ok", (iid, got[iid].reason)
    kl = got["kl"]
    assert kl.primary == "kl"
    assert kl.value == pytest.approx(values_upto(run, "kl")[-1])
    assert kl.thresholds == {"warn": 0.5, "critical": 1.0}
    assert "per-token k3" in kl.summary
    assert got["length"].primary == "completions/mean_length"
    assert got["length"].thresholds["max_completion_length"] == 16
    assert got["reward"].primary == "reward"
    names = {t.name for t in got["reward"].traces}
    assert {"reward", "reward_std", "frac_reward_zero_std", "rewards/says_sound/mean"} <= names
    assert got["value"].status == "unavailable"
    assert "GRPO" in got["value"].reason


def test_grpo_clip_ratios_zero_by_construction() -> None:
    run = "grpo_healthy"
    store, info = load(run)
    assert tb_scalars(run)[1]["num_iterations"] == 1
    assert not values_upto(run, "clip_ratio/region_mean").any()  # all exactly 0, from tensorboard
    clip = readings(store, info)["clipping"]
    assert clip.primary == "clip_ratio/region_mean"
    assert "by construction" in clip.summary
    assert "num_iterations=1" in clip.summary


def test_grpo_length_hacking_no_kl_when_beta_zero_and_truncation_shown() -> None:
    run = "grpo_length_hacking"
    store, info = load(run)
    assert tb_scalars(run)[1]["beta"] == 0.0
    got = readings(store, info)
    assert got["kl"].status == "unavailable"
    assert got["kl"].reason == "GRPO with beta=0 logs no KL (set beta>0 to monitor drift)"
    length = got["length"]
    mean_len = values_upto(run, "completions/mean_length")
    clipped = values_upto(run, "completions/clipped_ratio")
    assert length.value == pytest.approx(mean_len[-1])
    assert f"truncated {100 * clipped[-1]:.0f}%" in length.summary
    assert length.value is not None
    assert length.value >= length.thresholds["critical"]  # > 2x the starting length
    # mid-run, while it grows, the arrow says so
    mid = readings(store, info, at_step=60)["length"]
    assert np.median(values_upto(run, "completions/mean_length", 60)[-20:]) > np.median(mean_len[:20])
    assert mid.trend == "rising"


def test_grpo_without_known_beta_explains_the_default() -> None:
    store, info = load("grpo_length_hacking")
    info = RunInfo(info.name, info.path, "trl", "grpo", config={})
    reason = readings(store, info)["kl"].reason
    assert "beta=0" in reason
    assert "default" in reason


# -- SFT --------------------------------------------------------------------------------------


def test_sft_unavailable_reasons_are_trainer_specific() -> None:
    store, info = load("sft_healthy")
    got = readings(store, info)
    for iid in ("reward", "kl", "clipping", "length"):
        assert got[iid].status == "unavailable", iid
        assert got[iid].reason.startswith("SFT"), got[iid].reason
        assert got[iid].summary  # the gauge still has a line to show
    assert got["samples"].reason.startswith("no completion samples read")


def test_sft_convergence_gap_from_eval_and_train_loss() -> None:
    run = "sft_healthy"
    store, info = load(run)
    conv = readings(store, info)["convergence"]
    eval_loss = values_upto(run, "eval_loss")
    train = values_upto(run, "loss")  # the last eval is at the last train step (150)
    gap = eval_loss[-1] - np.median(train[-3:])
    assert conv.primary == "eval_loss"
    assert conv.value == pytest.approx(eval_loss[-1])
    assert f"gap {gap:+.3g}" in conv.summary
    gap_trace = next(t for t in conv.traces if t.name == "gap")
    assert gap_trace.values[-1] == pytest.approx(gap)


def test_sft_throughput_tokens_per_second() -> None:
    run = "sft_healthy"
    store, info = load(run)
    tp = readings(store, info)["throughput"]
    _steps, walls, tokens = tb_scalars(run)[0]["num_tokens"]
    assert tp.unit == "tok/s"
    assert tp.value == pytest.approx((tokens[-1] - tokens[-2]) / (walls[-1] - walls[-2]), rel=1e-9)


# -- replay: at_step --------------------------------------------------------------------------


@pytest.mark.parametrize("at_step", [1, 7, 60, 149])
def test_at_step_cuts_every_trace_and_value(at_step: int) -> None:
    run = "grpo_healthy"
    store, info = load(run)
    got = readings(store, info, at_step=at_step)
    for r in got.values():
        for t in r.traces:
            assert len(t.steps) == len(t.values)
            assert len(t.steps) == 0 or int(t.steps[-1]) <= at_step
    kl = values_upto(run, "kl", at_step)
    assert got["kl"].value == pytest.approx(kl[-1])
    assert got["kl"].smoothed == pytest.approx(tb_smoothed_last(kl.tolist()), rel=1e-9)
    assert len(got["kl"].traces[0].values) == len(kl)


def test_at_step_before_first_eval_says_not_yet() -> None:
    store, info = load("sft_healthy")
    conv = readings(store, info, at_step=10)["convergence"]  # first eval at step 25
    assert conv.status == "unavailable"
    assert "yet" in conv.reason


# -- synthetic stores -------------------------------------------------------------------------


def make_store(series: dict[str, np.ndarray], start: int = 1, wall0: float = 1_000.0) -> MetricStore:
    store = MetricStore()
    chunks = {}
    for name, vals in series.items():
        steps = np.arange(start, start + len(vals), dtype=np.int64)
        chunks[name] = PointChunk(
            steps, (wall0 + steps * 2.0).astype(np.float64), np.asarray(vals, dtype=np.float64)
        )
    store.add("tb", chunks)
    return store


def test_nonfinite_current_value_is_critical() -> None:
    loss = np.linspace(2.0, 1.0, 40)
    loss[-1] = np.nan
    grad = np.full(40, 0.5)
    grad[-1] = np.inf
    lr = np.full(40, 1e-5)
    lr[20] = np.nan  # a NaN in the past only
    got = readings(make_store({"loss": loss, "grad_norm": grad, "learning_rate": lr}), RunInfo("n", "/n"))
    assert got["loss"].status == "critical"
    assert got["loss"].value is not None
    assert math.isnan(got["loss"].value)
    assert got["loss"].smoothed is not None
    assert math.isnan(got["loss"].smoothed)
    assert got["gradients"].status == "critical"
    assert got["learning_rate"].status == "ok"
    assert got["learning_rate"].smoothed == pytest.approx(1e-5)


def test_kl_accelerating_synthetic_ppo_sequence_scale() -> None:
    t = np.arange(60, dtype=np.float64)
    kl = 0.5 + 0.004 * t**2
    store = make_store(
        {"objective/kl": kl, "val/ratio": np.full(60, 1.01), "loss/value_avg": np.full(60, 0.3)}
    )
    got = readings(store, RunInfo("p", "/p", "trl", "ppo"))
    r = got["kl"]
    assert r.primary == "objective/kl"
    assert r.trend == "rising"
    assert r.accelerating
    assert "accelerating" in r.summary
    assert r.thresholds == {"warn": 10.0, "critical": 50.0}
    assert "per-sequence" in r.summary
    assert got["clipping"].primary == "val/ratio"
    assert got["value"].status == "ok"
    assert got["value"].primary == "loss/value_avg"
    assert got["loss"].reason.startswith("PPO")


def test_rloo_negative_k1_is_explained() -> None:
    store = make_store({"kl": np.r_[np.full(30, 0.01), -0.02]})
    r = readings(store, RunInfo("r", "/r", "trl", "rloo"))["kl"]
    assert "k1" in r.summary
    assert "negative" in r.summary


def test_verl_spellings_resolve() -> None:
    n = 30
    store = make_store(
        {
            "actor/pg_loss": np.linspace(1, 0, n),
            "actor/grad_norm": np.full(n, 0.3),
            "actor/kl_loss": np.full(n, 0.01),
            "actor/pg_clipfrac": np.full(n, 0.05),
            "response_length/mean": np.linspace(100, 120, n),
            "critic/score/mean": np.linspace(0, 1, n),
            "actor/entropy": np.full(n, 1.2),
        }
    )
    got = readings(store, RunInfo("v", "/v", "verl", "ppo"))
    assert got["kl"].thresholds == {"warn": 0.5, "critical": 1.0}
    assert got["length"].primary == "response_length/mean"
    assert got["reward"].primary == "critic/score/mean"
    assert got["clipping"].status == "ok"
    assert "by construction" not in got["clipping"].summary


def test_margin_without_beta_has_no_nats() -> None:
    store = make_store({"rewards/margins": np.linspace(0, 2, 30), "rewards/accuracies": np.full(30, 0.8)})
    r = readings(store, RunInfo("d", "/d", "trl", "dpo"))["reward"]
    assert r.status == "ok"
    assert "nats" not in r.summary
    r2 = readings(store, RunInfo("d", "/d", "trl", "dpo", config={"beta": 0.5}))["reward"]
    assert "(log-ratio gap 4 nats at β 0.5)" in r2.summary


def test_smoothing_cache_follows_appends_and_rewinds() -> None:
    rng = np.random.default_rng(5)
    vals = rng.normal(size=300)
    store = make_store({"loss": vals[:200]})
    info = RunInfo("c", "/c")
    assert readings(store, info)["loss"].smoothed == pytest.approx(
        tb_smoothed_last(vals[:200].tolist()), rel=1e-9
    )
    # live append: the cache extends
    steps = np.arange(201, 301, dtype=np.int64)
    store.add("tb", {"loss": PointChunk(steps, (1000.0 + steps * 2.0).astype(np.float64), vals[200:])})
    assert readings(store, info)["loss"].smoothed == pytest.approx(tb_smoothed_last(vals.tolist()), rel=1e-9)
    # a resumed run rewinds to step 251 with new values: the cache must not keep the old tail
    new_tail = rng.normal(size=60) + 5.0
    steps = np.arange(251, 311, dtype=np.int64)
    store.add("tb", {"loss": PointChunk(steps, (2000.0 + steps).astype(np.float64), new_tail)})
    want = vals[:250].tolist() + new_tail.tolist()
    assert readings(store, info)["loss"].smoothed == pytest.approx(tb_smoothed_last(want), rel=1e-9)
    # a different smoothing weight is a different cache entry
    r = evaluate_instruments(store, info, smoothing=0.9)[0]
    assert r.smoothed == pytest.approx(tb_smoothed_last(want, 0.9), rel=1e-9)
