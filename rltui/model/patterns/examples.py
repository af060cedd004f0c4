"""Every rule's own example series: one that fires at its severity near the onset, one near miss.

As ruff's rules carry their fixtures, each catalogue rule carries a firing example and a near miss
that must stay quiet; ``tests/model/test_rule_examples.py`` runs them all and fails when a rule of
the catalogue has none. The series are small numpy recipes (noise, ramps, step changes, a single
point) over ``N`` logged steps, on top of a plausible healthy run of the rule's trainer family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rltui.model.store import MetricStore
from rltui.records import PointChunk

#: Logged points per example run (steps 1..N, max_steps N).
N = 100

Series = dict[str, np.ndarray]


def store_of(series: Series, steps: dict[str, np.ndarray] | None = None) -> MetricStore:
    """A store holding ``series`` at steps 1..n (or the given steps), one source."""
    store = MetricStore()
    chunks = {}
    for name, values in series.items():
        st = steps.get(name) if steps and name in steps else np.arange(1, len(values) + 1)
        st = np.asarray(st, dtype=np.int64)
        chunks[name] = PointChunk(st, 1000.0 + st.astype(np.float64), np.asarray(values, dtype=np.float64))
    store.add("example", chunks)
    return store


@dataclass(frozen=True)
class RuleExample:
    """A rule's firing example and its near miss."""

    rule: str
    trainer: str
    fires: Callable[[], Series]
    config: dict[str, object]
    severity: str
    #: Index of the first point of the pattern (the alert's first_step is onset + 1 or a little later).
    onset: int
    near_miss: Callable[[], Series]
    #: The alert must start within this many points of the onset.
    within: int = 25
    steps: dict[str, np.ndarray] = field(default_factory=dict)


def noise(level: float, sd: float, n: int = N, seed: int = 0) -> np.ndarray:
    return level + sd * np.random.default_rng(seed).standard_normal(n)


def ramp(
    a: float, b: float, start: int, n: int = N, sd: float = 0.0, seed: int = 1, end: int | None = None
) -> np.ndarray:
    x = np.full(n, b, dtype=float)
    x[:start] = a
    stop = n if end is None else end
    x[start:stop] = np.linspace(a, b, stop - start)
    return x + sd * np.random.default_rng(seed).standard_normal(n)


def step_change(a: float, b: float, at: int, sd: float, n: int = N, seed: int = 2) -> np.ndarray:
    x = np.where(np.arange(n) < at, a, b).astype(float)
    return x + sd * np.abs(a if a else 1.0) * np.random.default_rng(seed).standard_normal(n)


def with_point(x: np.ndarray, i: int, v: float) -> np.ndarray:
    y = x.copy()
    y[i] = v
    return y


def sft(**extra: np.ndarray) -> Series:
    base = {"loss": ramp(2.0, 0.5, 0, sd=0.01), "grad_norm": noise(0.5, 0.03, seed=3)}
    base.update(extra)
    return base


def dpo(**extra: np.ndarray) -> Series:
    base = {
        "loss": ramp(0.69, 0.45, 1, sd=0.01, end=40),
        "grad_norm": noise(0.5, 0.03, seed=3),
        "rewards/margins": ramp(0.0, 0.7, 1, sd=0.05, seed=4, end=40),
        "rewards/accuracies": ramp(0.55, 0.9, 1, sd=0.02, seed=5, end=40),
        "rewards/chosen": noise(-0.02, 0.005, seed=6),
        "rewards/rejected": ramp(0.0, -0.7, 1, sd=0.05, seed=7, end=40),
    }
    base.update(extra)
    return base


def grpo(**extra: np.ndarray) -> Series:
    base = {
        "loss": noise(0.0, 0.01, seed=8),
        "grad_norm": noise(0.5, 0.03, seed=3),
        "reward": ramp(0.5, 1.0, 5, sd=0.02, seed=9),
        "reward_std": noise(0.4, 0.02, seed=10),
        "frac_reward_zero_std": noise(0.3, 0.03, seed=11),
        "kl": np.abs(ramp(0.001, 0.05, 5, sd=0.002, seed=12)),
        "entropy": noise(1.0, 0.02, seed=13),
        "completions/mean_length": noise(10.0, 0.3, seed=14),
        "completions/max_length": noise(16.0, 0.5, seed=15),
        "completions/min_length": noise(4.0, 0.5, seed=16),
        "completions/clipped_ratio": np.abs(noise(0.0, 0.01, seed=17)),
        "completions/mean_terminated_length": noise(10.0, 0.3, seed=14),
    }
    base.update(extra)
    return base


