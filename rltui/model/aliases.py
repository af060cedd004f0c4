"""Where each quantity lives in each framework's logs, and on what scale (metrics.md).

Instruments and rules ask for a *role* ("kl", "clip_fraction", "length_mean"), never a key, so one
rule serves TRL, verl and OpenRLHF. Scale matters: TRL GRPO's ``kl`` is a per-token k3 estimate,
PPO's ``objective/kl`` is a per-sequence k1 sum, and thresholds do not transfer between them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

Scale = Literal["token", "sequence", "none"]
Estimator = Literal["k1", "k2", "k3", "none"]


@dataclass(frozen=True, slots=True)
class Key:
    """One spelling of a role: the canonical metric name and how to read its numbers."""

    name: str
    scale: Scale = "none"
    estimator: Estimator = "none"
    note: str = ""


def _k(name: str, scale: Scale = "none", estimator: Estimator = "none", note: str = "") -> Key:
    return Key(name, scale, estimator, note)


#: role -> spellings, most specific first. The first one present in a run is used.
ALIASES: dict[str, tuple[Key, ...]] = {
    # --- universal -------------------------------------------------------------------------
    "loss": (_k("loss"), _k("actor/pg_loss"), _k("policy_loss"), _k("loss/policy_avg")),
    "eval_loss": (_k("eval_loss"),),
    "grad_norm": (_k("grad_norm"), _k("actor/grad_norm"), _k("actor_grad_norm")),
    "learning_rate": (_k("learning_rate"), _k("actor/lr"), _k("actor_lr"), _k("lr")),
    "epoch": (_k("epoch"), _k("training/epoch")),
    "num_tokens": (_k("num_tokens"), _k("num_input_tokens_seen"), _k("perf/total_num_tokens")),
    "step_time": (_k("step_time"), _k("perf/time_per_step"), _k("timing_s/step"), _k("timing/step_total")),
    "throughput": (_k("perf/throughput"), _k("train_tokens_per_second")),
    "token_accuracy": (_k("mean_token_accuracy"),),
    # --- preference optimisation (DPO family, KTO, ORPO, CPO, online DPO) --------------------
    "margin": (_k("rewards/margins", note="beta * summed log-ratio gap (DPO); divide by beta for nats"),),
    "accuracy": (_k("rewards/accuracies"), _k("accuracy")),
    "chosen": (_k("rewards/chosen"),),
    "rejected": (_k("rewards/rejected"),),
    "logps_chosen": (_k("logps/chosen", "sequence"),),
    "logps_rejected": (_k("logps/rejected", "sequence"),),
    "nll_loss": (_k("nll_loss"),),
    "eval_margin": (_k("eval_rewards/margins"),),
    "eval_accuracy": (_k("eval_rewards/accuracies"), _k("eval_accuracy")),
    "reward_model_margin": (_k("margin"),),
    # --- online RL ----------------------------------------------------------------------------
    "reward": (
        _k("reward"),
        _k("objective/rlhf_reward"),
        _k("objective/scores"),
        _k("critic/score/mean"),
        _k("rollout/reward_mean"),
        _k("mean_reward"),
        _k("samples/reward/mean", note="from the completion samples"),
    ),
    "scores": (_k("objective/scores"), _k("critic/score/mean")),
    "rlhf_reward": (_k("objective/rlhf_reward"),),
    "non_score_reward": (_k("objective/non_score_reward"),),
    "reward_std": (
        _k("reward_std"),
        _k("rollout/reward_std"),
        _k("group_reward_std"),
        _k("samples/reward/std", note="from the completion samples"),
    ),
    "frac_reward_zero_std": (
        _k("frac_reward_zero_std"),
        _k("samples/frac_reward_zero_std", note="from the completion samples"),
    ),
    "kl": (
        _k("kl", "token", "k3", "GRPO: token-mean k3; RLOO: k1; KTO: batch estimate clamped >= 0"),
        _k("actor/kl_loss", "token", "k3"),
        _k("objective/kl", "sequence", "k1"),
        _k("critic/kl", "token", "k1", "old verl: token-mean KL of the in-reward penalty"),
        _k("kl", "token", "k1"),
    ),
    "approx_kl": (_k("policy/approxkl_avg", "token", "k2"), _k("actor/ppo_kl", "token", "k1"), _k("ppo_kl")),
    "clip_fraction": (
        _k("clip_ratio/region_mean"),
        _k("policy/clipfrac_avg"),
        _k("actor/pg_clipfrac"),
        _k("ppo_clip_ratio"),
        _k("clip_ratio"),
        _k("cispo_clip_ratio"),
    ),
    "clip_low": (_k("clip_ratio/low_mean"), _k("actor/pg_clipfrac_lower")),
    "clip_high": (_k("clip_ratio/high_mean"),),
    "ratio": (_k("val/ratio"),),
    "ratio_var": (_k("val/ratio_var"),),
    "is_ratio_mean": (_k("sampling/importance_sampling_ratio/mean"),),
    "is_ratio_min": (_k("sampling/importance_sampling_ratio/min"),),
    "is_ratio_max": (_k("sampling/importance_sampling_ratio/max"),),
    "logp_diff": (_k("sampling/sampling_logp_difference/mean"),),
    "length_mean": (
        _k("completions/mean_length"),
        _k("response_length/mean"),
        _k("response_length"),
        _k("rollout/response_length_mean"),
        _k("samples/length/mean", note="characters, from the completion samples"),
    ),
    "length_max": (_k("completions/max_length"), _k("response_length/max"), _k("samples/length/max")),
    "length_min": (_k("completions/min_length"), _k("response_length/min"), _k("samples/length/min")),
    "terminated_length_mean": (_k("completions/mean_terminated_length"),),
    "truncation": (
        _k("completions/clipped_ratio"),
        _k("response_length/clip_ratio"),
        _k("rollout/truncated_rate"),
        _k("truncated"),
        _k("samples/no_eos_share", note="completions ending without a sentence end or EOS, from the samples"),
    ),
    "eos_fraction": (_k("val/contain_eos_token"),),
    "entropy": (
        _k("entropy", "token"),
        _k("policy/entropy_avg", "token"),
        _k("actor/entropy", "token"),
        _k("entropy_loss", "token"),
        _k("actor/entropy_loss", "token", note="old verl: the entropy itself, logged under a loss name"),
        _k("entropy/mean", "token"),
    ),
    "eos_count": (_k("val/num_eos_tokens"),),
    "advantage_max": (_k("critic/advantages/max"),),
    "advantage_min": (_k("critic/advantages/min"),),
    "logps_chosen_any": (_k("logps/chosen"), _k("logps/chosen_sum")),
    "logits_chosen": (_k("logits/chosen"),),
    # --- value function (PPO) -------------------------------------------------------------
    "value_loss": (_k("loss/value_avg"), _k("critic/vf_loss"), _k("critic_loss")),
    "value_clip_fraction": (_k("val/clipfrac_avg"), _k("critic/vf_clipfrac")),
    "explained_variance": (_k("critic/vf_explained_var"),),
    # --- optional instruments -------------------------------------------------------------
    "attention_entropy": (_k("attention/mean_entropy"),),
    "attention_entropy_var": (_k("attention/entropy_variance"),),
    "lora_norm": (_k("lora/mean_norm"),),
    "lora_norm_var": (_k("lora/norm_variance"),),
    # --- completion samples (rltui.model.samples; the alias entries above list them last) -----
    "sample_count": (_k("samples/count"),),
    "sample_length": (_k("samples/length/mean"),),
    "sample_group_spread": (_k("samples/length/group_spread"),),
    "sample_no_eos": (_k("samples/no_eos_share"),),
    "sample_empty": (_k("samples/empty_share"),),
    "sample_repeated": (_k("samples/repeated_ngram_share"),),
    "sample_distinct_2": (_k("samples/distinct_2"),),
    "sample_reward": (_k("samples/reward/mean"),),
    "sample_zero_std": (_k("samples/frac_reward_zero_std"),),
}


def resolve(role: str, available: Collection[str]) -> Key | None:
    """The first spelling of ``role`` that the run has logged, or None."""
    for key in ALIASES.get(role, ()):
        if key.name in available:
            return key
    return None


def resolve_name(role: str, available: Collection[str]) -> str | None:
    key = resolve(role, available)
    return key.name if key else None


def kl_key(available: Collection[str], trainer: str) -> Key | None:
    """The KL key with the estimator the *trainer* uses (RLOO's and PPO's ``kl`` are k1)."""
    key = resolve("kl", available)
    if key is None:
        return None
    if key.name == "kl" and trainer in ("rloo",):
        return Key("kl", "token", "k1", "RLOO: token-mean k1, can be negative")
    if key.name == "kl" and trainer == "kto":
        return Key("kl", "sequence", "none", "KTO batch KL estimate, clamped >= 0")
    return key


def reward_components(available: Collection[str]) -> list[str]:
    """Per-function reward means (GRPO/RLOO ``rewards/<func>/mean``)."""
    return sorted(
        n for n in available if n.startswith("rewards/") and n.endswith("/mean") and n.count("/") == 2
    )
