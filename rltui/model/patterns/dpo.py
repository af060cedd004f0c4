"""Preference-optimisation rules (patterns.md §4.3): DPO and its family, where the keys exist."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial

import numpy as np

from rltui.model.patterns.context import Ctx, L, finite
from rltui.model.patterns.spec import (
    CRITICAL,
    INFO,
    PREFERENCE,
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
#: Every rule here is for the preference family.
preference_rule = partial(rule, RULES, families=PREFERENCE)

LN2 = math.log(2.0)


def beta(c: Ctx) -> float:
    b = c.config("beta")
    return b if b and b > 0 else 0.1


def _sigmoid_loss(c: Ctx) -> bool:
    lt = c.info.config.get("loss_type", "sigmoid")
    if isinstance(lt, list):
        return lt == ["sigmoid"]
    return lt in (None, "sigmoid")


def _train_acc(c: Ctx) -> float:
    return c.med("accuracy")


@preference_rule(
    id="stuck_at_ln2",
    code="DPO-01",
    severities=("warn", "critical"),
    title="DPO stuck at ln 2",
    instrument="loss",
    primary="loss",
    roles=("loss", "margin", "accuracy"),
    thresholds={
        "band": th(0.02, "[PROP]", "med_W(loss) within ln 2 +- band"),
        "margin": th(0.05, "[PROP]", "... and med_W(|margin|) below this"),
        "accuracy": th(0.6, "[PROP]", "... and med_W(accuracy) below this"),
        "warn_after": th(0.1, "[PROP]", "warn after this fraction of the run (or 30 points)"),
        "critical_after": th(0.3, "[S1]", "critical if still true at this fraction (S1: 'high')"),
    },
    logic=(
        "Sigmoid loss: med_W(loss) in [ln2 - band, ln2 + band] and med_W(|margins|) < margin and "
        "med_W(accuracies) < accuracy after warn_after of the run is warn, after critical_after critical. "
        "Other loss types: the loss stays within band of its first value."
    ),
    cause=(
        "LR too low, or a data problem: chosen and rejected identical after max_length truncation, or the "
        "policy is not updating."
    ),
    action=(
        "DPO loss is still ~{loss} after {points} steps: the policy has barely left the reference. Check "
        "the LR (TRL default 1e-6), that chosen and rejected still differ after truncation (max_length), "
        "and that gradients reach the trainable weights."
    ),
    source="[S1]; numbers [PROP].",
)
def stuck_at_ln2(c: Ctx, t: T) -> Finding | None:
    if not c.past(t["warn_after"], 30):
        return None
    m = c.med()
    centre = LN2 if _sigmoid_loss(c) else float(c.v("@")[0])
    if not abs(m - centre) <= t["band"]:
        return None
    marg = finite(np.abs(c.v("margin")[-20:])) if c.has("margin") else np.empty(0)
    if len(marg) and float(np.median(marg)) >= t["margin"]:
        return None
    if c.has("accuracy") and not _train_acc(c) < t["accuracy"]:
        return None
    level = CRITICAL if c.past(t["critical_after"], 90) else WARN
    return hit(level, loss=m, points=c.n())


@preference_rule(
    id="policy_equals_reference",
    code="DPO-02",
    severities=("info", "critical"),
    title="Policy identical to the reference",
    instrument="reward",
    primary="loss",
    roles=("loss", "margin", "accuracy"),
    logic=(
        "loss = 0.6931 +- 5e-4 and |margins| < 1e-6 and accuracies == 0 exactly: info before t0 (normal at "
        "the first step), critical after t0 when it held for the last 3 points."
    ),
    cause=(
        "The policy mirrors the reference ([S2] saw loss 0.693, accuracy 0, margin 0 at step 20). Accuracy "
        "is 0, not 0.5, because TRL scores ties as wrong."
    ),
    action=(
        "Policy and reference give identical log-probs at step {step}: nothing is training. Check that the "
        "adapter or weights are trainable, that ref_model is a separate copy, and that the LR is non-zero."
    ),
    source="[S2]; [TRL] strict '>' in rewards/accuracies.",
    instant=("info", "critical"),
)
def policy_equals_reference(c: Ctx, t: T) -> Finding | None:
    if not (c.has("margin") and c.has("accuracy")):
        return None
    lo, mg, ac = c.v("@")[-3:], c.v("margin")[-3:], c.v("accuracy")[-3:]
    tie = (np.abs(lo - 0.6931) <= 5e-4) & (np.abs(mg[-len(lo) :]) < 1e-6) & (ac[-len(lo) :] == 0.0)
    if not bool(tie[-1]):
        return None
    if c.after_t0() and len(tie) == 3 and bool(np.all(tie)):
        return hit(CRITICAL, loss=float(lo[-1]), margin=float(mg[-1]), accuracy=0.0)
    return hit(INFO, loss=float(lo[-1]), margin=float(mg[-1]), accuracy=0.0) if not c.after_t0() else None


@preference_rule(
    id="margin_runaway",
    code="DPO-04",
    severities=("info", "warn", "critical"),
    title="Reward margin runaway (memorising pairs)",
    instrument="reward",
    primary="margin",
    roles=("margin", "accuracy", "loss", "eval_accuracy"),
    thresholds={
        "info_margin": th(10, "[S2]", "info: med_W(margins) above this ('a healthy margin is 1-10')"),
        "warn_margin": th(20, "[PROP]", "warn: med_W(margins) above this"),
        "critical_margin": th(
            50, "[PROP]", "critical: med_W(margins) above this (S2 was at 56.9 by step 30)"
        ),
        "warn_loss": th(0.05, "[S1]", "warn: med_W(loss) below this ..."),
        "warn_accuracy": th(0.98, "[S1]", "... with med_W(accuracy) at least this"),
        "trend_accuracy": th(0.95, "[PROP]", "warn: margin trend up and accelerating with accuracy >= this"),
        "eval_gap": th(0.15, "[PROP]", "critical: eval accuracy <= train accuracy - this"),
        "critical_loss": th(
            1e-3,
            "[PROP]",
            "critical: med_W(loss) below this with accuracy >= warn_accuracy: the sigmoid is saturated "
            "(every pair has beta*gap > 6.9), gradients vanish and further steps only waste compute",
        ),
    },
    logic=(
        "Sustained. info: med_W(margins) > info_margin. warn: (med_W(loss) < warn_loss and med_W(accuracy) "
        ">= warn_accuracy) or med_W(margins) > warn_margin or (margin rising and accelerating over L with "
        "accuracy >= trend_accuracy). critical: med_W(margins) > critical_margin, or eval accuracy <= train "
        "accuracy - eval_gap, or med_W(loss) < critical_loss with accuracy >= warn_accuracy (saturated). "
        "margin / beta is the log-ratio gap in nats."
    ),
    cause=(
        "DPO is memorising the preference pairs: batch size 1 ([S2]'s root cause), LR too high, too many "
        "epochs, beta too low, easy or duplicated pairs. With near-deterministic preferences the logit link "
        "pushes pi(y_l) to 0 and makes the beta-KL regularisation ineffective (Azar et al. 2023)."
    ),
    action=(
        "Margin {margin} (~{nats} nats) with train accuracy {accuracy} and loss {loss}: DPO is memorising "
        "the preference pairs. Raise the batch size or gradient accumulation, lower the LR or the number of "
        "epochs, raise beta, or try loss_type='ipo' or label_smoothing (robust DPO). Choose the checkpoint "
        "by eval margin and accuracy."
    ),
    source="[S2] (1-10 healthy, 599 at step 150); [S1] loss ~0 = overfitting; 20 and 50 [PROP].",
    gauge=True,
    from_first=("warn", "critical"),
)
def margin_runaway(c: Ctx, t: T) -> Finding | None:
    # Levels on the value now (from the first points): margin 23 with accuracy 1.0 is not "OK".
    m = c.lvl()
    acc = c.lvl("accuracy") if c.has("accuracy") else math.nan
    loss = c.lvl("loss") if c.has("loss") else math.nan
    level = 0
    if m > t["info_margin"]:
        level = INFO
    tr = c.trend("@", 20, 50)
    if (
        m > t["warn_margin"]
        or (loss < t["warn_loss"] and acc >= t["warn_accuracy"])
        or (tr.direction == "rising" and tr.accelerating and acc >= t["trend_accuracy"] and c.n() >= 50)
    ):
        level = WARN
    eval_acc = c.last("eval_accuracy") if c.has("eval_accuracy") else math.nan
    saturated = loss < t["critical_loss"] and acc >= t["warn_accuracy"] and m > t["info_margin"]
    if m > t["critical_margin"] or eval_acc <= acc - t["eval_gap"] or saturated:
        level = CRITICAL
    if not level:
        return None
    return hit(
        level,
        margin=m,
        nats=m / beta(c),
        accuracy=acc,
        loss=loss,
        condition=_runaway_condition(m, acc, loss, eval_acc, t),
    )


def _runaway_condition(m: float, acc: float, loss: float, eval_acc: float, t: T) -> str:
    """Which of margin_runaway's conditions holds, in words (the strongest first)."""
    if m > t["critical_margin"]:
        return f"margin above {t['critical_margin']:g}"
    if loss < t["critical_loss"] and acc >= t["warn_accuracy"] and m > t["info_margin"]:
        saturated = f"loss below {t['critical_loss']:g} with accuracy >= {t['warn_accuracy']:g}"
        return saturated + ": the sigmoid is saturated"
    if eval_acc <= acc - t["eval_gap"]:
        return f"eval accuracy {eval_acc:.3g} is {acc - eval_acc:.2g} below train accuracy {acc:.3g}"
    if m > t["warn_margin"]:
        return f"margin above {t['warn_margin']:g}"
    if loss < t["warn_loss"] and acc >= t["warn_accuracy"]:
        return f"loss below {t['warn_loss']:g} with accuracy >= {t['warn_accuracy']:g}"
    if m > t["info_margin"]:
        return f"margin above {t['info_margin']:g}"
    return f"margin rising and accelerating with accuracy >= {t['trend_accuracy']:g}"