GRPO_CFG: dict[str, object] = {"beta": 0.04, "max_completion_length": 32, "num_iterations": 1}
DPO_CFG: dict[str, object] = {"beta": 0.1, "loss_type": ["sigmoid"]}
PPO = {
    "objective/scores": ramp(0.0, 1.0, 5, sd=0.05),
    "objective/kl": ramp(0.0, 3.0, 5, sd=0.1),
    "val/ratio": noise(1.0, 0.002),
    "policy/clipfrac_avg": noise(0.1, 0.01),
    "policy/approxkl_avg": noise(0.005, 0.0005),
    "loss/value_avg": noise(0.2, 0.01),
    "loss": noise(0.0, 0.01, seed=8),
}


def ppo(**extra: np.ndarray) -> Series:
    return {**PPO, **extra}


_CASES: list[tuple[str, str, Callable[[], Series], dict[str, object], str, int, Callable[[], Series]]] = [
    ("nonfinite", "sft", lambda: sft(loss=with_point(ramp(2, 0.5, 0), 40, np.nan)), {}, "critical", 40, sft),
    (
        "loss_spike",
        "sft",
        lambda: sft(loss=with_point(noise(1.0, 0.01), 60, 5.0)),
        {},
        "warn",
        60,
        lambda: sft(loss=with_point(noise(1.0, 0.01), 60, 1.04)),
    ),
    (
        "grad_norm_spike",
        "sft",
        lambda: sft(grad_norm=with_point(noise(0.5, 0.03, seed=3), 60, 20.0)),
        {},
        "warn",
        60,
        lambda: sft(grad_norm=with_point(noise(0.5, 0.03, seed=3), 60, 0.55)),
    ),
    (
        "always_clipped",
        "sft",
        lambda: sft(grad_norm=noise(60.0, 2.0)),
        {"max_grad_norm": 1.0},
        "warn",
        0,  # a norm 60x the clip is never routine: from the first point
        lambda: sft(grad_norm=noise(0.8, 0.05)),
    ),
    ("not_learning", "sft", lambda: sft(grad_norm=step_change(0.5, 0.0, 40, 0.0)), {}, "critical", 40, sft),
    (
        "loss_variance_rising",
        "sft",
        lambda: sft(
            loss=noise(1.0, 0.005)
            + np.where(np.arange(N) >= 60, 0.05, 0.0) * np.random.default_rng(9).standard_normal(N)
        ),
        {},
        "warn",
        60,
        lambda: sft(loss=noise(1.0, 0.005)),
    ),
    ("plateau_high", "sft", lambda: sft(loss=noise(2.0, 0.01)), {}, "warn", 20, sft),
    (
        "lr_schedule",
        "sft",
        lambda: sft(learning_rate=step_change(1e-4, 1e-8, 50, 0.0)),
        {"learning_rate": 1e-4},
        "warn",
        50,
        lambda: sft(learning_rate=1e-4 * 0.5 * (1 + np.cos(np.pi * np.arange(N) / N))),
    ),
    (
        "stuck_at_ln2",
        "dpo",
        lambda: dpo(
            loss=noise(0.693, 0.002),
            **{"rewards/margins": noise(0.0, 0.01), "rewards/accuracies": noise(0.5, 0.02)},
        ),
        DPO_CFG,
        "critical",
        9,
        dpo,
    ),
    (
        "margin_runaway",
        "dpo",
        lambda: dpo(
            **{"rewards/margins": ramp(1.0, 80.0, 20, sd=0.5), "rewards/accuracies": noise(1.0, 0.0)}
        ),
        DPO_CFG,
        "critical",
        29,
        lambda: dpo(**{"rewards/margins": noise(5.0, 0.5)}),
    ),
    (
        "margin_negative",
        "dpo",
        lambda: dpo(**{"rewards/margins": noise(-0.5, 0.05), "rewards/accuracies": noise(0.3, 0.02)}),
        DPO_CFG,
        "critical",
        5,
        dpo,
    ),
    (
        "accuracy_at_chance",
        "dpo",
        lambda: dpo(**{"rewards/accuracies": noise(0.5, 0.02)}),
        DPO_CFG,
        "warn",
        14,
        dpo,
    ),
    (
        "likelihood_displacement",
        "dpo",
        lambda: dpo(**{"rewards/chosen": ramp(0.0, -4.0, 10, sd=0.02)}),
        DPO_CFG,
        "critical",
        10,
        dpo,
    ),
    (
        "rejected_rising",
        "dpo",
        lambda: dpo(**{"rewards/rejected": ramp(0.0, 2.0, 10, sd=0.02)}),
        DPO_CFG,
        "warn",
        10,
        dpo,
    ),
    (
        "kl_level",
        "grpo",
        lambda: grpo(kl=step_change(0.05, 1.5, 50, 0.02)),
        GRPO_CFG,
        "critical",
        50,
        lambda: grpo(kl=step_change(0.05, 0.3, 50, 0.02)),
    ),
    (
        "kl_negative",
        "grpo",
        lambda: grpo(kl=with_point(noise(0.02, 0.001), 50, -0.01)),
        GRPO_CFG,
        "critical",
        50,
        grpo,
    ),
    (
        "kl_spike",
        "grpo",
        lambda: grpo(kl=with_point(noise(0.1, 0.005), 60, 1.0)),
        GRPO_CFG,
        "warn",
        60,
        lambda: grpo(kl=with_point(noise(0.1, 0.005), 60, 0.13)),
    ),
    (
        "truncation",
        "grpo",
        lambda: grpo(**{"completions/clipped_ratio": step_change(0.0, 0.7, 50, 0.0)}),
        GRPO_CFG,
        "critical",
        50,
        lambda: grpo(**{"completions/clipped_ratio": step_change(0.0, 0.15, 50, 0.0)}),
    ),
    (
        "length_growth",
        "grpo",
        lambda: grpo(**{"completions/mean_length": ramp(10.0, 30.0, 30, sd=0.3)}),
        GRPO_CFG,
        "critical",
        40,
        lambda: grpo(**{"completions/mean_length": ramp(10.0, 12.0, 30, sd=0.3)}),
    ),
    (
        "length_collapse",
        "grpo",
        lambda: grpo(**{"completions/mean_length": ramp(20.0, 6.0, 30, sd=0.3)}),
        GRPO_CFG,
        "critical",
        60,
        lambda: grpo(**{"completions/mean_length": ramp(20.0, 17.0, 30, sd=0.3)}),
    ),
    (
        "zero_signal_groups",
        "grpo",
        lambda: grpo(frac_reward_zero_std=step_change(0.3, 0.95, 50, 0.01)),
        GRPO_CFG,
        "critical",
        50,
        lambda: grpo(frac_reward_zero_std=step_change(0.3, 0.6, 50, 0.01)),
    ),
    (
        "entropy_collapse",
        "grpo",
        lambda: grpo(entropy=ramp(1.0, 0.03, 20, sd=0.005, end=50), reward=noise(0.5, 0.01)),
        GRPO_CFG,
        "critical",
        35,
        lambda: grpo(entropy=ramp(1.0, 0.8, 20, sd=0.005)),
    ),
    (
        "diversity_collapse",
        "grpo",
        lambda: grpo(
            **{
                "completions/max_length": step_change(16.0, 10.0, 50, 0.0),
                "completions/min_length": step_change(4.0, 10.0, 50, 0.0),
            }
        ),
        GRPO_CFG,
        "warn",
        60,
        grpo,
    ),
    (
        "clipping",
        "grpo",
        lambda: grpo(**{"clip_ratio/region_mean": noise(0.5, 0.01)}),
        {**GRPO_CFG, "num_iterations": 2},
        "warn",
        0,
        lambda: grpo(**{"clip_ratio/region_mean": noise(0.2, 0.01)}),
    ),
    (
        "ratio_extreme",
        "ppo",
        lambda: ppo(**{"val/ratio": with_point(noise(1.0, 0.002), 50, 2.5)}),
        {},
        "critical",
        50,
        ppo,
    ),
    (
        "approxkl_high",
        "ppo",
        lambda: ppo(**{"policy/approxkl_avg": noise(0.08, 0.002)}),
        {},
        "warn",
        0,
        lambda: ppo(**{"policy/approxkl_avg": noise(0.01, 0.001)}),
    ),
    (
        "value_loss_blowup",
        "ppo",
        lambda: ppo(**{"loss/value_avg": with_point(noise(0.2, 0.01), 60, 5.0)}),
        {},
        "warn",
        60,
        ppo,
    ),
    ("clipfrac", "ppo", lambda: ppo(**{"policy/clipfrac_avg": noise(0.4, 0.01)}), {}, "warn", 0, ppo),
]


#: rule id -> its example (one per rule; a rule may also list extra ones in EXTRA).
EXAMPLES: dict[str, RuleExample] = {c[0]: RuleExample(*c) for c in _CASES}
