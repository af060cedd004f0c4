"""KL-divergence rules (patterns.md §4.6), aware of each key's scale and estimator (§5)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import TypeVar

from rltui.model import stats
from rltui.model.patterns.context import Ctx, L, finite, med
from rltui.model.patterns.spec import CRITICAL, INFO, WARN, Finding, RuleSpec, hit, level_above, rule, th

RULES: list[RuleSpec] = []
T = Mapping[str, float]
#: KL rules are for online trainers; KTO's batch KL is a different quantity.
KL_FAMILIES = frozenset({"rl", "pref"})
NOT_KTO = ("ppo", "rloo", "grpo", "online_dpo", "unknown")

#: Every rule here watches the KL gauge, for the same trainers.
kl_rule = partial(rule, RULES, instrument="kl", primary="kl", families=KL_FAMILIES, trainers=NOT_KTO)

X = TypeVar("X")


def sequence_scale(c: Ctx) -> bool:
    k = c.keys.get("kl")
    return k is not None and k.scale == "sequence"


def per_scale(c: Ctx, token: X, sequence: X) -> X:
    """The limit for the scale the run's KL key is logged on: thresholds do not transfer (§5)."""
    return sequence if sequence_scale(c) else token


def kl_limits(
    c: Ctx, warn_token: float = 0.5, crit_token: float = 1.0, warn_seq: float = 10, crit_seq: float = 50
) -> dict[int, float]:
    """KL-01's warn and critical limits on the run's scale (other rules use the defaults)."""
    return per_scale(c, {WARN: warn_token, CRITICAL: crit_token}, {WARN: warn_seq, CRITICAL: crit_seq})


def kl_level(c: Ctx, limits: Mapping[int, float] | None = None) -> int:
    """KL-01's level of the current KL median (used by other rules too)."""
    if not c.has("kl"):
        return 0
    return level_above(c.med("kl"), limits if limits is not None else kl_limits(c))


#: KL-02: the second half's slope over L must be this many times the first half's to accelerate.
ACCELERATION = 1.5


def accelerating(c: Ctx, role: str, ratio: float = ACCELERATION, n: int = L) -> bool:
    """Second-half slope over the last ``n`` points > ``ratio`` x the first-half slope > 0.

    A plain ``s2 > s1`` is a coin toss on a straight line with noise (each half's Theil-Sen slope
    scatters around the same value), so a steadily rising KL read as accelerating at some stretch
    of nearly every run (16 of 16 noisy straight lines in the test; 1.3: 3 of 16; 1.5: none).
    """
    a = c.v(role)[-n:]
    half = len(a) // 2
    first, second = a[:half], a[half:]
    if len(finite(first)) < 10 or len(finite(second)) < 10:
        return False
    s1, s2 = stats.theil_sen(first), stats.theil_sen(second)
    return bool(math.isfinite(s1) and math.isfinite(s2) and s1 > 0 and s2 > ratio * s1)


def kl_runaway_now(
    c: Ctx, min_token: float = 0.3, min_seq: float = 1.0, acceleration: float = ACCELERATION
) -> bool:
    """KL-02's condition: rising and accelerating over L, or doubling within W while the reward is flat."""
    if not c.has("kl") or c.n("kl") < c.t0("kl") + 20:
        return False
    m = c.med("kl")
    if not m > per_scale(c, min_token, min_seq):
        return False
    tr = c.trend("kl", 20, 50)
    if tr.direction == "rising" and tr.accelerating and accelerating(c, "kl", acceleration):
        return True
    w = finite(c.v("kl")[-20:])
    first, last = med(w[:5]), med(w[-5:])
    reward_flat = c.has("reward") and c.direction("reward", 50) == "flat"
    return bool(first > 0 and last > 2 * first and reward_flat)


