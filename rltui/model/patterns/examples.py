"""Every rule's own example series: one that fires at its severity near the onset, one near miss.

As ruff's rules carry their fixtures, each catalogue rule carries a firing example and a near miss
that must stay quiet; ``tests/model/test_rule_examples.py`` runs them all and fails when a rule of
the catalogue has none. The series are small numpy recipes (``example_recipes``) over ``N`` logged
steps, on top of a plausible healthy run of the rule's trainer family. The cases of the first
calibration live here; ``examples_general`` (universal, SFT, DPO) and ``examples_rl`` (RL, KL,
PPO) hold the rest.
"""

from __future__ import annotations

import numpy as np

from rltui.model.patterns.example_recipes import (
    DPO_CFG,
    GRPO_CFG,
    Case,
    N,
    RuleExample,
    Series,
    dpo,
    grpo,
    noise,
    ppo,
    ramp,
    sft,
    step_change,
    store_of,
    with_point,
)
from rltui.model.patterns.examples_general import CASES as GENERAL_CASES
from rltui.model.patterns.examples_rl import CASES as RL_CASES

__all__ = ["EXAMPLES", "N", "RuleExample", "Series", "store_of"]


_CASES: list[Case] = [
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
EXAMPLES: dict[str, RuleExample] = {c[0]: RuleExample(*c) for c in (*_CASES, *GENERAL_CASES, *RL_CASES)}