@preference_rule(
    id="margin_negative",
    code="DPO-05",
    severities=("warn", "critical"),
    title="Negative reward margin",
    instrument="reward",
    primary="margin",
    roles=("margin", "accuracy"),
    thresholds={"critical_accuracy": th(0.4, "[PROP]", "critical when med_W(accuracy) is also below this")},
    logic=(
        "After t0: med_W(margins) < 0, sustained, is warn; with med_W(accuracies) < critical_accuracy, "
        "critical."
    ),
    cause=(
        "The model prefers the rejected responses; with accuracy < 0.4, labels are probably inverted "
        "(chosen and rejected columns swapped, or a reversed scoring convention)."
    ),
    action=(
        "Reward margin is negative ({margin}): the model prefers the *rejected* responses. Check that the "
        "chosen and rejected columns aren't swapped and that the dataset labels mean what you think."
    ),
    source="[S1] red flag; the accuracy case [PROP].",
)
def margin_negative(c: Ctx, t: T) -> Finding | None:
    if not c.after_t0():
        return None
    m = c.med()
    if not m < 0:
        return None
    acc = _train_acc(c) if c.has("accuracy") else math.nan
    return hit(CRITICAL if acc < t["critical_accuracy"] else WARN, margin=m, accuracy=acc)


@preference_rule(
    id="margin_oscillating",
    code="DPO-06",
    severities=("warn",),
    title="Margin oscillates around 0",
    instrument="reward",
    primary="margin",
    thresholds={
        "flip_share": th(0.4, "[PROP]", "share of consecutive pairs in W whose sign flips"),
        "after": th(0.1, "[PROP]", "only after this fraction of the run (or 30 points)"),
    },
    logic=(
        "After 10% of the run: the sign of margins flips on >= flip_share of consecutive pairs in W and "
        "|med_W(margins)| < sigma_hat_W, sustained."
    ),
    cause="No consistent preference is learned: LR too high for beta, or noisy or contradictory labels.",
    action=(
        "Margin hovers around 0 ({margin}) and keeps flipping sign: no consistent preference is being "
        "learned. Lower the LR and check label quality."
    ),
    source="[S1] 'margin oscillating near 0'; numbers [PROP].",
)
def margin_oscillating(c: Ctx, t: T) -> Finding | None:
    w = c.win()
    if not c.past(t["after"], 30) or len(w) < 10:
        return None
    s = np.sign(w)
    share = float(np.count_nonzero(s[1:] != s[:-1])) / (len(w) - 1)
    m = c.med()
    if share >= t["flip_share"] and abs(m) < c.sig():
        return hit(WARN, margin=m, flip_share=share)
    return None