@kl_rule(
    id="kl_level",
    code="KL-01",
    severities=("warn", "critical"),
    title="KL to the reference too high",
    roles=("kl",),
    thresholds={
        "warn_token": th(0.5, "[S3]", "per-token keys (GRPO/RLOO kl, verl kl_loss): warn above"),
        "critical_token": th(1.0, "[S3]", "per-token keys: critical above ('a stop sign')"),
        "warn_sequence": th(
            10, "[PROP]", "sequence-sum keys (PPO objective/kl): warn above (old TRL FAQ: 0-10)"
        ),
        "critical_sequence": th(
            50, "[PROP]", "sequence-sum keys: critical above (N+: over-optimisation at 50-85)"
        ),
    },
    logic="med_W(kl) against the thresholds of its scale, sustained.",
    cause="The policy has drifted far from the reference: beta too low or LR too high.",
    action=(
        "KL {kl} ({scale}) is above {limit}: the policy has drifted far from the reference. Raise "
        "beta/kl_coef or lower the LR; read samples."
    ),
    source="[S3] 'KL > 0.5 is a warning and KL > 1.0 is a stop sign'; sequence-level [PROP].",
)
def kl_level_rule(c: Ctx, t: T) -> Finding | None:
    limits = kl_limits(c, t["warn_token"], t["critical_token"], t["warn_sequence"], t["critical_sequence"])
    lv = kl_level(c, limits)
    if not lv:
        return None
    return hit(lv, kl=c.med(), limit=limits[lv], scale=per_scale(c, "per token", "per sequence"))


@kl_rule(
    id="kl_runaway",
    code="KL-02",
    severities=("warn",),
    title="KL runaway",
    roles=("kl", "reward"),
    thresholds={
        "min_token": th(0.3, "[PROP]", "ignore while med_W(kl) is below this (per token; calibrated)"),
        "min_sequence": th(1.0, "[PROP]", "ignore while med_W(kl) is below this (per sequence)"),
        "acceleration": th(
            ACCELERATION,
            "[PROP]",
            "accelerating: second-half slope over L above this x the first-half slope (1.0 fired on "
            "every noisy straight line tried)",
        ),
    },
    logic=(
        "KL rising over W and accelerating over L (second-half slope > acceleration x first-half slope "
        "> 0), or KL "
        "doubling within W while the reward is flat; only once med_W(kl) > min_*; sustained."
    ),
    cause="Runaway drift from the reference: beta/kl_coef too low, LR too high, or clipping not working.",
    action=(
        "KL to the reference keeps accelerating (now {kl}): runaway drift. Raise beta/kl_coef or lower the "
        "LR; for PPO, check that clipping works."
    ),
    source="[S3] 'growing without bound' (kl/trend, kl/acceleration over 50); the floor [PROP].",
)
def kl_runaway(c: Ctx, t: T) -> Finding | None:
    runaway = kl_runaway_now(c, t["min_token"], t["min_sequence"], t["acceleration"])
    return hit(WARN, kl=c.med()) if runaway else None


@kl_rule(
    id="kl_frozen",
    code="KL-03",
    severities=("info",),
    title="KL frozen near 0",
    roles=("kl", "reward"),
    thresholds={
        "token": th(1e-3, "[PROP]", "per-token: med_W(kl) below this"),
        "sequence": th(0.1, "[PROP]", "per-sequence: med_W(kl) below this"),
        "after": th(0.2, "[PROP]", "only after this fraction of the run (or 50 points)"),
    },
    logic="After 20% of the run: med_W(kl) below the scale's floor with the reward flat over L, sustained.",
    cause="beta too high: the model is barely updating.",
    action="KL is {kl} after {points} points with a flat reward: beta is probably too high. Reduce beta.",
    source="[S3]; numbers [PROP].",
)
def kl_frozen(c: Ctx, t: T) -> Finding | None:
    if not c.past(t["after"], 50):
        return None
    m = c.med()
    floor = per_scale(c, t["token"], t["sequence"])
    if abs(m) < floor and c.has("reward") and c.direction("reward", 50) == "flat":
        return hit(INFO, kl=m, points=c.n())
    return None


@kl_rule(
    id="kl_noisy",
    code="KL-04",
    severities=("info",),
    title="KL noisy",
    thresholds={
        "cv": th(1.0, "[S3]", "sigma_hat_W / med_W above this"),
        "min_token": th(
            0.01, "[PROP]", "ignore while med_W(kl) is below this (per token; x100 per sequence)"
        ),
    },
    logic="After t0: sigma_hat_W / med_W(kl) > cv while med_W(kl) > min_token, sustained.",
    cause="LR probably too high for the current KL penalty.",
    action="KL is noisy (sigma/median {cv}): the LR is probably too high for the current KL penalty.",
    source="[S3]; the floor [PROP].",
)
def kl_noisy(c: Ctx, t: T) -> Finding | None:
    if not c.after_t0():
        return None
    m = c.med()
    floor = per_scale(c, t["min_token"], 100 * t["min_token"])
    if m > floor and c.sig() / m > t["cv"]:
        return hit(INFO, cv=c.sig() / m, kl=m)
    return None


