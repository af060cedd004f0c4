"""Group-relative RL rules (patterns.md §4.5): GRPO, RLOO; several apply to PPO and verl too."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import numpy as np

from rltui.model.patterns.context import MIN_POINTS, Ctx, finite, med
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
    id="zero_signal_groups",
    code="RL-01",
    severities=("warn", "critical"),
    title="Prompt groups without learning signal",
    instrument="reward",
    primary="frac_reward_zero_std|reward_std",
    roles=("frac_reward_zero_std", "reward_std", "reward"),
    thresholds={
        "warn": th(0.8, "[PROP]", "med_W(frac_reward_zero_std) above this (0.5 fired on healthy GRPO)"),
        "critical": th(0.9, "[PROP]", "above this, <= 10% of prompts carry any gradient"),
        "zero_std": th(
            1e-9, "[PROP]", "no fraction logged: reward_std (the mean group std) at or below this is critical"
        ),
    },
    logic=(
        "lvl_W(frac_reward_zero_std) > warn is warn, > critical critical, sustained (from the first points "
        "on a short run). A run that logs no fraction (MLX, older TRL) but a reward_std (the mean of the "
        "groups' reward std) of exactly 0: every group is without signal, critical. The cause depends on "
        "whether the reward is near the top or the bottom of its observed range."
    ),
    cause=(
        "Reward saturation, the core problem of GRPO: groups whose completions all score the same give no "
        "gradient."
    ),
    action="{pct}% of prompt groups have identical rewards and give no gradient. {advice}",
    source="Definition [TRL]; [LIT: DAPO dynamic sampling]; [CvC-III]; thresholds [PROP].",
    gauge=True,
    from_first=("warn", "critical"),
)
def zero_signal_groups(c: Ctx, t: T) -> Finding | None:
    # A level, not a change: every group without reward variance is a dead signal from step 1.
    if c.key == c.name("reward_std"):
        std = c.lvl()
        m = 1.0 if abs(std) <= t["zero_std"] else 0.0
    else:
        m = c.lvl()
    level = level_above(m, {WARN: t["warn"], CRITICAL: t["critical"]})
    if not level:
        return None
    solved = True
    if c.has("reward"):
        r = finite(c.v("reward"))
        lo, hi = float(np.min(r)), float(np.max(r))
        solved = hi <= lo or c.med("reward") >= (lo + hi) / 2
    advice = (
        "The prompts are mostly solved: filter easy prompts or add harder data, or raise num_generations."
        if solved
        else (
            "They are mostly all-wrong: check that the reward fires (answer format, parser) or use an "
            "easier curriculum."
        )
    )
    return hit(
        level,
        pct=100.0 * m,
        frac=m,
        advice=advice,
        condition=f"{100.0 * m:.0f}% of prompt groups have zero reward std",
    )


@online_rule(
    id="reward_std_collapse",
    code="RL-02",
    severities=("info", "warn"),
    title="Reward variance collapsed",
    instrument="reward",
    primary="reward_std",
    roles=("reward_std", "reward"),
    thresholds={
        "min_std": th(0.05, "[CvC-III]", "warn: med_W(reward_std) below this (rewards in [0, 1])"),
        "min_std_rel": th(0.05, "[PROP]", "otherwise: below this fraction of the baseline"),
        "drop_rz": th(-4.0, "[CvC-III]", "warn: a sudden drop, rz below this"),
        "info_fraction": th(0.5, "[PROP]", "info: falling and below this x the baseline"),
    },
    logic=(
        "After t0, sustained: med_W(reward_std) < min_std (rewards in [0,1]; else < min_std_rel x B) or rz "
        "< drop_rz is warn; falling and below info_fraction x B is info."
    ),
    cause=(
        "Every completion scores alike: a shortcut, saturation, or a reward that stopped discriminating. "
        "TRL's reward_std is the batch std; frac_reward_zero_std is the group-level signal."
    ),
    action=(
        "Reward std is {std} (baseline {baseline}): the reward no longer discriminates between completions. "
        "Check for a shortcut (read samples) and for saturation."
    ),
    source="[CvC-III] min_std_threshold 0.05; others [PROP].",
)
def reward_std_collapse(c: Ctx, t: T) -> Finding | None:
    if not c.after_t0():
        return None
    m, b = c.med(), c.base()
    r = finite(c.v("reward")) if c.has("reward") else np.empty(0)
    unit = len(r) > 0 and float(np.min(r)) >= 0 and float(np.max(r)) <= 1
    floor = t["min_std"] if unit else t["min_std_rel"] * b
    if m < floor or c.rz() < t["drop_rz"]:
        return hit(WARN, std=m, baseline=b)
    if c.direction() == "falling" and m < t["info_fraction"] * b:
        return hit(INFO, std=m, baseline=b)
    return None


@online_rule(
    id="reward_component_dead",
    code="RL-03",
    severities=("info", "warn"),
    title="Reward component is constant",
    instrument="reward",
    primary="~component_std",
    thresholds={
        "max_std": th(0.01, "[CvC-III]", "the component's std stays below this over W"),
        "heavy_weight": th(0.5, "[PROP]", "warn when its share of reward_weights is at least this"),
    },
    logic=(
        "rewards/<func>/std below max_std at every point of W (needs 10 points; a std of exactly 0 at every "
        "point so far is a note from the first point) is info; warn when the "
        "component carries >= heavy_weight of reward_weights."
    ),
    cause=(
        "The component gives the same score to every completion (e.g. a format reward saturated at 100%), "
        "so it contributes no gradient."
    ),
    action=(
        "Reward component {key} has std {std}: it no longer separates completions. Drop or reweight it, or "
        "make it harder."
    ),
    source="[CvC-III]; weight cut-off [PROP].",
    from_first=("info",),
)
def reward_component_dead(c: Ctx, t: T) -> Finding | None:
    w = c.win()
    # Ten points show a component has gone flat; a std of exactly 0 at every point of a short run
    # (a format reward that never fires) is a note from the first point on.
    exact_zero = len(w) >= 1 and len(w) == c.n() and bool(np.all(w == 0.0))
    if (len(w) < 10 and not exact_zero) or float(np.max(np.abs(w))) >= t["max_std"]:
        return None
    weights = c.info.config.get("reward_weights")
    level = INFO
    funcs = c.info.config.get("reward_funcs")
    if isinstance(weights, list) and isinstance(funcs, list) and len(weights) == len(funcs):
        name = c.key.split("/")[1]
        try:
            share = float(weights[funcs.index(name)]) / float(sum(float(x) for x in weights))
            level = WARN if share >= t["heavy_weight"] else INFO
        except (ValueError, ZeroDivisionError, TypeError):
            pass
    return hit(level, std=float(np.max(np.abs(w))))


@online_rule(
    id="entropy_collapse",
    code="RL-04",
    severities=("info", "warn", "critical"),
    title="Policy entropy collapse",
    instrument="entropy",
    primary="entropy",
    roles=("entropy", "reward"),
    thresholds={
        "early_drop": th(
            0.5, "[LIT: Cui et al. 2025]", "info: a drop larger than this within the early window"
        ),
        "early": th(0.1, "[LIT: Cui et al. 2025]", "... the first fraction of the run"),
        "warn_fraction": th(0.25, "[PROP]", "warn: med_W below this x B"),
        "critical_fraction": th(0.1, "[PROP]", "critical: med_W below this x B with the reward flat over L"),
        "flat_reward_fraction": th(0.5, "[PROP]", "warn for 'falling, reward flat' only below this x B"),
        "absolute": th(
            0.0, "[CvC-III]", "optional absolute floor in nats (0 = off; 1.0 in CvC-III's callback)"
        ),
        "near_zero": th(
            0.03, "[PROP]", "warn from the first points: token entropy below this is a collapsed policy"
        ),
    },
    logic=(
        "After t0, sustained. info: > early_drop fall within the first early of the run. warn: med_W < "
        "warn_fraction x B, or falling while the reward is flat, or below the absolute floor. critical: "
        "med_W < critical_fraction x B and the reward flat over L."
    ),
    cause=(
        "The policy is becoming overconfident and exploration is collapsing; reward gains will stall (Cui "
        "et al. 2025: R = -a e^H + b)."
    ),
    action=(
        "Policy entropy is at {pct}% of its starting value: exploration is collapsing and reward gains will "
        "stall. Try clip-higher (epsilon_high=0.28, DAPO), sampling temperature >= 1.0, adaptive entropy "
        "control, Clip-Cov/KL-Cov, top_entropy_quantile=0.2, or a lower LR."
    ),
    source="[LIT: DAPO, Skywork-OR1, Cui et al.]; [TRL] docs; thresholds [PROP].",
    gauge=True,
    from_first=("warn",),
)
def entropy_collapse(c: Ctx, t: T) -> Finding | None:
    now = c.lvl()
    if now < t["near_zero"]:
        # An absolute sanity level: a baseline taken after an early collapse would hide it.
        return Finding(
            WARN,
            {"entropy": now, "condition": f"token entropy {now:.3g} nats, near 0"},
            action=(
                "Token entropy is {entropy} nats: the policy is near-deterministic and explores nothing. "
                "Check the sampling temperature (>= 1.0), try clip-higher (epsilon_high=0.28) or an entropy "
                "bonus, and lower the LR."
            ),
        )
    if not c.after_t0():
        return None
    m, b = c.med(), c.base()
    if not b > 0:
        return None
    frac = m / b
    reward_flat = c.has("reward") and c.direction("reward", 50) == "flat"
    level = 0
    f = c.frac
    if f is not None and f <= t["early"] and frac < 1 - t["early_drop"]:
        level = INFO
    if (
        frac < t["warn_fraction"]
        or (c.direction() == "falling" and reward_flat and frac < t["flat_reward_fraction"])
        or m < t["absolute"]
    ):
        level = WARN
    if frac < t["critical_fraction"] and reward_flat:
        level = CRITICAL
    return hit(level, pct=100.0 * frac, entropy=m, baseline=b) if level else None


@online_rule(
    id="entropy_spike",
    code="RL-05",
    severities=("warn",),
    title="Entropy jump",
    instrument="entropy",
    primary="entropy",
    thresholds={"rz": th(5.0, "[PROP]", "rz of the entropy above this, sustained")},
    logic="After t0: rz(entropy) > rz at 3 of the last 4 points.",
    cause="The policy is 'forgetting' or reverting; check gradients and data.",
    action=(
        "Entropy jumped to {entropy} (rz {rz}): the policy may be forgetting or reverting. Check gradients "
        "and the data at these steps."
    ),
    source="[CvC-III]; number [PROP].",
)
def entropy_spike(c: Ctx, t: T) -> Finding | None:
    if not c.after_t0():
        return None
    z = c.rz()
    return hit(WARN, entropy=c.last(), rz=z) if z > t["rz"] else None


@online_rule(
    id="entropy_flat",
    code="RL-06",
    severities=("info",),
    title="Entropy flat, reward flat",
    instrument="entropy",
    primary="entropy",
    roles=("entropy", "reward"),
    thresholds={
        "move": th(0.5, "[PROP]", "|TS_L x L| below this x sigma_hat_L"),
        "after": th(0.2, "[PROP]", "only after this fraction of the run (or 50 points)"),
    },
    logic=(
        "After 20% of the run: |Theil-Sen slope over L x L| < move x sigma_hat_L and the reward flat, "
        "sustained."
    ),
    cause="The policy is not learning strong preferences; check that the reward has variance.",
    action=(
        "Entropy ({entropy}) and reward are both flat: no strong preference is being learned. Check that "
        "the reward has variance."
    ),
    source="[CvC-III]; numbers [PROP].",
)
def entropy_flat(c: Ctx, t: T) -> Finding | None:
    if not c.past(t["after"], 50) or c.n() < 30 or not c.has("reward"):
        return None
    w = c.win("@", 50)
    slope = c.trend("@", 50, 50).slope
    if abs(slope * len(w)) < t["move"] * c.sig("@", 50) and c.direction("reward", 50) == "flat":
        return hit(INFO, entropy=c.med())
    return None


def _aligned_on_policy(c: Ctx) -> bool:
    """num_iterations == 1 and one generation per optimizer step: the ratio is exactly 1 by construction."""
    it = c.config("num_iterations")
    spg = c.config("steps_per_generation")
    ga = c.config("gradient_accumulation_steps")
    return (it is None or it == 1) and (spg is None or ga is None or spg == ga)


@online_rule(
    id="clipping",
    code="RL-07",
    severities=("info", "warn"),
    title="Policy-ratio clipping",
    instrument="clipping",
    primary="clip_fraction",
    roles=("clip_fraction", "clip_low", "clip_high"),
    trainers=("grpo", "rloo", "unknown"),
    thresholds={
        "warn": th(0.4, "[CvC-III]", "total clipped share above this is excessive"),
        "minimal": th(0.01, "[CvC-III]", "info below this (suppressed when on-policy by construction)"),
        "asymmetry": th(0.5, "[PROP]", "info when |(high - low) / (high + low)| above this"),
    },
    logic=(
        "Sustained: total > warn is warn; total < minimal is info unless num_iterations = 1 with generation "
        "aligned to the optimizer step (TRL logs 0 by construction); with total > minimal, asymmetry A = "
        "(high - low)/(high + low) > asymmetry is info (sharpening), < -asymmetry info (unlearning)."
    ),
    cause="{what}",
    action=(
        "Clipped share {total} ({what}). Balanced clipping of 10-30% is usually healthy; otherwise adjust "
        "the LR or epsilon / epsilon_high."
    ),
    source="[CvC-III]; [TRL] ratio = 1 when on-policy; asymmetry cut-off [PROP].",
)
def clipping(c: Ctx, t: T) -> Finding | None:
    x = c.med()
    if x > t["warn"]:
        return hit(WARN, total=x, what="the LR may be too high")
    if x < t["minimal"]:
        if _aligned_on_policy(c):
            return None
        return hit(INFO, total=x, what="updates are minimal")
    if c.has("clip_low") and c.has("clip_high"):
        lo, hi = c.med("clip_low"), c.med("clip_high")
        if lo + hi > 0:
            a = (hi - lo) / (hi + lo)
            if a > t["asymmetry"]:
                return hit(
                    INFO, total=x, asymmetry=a, what="sharpening on tokens it already likes; check entropy"
                )
            if a < -t["asymmetry"]:
                return hit(INFO, total=x, asymmetry=a, what="unlearning")
    return None


@online_rule(
    id="truncation",
    code="RL-08",
    severities=("info", "warn", "critical"),
    title="Completions truncated at the length cap",
    instrument="length",
    primary="truncation|eos_count",
    roles=("truncation", "eos_count", "length_mean", "terminated_length_mean"),
    thresholds={
        "warn": th(0.2, "[S3]", "warn: med_W(clipped_ratio) above this"),
        "critical": th(0.5, "[PROP]", "critical: above this (most rewards scored on cut-off text)"),
        "gap": th(0.15, "[PROP]", "info: (mean_length - mean_terminated_length) / mean_length above this"),
        "nothing_ends": th(
            0.95, "[PROP]", "critical: clipped_ratio above this with terminated length 0 or absent"
        ),
    },
    logic=(
        "Sustained: med_W(clipped_ratio) > warn is warn, > critical critical, or > nothing_ends with "
        "mean_terminated_length 0/absent critical; the relative gap mean vs terminated length > gap is info."
    ),
    cause=(
        "Completions run into max_completion_length instead of ending: the reward favours length, or EOS is "
        "never produced (stop token, chat template)."
    ),
    action=(
        "{pct}% of completions hit max_completion_length{cap_words}. Raise the limit (TRL default 512), set "
        "mask_truncated_completions=True (DAPO overlong filtering), add a soft overlong punishment "
        "(trl.rewards.get_soft_overlong_punishment), and check the EOS/stop token and chat template."
    ),
    source="[S3] clipped > 0.2; [CvC-III] the gap; other numbers [PROP].",
    gauge=True,
    from_first=("warn", "critical"),
)
def truncation(c: Ctx, t: T) -> Finding | None:
    cap = c.config("max_completion_length")
    if c.key == c.name("eos_count"):
        # PPO/RLOO log how many completions contain EOS: none at all means none ends on its own.
        if c.lvl() == 0.0:
            return hit(
                WARN,
                pct=100.0,
                eos_tokens=0.0,
                **({"cap": int(cap)} if cap else {}),
                cap_words=f" ({int(cap)})" if cap else "",
                condition="no completion contains an EOS token",
            )
        return None
    x = c.lvl()
    ev: dict[str, float | int | str] = {"pct": 100.0 * x, "clipped": x, "cap_words": ""}
    if cap:
        ev["cap"] = int(cap)
        ev["cap_words"] = f" ({int(cap)})"
    term = c.lvl("terminated_length_mean") if c.has("terminated_length_mean") else 0.0
    if x > t["critical"] or (x > t["nothing_ends"] and not term > 0):
        return hit(CRITICAL, **ev, condition=f"{100.0 * x:.0f}% of completions cut at the length cap")
    if x > t["warn"]:
        return hit(WARN, **ev, condition=f"{100.0 * x:.0f}% of completions cut at the length cap")
    if c.has("length_mean") and c.has("terminated_length_mean") and c.n() >= MIN_POINTS:
        m = c.med("length_mean")
        if m > 0 and (m - term) / m > t["gap"]:
            return hit(INFO, **ev, gap=(m - term) / m)
    return None


@online_rule(
    id="length_growth",
    code="RL-09",
    severities=("info", "warn", "critical"),
    title="Completion length growing (length hacking)",
    instrument="length",
    primary="length_mean",
    roles=("length_mean", "reward"),
    thresholds={
        "warn_ratio": th(1.3, "[S3]", "warn: med_W(length) / B above this while rising"),
        "critical_ratio": th(2.0, "[S3]", "critical: above this"),
        "verifiable_reward": th(
            0, "[PROP]", "1 = a verifiable-reward task: downgrade to info when the reward rises too"
        ),
    },
    logic=(
        "ratio = med_W(mean_length) / B, sustained: > warn_ratio and rising is warn; > critical_ratio "
        "critical. With verifiable_reward = 1 and the reward rising, info (longer chains of thought can be "
        "genuine)."
    ),
    cause=(
        "The reward may favour verbosity (length hacking). GRPO's per-response 1/|o| normalisation inflates "
        "lengths (Dr. GRPO)."
    ),
    action=(
        "Completions are {ratio}x their starting length ({length} vs {baseline}) and still growing: the "
        "reward may favour verbosity. Check the length-reward correlation, add a length penalty or "
        "normalisation, read samples.{hint}"
    ),
    source="[S3] '> 30% change', 'steady increase = length hacking', callback ratio 2.0; [LIT: Dr. GRPO].",
)
def length_growth(c: Ctx, t: T) -> Finding | None:
    if not c.after_t0():
        return None
    b, r = c.base(), c.growth()
    level = 0
    if r > t["critical_ratio"]:
        level = CRITICAL
    elif r > t["warn_ratio"] and c.direction() == "rising":
        level = WARN
    if not level:
        return None
    reward_dir = c.direction("reward", 50) if c.has("reward") else "unknown"
    if t["verifiable_reward"] and reward_dir == "rising":
        level = INFO
    hint = ""
    if c.info.config.get("loss_type") == "grpo" and reward_dir == "flat":
        hint = " loss_type='grpo' inflates lengths: use 'dr_grpo' or 'dapo'."
    return hit(level, ratio=r, length=c.med(), baseline=b, hint=hint)


@online_rule(
    id="length_collapse",
    code="RL-10",
    severities=("warn", "critical"),
    title="Completion length collapsing",
    instrument="length",
    primary="length_mean",
    thresholds={
        "warn_ratio": th(0.7, "[S3]", "warn: med_W(length) / B below this while falling"),
        "critical_ratio": th(0.5, "[S3]", "critical: below this"),
    },
    logic=(
        "ratio = med_W(mean_length) / B, sustained: < warn_ratio and falling is warn; < critical_ratio "
        "critical."
    ),
    cause="The model may be learning that short is safe.",
    action=(
        "Responses shrank to {ratio}x the baseline: the model may be learning that short is safe. Check the "
        "reward distribution, and that truncated or failed outputs are not penalised in a way that rewards "
        "silence."
    ),
    source="[S3] 'decrease = collapse', 0.5 ratio; 0.7 reuses the 30% band.",
)
def length_collapse(c: Ctx, t: T) -> Finding | None:
    if not c.after_t0():
        return None
    r = c.growth()
    if r < t["critical_ratio"]:
        return hit(CRITICAL, ratio=r, length=c.med())
    if r < t["warn_ratio"] and c.direction() == "falling":
        return hit(WARN, ratio=r, length=c.med())
    return None


@online_rule(
    id="diversity_collapse",
    code="RL-11",
    severities=("warn",),
    title="Outputs stopped varying",
    instrument="length",
    primary="length_max|sample_repeated",
    roles=("length_max", "length_min", "sample_repeated"),
    thresholds={
        "fraction": th(0.5, "[S3]", "med_W(max_length - min_length) below this x its baseline"),
        "repeated": th(
            0.2, "[PROP]", "samples: med_W(share of word 3-grams repeated within a completion) above this"
        ),
        "repeated_rise": th(0.1, "[PROP]", "samples: ... and this far above its baseline"),
    },
    logic=(
        "spread = completions/max_length - completions/min_length; after t0, med_W(spread) < fraction x "
        "B(spread), sustained. Second witness from the completion samples (when the run wrote them): "
        "med_W(repeated 3-gram share) > repeated and > B + repeated_rise, sustained (repetition loops)."
    ),
    cause="The policy may be collapsing onto a template (mode collapse) or into repetition loops.",
    action=(
        "Output lengths have stopped varying (spread {spread} vs {baseline} at the start): the policy may "
        "be collapsing onto a template. Raise the temperature or add an entropy bonus; read samples."
    ),
    source="[S3] '> 50% variance change', 'variance collapse = mode collapse'; repetition share [PROP].",
)
def diversity_collapse(c: Ctx, t: T) -> Finding | None:
    if not c.after_t0():
        return None
    if c.has("length_min") and c.has("length_max"):
        hi, lo = c.v("length_max"), c.v("length_min")
        k = min(len(hi), len(lo))
        spread = hi[-k:] - lo[-k:] if k else np.empty(0)
        t0 = c.t0()
        base = finite(spread[t0 : t0 + 10])
        if len(base) >= 5:
            b, m = med(base), med(finite(spread[-20:]))
            if b > 0 and m < t["fraction"] * b:
                return hit(WARN, spread=m, baseline=b, what="output lengths have stopped varying")
    if c.has("sample_repeated"):
        rep = c.v("sample_repeated")
        base_rep = finite(rep[c.t0() : c.t0() + 10])
        now = med(finite(rep[-10:]))
        b = med(base_rep) if len(base_rep) >= 3 else 0.0
        if now > t["repeated"] and now > b + t["repeated_rise"]:
            return Finding(
                WARN,
                {"repeated_share": now, "baseline": b, "what": "completions repeat themselves"},
                action=(
                    "Completions repeat themselves ({repeated_share} of word 3-grams repeated within a "
                    "completion, {baseline} at the start): the policy is falling into repetition loops. "
                    "Read samples; raise the temperature, add a repetition penalty or an entropy bonus, "
                    "and check that the reward does not pay for length or for repeated phrases."
                ),
            )
    return None


@online_rule(
    id="reward_hacking",
    code="RL-12",
    severities=("warn", "critical"),
    title="Unbounded reward growth",
    instrument="reward",
    primary="reward",
    roles=("reward", "kl", "length_mean"),
    thresholds={"length_ratio": th(1.3, "[S3]", "length grown by this ratio counts as RL-09 firing")},
    logic=(
        "Sustained: the reward rising over L without deceleration and (KL runaway, or length > length_ratio "
        "x B and rising) is warn; with KL at its critical level, critical."
    ),
    cause="Reward hacking is the default failure mode: the policy finds what the reward model over-scores.",
    action=(
        "Reward keeps rising ({reward}) together with {what}: likely reward hacking. Never trust the reward "
        "alone: read samples, check your KL, add penalties."
    ),
    source="[S3] 'unbounded reward growth ... check your KL'.",
)
def reward_hacking(c: Ctx, t: T) -> Finding | None:
    if c.n() < c.t0() + 20:
        return None
    tr = c.trend("@", 50, 50)
    if tr.direction != "rising" or tr.decelerating:
        return None
    what = []
    if kl_runaway_now(c):
        what.append("an accelerating KL")
    if (
        c.has("length_mean")
        and c.n("length_mean") > c.t0("length_mean") + 5
        and c.growth("length_mean") > t["length_ratio"]
        and c.direction("length_mean") == "rising"
    ):
        what.append("growing completions")
    if not what:
        return None
    return hit(CRITICAL if kl_level(c) == CRITICAL else WARN, reward=c.med(), what=" and ".join(what))


@online_rule(
    id="reward_unstable",
    code="RL-13",
    severities=("info",),
    title="Reward unstable",
    instrument="reward",
    primary="reward",
    thresholds={"cv": th(1.0, "[PROP]", "sigma_hat_W / |med_W| above this, and rising")},
    logic=(
        "After t0: sigma_hat_W / |med_W(reward)| > cv and sigma_hat_W above that of the previous W, "
        "sustained."
    ),
    cause="High reward variance: reduce the LR or increase the KL penalty.",
    action="Reward is unstable (sigma/median {cv}): reduce the LR or increase the KL penalty.",
    source="[S3]; numbers [PROP].",
)
def reward_unstable(c: Ctx, t: T) -> Finding | None:
    a = c.v("@")
    if len(a) < c.t0() + 40:
        return None
    m, s = c.med(), c.sig()
    s0 = med(np.abs(finite(a[-40:-20]) - med(finite(a[-40:-20])))) * 1.4826
    if m != 0 and s / abs(m) > t["cv"] and s > s0:
        return hit(INFO, cv=s / abs(m), reward=m)
    return None


@online_rule(
    id="train_inference_mismatch",
    code="RL-14",
    severities=("warn",),
    title="vLLM / trainer probability mismatch",
    instrument="clipping",
    primary="is_ratio_mean",
    roles=("is_ratio_mean", "is_ratio_min", "is_ratio_max", "logp_diff"),
    thresholds={
        "low": th(0.9, "[PROP]", "mean IS ratio below this ..."),
        "high": th(1.1, "[PROP]", "... or above this"),
        "min_ratio": th(0.5, "[PROP]", "min IS ratio below this in most points of W"),
        "c_max": th(3.0, "[TRL]", "max IS ratio above this (C_max) in most points of W"),
    },
    logic=(
        "Sustained: mean IS ratio outside [low, high]; or min < min_ratio or max > c_max in most of W; or "
        "the sampling log-prob difference rising."
    ),
    cause=(
        "vLLM and the trainer compute different token probabilities (kernels, precision, stale weight "
        "sync), so training is silently off-policy."
    ),
    action=(
        "Generation and training disagree on token probabilities (IS ratio {ratio}). Keep "
        "vllm_importance_sampling_correction on, check weight sync and precision, prefer sequence-level IS."
    ),
    source="[TRL] docs on truncated/masked IS; thresholds [PROP].",
)
def train_inference_mismatch(c: Ctx, t: T) -> Finding | None:
    m = c.med()
    # A NaN median (fewer than 5 points) is no evidence: "not (low <= NaN <= high)" fired on every run.
    bad = m < t["low"] or m > t["high"]
    if c.has("is_ratio_min") and np.mean(c.win("is_ratio_min") < t["min_ratio"]) > 0.5:
        bad = True
    if c.has("is_ratio_max") and np.mean(c.win("is_ratio_max") > t["c_max"]) > 0.5:
        bad = True
    if c.has("logp_diff") and c.n("logp_diff") >= 10 and c.direction("logp_diff") == "rising":
        bad = True
    return hit(WARN, ratio=m) if bad else None
