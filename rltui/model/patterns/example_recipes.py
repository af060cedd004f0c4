"""The recipes the rule examples are built from: noise, ramps, step changes over a healthy base run.

As ruff's rules carry their fixtures, each catalogue rule carries a firing example and a near miss
that must stay quiet; ``tests/model/test_rule_examples.py`` runs them all and fails when a rule of
the catalogue has none. The series are small numpy recipes (noise, ramps, step changes, a single
point) over ``N`` logged steps, on top of a plausible healthy run of the rule's trainer family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rltui.model.snapshot import Trainer
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
    trainer: Trainer
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
    return x + sd * abs(a if a else 1.0) * np.random.default_rng(seed).standard_normal(n)


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


#: (rule id, trainer, firing series, run config, severity, onset index, near-miss series)
Case = tuple[str, Trainer, Callable[[], Series], dict[str, object], str, int, Callable[[], Series]]
