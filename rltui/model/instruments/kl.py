"""KL to the reference policy, read on the scale its trainer logs it (patterns.md §5, KL-01).

Thresholds do not transfer between scales: GRPO's ``kl`` and verl's ``actor/kl_loss`` are
per-token means (warn 0.5, critical 1.0 [S3]) while PPO's ``objective/kl`` is a per-sequence sum
(warn 10, critical 50 [PROP]). The estimator matters for the sign: k3 can never be negative, k1
(RLOO, PPO) is negative on roughly half the batches when the policies are close.
"""

from __future__ import annotations

from rltui.model.aliases import kl_key
from rltui.model.instruments.base import Ctx, Draft, config_number, fmt, unavailable
from rltui.model.snapshot import InstrumentReading

IID, TITLE = "kl", "KL divergence"


def kl_thresholds(ctx: Ctx, scale: str) -> dict[str, float]:
    """kl_level's levels for the KL's scale (``token`` or ``sequence``), as configured."""
    return {lv: ctx.threshold("kl_level", f"{lv}_{scale}") for lv in ("warn", "critical")}


def _missing_reason(ctx: Ctx) -> str:
    trainer = ctx.info.trainer
    beta = config_number(ctx.info, "beta")
    if ctx.info.framework == "verl" and trainer in ("grpo", "ppo"):
        return (
            "verl logs no KL here: set actor_rollout_ref.actor.use_kl_loss=True (or "
            "algorithm.use_kl_in_reward) to monitor drift from the reference"
        )
    if trainer == "grpo":
        if beta is None:
            return "GRPO logs no KL when beta=0 (TRL's default; set beta>0 to monitor drift)"
        if beta == 0:
            return "GRPO with beta=0 logs no KL (set beta>0 to monitor drift)"
        return "GRPO run logs no kl although beta>0"
    if trainer in ("dpo", "orpo", "cpo"):
        return "DPO-style trainers log no KL: rewards/chosen and rejected are β·log-ratios to the reference"
    if trainer == "sft":
        return "SFT has no reference model, so no KL"
    if trainer == "reward":
        return "reward modelling has no policy, so no KL"
    return "no KL metric logged"


def kl(ctx: Ctx) -> InstrumentReading:
    key = kl_key(ctx.available, ctx.info.trainer)
    view = ctx.view(key.name) if key is not None else None
    if key is None:
        return unavailable(IID, TITLE, _missing_reason(ctx))
    if view is None:
        return unavailable(IID, TITLE, "no KL logged yet at this step")
    d = Draft.of(ctx, (key, view))
    if key.scale == "sequence":
        thresholds, scale = kl_thresholds(ctx, "sequence"), "per-sequence"
    else:
        thresholds, scale = kl_thresholds(ctx, "token"), "per-token"
    est = f" {key.estimator}" if key.estimator != "none" else ""
    d.headline("KL", f"({scale}{est})")
    beta = config_number(ctx.info, "beta")
    if beta is not None:
        d.parts.append(f"β {fmt(beta)}")
    if d.g.value is not None and d.g.value < 0:
        if key.estimator in ("k2", "k3"):
            d.parts.append("negative: impossible for " + key.estimator)
        else:
            d.parts.append("negative (k1: noise, or a sampling mismatch)")
    for role in ("approx_kl", "non_score_reward"):
        d.add(role)
    hint = f"warn > {fmt(thresholds['warn'])}, critical > {fmt(thresholds['critical'])} ({scale})"
    return d.finish(IID, TITLE, unit="nats", thresholds=thresholds, hint=hint)
