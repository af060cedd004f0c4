"""SFT and optional-instrument rules (patterns.md §4.2)."""

from __future__ import annotations

from collections.abc import Mapping

from rltui.model.patterns.context import Ctx
from rltui.model.patterns.spec import ANY, INFO, SUPERVISED, WARN, Finding, RuleSpec, hit, rule, th

RULES: list[RuleSpec] = []
T = Mapping[str, float]


@rule(
    RULES,
    id="memorisation",
    code="SFT-01",
    severities=("warn",),
    title="SFT memorisation",
    instrument="convergence",
    primary="token_accuracy",
    roles=("token_accuracy", "loss", "eval_loss"),
    families=SUPERVISED,
    thresholds={
        "accuracy": th(0.98, "[PROP]", "med_W(mean_token_accuracy) above this ..."),
        "loss_fraction": th(0.1, "[PROP]", "... and med_W(loss) below this x B(loss), or eval loss rising"),
    },
    logic=(
        "med_W(mean_token_accuracy) > accuracy and (med_W(loss) < loss_fraction x B(loss), or the last two "
        "evals rose), sustained."
    ),
    cause="The training data is being regurgitated.",
    action=(
        "Token accuracy {accuracy} with falling train loss: the model is memorising. Stop earlier, use "
        "fewer epochs or more data, or a smaller LoRA rank."
    ),
    source="[CvC-I] #5, #8; thresholds [PROP].",
)
def memorisation(c: Ctx, t: T) -> Finding | None:
    a = c.med()
    if not a > t["accuracy"]:
        return None
    ev = c.v("eval_loss")
    eval_up = len(ev) >= 3 and ev[-1] > ev[-2] > ev[-3]
    low = c.med("loss") < t["loss_fraction"] * c.base("loss")
    return hit(WARN, accuracy=a, loss=c.med("loss")) if eval_up or low else None


@rule(
    RULES,
    id="attention_entropy",
    code="SFT-02",
    severities=("info", "warn"),
    title="Attention entropy collapse or uniformity",
    instrument="attention",
    primary="attention_entropy",
    roles=("attention_entropy", "attention_entropy_var"),
    families=ANY,
    thresholds={
        "collapse": th(1.0, "[CvC-I]", "warn: falling and below this (nats; illustrative 'danger zone')"),
        "uniform": th(5.0, "[CvC-I]", "warn: rising and above this (nats; 'approaching uniform')"),
        "phase_rz": th(5.0, "[PROP]", "info: |rz| above this is a phase change"),
        "precursor_rz": th(4.0, "[CvC-I]", "info: entropy-variance rz above this precedes collapse"),
    },
    logic=(
        "Falling and < collapse: warn. Rising and > uniform: warn. |rz| > phase_rz or entropy_variance rz > "
        "precursor_rz: info."
    ),
    cause=(
        "Attention sinks or degenerate patterns (collapse); attention going uniform (positional encoding "
        "broken)."
    ),
    action="Attention entropy {entropy} nats: {what}. Inspect attention maps; check positional encoding.",
    source="[CvC-I] #4 (figure thresholds illustrative).",
)
def attention_entropy(c: Ctx, t: T) -> Finding | None:
    m, d = c.med(), c.direction()
    if d == "falling" and m < t["collapse"]:
        return hit(WARN, entropy=m, what="collapsing towards single tokens")
    if d == "rising" and m > t["uniform"]:
        return hit(WARN, entropy=m, what="approaching uniform")
    if abs(c.rz()) > t["phase_rz"] or (
        c.has("attention_entropy_var") and c.rz("attention_entropy_var") > t["precursor_rz"]
    ):
        return hit(INFO, entropy=m, what="a sudden change (phase transition)")
    return None


@rule(
    RULES,
    id="lora_health",
    code="SFT-03",
    severities=("info", "warn"),
    title="LoRA adapter norms",
    instrument="lora",
    primary="lora_norm",
    roles=("lora_norm", "lora_norm_var"),
    families=ANY,
    thresholds={"var_rz": th(4.0, "[PROP]", "info: lora/norm_variance rz above this")},
    logic="lora/mean_norm rising and accelerating over L: warn. lora/norm_variance rz > var_rz: info.",
    cause="LR too high, or a rank/task mismatch.",
    action="LoRA norms {what} (mean norm {norm}). Lower the LR or revisit the rank.",
    source="[CvC-I] #6; numbers [PROP].",
)
def lora_health(c: Ctx, t: T) -> Finding | None:
    tr = c.trend()
    if tr.direction == "rising" and tr.accelerating:
        return hit(WARN, norm=c.med(), what="are growing faster and faster")
    if c.has("lora_norm_var") and c.rz("lora_norm_var") > t["var_rz"]:
        return hit(INFO, norm=c.med(), what="vary sharply across layers")
    return None
