"""What the policy generates: completion length and token entropy (RL-04, RL-08..11).

Length is logged only by trainers that sample completions (GRPO, RLOO, PPO, verl); truncation
(``completions/clipped_ratio``) is the share that hit ``max_completion_length``. Entropy is the
mean token entropy in nats; TRL logs it for SFT and DPO as well (the model's entropy on the data).
"""

from __future__ import annotations

from rltui.model.instruments.base import (
    PREFERENCE_TRAINERS,
    Ctx,
    Draft,
    baseline,
    config_number,
    fmt,
    missing,
    pct,
    trainer_name,
)
from rltui.model.snapshot import InstrumentReading


def _length_missing(ctx: Ctx) -> str:
    trainer = ctx.info.trainer
    if trainer in PREFERENCE_TRAINERS:
        return f"{trainer_name(ctx.info)} logs no generation length: completions are not sampled"
    if trainer == "sft":
        return "SFT logs no generation length: it does not sample completions"
    if trainer == "reward":
        return "reward modelling logs no generation length: nothing is generated"
    return "no completion length logged"


def length(ctx: Ctx) -> InstrumentReading:
    iid, title = "length", "Generation length"
    found = ctx.role("length_mean")
    if found is None:
        yet = "no completion length logged yet at this step"
        return missing(ctx, iid, title, ("length_mean",), yet=yet, reason=_length_missing(ctx))
    d = Draft.of(ctx, found)
    d.headline("len", "tok")
    value = d.g.value
    start = baseline(d.view.values)
    if start and len(d.view) > 10 and value is not None:
        d.parts.append(f"{value / start:.2f}× start {fmt(start)}")
    trunc = d.add("truncation")
    if trunc is not None and trunc.last is not None:
        d.parts.append(f"truncated {pct(trunc.last)}")
    for role in ("terminated_length_mean", "length_max", "length_min"):
        d.add(role)
    cap = config_number(ctx.info, "max_completion_length")
    thresholds: dict[str, float] = {}
    if cap:
        thresholds["max_completion_length"] = cap
        d.parts.append(f"cap {fmt(cap)}")
    warn, crit = (ctx.threshold("length_growth", f"{lv}_ratio") for lv in ("warn", "critical"))
    if start:
        thresholds["warn"] = warn * start
        thresholds["critical"] = crit * start
    hint = f"warn at {fmt(warn)}× start, critical at {fmt(crit)}×"
    return d.finish(iid, title, unit="tokens", thresholds=thresholds, hint=hint)


def entropy(ctx: Ctx) -> InstrumentReading:
    iid, title = "entropy", "Entropy"
    found = ctx.role("entropy")
    if found is None:
        reason = "no token entropy logged (older TRL versions do not log it)"
        return missing(ctx, iid, title, ("entropy",), yet="no entropy logged yet at this step", reason=reason)
    d = Draft.of(ctx, found)
    d.headline("entropy", "nats", accelerating=False)
    value = d.g.value
    start = baseline(d.view.values)
    thresholds: dict[str, float] = {}
    if start and start > 0 and len(d.view) > 10 and value is not None:
        d.parts.append(f"{pct(value / start)} of start {fmt(start)}")
        if ctx.info.trainer not in PREFERENCE_TRAINERS and ctx.info.trainer != "sft":
            # Collapse levels (RL-04) only mean something for a policy that explores.
            warn = ctx.threshold("entropy_collapse", "warn_fraction")
            crit = ctx.threshold("entropy_collapse", "critical_fraction")
            thresholds = {"warn": warn * start, "critical": crit * start}
    hint = (
        f"collapse: warn < {pct(thresholds['warn'] / start)} of start, critical < "
        f"{pct(thresholds['critical'] / start)}"
        if thresholds and start
        else ""
    )
    return d.finish(iid, title, unit="nats", thresholds=thresholds, hint=hint)