@kl_rule(
    id="kl_spike",
    code="KL-05",
    severities=("warn",),
    title="KL spike",
    thresholds={
        "rz": th(10.0, "[PROP]", "robust z of one point above this (6 fired 6 times on healthy GRPO)"),
        "min_token": th(0.05, "[PROP]", "and the point above this (per token; x100 per sequence)"),
    },
    logic="After t0: one point with rz > rz (and above the floor).",
    cause="A batch the model handles very differently from the reference.",
    action="KL jumped to {kl} at step {step} (rz {rz}): investigate that batch.",
    source="[S3]; numbers [PROP].",
    instant=("warn",),
)
def kl_spike(c: Ctx, t: T) -> Finding | None:
    if not c.after_t0():
        return None
    x, z = c.last(), c.rz()
    floor = per_scale(c, t["min_token"], 100 * t["min_token"])
    return hit(WARN, kl=x, rz=z) if z > t["rz"] and x > floor else None


@kl_rule(
    id="kl_negative",
    code="KL-06",
    severities=("warn", "critical"),
    title="Negative KL estimate",
    roles=("kl", "non_score_reward", "rlhf_reward", "scores"),
    thresholds={"k3_tolerance": th(1e-6, "[TRL]", "k3 (GRPO) below -this is a bug")},
    logic=(
        "k3/k2 keys (GRPO kl): any value < -k3_tolerance is critical (k3 >= 0). k1 keys (RLOO kl, PPO "
        "objective/kl): med_W < 0 beyond noise (|med_W| > 2 sigma_hat_W / sqrt(W)), sustained, is warn. PPO "
        "objective/non_score_reward > 0 sustained is warn; critical if rlhf_reward also rises faster than "
        "scores."
    ),
    cause=(
        "The sampled tokens were not drawn from the policy that scored them (top-k/top-p/min_length, "
        "temperature, vLLM vs trainer numerics, wrong reference); for k3, a bug (masking, sign, mixed-up "
        "log-probs)."
    ),
    action=(
        "KL estimate is negative ({kl}, {estimator}): the sampled tokens were not drawn from the policy "
        "that scored them. Generate with top_k=0, top_p=1.0, min_length=-1 and the same temperature, or "
        "switch to kl_estimator='k3'."
    ),
    source="[TRL] FAQ; Schulman 2020 estimators (patterns.md §5).",
    instant=("critical",),
)
def kl_negative(c: Ctx, t: T) -> Finding | None:
    k = c.keys["kl"]
    x = c.last()
    if k.estimator in ("k3", "k2"):
        return hit(CRITICAL, kl=x, estimator=k.estimator) if x < -t["k3_tolerance"] else None
    m = c.med()
    w = c.win()
    if len(w) >= 5 and m < 0 and abs(m) > 2 * c.sig() / math.sqrt(len(w)):
        return hit(WARN, kl=m, estimator=k.estimator)
    if c.has("non_score_reward") and c.med("non_score_reward") > 0:
        worse = (
            c.has("rlhf_reward")
            and c.has("scores")
            and c.trend("rlhf_reward").slope > c.trend("scores").slope > 0
        )
        return hit(
            CRITICAL if worse else WARN,
            kl=m,
            estimator=k.estimator,
            non_score_reward=c.med("non_score_reward"),
        )
    return None


@kl_rule(
    id="kl_reward_opposed",
    code="KL-07",
    severities=("info",),
    title="KL and reward move in opposite directions",
    roles=("kl", "reward"),
    logic="Over L: KL rising while the reward falls, or the reverse, sustained.",
    cause="The KL penalty is fighting the reward signal.",
    action=(
        "KL is {kl_dir} while the reward is {reward_dir}: the KL penalty is fighting the reward. Retune beta."
    ),
    source="[CvC-III].",
)
def kl_reward_opposed(c: Ctx, t: T) -> Finding | None:
    if not c.has("reward") or c.n() < c.t0() + 30:
        return None
    a, b = c.direction("@", 50), c.direction("reward", 50)
    if {a, b} == {"rising", "falling"}:
        return hit(INFO, kl_dir=a, reward_dir=b, kl=c.med())
    return None
