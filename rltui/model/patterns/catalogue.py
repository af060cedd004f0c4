"""The whole catalogue, in patterns.md order: what the engine runs and ``rltui explain`` lists."""

from __future__ import annotations

from rltui.model.patterns import dpo, kl, ppo, rl, sft, universal
from rltui.model.patterns.spec import RuleSpec

CATALOGUE: tuple[RuleSpec, ...] = (
    *[r for r in universal.RULES if r.id != "loss_drop_then_spike"],
    *sft.RULES,
    *[r for r in universal.RULES if r.id == "loss_drop_then_spike"],
    *dpo.RULES,
    *ppo.RULES,
    *rl.RULES,
    *kl.RULES,
)

BY_ID: dict[str, RuleSpec] = {r.id: r for r in CATALOGUE}

#: Which gauge a role belongs to (for alerts on "every metric" rules).
INSTRUMENT_OF_ROLE: dict[str, str] = {
    "loss": "loss",
    "eval_loss": "convergence",
    "grad_norm": "gradients",
    "learning_rate": "learning_rate",
    "num_tokens": "throughput",
    "step_time": "throughput",
    "throughput": "throughput",
    "token_accuracy": "convergence",
    "margin": "reward",
    "accuracy": "reward",
    "chosen": "reward",
    "rejected": "reward",
    "eval_margin": "reward",
    "eval_accuracy": "reward",
    "reward": "reward",
    "scores": "reward",
    "rlhf_reward": "reward",
    "reward_std": "reward",
    "frac_reward_zero_std": "reward",
    "kl": "kl",
    "non_score_reward": "kl",
    "approx_kl": "clipping",
    "clip_fraction": "clipping",
    "clip_low": "clipping",
    "clip_high": "clipping",
    "ratio": "clipping",
    "length_mean": "length",
    "length_max": "length",
    "length_min": "length",
    "terminated_length_mean": "length",
    "truncation": "length",
    "entropy": "entropy",
    "value_loss": "value",
    "value_clip_fraction": "value",
    "explained_variance": "value",
    "attention_entropy": "attention",
    "lora_norm": "lora",
}
