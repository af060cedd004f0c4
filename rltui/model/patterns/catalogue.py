"""The whole catalogue, in patterns.md order: what the engine runs and ``rltui explain`` lists."""

from __future__ import annotations

from dataclasses import replace

from rltui.model.patterns import dpo, kl, ppo, rl, sft, universal
from rltui.model.patterns.spec import RuleSpec

#: Rules that name what already went wrong (an *after-the-fact audit*): by the time they fire the
#: damage is done (a NaN, a spike, overfitting that happened, a policy that collapsed). Every other
#: rule is an *early warning*: it fires on a level or a trend while changing the run still helps.
#: Measured lead times (steps from onset to raised) are in docs/patterns.md.
AUDIT = frozenset(
    {
        "nonfinite", "loss_spike", "loss_drop_then_spike", "grad_norm_spike", "anomaly_marker",
        "instrument_missing", "train_eval_divergence", "eval_oscillation", "throughput_drop",
        "memorisation", "preference_overfit", "policy_equals_reference", "margin_collapsing",
        "rlhf_reward_falling", "pattern_collapse", "entropy_spike", "kl_spike", "kl_negative",
        "value_loss_blowup", "ratio_extreme",
    }
)  # fmt: skip


def _kind(rule: RuleSpec) -> RuleSpec:
    return replace(rule, kind="audit" if rule.id in AUDIT else "early")


CATALOGUE: tuple[RuleSpec, ...] = tuple(
    _kind(r)
    for r in (
        *[r for r in universal.RULES if r.id != "loss_drop_then_spike"],
        *sft.RULES,
        *[r for r in universal.RULES if r.id == "loss_drop_then_spike"],
        *dpo.RULES,
        *ppo.RULES,
        *rl.RULES,
        *kl.RULES,
    )
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