@preference_rule(
    id="accuracy_at_chance",
    code="DPO-07",
    severities=("warn",),
    title="Preference accuracy at chance",
    instrument="reward",
    primary="accuracy",
    thresholds={
        "min_points": th(20, "[PROP]", "judge only with a full window W of accuracy points"),
        "low": th(0.45, "[PROP]", "med_W(accuracy) at least this ..."),
        "high": th(0.58, "[PROP]", "... and at most this"),
        "after": th(0.15, "[PROP]", "only after this fraction of the run (or 40 points)"),
    },
    logic="After 15% of the run: med_W(accuracies) in [low, high] and the trend is not up, sustained.",
    cause="LR too low, noisy labels, pairs too similar, or the distinguishing tail truncated away.",
    action=(
        "Preference accuracy is at chance ({accuracy}) after {points} steps. Check the LR and the data (are "
        "chosen and rejected really different? does truncation cut the difference?)."
    ),
    source="[S1] 'accuracy stuck near 0.5'; numbers [PROP].",
)
def accuracy_at_chance(c: Ctx, t: T) -> Finding | None:
    # A level judged over the window W needs the window: with fewer points the trend is noise.
    if not c.past(t["after"], 40) or c.n() < t["min_points"]:
        return None
    a = c.med()
    if t["low"] <= a <= t["high"] and c.direction() != "rising":
        return hit(WARN, accuracy=a, points=c.n())
    return None


