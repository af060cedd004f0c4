"""Reward dynamics: the preference margin for DPO-style trainers, the reward for online RL.

DPO's ``rewards/margins`` is β·(summed log-ratio gap), so a margin of 10 at β = 0.1 is a 100-nat
gap between chosen and rejected; the gauge shows both (patterns.md DPO-04, [S2]: "a healthy margin
is 1–10"). Online trainers (GRPO, RLOO, PPO, verl, OpenRLHF) log a scalar reward; GRPO's group-level
learning signal is ``frac_reward_zero_std``, shown alongside.
"""

from __future__ import annotations

import math

from rltui.model.aliases import reward_components
from rltui.model.instruments.base import (
    PREFERENCE_TRAINERS,
    Ctx,
    arrow,
    config_number,
    fmt,
    gauge_numbers,
    join,
    median_tail,
    not_logged_yet,
    pct,
    reading,
    trace,
    trainer_name,
    unavailable,
)
from rltui.model.snapshot import InstrumentReading, Trace

IID, TITLE = "reward", "Reward"

#: patterns.md DPO-04: info > 10, warn > 20, critical > 50 (median of the margin over W).
MARGIN_THRESHOLDS = {"info": 10.0, "warn": 20.0, "critical": 50.0}


def _preference(ctx: Ctx) -> InstrumentReading | None:
    found = ctx.role("margin")
    if found is None:
        return None
    key, view = found
    g = gauge_numbers(ctx, view)
    beta = config_number(ctx.info, "beta")
    head = f"margin {fmt(g.value)}"
    if beta and beta > 0 and g.value is not None and math.isfinite(g.value):
        head += f" ({fmt(g.value / beta)} nats/β)"
    head += f" {arrow(g.trend, g.accelerating)}"
    parts = [head.rstrip()]
    traces: list[Trace] = [trace(view)]
    acc = ctx.role_view("accuracy")
    if acc is not None:
        traces.append(trace(acc))
        if acc.last is not None:
            parts.append(f"acc {acc.last:.2f}")
    chosen, rejected = ctx.role_view("chosen"), ctx.role_view("rejected")
    if chosen is not None and rejected is not None:
        traces += [trace(chosen), trace(rejected)]
        parts.append(f"chosen {fmt(chosen.last)} / rejected {fmt(rejected.last)}")
    for role in ("eval_margin", "eval_accuracy"):
        ev = ctx.role_view(role)
        if ev is not None:
            traces.append(trace(ev))
    return reading(
        IID,
        "Preference margin",
        g,
        primary=key.name,
        summary="; ".join(parts),
        traces=tuple(traces),
        thresholds=dict(MARGIN_THRESHOLDS),
        hint="healthy 1–10; warn > 20, critical > 50",
    )


def _online(ctx: Ctx) -> InstrumentReading | None:
    found = ctx.role("reward")
    if found is None:
        return None
    key, view = found
    g = gauge_numbers(ctx, view)
    parts = [f"reward {fmt(g.value)} {arrow(g.trend, g.accelerating)}".rstrip()]
    traces: list[Trace] = [trace(view)]
    std = ctx.role_view("reward_std")
    if std is not None:
        traces.append(trace(std))
        parts.append(f"std {fmt(std.last)}")
    zero = ctx.role_view("frac_reward_zero_std")
    if zero is not None:
        traces.append(trace(zero))
        med = median_tail(zero.values)
        if med is not None:
            parts.append(f"{pct(med)} groups without signal")
    for name in reward_components(ctx.available):
        comp = ctx.view(name)
        if comp is not None:
            traces.append(trace(comp))
    return reading(
        IID,
        TITLE,
        g,
        primary=key.name,
        summary=join(*parts),
        traces=tuple(traces),
        hint="never trust the reward alone: check KL and length",
    )


def _reward_model(ctx: Ctx) -> InstrumentReading | None:
    found = ctx.role("accuracy")
    if found is None:
        return None
    key, view = found
    g = gauge_numbers(ctx, view)
    parts = [f"accuracy {fmt(g.value)} {arrow(g.trend)}".rstrip()]
    traces: list[Trace] = [trace(view)]
    margin = ctx.role_view("reward_model_margin")
    if margin is not None:
        traces.append(trace(margin))
        parts.append(f"margin {fmt(margin.last)}")
    return reading(IID, TITLE, g, primary=key.name, summary=join(*parts), traces=tuple(traces))


def reward(ctx: Ctx) -> InstrumentReading:
    trainer = ctx.info.trainer
    if trainer == "reward":
        got = _reward_model(ctx)
    elif trainer in PREFERENCE_TRAINERS:
        got = _preference(ctx) or _online(ctx)
    else:
        got = _online(ctx) or _preference(ctx)
    if got is not None:
        return got
    if any(not_logged_yet(ctx, r) for r in ("margin", "reward", "accuracy")):
        return unavailable(IID, TITLE, "no reward logged yet at this step")
    if trainer == "sft":
        return unavailable(
            IID, TITLE, "SFT has no reward: it imitates demonstrations (watch loss and token accuracy)"
        )
    if trainer in PREFERENCE_TRAINERS:
        return unavailable(IID, TITLE, f"{trainer_name(ctx.info)} run logs no rewards/margins")
    return unavailable(IID, TITLE, "no reward or preference margin logged")
