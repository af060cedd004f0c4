"""Universal rules (patterns.md §4.1): every trainer logs a loss, a gradient norm and an LR."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping

import numpy as np

from rltui.model import stats
from rltui.model.patterns.context import Ctx, finite, med, sig
from rltui.model.patterns.spec import (
    CRITICAL,
    INFO,
    NO_GAUGE,
    NOT_RL,
    WARN,
    Evidence,
    Finding,
    RuleSpec,
    hit,
    level_above,
    rule,
    th,
)

RULES: list[RuleSpec] = []
T = Mapping[str, float]

#: Roles whose non-finite values are critical (patterns.md U-01); any other key is a warn.
CRITICAL_ROLES = ("loss", "grad_norm", "kl", "reward", "value_loss")


@rule(
    RULES,
    id="nonfinite",
    code="U-01",
    severities=("info", "warn", "critical"),
    title="Non-finite value",
    instrument="loss",
    primary="*",
    thresholds={
        "window": th(50, "[PROP]", "recent grad-norm points looked at for skipped fp16 steps"),
        "warn_skipped": th(0.1, "[PROP]", "warn when this share of them is non-finite (loss finite)"),
        "critical_skipped": th(0.5, "[PROP]", "critical when this share is (the run barely trains)"),
    },
    logic=(
        "Any NaN or Inf in a logged value. Critical in loss, grad_norm, kl, reward or value loss; warn "
        "elsewhere. Fires on the single point."
    ),
    cause=(
        "fp16 overflow, a divide-by-zero in a reward, or an empty completion mask (every label masked by a "
        "wrong chat template)."
    ),
    action=(
        "Non-finite {key} at step {step}. Stop and inspect that batch. Check the precision (bf16 vs fp16), "
        "the reward function, and the loss masking and chat template."
    ),
    source=(
        "[PROP]; [CvC-III] GRPO loss watched for numerical issues; [TRL] PPO value loss 'will spike / NaN'."
    ),
    instant=("info", "warn", "critical"),
    gauge=True,
)
def nonfinite(c: Ctx, t: T) -> Finding | None:
    x = c.last()
    if math.isfinite(x):
        return None
    if c.key == c.name("grad_norm") and c.has("loss") and c.at_step("loss") and math.isfinite(c.last("loss")):
        # fp16 loss scaling: an overflowing step logs a NaN/Inf norm and is skipped by the scaler.
        # Rare ones are routine; most steps skipped means the run is not training.
        g = c.v("@")[-int(t["window"]) :]
        # Over the whole window, short runs included: the scaler's first steps overflow routinely.
        share = float(np.count_nonzero(~np.isfinite(g))) / max(len(g), int(t["window"]))
        level = level_above(share, {WARN: t["warn_skipped"], CRITICAL: t["critical_skipped"]}, inclusive=True)
        return Finding(
            max(level, INFO),
            {"value": x, "skipped_share": share, "condition": "grad-norm not finite while the loss is"},
            cause="fp16 overflow: the loss scaler skips the step and lowers its scale (routine when rare).",
            action=(
                "{skipped_share} of the recent steps had a non-finite gradient norm and were skipped. If "
                "this keeps up, train in bf16 or lower the LR."
            ),
        )
    crit = any(c.name(r) == c.key for r in CRITICAL_ROLES)
    return hit(CRITICAL if crit else WARN, value=x)


def _loss_spike(c: Ctx, t: T) -> Finding | None:
    """U-02 rules A and B on the subject loss series (shared by loss_spike and loss_drop_then_spike)."""
    a = c.v("@")
    n = len(a)
    x = float(a[-1])
    if not math.isfinite(x):
        return None
    start = abs(float(np.median(finite(a[:5])))) if len(finite(a[:5])) else math.nan
    floor = t["min_jump"] * start  # jumps at floating-point-noise scale (a loss at 1e-16) are not spikes
    if c.family == "rl":
        z = c.rz()
        if z > t["rl_rz"] and x - c.med("@", 21) > floor:
            return hit(WARN, rz=z, value=x, ratio=x / c.med("@", 21) if c.med("@", 21) else math.nan)
        return None
    level: int = 0
    ev: Evidence = {}
    if n >= 20 and c.after_t0():
        older = finite(a[-100:-10])
        m = float(np.mean(older)) if len(older) >= 10 else math.nan
        peak = float(np.max(finite(a[-10:])))
        noise = sig(older) if len(older) >= 10 else 0.0
        if m > 0 and peak / m > t["spike_ratio"] and peak - m > max(floor, t["noise_sigma"] * noise):
            level, ev = WARN, {"ratio": peak / m, "value": peak}
    z = c.rz()
    pre = med(finite(a[-21:-1]))
    # A robust z against a near-constant window (a loss pinned at ln 2 during warm-up) is huge for
    # any move: the point must also be well above its recent level.
    risen = pre > 0 and x > (1.0 + t["min_rise"]) * pre
    if c.after_t0() and z > t["rz"] and x - pre > floor and risen:
        level, ev = WARN, {"ratio": x / pre if pre else math.nan, "value": x, "rz": z}
    # No recovery: the point 5 back was a spike and the 5 since stay above its pre-spike band.
    j = n - 6
    if j >= 20 and j >= c.t0():
        pre_w = finite(a[j - 20 : j])
        m0, s0 = stats.robust_center_scale(pre_w)
        zj = (a[j] - m0) / s0
        after = finite(a[j + 1 :])
        if (
            zj > t["rz"]
            and a[j] - m0 > floor
            and len(after)
            and med(after) > m0 + t["no_recovery_sigma"] * s0
        ):
            level = CRITICAL
            ev = {"ratio": float(a[j]) / m0 if m0 else math.nan, "value": float(a[j]), "after": med(after)}
    return Finding(level, ev) if level else None


def _dropped(c: Ctx, t: T) -> bool:
    """[S1] "drops then spikes": the loss fell below 0.6x its first value before the recent window."""
    a = c.v("@")
    older = finite(a[:-10])
    return len(older) > 0 and math.isfinite(a[0]) and float(np.min(older)) < t["drop_fraction"] * float(a[0])


_SPIKE_THRESHOLDS = {
    "spike_ratio": th(2.0, "[CvC-I]", "max(last 10) / mean(preceding <= 90 points) above this is a spike"),
    "rz": th(6.0, "[PROP]", "robust z of one point above this is a spike"),
    "no_recovery_sigma": th(
        3.0, "[PROP]", "critical if the 5 points after a spike stay this many sigma above"
    ),
    "rl_rz": th(
        15.0,
        "[CvC-III]; 15 calibrated [PROP]",
        "GRPO/RLOO/PPO policy losses: only a discontinuity this large counts",
    ),
    "drop_fraction": th(0.6, "[S1]", "DPO: a loss below this fraction of its first value before a spike"),
    "min_rise": th(0.25, "[PROP]", "rule B: the point must be this fraction above the median before it"),
    "noise_sigma": th(
        4.0,
        "[PROP]",
        "rule A: the peak must clear the older points by this many robust sigmas (per-batch noise)",
    ),
    "min_jump": th(0.01, "[PROP]", "a spike must rise by at least this fraction of the loss's first value"),
}


@rule(
    RULES,
    id="loss_spike",
    code="U-02",
    severities=("warn", "critical"),
    title="Loss spike",
    instrument="loss",
    primary="loss",
    # GRPO/RLOO/PPO policy losses are ~0 by construction and move with the advantages, not with
    # learning: a "spike" there means nothing (the value loss has its own rule).
    families=NOT_RL,
    thresholds=_SPIKE_THRESHOLDS,
    logic=(
        "A: max(last 10 points) / mean(the preceding <= 90) > spike_ratio (needs 20 points). B: one point "
        "with rz > rz. Critical when the median of the 5 points after a spike stays above the pre-spike "
        "median + no_recovery_sigma * sigma. GRPO/RLOO/PPO: only rz > rl_rz (do not read their loss trend)."
    ),
    cause="LR too high, a corrupt or extreme batch, gradient explosion, memory issues.",
    action=(
        "Loss jumped x{ratio} above its recent level at step {step}. Inspect that batch. If spikes recur, "
        "lower the LR or lengthen warmup; keep gradient clipping on."
    ),
    source="Rule A [CvC-I] (spike ratio > 2.0); rule B and recovery [PROP]; RL variant [CvC-III].",
    instant=("warn", "critical"),
)
def loss_spike(c: Ctx, t: T) -> Finding | None:
    if c.family == "pref" and _dropped(c, t):
        return None  # reported as loss_drop_then_spike with the DPO cause
    return _loss_spike(c, t)


@rule(
    RULES,
    id="loss_drop_then_spike",
    code="DPO-03",
    severities=("warn",),
    title="DPO loss dropped, then spiked",
    instrument="loss",
    primary="loss",
    families=frozenset({"pref"}),
    thresholds=_SPIKE_THRESHOLDS,
    logic=(
        "Once the loss has fallen below drop_fraction x its first value: the median of the last 5 points "
        "is above spike_ratio x the median of the 20 before them, and the newest point is still above that "
        "level (a level that rose and stays, not one noisy batch)."
    ),
    cause="LR too high, or an unstable batch ([S1] 'drops then spikes').",
    action=(
        "Loss fell to below {drop_fraction} of its start, then jumped x{ratio} at step {step}: the LR is "
        "probably too high or a batch is unstable. Lower the LR or lengthen warmup; inspect that batch."
    ),
    source="[S1] (severity medium); medians [PROP] (a max over 10 points fired on one noisy batch).",
)
def loss_drop_then_spike(c: Ctx, t: T) -> Finding | None:
    if not _dropped(c, t):
        return None
    a = c.v("@")
    recent, before = finite(a[-5:]), finite(a[-25:-5])
    if len(recent) < 5 or len(before) < 10:
        return None
    now, was = float(np.median(recent)), float(np.median(before))
    x = float(a[-1])
    if was > 0 and now > t["spike_ratio"] * was and x > t["spike_ratio"] * was:
        return hit(
            WARN,
            ratio=now / was,
            value=x,
            drop_fraction=t["drop_fraction"],
            condition=f"median of the last 5 losses {now:.3g}, x{now / was:.2g} the 20 before",
        )
    return None


def _loss_spiked(c: Ctx, within: int) -> bool:
    """Whether one of the last ``within`` loss points has rz > 6 (against the 20 points before it)."""
    if not c.has("loss"):
        return False
    lz = stats.robust_z(c.v("loss")[-(within + 21) :])[-within:]
    return bool(np.any(lz > 6.0))


@rule(
    RULES,
    id="grad_norm_spike",
    code="U-03",
    severities=("info", "warn", "critical"),
    title="Gradient-norm spike",
    instrument="gradients",
    primary="grad_norm",
    roles=("grad_norm", "loss"),
    thresholds={
        "alpha": th(0.97, "[LIT: ZClip]", "EMA decay of the grad-norm mean/variance"),
        "warmup": th(25, "[LIT: ZClip]", "points used to initialise the EMA"),
        "z": th(2.5, "[LIT: ZClip]", "EMA z-score above this is a spike event (info)"),
        "events": th(
            4,
            "[PROP]",
            "warn with this many events in the last 20 points (calibrated: 3 fired on healthy runs)",
        ),
        "floor": th(0.5, "[PROP]", "a norm below this x max_grad_norm is no spike, whatever the ratio"),
        "min_norm": th(
            1e-3,
            "[PROP]",
            "ratio rules need the rolling median norm above this x max_grad_norm: against a vanishing "
            "median (a saturated loss) any ratio is meaningless",
        ),
        "warn_factor": th(10, "[PROP]", "warn when one norm exceeds this x the rolling median"),
        "critical_factor": th(100, "[PROP; LIT: SPAM]", "critical above this x the median with a loss spike"),
    },
    logic=(
        "ZClip EMA z of grad_norm (alpha, warmup, updated with the clipped value); z > z is an event "
        "(info). Warn with >= events events in W, or g > warn_factor x med_W. Critical if g > "
        "critical_factor x med_W and the loss spikes (rz > 6) within 3 points."
    ),
    cause="An outlier batch, LR too high, or Adam state disrupted by an earlier spike.",
    action=(
        "Gradient norm spiked to {g} (x{ratio} its median). If it keeps happening: lower the LR, keep "
        "max_grad_norm, check the data at these steps."
    ),
    source="[LIT: ZClip, Kumar et al. 2025] defaults; [LIT: SPAM, Huang et al. 2025]; counts [PROP].",
    instant=("info", "warn", "critical"),
)
def grad_norm_spike(c: Ctx, t: T) -> Finding | None:
    g = c.last()
    zc = c.state.get("zclip")
    if zc is None:
        zc = c.state["zclip"] = stats.ZClip(t["alpha"], int(t["warmup"]), t["z"])
        c.state["events"] = deque(maxlen=20)
    z = zc.update(g)
    events: deque[bool] = c.state["events"]
    events.append(bool(z > t["z"]))
    m = c.med()
    cmax = c.config("max_grad_norm") or 1.0
    ratio = g / m if m > t["min_norm"] * cmax else math.nan
    if not g > t["floor"] * cmax:
        # Against a baseline near zero (most steps carry no gradient) every step that does is a
        # x50 "spike"; a norm below the clip threshold is never a harmful one.
        return None
    level = INFO if events[-1] else 0
    if sum(events) >= t["events"] or ratio > t["warn_factor"]:
        level = WARN
    if ratio > t["critical_factor"] and _loss_spiked(c, within=3):
        level = CRITICAL
    if not level:
        return None
    return hit(level, g=g, ratio=ratio, z=z, events=int(sum(events)))


@rule(
    RULES,
    id="always_clipped",
    code="U-04",
    severities=("info", "warn"),
    title="Every step is gradient-clipped",
    instrument="gradients",
    primary="grad_norm",
    thresholds={
        "info_factor": th(1.0, "[PROP]", "info when med_W(grad_norm) > this x max_grad_norm"),
        "warn_factor": th(
            50.0,
            "[PROP]; corpus",
            "warn when med_W(grad_norm) > this x max_grad_norm (10x fired on a healthy LoRA SFT run: "
            "pre-clip norms of 3-33 are common)",
        ),
    },
    logic=(
        "After t0: med_W(grad_norm) > info_factor x max_grad_norm (HF default 1.0) is info; > warn_factor x "
        "is warn. HF logs the pre-clip norm."
    ),
    cause=(
        "Every update is being rescaled, so the effective LR differs from the nominal one (LR too high or a "
        "wrong loss scale)."
    ),
    action=(
        "Every step is clipped (median grad-norm {median} vs max_grad_norm {max_grad_norm}). The effective "
        "LR is lower than configured; consider lowering the LR."
    ),
    source="[PROP], based on HF Trainer logging the pre-clip norm.",
    gauge=True,
    from_first=("warn",),
)
def always_clipped(c: Ctx, t: T) -> Finding | None:
    cmax = c.config("max_grad_norm")
    cmax = 1.0 if cmax is None and "max_grad_norm" not in c.info.config else cmax
    if not cmax or cmax <= 0:
        return None
    m = c.lvl()
    level = level_above(m, {INFO: t["info_factor"] * cmax, WARN: t["warn_factor"] * cmax})
    if level == INFO and not c.after_t0():
        return None  # early norms above the clip are the warm-up; a norm 50x the clip is never routine
    return hit(level, median=m, max_grad_norm=cmax) if level else None


@rule(
    RULES,
    id="not_learning",
    code="U-05",
    severities=("critical",),
    title="No update reaches the weights",
    instrument="loss",
    primary="loss",
    roles=("loss", "grad_norm", "margin", "accuracy"),
    thresholds={
        "zero_grad_points": th(3, "[PROP]", "grad_norm == 0 for this many consecutive points"),
        "constant_points": th(5, "[PROP]", "loss identical to 6 significant digits for this many points"),
        "tie_band": th(5e-4, "[S2]", "DPO's exact tie: |loss - ln 2| within this"),
    },
    logic=(
        "From the first point: grad_norm exactly 0 (critical once it held for zero_grad_points points, or "
        "at every point of a shorter run); a supervised or preference loss of exactly 0.0 (warn at once, "
        "critical sustained). After t0 (not for GRPO/RLOO/PPO, whose loss is ~0 by construction): loss "
        "unchanged to 6 significant digits for constant_points points; DPO's exact tie (loss ln 2 +- "
        "tie_band, "
        "|margin| < 1e-6, accuracy 0)."
    ),
    cause=(
        "Frozen parameters or LoRA not attached, LR = 0 (schedule), a policy object identical to the "
        "reference, all labels masked."
    ),
    action=(
        "No update is reaching the weights ({condition}). Check the trainable parameters, the PEFT adapter, "
        "the LR schedule and the label masking; in GRPO, grad-norm 0 follows from every group having the "
        "same reward (see frac_reward_zero_std)."
    ),
    source="[PROP]; [CvC-I] #2 'spike at zero means vanishing gradients'.",
    instant=("warn",),
    gauge=True,
    from_first=("critical",),
)
def not_learning(c: Ctx, t: T) -> Finding | None:
    g = c.v("grad_norm")
    k = int(t["zero_grad_points"])
    if len(g) and c.at_step("grad_norm") and g[-1] == 0.0:
        # One step without gradient happens (every group tied once); two in a row is a warning,
        # zero_grad_points in a row (or every point of a shorter run) is a dead update.
        tail = g[-k:]
        zeros = int(np.argmin(tail[::-1] == 0.0)) if not np.all(tail == 0.0) else len(tail)
        level = CRITICAL if zeros == len(tail) else (WARN if zeros >= 2 else 0)
        if level:
            return hit(
                level,
                condition=f"grad-norm exactly 0 at the last {zeros} logged steps",
                grad_norm=0.0,
                loss=c.last(),
            )
    a = c.v("@")
    # A cross-entropy loss of exactly 0.0 is impossible unless no token carries a loss; a DPO loss
    # printed as 0.0 is a saturated sigmoid (margin_runaway's finding), not a dead update.
    if c.family == "sft" and len(a) and a[-1] == 0.0:
        last_k = a[-k:]
        level = CRITICAL if len(last_k) >= k and bool(np.all(last_k == 0.0)) else WARN
        return hit(level, condition="loss exactly 0.0: no token carries a loss (labels masked?)", loss=0.0)
    if not c.after_t0() or c.family == "rl":
        return None
    k = int(t["constant_points"])
    if len(a) >= k and np.all(np.isfinite(a[-k:])) and len({f"{x:.6g}" for x in a[-k:]}) == 1:
        return hit(CRITICAL, condition=f"loss identical for {k} logged steps", loss=float(a[-1]))
    if c.has("margin") and c.has("accuracy") and _exact_tie(c, t["tie_band"]):
        return hit(
            CRITICAL, condition="loss ln 2, margin 0, accuracy 0: policy = reference", loss=float(a[-1])
        )
    return None


def _exact_tie(c: Ctx, band: float) -> bool:
    return (
        abs(c.last("loss") - math.log(2.0)) <= band
        and abs(c.last("margin")) < 1e-6
        and c.last("accuracy") == 0.0
    )


@rule(
    RULES,
    id="loss_variance_rising",
    code="U-06",
    severities=("warn",),
    title="Loss noise rising",
    instrument="loss",
    primary="loss",
    families=NOT_RL,
    thresholds={
        "ratio": th(
            3.0, "[PROP]", "sigma_hat over W / sigma_hat over the preceding W (2.0 fired on healthy DPO)"
        ),
        "min_sigma": th(0.01, "[PROP]", "ignore noise below this fraction of the loss's first value"),
    },
    logic="After t0 and 40 points: sigma_hat(last 20) / sigma_hat(the 20 before) > ratio, sustained.",
    cause="Optimisation is becoming unstable.",
    action=(
        "Loss noise has grown x{ratio} over the last 20 points. Training is becoming unstable; consider "
        "reducing the LR."
    ),
    source="Rule [CvC-I] #1; number [PROP].",
)
def loss_variance_rising(c: Ctx, t: T) -> Finding | None:
    a = c.v("@")
    if len(a) < c.t0() + 40:
        return None
    s1, s0 = sig(finite(a[-20:])), sig(finite(a[-40:-20]))
    r = s1 / s0 if s0 > 0 else math.nan
    start = abs(med(finite(a[:5])))
    return hit(WARN, ratio=r, sigma=s1) if r > t["ratio"] and s1 > t["min_sigma"] * start else None


@rule(
    RULES,
    id="plateau_high",
    code="U-07",
    severities=("warn",),
    title="Loss plateau while still high",
    instrument="loss",
    primary="loss",
    families=NOT_RL,
    thresholds={
        "fraction": th(0.9, "[PROP]", "med_W(loss) above this fraction of the baseline B"),
        "after": th(0.2, "[PROP]", "only after this fraction of the run (or 50 points)"),
    },
    logic=(
        "After 20% of the run (or 50 points): trend over L flat and med_W(loss) > fraction x B(loss) (and > "
        "fraction x the median of the first 5 points, for a long warmup guard), sustained."
    ),
    cause="LR too low, or the data has nothing more to teach this model.",
    action=(
        "Loss has flattened at {loss}, still {pct}% of its starting value: a plateau. Try a higher LR, "
        "check the data, or stop."
    ),
    source="Rule [CvC-I] #1; numbers [PROP].",
)
def plateau_high(c: Ctx, t: T) -> Finding | None:
    if not c.past(t["after"], 50) or c.n() < 30:
        return None
    b, m = c.base(), c.med()
    start = med(finite(c.v("@")[:5]))
    if c.direction("@", 50) == "flat" and b > 0 and m > t["fraction"] * b and m > t["fraction"] * start:
        return hit(WARN, loss=m, baseline=b, pct=100.0 * m / b)
    return None


@rule(
    RULES,
    id="lr_schedule",
    code="U-08",
    severities=("info", "warn"),
    title="Learning-rate schedule problem",
    instrument="learning_rate",
    primary="learning_rate",
    roles=("learning_rate", "loss"),
    thresholds={
        "peak_fraction": th(0.95, "[PROP]", "info: max(lr) below this x the configured LR after warmup"),
        "zero_fraction": th(0.01, "[PROP]", "warn: lr below this x max(lr) ..."),
        "zero_before": th(0.9, "[PROP]", "... before this fraction of max_steps"),
        "early_fraction": th(0.1, "[PROP]", "info: a loss spike (rz > 6) within this fraction of the run"),
    },
    logic=(
        "(a) max(lr) < peak_fraction x configured LR once warmup is over: info (peak never reached). (b) lr "
        "< zero_fraction x max(lr) while step < zero_before x max_steps: warn (LR effectively 0 early). (c) "
        "a loss spike in the first early_fraction of the run: info (warmup may be too short)."
    ),
    cause="Total steps miscalculated, a decay that is too aggressive, or warmup that is too short.",
    action="{what}. Check the scheduler, warmup and max_steps.",
    source="Rules [CvC-I] #3; numbers [PROP].",
)
def lr_schedule(c: Ctx, t: T) -> Finding | None:
    lr = c.v("@")
    x = float(lr[-1])
    peak = float(np.max(finite(lr))) if len(finite(lr)) else math.nan
    ws = c.config("warmup_steps") or ((c.config("warmup_ratio") or 0.0) * (c.max_steps or 0))
    configured = c.config("learning_rate")
    if (
        c.max_steps
        and c.step > ws + 1
        and c.step < t["zero_before"] * c.max_steps
        and x < t["zero_fraction"] * peak
    ):
        return hit(WARN, what=f"LR {x:.3g} is effectively 0 at step {c.step}", lr=x, peak=peak)
    if configured and c.step > ws + 2 and peak < t["peak_fraction"] * configured:
        return hit(
            INFO, what=f"LR peaked at {peak:.3g}, below the configured {configured:.3g}", lr=x, peak=peak
        )
    f = c.frac
    if f is not None and f < t["early_fraction"] and _loss_spiked(c, within=4):
        return hit(INFO, what="the loss spiked in the first 10% of the run: warmup may be too short", lr=x)
    return None


@rule(
    RULES,
    id="train_eval_divergence",
    code="U-09",
    severities=("info", "warn", "critical"),
    title="Train/eval divergence",
    instrument="convergence",
    primary="eval_loss",
    roles=("eval_loss", "loss"),
    thresholds={
        "gap_velocity": th(0.1, "[CvC-I]", "warn: gap - previous gap above this"),
        "gap_velocity_rel": th(0.1, "[PROP]", "DPO-family: gap velocity above this fraction of eval_loss"),
        "min_delta": th(0.001, "[CvC-I]", "an eval improves when it beats the best by this much"),
        "patience": th(5, "[CvC-I]", "info after this many evals without improvement"),
        "rising_evals": th(3, "[PROP]", "eval_loss rising this many evals in a row while train falls: warn"),
        "rising_warn": th(
            0.02,
            "[PROP]",
            "... info while eval_loss is at most this fraction above its best (a creep that names the best "
            "checkpoint), warn above it",
        ),
        "rising_critical": th(
            0.05,
            "[PROP]",
            "... critical when eval_loss is more than this fraction above its best (a 1.7% creep over "
            "3 evals of a 7B SFT read as 'severe' before)",
        ),
    },
    logic=(
        "At each eval: gap = eval_loss - median(last 3 train losses). gap - previous gap > gap_velocity "
        "(DPO: > gap_velocity_rel x eval_loss) with eval above train and not improving (calibrated) is "
        "warn; no improvement > min_delta for patience evals is info (converged); eval_loss rising "
        "rising_evals evals in a row while the train loss falls is info while eval_loss is within "
        "rising_warn of its best, warn above that, critical once it is more than rising_critical above it."
    ),
    cause="Overfitting (LoRA: the rank may be too high for the dataset size), or convergence.",
    action="{what} Best eval so far: step {best_step}. Stop, or add regularisation or data.",
    source="[CvC-I] ConvergenceDetector defaults; the count and the DPO scale [PROP].",
    instant=("info", "warn", "critical"),
)
def train_eval_divergence(c: Ctx, t: T) -> Finding | None:
    ev = c.v("@")
    tr = finite(c.v("loss"))
    e = float(ev[-1])
    if not math.isfinite(e):
        return None
    st = c.state
    if "best" not in st or e < st["best"] - t["min_delta"]:
        st["best"], st["best_step"], st["stale"] = e, c.step, 0
    else:
        st["stale"] += 1
    gap = e - med(tr[-3:]) if len(tr) else math.nan
    prev_gap = st.get("gap", math.nan)
    st["gap"] = gap
    trains: list[float] = st.setdefault("train_at_eval", [])
    trains.append(med(tr[-3:]) if len(tr) else math.nan)
    k = int(t["rising_evals"])
    if (
        len(ev) > k
        and bool(np.all(np.diff(ev[-(k + 1) :]) > 0))
        and len(trains) > k
        and trains[-1] < trains[-k - 1]
    ):
        best = float(st["best"])
        rise = (e - best) / abs(best) if best else math.inf
        level = level_above(rise, {INFO: -math.inf, WARN: t["rising_warn"], CRITICAL: t["rising_critical"]})
        words = {
            INFO: "overfitting may be starting.",
            WARN: "overfitting has begun.",
            CRITICAL: "severe overfitting.",
        }
        return hit(
            level,
            what=f"Eval loss rose {k} evals in a row, {100 * rise:.1f}% above its best, while train loss "
            f"falls: {words[level]}",
            eval_loss=e,
            rise=rise,
            gap=gap,
            best_step=st["best_step"],
        )
    vel = gap - prev_gap
    limit = t["gap_velocity_rel"] * abs(e) if c.family == "pref" else t["gap_velocity"]
    worse = len(ev) >= 2 and e >= float(ev[-2]) - t["min_delta"]
    if vel > limit and gap > 0 and worse:
        return hit(
            WARN,
            what=f"The train/eval gap grew by {vel:.3g} since the last eval: overfitting.",
            gap_velocity=vel,
            gap=gap,
            best_step=st["best_step"],
        )
    if st["stale"] >= t["patience"]:
        return hit(
            INFO,
            what=f"No eval improvement for {st['stale']} evals: converged, consider stopping.",
            eval_loss=e,
            best_step=st["best_step"],
        )
    return None


@rule(
    RULES,
    id="eval_oscillation",
    code="U-10",
    severities=("info",),
    title="Eval loss oscillates",
    instrument="convergence",
    primary="eval_loss",
    thresholds={"amplitude": th(0.02, "[PROP]", "each change larger than this fraction of the level")},
    logic=(
        "The sign of the eval_loss change flips in >= 3 of the last 4 evals, each change > amplitude x level."
    ),
    cause="The LR is probably too high for this phase.",
    action="Eval loss oscillates (last {eval_loss}): the LR is probably too high for this phase.",
    source="Rule [CvC-I] #8; numbers [PROP].",
    instant=("info",),
)
def eval_oscillation(c: Ctx, t: T) -> Finding | None:
    ev = finite(c.v("@"))[-6:]
    if len(ev) < 6:
        return None
    d = np.diff(ev)
    flips = int(np.count_nonzero(np.sign(d[1:]) != np.sign(d[:-1])))
    big = bool(np.all(np.abs(d) > t["amplitude"] * np.abs(ev[:-1])))
    return hit(INFO, eval_loss=float(ev[-1]), flips=flips) if flips >= 3 and big else None


@rule(
    RULES,
    id="throughput_drop",
    code="U-11",
    severities=("info", "warn"),
    title="Throughput dropped",
    instrument="throughput",
    primary="num_tokens",
    roles=("num_tokens", "step_time"),
    thresholds={"fraction": th(0.7, "[PROP]", "warn when med_W(tokens/s) falls below this x its baseline")},
    logic=(
        "tokens/s from num_tokens deltas over wall-clock deltas: med_W < fraction x B is warn; step_time "
        "trending up is info."
    ),
    cause="Dataloader stalls, I/O, memory fragmentation or GC, or a long-sequence region of the data.",
    action=(
        "Throughput is {pct}% of its starting rate ({rate} tokens/s). Check dataloader workers, I/O, memory "
        "(a climbing GPU memory is a leak)."
    ),
    source="Rules [CvC-I] #7; the 30% figure [PROP].",
)
def throughput_drop(c: Ctx, t: T) -> Finding | None:
    tok, wall = c.v("@"), c.walls_of(c.key)
    if len(tok) < c.t0() + 15:
        return None
    with np.errstate(all="ignore"):
        rate = np.diff(tok) / np.diff(wall)
    rate = np.where(np.isfinite(rate) & (rate > 0), rate, np.nan)
    t0 = c.t0()
    b = med(finite(rate[t0 : t0 + 10]))
    m = med(finite(rate[-20:]))
    if b > 0 and m < t["fraction"] * b:
        return hit(WARN, rate=m, baseline=b, pct=100.0 * m / b)
    if (
        c.has("step_time")
        and c.n("step_time") > c.t0("step_time") + 10
        and c.direction("step_time") == "rising"
    ):
        return hit(INFO, rate=m, step_time=c.med("step_time"), pct=100.0 * m / b if b > 0 else math.nan)
    return None


@rule(
    RULES,
    id="anomaly_marker",
    code="U-12",
    severities=("info",),
    title="Anomalous point",
    instrument="loss",
    primary="~roles",
    roles=("loss", "grad_norm", "reward", "kl", "entropy", "margin", "length_mean"),
    thresholds={"rz": th(3.5, "[PROP]", "|rz| above this marks a point (Hampel identifier)")},
    logic="|rz| > rz for one point (a sparkline marker, no banner).",
    cause="A point far outside its recent range.",
    action="{key} = {value} at step {step} is {rz} robust SDs from its recent median.",
    source="[CvC-I] '> 2 SD from the moving average', made robust [PROP].",
    instant=("info",),
)
def anomaly_marker(c: Ctx, t: T) -> Finding | None:
    if not c.after_t0():
        return None
    z = c.rz()
    return hit(INFO, value=c.last(), rz=z) if abs(z) > t["rz"] else None


@rule(
    RULES,
    id="instrument_missing",
    code="U-13",
    severities=("info",),
    title="Instrument unavailable",
    instrument=NO_GAUGE,
    primary="loss",
    roles=("loss", "kl", "length_mean", "eval_loss"),
    logic=(
        "Info when a gauge cannot be computed: online RL without kl (beta = 0), DPO without a generation "
        "length, no eval split past half the run."
    ),
    cause="The trainer does not log it ({missing}).",
    action="Not logged: {missing}. See the action for each missing instrument.",
    source="[PROP]; [CvC-III].",
)
def instrument_missing(c: Ctx, t: T) -> Finding | None:
    missing: list[str] = []
    advice: list[str] = []
    if c.family == "rl" and not c.has("kl"):
        fw = c.info.framework
        if fw == "verl":
            missing.append("kl (use_kl_loss off)")
            advice.append(
                "No KL to the reference is logged, so drift is invisible: set "
                "actor_rollout_ref.actor.use_kl_loss=True (or algorithm.use_kl_in_reward) with a small "
                "kl_loss_coef to monitor it."
            )
        elif fw == "openrlhf":
            missing.append("kl (init_kl_coef = 0)")
            advice.append("No KL to the reference is logged: set --init_kl_coef > 0 to monitor drift.")
        else:
            missing.append("kl (beta = 0)")
            advice.append(
                "With beta=0 no KL to the reference is logged, so drift is invisible ('flying without "
                "this instrument'): set beta > 0 (even 0.001) to monitor it."
            )
    # Offline preference trainers never generate; online DPO does and should log a length.
    if c.family == "pref" and not c.has("length_mean") and c.info.trainer == "online_dpo":
        missing.append("generation length")
        advice.append(
            "Preference training on fixed pairs logs no generation length: sample completions "
            "periodically (a callback) if verbosity matters."
        )
    if not c.has("eval_loss") and c.max_steps and not c.before(0.5):
        missing.append("eval split")
        advice.append(
            "Log an eval split (eval_strategy='steps' with an eval dataset) to see train/eval divergence."
        )
    if not missing:
        return None
    action = "Not logged: {missing}. " + " ".join(advice)
    return Finding(INFO, {"missing": ", ".join(missing)}, action=action)
