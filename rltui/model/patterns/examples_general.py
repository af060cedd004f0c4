"""Firing examples and near misses of the universal, SFT and DPO rules (see ``examples``).

Eval series are logged at every point here (``eval_steps == logging_steps``), so one index is one
eval; tokens/s comes from the store's clock of one second per logged point.
"""

from __future__ import annotations

import numpy as np

from rltui.model.patterns.example_recipes import (
    DPO_CFG,
    Case,
    N,
    dpo,
    noise,
    ramp,
    sft,
    step_change,
    with_point,
)

#: An SFT eval loss that follows the train loss down until step 60, a little above it (train ~1.1).
_EVAL_DOWN = ramp(2.1, 1.2, 0, end=60)
#: Eval loss alternating +-1 from index 60 on.
_ZIGZAG = np.where(np.arange(N) >= 60, (-1.0) ** np.arange(N), 0.0)
#: A DPO loss that falls well below ln 2 (to 0.25), as a run that learns does.
_DPO_LOSS_LOW = ramp(0.69, 0.25, 1, sd=0.01, end=50)
#: A DPO margin that grows to 0.7 by step 40 (the base run's).
_MARGIN = ramp(0.0, 0.7, 1, sd=0.05, seed=4, end=40)
_ACC = ramp(0.55, 0.9, 1, sd=0.02, seed=5, end=40)
#: A grad-norm series whose batch noise never reaches |rz| 3 (the base run's has two such points).
_GRAD = noise(0.5, 0.03, seed=41)