@preference_rule(
    id="margin_plateau_early",
    code="DPO-08",
    severities=("warn",),
    title="Margin plateaued early",
    instrument="reward",
    primary="margin",
    roles=("margin", "accuracy"),
    thresholds={
        "margin": th(1.0, "[PROP]", "med_L(margins) below this ..."),
        "accuracy": th(0.7, "[PROP]", "... and accuracy below this"),
        "before": th(0.5, "[PROP]", "only before this fraction of the run"),
        "min_points": th(
            30,
            "[PROP]",
            "points after t0 needed to judge the trend over them (up to L): a full L of 50 would need 55 "
            "points before half the run, which a run of 100 logged points never has",
        ),
    },
    logic=(
        "Before half the run, with at least min_points points after t0: the margin trend over the points "
        "since t0 (at most L) is flat, their median < margin and med_W(accuracy) < accuracy, sustained."
    ),
    cause=(
        "LR too low, or the signal in the dataset is exhausted ('people overestimate how much signal is in "
        "a preference dataset')."
    ),
    action=(
        "Margin flattened at {margin} with accuracy {accuracy} before half the run. Raise the LR or check "
        "the data's preference signal."
    ),
    source="[S3]; numbers [PROP].",
)
def margin_plateau_early(c: Ctx, t: T) -> Finding | None:
    if c.n() < c.t0() + t["min_points"] or not c.before(t["before"]):
        return None
    # Over the points since t0, at most L: the warm-up's first rise is not read as a trend.
    k = min(L, c.n() - c.t0())
    m = c.med("@", k)
    acc = _train_acc(c) if c.has("accuracy") else math.nan
    if c.direction("@", k) == "flat" and m < t["margin"] and acc < t["accuracy"]:
        return hit(WARN, margin=m, accuracy=acc)
    return None


