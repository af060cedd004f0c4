"""What the policy generates: completion length and token entropy (RL-04, RL-08..11).

Length is logged only by trainers that sample completions (GRPO, RLOO, PPO, verl); truncation
(``completions/clipped_ratio``) is the share that hit ``max_completion_length``. Entropy is the
mean token entropy in nats; TRL logs it for SFT and DPO as well (the model's entropy on the data).
"""

from __future__ import annotations

from rltui.model.instruments.base import (
    PREFERENCE_TRAINERS,
    Ctx,
    arrow,
    baseline,
    config_number,
    fmt,
    gauge_numbers,
    join,
    not_logged_yet,
    pct,
    reading,
    trace,
    trainer_name,
    unavailable,
)
from rltui.model.snapshot import InstrumentReading, Trace


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
        if not_logged_yet(ctx, "length_mean"):
            return unavailable(iid, title, "no completion length logged yet at this step")
        return unavailable(iid, title, _length_missing(ctx))
    key, view = found
    g = gauge_numbers(ctx, view)
    parts = [f"len {fmt(g.value)} tok {arrow(g.trend, g.accelerating)}".rstrip()]
    start = baseline(view.values)
    if start and len(view) > 10 and g.value is not None:
        parts.append(f"{g.value / start:.2f}× start {fmt(start)}")
    traces: list[Trace] = [trace(view)]
    trunc = ctx.role_view("truncation")
    if trunc is not None:
        traces.append(trace(trunc))
        if trunc.last is not None:
            parts.append(f"truncated {pct(trunc.last)}")
    for role in ("terminated_length_mean", "length_max", "length_min"):
        other = ctx.role_view(role)
        if other is not None:
            traces.append(trace(other))
    cap = config_number(ctx.info, "max_completion_length")
    thresholds: dict[str, float] = {}
    hint = "warn at 1.3× start, critical at 2×"
    if cap:
        thresholds["max_completion_length"] = cap
        parts.append(f"cap {fmt(cap)}")
    if start:
        thresholds["warn"] = 1.3 * start
        thresholds["critical"] = 2.0 * start
    return reading(
        iid,
        title,
        g,
        primary=key.name,
        summary=join(*parts),
        traces=tuple(traces),
        unit="tokens",
        thresholds=thresholds,
        hint=hint,
    )


def entropy(ctx: Ctx) -> InstrumentReading:
    iid, title = "entropy", "Entropy"
    found = ctx.role("entropy")
    if found is None:
        if not_logged_yet(ctx, "entropy"):
            return unavailable(iid, title, "no entropy logged yet at this step")
        return unavailable(iid, title, "no token entropy logged (older TRL versions do not log it)")
    key, view = found
    g = gauge_numbers(ctx, view)
    parts = [f"entropy {fmt(g.value)} nats {arrow(g.trend)}".rstrip()]
    start = baseline(view.values)
    thresholds: dict[str, float] = {}
    if start and start > 0 and len(view) > 10 and g.value is not None:
        parts.append(f"{pct(g.value / start)} of start {fmt(start)}")
        if ctx.info.trainer not in PREFERENCE_TRAINERS and ctx.info.trainer != "sft":
            # Collapse levels (RL-04) only mean something for a policy that explores.
            thresholds = {"warn": 0.25 * start, "critical": 0.1 * start}
    return reading(
        iid,
        title,
        g,
        primary=key.name,
        summary=join(*parts),
        traces=(trace(view),),
        unit="nats",
        thresholds=thresholds,
        hint="collapse: warn < 25% of start, critical < 10%" if thresholds else "",
    )