CASES: list[Case] = [
    (
        "train_eval_divergence",
        "sft",
        lambda: sft(eval_loss=_EVAL_DOWN + ramp(0.0, 0.4, 60) + noise(0.0, 0.003, seed=20)),
        {},
        "critical",
        60,
        # The eval loss improves more slowly than the train loss (the gap widens) but still improves.
        lambda: sft(eval_loss=ramp(2.1, 1.3, 0) + noise(0.0, 0.003, seed=20)),
    ),
    (
        "eval_oscillation",
        "sft",
        lambda: sft(eval_loss=_EVAL_DOWN + 0.04 * _ZIGZAG + noise(0.0, 0.002, seed=21)),
        {},
        "info",
        60,
        # Eval noise of +-0.01 around 1.2: each change (~1.7 %) is below 2 % of the level.
        lambda: sft(eval_loss=_EVAL_DOWN + 0.01 * _ZIGZAG + noise(0.0, 0.001, seed=21)),
    ),
    (
        "throughput_drop",
        "sft",
        lambda: sft(num_tokens=np.cumsum(step_change(1000.0, 450.0, 60, 0.03))),
        {},
        "warn",
        60,
        lambda: sft(num_tokens=np.cumsum(step_change(1000.0, 760.0, 60, 0.03))),
    ),
    (
        "anomaly_marker",
        "sft",
        lambda: sft(grad_norm=with_point(_GRAD, 60, 0.65)),
        {},
        "info",
        60,
        lambda: sft(grad_norm=with_point(_GRAD, 60, 0.575)),  # robust z 3.0: within the batch noise
    ),
    (
        "instrument_missing",
        "sft",
        sft,  # no eval split, past half the run
        {},
        "info",
        49,
        lambda: sft(eval_loss=ramp(2.1, 1.1, 0, sd=0.003, seed=20)),
    ),
    (
        "loss_drop_then_spike",
        "dpo",
        # At step 70 the loss jumps from 0.25 to 0.55 and stays; the margin and accuracy give back too.
        lambda: dpo(
            loss=_DPO_LOSS_LOW + step_change(0.0, 0.3, 70, 0.0),
            **{
                "rewards/margins": _MARGIN - step_change(0.0, 0.45, 70, 0.0),
                "rewards/accuracies": _ACC - step_change(0.0, 0.2, 70, 0.0),
            },
        ),
        DPO_CFG,
        "warn",
        70,
        # One unstable batch of two steps, then back to the level: not a level that rose and stays.
        lambda: dpo(loss=_DPO_LOSS_LOW + np.where((np.arange(N) == 70) | (np.arange(N) == 71), 0.3, 0.0)),
    ),
    (
        "memorisation",
        "sft",
        lambda: sft(
            loss=ramp(2.0, 0.05, 0, end=60, sd=0.002),
            mean_token_accuracy=ramp(0.6, 0.995, 0, end=60, sd=0.001, seed=22),
        ),
        {},
        "warn",
        56,  # loss below 0.1x its baseline and accuracy above 0.98 from here
        lambda: sft(
            loss=ramp(2.0, 0.12, 0, end=60, sd=0.002),
            mean_token_accuracy=ramp(0.6, 0.975, 0, end=60, sd=0.001, seed=22),
        ),
    ),
    (
        "attention_entropy",
        "sft",
        lambda: sft(**{"attention/mean_entropy": ramp(3.0, 0.2, 40, end=80, sd=0.1, seed=23)}),
        {},
        "warn",
        68,  # entropy below 1 nat, still falling
        # Attention sharpens from 3 to 1.2 nats and settles: above the danger zone.
        lambda: sft(**{"attention/mean_entropy": ramp(3.0, 1.2, 40, end=80, sd=0.1, seed=23)}),
    ),
    (
        "lora_health",
        "sft",
        lambda: sft(
            **{
                "lora/mean_norm": 0.5
                + 0.05 * np.sqrt(np.arange(N))
                + 0.02 * (np.exp(np.clip(np.arange(N) - 50, 0, None) / 10.0) - 1.0)
                + noise(0.0, 0.003, seed=24)
            }
        ),
        {},
        "warn",
        50,
        lambda: sft(**{"lora/mean_norm": 0.5 + 0.05 * np.sqrt(np.arange(N)) + noise(0.0, 0.003, seed=24)}),
    ),
    (
        "policy_equals_reference",
        "dpo",
        lambda: dpo(
            loss=np.full(N, 0.6931),
            **{
                "rewards/margins": np.zeros(N),
                "rewards/accuracies": np.zeros(N),
                "rewards/chosen": np.zeros(N),
                "rewards/rejected": np.zeros(N),
            },
        ),
        DPO_CFG,
        "critical",
        0,
        # First logged point at ln 2, margins barely apart and one pair in eight already preferred.
        lambda: dpo(
            loss=with_point(ramp(0.69, 0.45, 1, sd=0.01, end=40), 0, 0.6930),
            **{
                "rewards/margins": with_point(_MARGIN, 0, 1e-5),
                "rewards/accuracies": with_point(_ACC, 0, 0.125),
            },
        ),
    ),
    (
        "margin_oscillating",
        "dpo",
        lambda: dpo(
            loss=noise(0.70, 0.02, seed=25),
            **{"rewards/margins": noise(0.0, 0.3, seed=26), "rewards/accuracies": noise(0.5, 0.05, seed=27)},
        ),
        DPO_CFG,
        "warn",
        9,
        lambda: dpo(
            loss=noise(0.62, 0.02, seed=25),
            **{
                "rewards/margins": noise(0.35, 0.3, seed=26),
                "rewards/accuracies": noise(0.65, 0.05, seed=27),
            },
        ),
    ),
    (
        "margin_plateau_early",
        "dpo",
        lambda: dpo(
            loss=ramp(0.69, 0.64, 1, sd=0.005, end=10),
            **{
                "rewards/margins": ramp(0.0, 0.3, 1, sd=0.05, seed=4, end=10),
                "rewards/accuracies": ramp(0.5, 0.62, 1, sd=0.02, seed=5, end=10),
                "rewards/rejected": ramp(0.0, -0.3, 1, sd=0.05, seed=7, end=10),
            },
        ),
        DPO_CFG,
        "warn",
        10,  # flat from step 10; the rule judges from 30 points after t0 (step 35)
        # A plateau too, but at a margin of 1.1 with 3 pairs in 4 right: the data's signal is learnt.
        lambda: dpo(
            loss=ramp(0.69, 0.45, 1, sd=0.005, end=10),
            **{
                "rewards/margins": ramp(0.0, 1.1, 1, sd=0.05, seed=4, end=10),
                "rewards/accuracies": ramp(0.5, 0.75, 1, sd=0.02, seed=5, end=10),
                "rewards/rejected": ramp(0.0, -1.1, 1, sd=0.05, seed=7, end=10),
            },
        ),
    ),
    (
        "margin_collapsing",
        "dpo",
        lambda: dpo(**{"rewards/margins": _MARGIN + ramp(0.0, -0.5, 60, end=80)}),
        DPO_CFG,
        "warn",
        60,
        # The margin eases back 20 % from its peak: below the 30 % drop.
        lambda: dpo(**{"rewards/margins": _MARGIN + ramp(0.0, -0.14, 60, end=80)}),
    ),
    (
        "preference_overfit",
        "dpo",
        lambda: dpo(
            **{
                "rewards/accuracies": _ACC + ramp(0.0, 0.08, 50, end=80),
                "eval_rewards/accuracies": ramp(0.5, 0.82, 1, end=40, sd=0.01, seed=28)
                + ramp(0.0, -0.12, 50, end=80),
            }
        ),
        DPO_CFG,
        "warn",
        50,
        # Eval accuracy settles 0.12 below train: the usual generalisation gap, not widening.
        lambda: dpo(**{"eval_rewards/accuracies": ramp(0.5, 0.78, 1, end=40, sd=0.01, seed=28)}),
    ),
    (
        "length_exploitation",
        "online_dpo",
        lambda: dpo(**{"completions/mean_length": ramp(200.0, 500.0, 30, end=70, sd=5.0, seed=29)}),
        DPO_CFG,
        "critical",
        30,
        lambda: dpo(**{"completions/mean_length": ramp(200.0, 250.0, 30, end=70, sd=5.0, seed=29)}),
    ),
]