@preference_rule(
    id="likelihood_displacement",
    code="DPO-09",
    severities=("info", "warn", "critical"),
    title="Chosen likelihood falling (likelihood displacement)",
    instrument="reward",
    primary="chosen",
    roles=("chosen", "rejected", "margin", "eval_accuracy"),
    thresholds={
        "min_points": th(20, "[PROP]", "the flat-margin branch needs a full window W to call a trend"),
        "warn_nats": th(-5, "[PROP]", "warn: med_W(rewards/chosen) / beta below this (nats) and falling"),
        "critical_nats": th(-20, "[PROP]", "critical: med_W(rewards/chosen) / beta below this (nats)"),
        "flat_margin_nats": th(
            -1, "[PROP]", "warn for 'chosen falling, margin flat' only below this (calibrated)"
        ),
    },
    logic=(
        "After t0, sustained. info: med_W(chosen) < 0, chosen falling, rejected falling faster. warn: "
        "med_W(chosen)/beta < warn_nats and falling, or chosen falling while the margin is flat or falling. "
        "critical: med_W(chosen)/beta < critical_nats."
    ),
    cause=(
        "DPO optimises only the relative likelihood, so it can lower the likelihood of the preferred "
        "answers (Pal et al. 2024; Razin et al. 2024: similar pair embeddings; Rafailov et al. 2024: "
        "expected behaviour)."
    ),
    action=(
        "Chosen likelihood is falling ({nats} nats vs the reference): likelihood displacement. If "
        "generation quality matters, add an NLL term on chosen (TRL: loss_type=['sigmoid','sft'], "
        "loss_weights=[1.0, 1.0], as in Iterative RPO), or a DPOP-style penalty; filter near-duplicate "
        "pairs; lower the LR or raise beta."
    ),
    source=(
        "[S1] 'chosen reward decreasing'; [LIT: Smaug/DPOP, Razin et al., Pang et al.]; -5/-20 nats [PROP]."
    ),
)
def likelihood_displacement(c: Ctx, t: T) -> Finding | None:
    if not c.after_t0():
        return None
    m = c.med()
    nats = m / beta(c)
    tr = c.trend()
    falling = tr.direction == "falling"
    level = 0
    if nats < t["critical_nats"]:
        level = CRITICAL
    elif (nats < t["warn_nats"] and falling) or (
        falling
        and c.n() >= t["min_points"]
        and nats < t["flat_margin_nats"]
        and c.has("margin")
        and c.direction("margin") in ("flat", "falling")
        and c.direction("margin", 50) != "rising"  # a margin still growing over L: the usual DPO drift
    ):
        level = WARN
    elif m < 0 and falling and c.has("rejected") and c.trend("rejected").slope < tr.slope < 0:
        level = INFO
    return hit(level, nats=nats, chosen=m) if level else None


@preference_rule(
    id="rejected_rising",
    code="DPO-10",
    severities=("info", "warn"),
    title="Rejected responses getting more likely",
    instrument="reward",
    primary="rejected",
    roles=("rejected", "chosen", "margin"),
    logic=(
        "After t0: med_W(rewards/rejected) > 0 and rejected rising, sustained, is warn; if chosen rises as "
        "fast and the margin is flat, info (the model absorbs the dataset's style, not the preference)."
    ),
    cause=(
        "Label direction or quality, or a LR that is too high; both rising means off-policy style absorption."
    ),
    action=(
        "The model is getting *more* likely to produce the rejected answers (rewards/rejected {rejected}). "
        "Check label direction and quality; lower the LR."
    ),
    source="[S1] 'rejected increasing'; the both-rising case [PROP].",
)
def rejected_rising(c: Ctx, t: T) -> Finding | None:
    if not c.after_t0():
        return None
    m, tr = c.med(), c.trend()
    if not (m > 0 and tr.direction == "rising"):
        return None
    if c.has("chosen") and c.trend("chosen").slope >= tr.slope and c.direction("margin") == "flat":
        return hit(INFO, rejected=m)
    return hit(WARN, rejected=m)


