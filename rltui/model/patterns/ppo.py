"""PPO rules (patterns.md §4.4): legacy TRL PPOTrainer keys, verl equivalents through the aliases."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial

from rltui.model.patterns.context import Ctx
from rltui.model.patterns.kl import kl_level, kl_runaway_now
from rltui.model.patterns.spec import (
    CRITICAL,
    INFO,
    ONLINE_RL,
    WARN,
    Finding,
    RuleSpec,
    hit,
    level_above,
    rule,
    th,
)

RULES: list[RuleSpec] = []
T = Mapping[str, float]
#: Every rule here is for online RL trainers.
online_rule = partial(rule, RULES, families=ONLINE_RL)


@online_rule(
    id="ratio_extreme",
    code="PPO-01",
    severities=("info", "warn", "critical"),
    title="Policy ratio far from 1",
    instrument="clipping",
    primary="ratio",
    thresholds={
        "critical_high": th(2.0, "[S3]", "critical: any point above this"),
        "critical_low": th(0.5, "[S3]", "critical: any point below this"),
        "warn_high": th(1.5, "[S3]", "warn: sustained above this"),
        "warn_low": th(0.7, "[S3]", "warn: sustained below this"),
        "info_band": th(
            0.05, "[PROP]", "info: |ratio - 1| above this, sustained (N+ reference: 0.9987-1.0022)"
        ),
    },
    logic=(
        "val/ratio: any point > critical_high or < critical_low is critical (single point); > warn_high or "
        "< warn_low sustained is warn; |ratio - 1| > info_band sustained is info."
    ),
    cause="Consecutive policies differ too much: updates too drastic.",
    action=(
        "Policy ratio {ratio} (should be ~1.0): consecutive policies differ too much. Lower the LR or the "
        "number of PPO epochs or minibatches; check reward and advantage whitening."
    ),
    source="[S3]; [TRL] docs ('2.0 or 1000.0 or 0.1 ... too drastic'); [LIT: N+ reference output].",
    instant=("critical",),
)
def ratio_extreme(c: Ctx, t: T) -> Finding | None:
    r = c.last()
    if r > t["critical_high"] or r < t["critical_low"]:
        return hit(CRITICAL, ratio=r)
    if r > t["warn_high"] or r < t["warn_low"]:
        return hit(WARN, ratio=r)
    if abs(r - 1) > t["info_band"]:
        return hit(INFO, ratio=r)
    return None


@online_rule(
    id="clipfrac",
    code="PPO-02",
    severities=("info", "warn"),
    title="PPO clip fraction",
    instrument="clipping",
    primary="clip_fraction",
    trainers=("ppo",),
    thresholds={
        "warn": th(0.3, "[S3]", "warn: med_W(clipfrac) above this (LR too high for epsilon)"),
        "minimal": th(0.01, "[S3]", "info below this (only with several PPO epochs or minibatches)"),
        "growth": th(2.0, "[S3]", "warn: rising, sustained, and med_W above this x B"),
    },
    logic=(
        "Sustained: med_W > warn is warn; rising with med_W > growth x B is warn ('often precedes a KL "
        "explosion'); < minimal is info when num_ppo_epochs > 1 or num_mini_batches > 1."
    ),
    cause="Updates too aggressive for epsilon; a KL blow-up often follows.",
    action=(
        "{pct}% of token updates are clipped and the share is rising: updates are too aggressive, and a KL "
        "blow-up often follows. Lower the LR."
    ),
    source="[S3]; typical 5-20% ([S3] chart), N+ 0.025-0.073 per epoch [LIT].",
)
def clipfrac(c: Ctx, t: T) -> Finding | None:
    m = c.med()
    if m > t["warn"] or (c.after_t0() and c.direction() == "rising" and m > t["growth"] * c.base()):
        return hit(WARN, pct=100.0 * m, clipfrac=m)
    epochs, mbs = c.config("num_ppo_epochs") or 1, c.config("num_mini_batches") or 1
    if m < t["minimal"] and (epochs > 1 or mbs > 1):
        return hit(INFO, pct=100.0 * m, clipfrac=m)
    return None


@online_rule(
    id="approxkl_high",
    code="PPO-03",
    severities=("info", "warn"),
    title="Approximate KL between PPO policies high",
    instrument="clipping",
    primary="approx_kl",
    thresholds={
        "info": th(0.02, "[PROP]", "info: med_W above this"),
        "warn": th(0.05, "[PROP]", "warn: med_W above this, sustained"),
    },
    logic="med_W(policy/approxkl_avg) > info is info, > warn is warn, sustained (N+: 0.003-0.008 per epoch).",
    cause="High ratio, high clipfrac and high approxkl go together: updates are too large.",
    action=(
        "approxkl {approxkl} between consecutive policies: updates are large. Lower the LR or the PPO epochs."
    ),
    source="[PROP]; [LIT: N+ reference output]; [TRL] docs.",
)
def approxkl_high(c: Ctx, t: T) -> Finding | None:
    m = c.med()
    level = level_above(m, {INFO: t["info"], WARN: t["warn"]})
    return hit(level, approxkl=m) if level else None


@online_rule(
    id="value_loss_blowup",
    code="PPO-04",
    severities=("info", "warn", "critical"),
    title="Value loss blow-up",
    instrument="value",
    primary="value_loss",
    roles=("value_loss", "value_clip_fraction"),
    thresholds={
        "rz": th(6.0, "[PROP]", "warn: rz of one point above this"),
        "factor": th(10.0, "[PROP]", "warn: one point above this x med_W"),
        "vclip": th(0.5, "[PROP]", "info: med_W(val/clipfrac_avg) above this"),
    },
    logic=(
        "After t0: rz > rz or > factor x med_W is warn (single point); non-finite is critical; value clip "
        "fraction > vclip, sustained, is info."
    ),
    cause="Reward scale or normalisation, value-head initialisation, or a LR too high for the critic.",
    action=(
        "Value loss blew up ({value_loss}). Check reward scale and normalisation (whiten rewards) and "
        "value-head init (the N+ recipe warm-starts it from the reward model); lower the LR."
    ),
    source="[TRL] docs ('will spike / NaN'); thresholds [PROP].",
    instant=("warn", "critical"),
)
def value_loss_blowup(c: Ctx, t: T) -> Finding | None:
    x = c.last()
    if not math.isfinite(x):
        return hit(CRITICAL, value_loss=x)
    if c.after_t0():
        m = c.med("@", 21)
        if c.rz() > t["rz"] or (m > 0 and x > t["factor"] * m):
            return hit(WARN, value_loss=x, rz=c.rz())
    if c.has("value_clip_fraction") and c.med("value_clip_fraction") > t["vclip"]:
        return hit(INFO, value_loss=x, vclip=c.med("value_clip_fraction"))
    return None


@online_rule(
    id="rlhf_reward_falling",
    code="PPO-05",
    severities=("warn",),
    title="RLHF reward falling",
    instrument="reward",
    primary="rlhf_reward",
    logic="objective/rlhf_reward falling over L, sustained.",
    cause="It 'should keep going up': the KL penalty outweighs the score gains, or the policy is degrading.",
    action="objective/rlhf_reward is falling ({reward}). Check the KL penalty and the scores; lower the LR.",
    source="[TRL] docs.",
)
def rlhf_reward_falling(c: Ctx, t: T) -> Finding | None:
    if c.n() < c.t0() + 30:
        return None
    return hit(WARN, reward=c.med()) if c.direction("@", 50) == "falling" else None


@online_rule(
    id="pattern_collapse",
    code="PPO-06",
    severities=("warn", "critical"),
    title="Over-optimisation into fixed patterns",
    instrument="reward",
    primary="scores",
    roles=("scores", "kl", "length_mean"),
    logic=(
        "Sustained: scores rising and KL runaway (KL-02) and (length rising, or objective/entropy - the "
        "sequence NLL - falling) is warn; with KL at its critical level (KL-01), critical."
    ),
    cause=(
        "Vanilla PPO over-optimises into fixed patterns: the reward climbs while quality does not; "
        "responses get longer, perplexity falls and KL balloons (Secrets of RLHF; N+: at KL 50-85 nats)."
    ),
    action=(
        "Reward keeps rising ({scores}) while KL balloons ({kl}) and {what}: likely reward-model "
        "exploitation. Read samples; raise kl_coef; normalise and clip rewards; lower the LR; use "
        "missing_eos_penalty; prefer an earlier checkpoint."
    ),
    source="[LIT: Zheng et al. 2023; Huang et al. 2024 (N+)]; [S3] 'never trust the reward alone'.",
)
def pattern_collapse(c: Ctx, t: T) -> Finding | None:
    if c.n() < c.t0() + 20 or c.direction("@", 50) != "rising" or not kl_runaway_now(c):
        return None
    what = ""
    if c.has("length_mean") and c.direction("length_mean") == "rising":
        what = "responses grow"
    elif len(c.raw("objective/entropy")) >= 20:
        ent = c.raw("objective/entropy")
        from rltui.model import stats

        if stats.trend(ent[-50:]).direction == "falling":
            what = "perplexity falls"
    if not what:
        return None
    return hit(CRITICAL if kl_level(c) == CRITICAL else WARN, scores=c.med(), kl=c.med("kl"), what=what)