@preference_rule(
    id="margin_collapsing",
    code="DPO-11",
    severities=("warn",),
    title="Margin collapsing from its peak",
    instrument="reward",
    primary="margin",
    thresholds={
        "drop": th(0.3, "[PROP]", "med_W(margins) fell more than this fraction below its running maximum"),
        "min_peak": th(0.5, "[PROP]", "only once the running maximum of med_W exceeded this"),
    },
    logic=(
        "After t0: med_W(margins) < (1 - drop) x the running max of med_W (once that max > min_peak) and "
        "the margin is falling, sustained."
    ),
    cause="The rewards are converging: forgetting, or LR too high.",
    action=(
        "Margin fell to {margin} from a peak of {peak}: the learned preference is being lost. Lower the LR; "
        "check for forgetting."
    ),
    source="[S3] 'rewards converging'; numbers [PROP].",
)
def margin_collapsing(c: Ctx, t: T) -> Finding | None:
    if not c.after_t0() or c.n() < 10:
        return None
    m = c.med()
    peak = max(c.state.get("peak", -math.inf), m)
    c.state["peak"] = peak
    if peak > t["min_peak"] and m < (1 - t["drop"]) * peak and c.direction() == "falling":
        return hit(WARN, margin=m, peak=peak)
    return None


@preference_rule(
    id="preference_overfit",
    code="DPO-12",
    severities=("warn",),
    title="Preference overfitting (eval below train)",
    instrument="convergence",
    primary="eval_accuracy",
    roles=("eval_accuracy", "accuracy"),
    thresholds={
        "gap": th(0.15, "[PROP]", "eval accuracy at or below train accuracy minus this, gap widening")
    },
    logic=(
        "At each eval: eval accuracy <= med_W(train accuracy) - gap and the gap wider than at the previous "
        "eval."
    ),
    cause="DPO overfits fast (Zephyr); downstream quality may hold, hence warn, not critical.",
    action=(
        "Eval accuracy {eval_accuracy} vs train {accuracy}: the preference is overfitting. Pick the "
        "checkpoint by eval accuracy; fewer epochs, more data or a higher beta."
    ),
    source="[LIT: Zephyr, Tunstall et al. 2023]; thresholds [PROP].",
    instant=("warn",),
)
def preference_overfit(c: Ctx, t: T) -> Finding | None:
    if not c.has("accuracy"):
        return None
    e, a = c.last(), c.med("accuracy")
    gap = a - e
    prev = c.state.get("gap", math.nan)
    c.state["gap"] = gap
    return hit(WARN, eval_accuracy=e, accuracy=a, gap=gap) if gap >= t["gap"] and gap > prev else None


@preference_rule(
    id="length_exploitation",
    code="DPO-13",
    severities=("warn", "critical"),
    title="DPO length exploitation",
    instrument="length",
    primary="length_mean",
    thresholds={
        "warn_ratio": th(1.3, "[S3]", "warn: med_W(length) / baseline at least this"),
        "critical_ratio": th(2.0, "[S3]", "critical: at least this"),
    },
    logic=(
        "Only with a generation-length series (online DPO, custom eval generation): med_W(length) / B >= "
        "warn_ratio is warn, >= critical_ratio critical, sustained."
    ),
    cause=(
        "Preference data carries a mild length bias that DPO amplifies into far longer generations (Park, "
        "Rafailov, Ermon & Finn 2024)."
    ),
    action=(
        "Generations are {ratio}x longer than the baseline: DPO length exploitation. Try TRL ld_alpha=0.5 "
        "(LD-DPO), loss_type='sigmoid_norm' or R-DPO; balance lengths in the pairs; judge wins with length "
        "control."
    ),
    source="[S3] '> 30% change' and the 2.0 ratio; [LIT: Park et al. 2024].",
)
def length_exploitation(c: Ctx, t: T) -> Finding | None:
    b, r = c.base(), c.growth()
    level = level_above(r, {WARN: t["warn_ratio"], CRITICAL: t["critical_ratio"]}, inclusive=True)
    return hit(level, ratio=r, length=c.med(), baseline=b) if level else None
