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
    Draft,
    config_number,
    fmt,
    median_tail,
    missing,
    pct,
    trainer_name,
)
from rltui.model.snapshot import InstrumentReading

IID, TITLE = "reward", "Reward"


def margin_thresholds(ctx: Ctx) -> dict[str, float]:
    """margin_runaway's levels (patterns.md DPO-04), as configured."""
    return {lv: ctx.threshold("margin_runaway", f"{lv}_margin") for lv in ("info", "warn", "critical")}


def _preference(ctx: Ctx) -> InstrumentReading | None:
    found = ctx.role("margin")
    if found is None:
        return None
    d = Draft.of(ctx, found)
    value, beta = d.g.value, config_number(ctx.info, "beta")
    in_nats = ""
    if beta and beta > 0 and value is not None and math.isfinite(value):
        in_nats = f"(log-ratio gap {fmt(value / beta)} nats at β {fmt(beta)})"
    d.headline("margin", in_nats)
    acc = d.add("accuracy")
    if acc is not None and acc.last is not None:
        d.parts.append(f"acc {acc.last:.2f}")
    chosen, rejected = ctx.role_view("chosen"), ctx.role_view("rejected")
    if chosen is not None and rejected is not None:
        d.show(chosen)
        d.show(rejected)
        d.parts.append(f"chosen {fmt(chosen.last)} / rejected {fmt(rejected.last)}")
    for role in ("eval_margin", "eval_accuracy"):
        d.add(role)
    return d.finish(
        IID,
        "Preference margin",
        thresholds=(th := margin_thresholds(ctx)),
        hint=f"healthy 1–{fmt(th['info'])}; warn > {fmt(th['warn'])}, critical > {fmt(th['critical'])}",
    )


def _online(ctx: Ctx) -> InstrumentReading | None:
    found = ctx.role("reward")
    if found is None:
        return None
    d = Draft.of(ctx, found)
    d.headline("reward")
    d.add("reward_std", "std")
    zero = d.add("frac_reward_zero_std")
    if zero is not None:
        med = median_tail(zero.values)
        if med is not None:
            d.parts.append(f"{pct(med)} groups without signal")
    for name in reward_components(ctx.available):
        comp = ctx.view(name)
        if comp is not None:
            d.show(comp)
    return d.finish(IID, TITLE, hint="never trust the reward alone: check KL and length")


def _reward_model(ctx: Ctx) -> InstrumentReading | None:
    found = ctx.role("accuracy")
    if found is None:
        return None
    d = Draft.of(ctx, found)
    d.headline("accuracy", accelerating=False)
    d.add("reward_model_margin", "margin")
    return d.finish(IID, TITLE)


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
    roles = ("margin", "reward", "accuracy")
    return missing(
        ctx, IID, TITLE, roles, yet="no reward logged yet at this step", reason=_missing_reason(ctx)
    )


def _missing_reason(ctx: Ctx) -> str:
    trainer = ctx.info.trainer
    if trainer == "sft":
        return "SFT has no reward: it imitates demonstrations (watch loss and token accuracy)"
    if trainer in PREFERENCE_TRAINERS:
        return f"{trainer_name(ctx.info)} run logs no rewards/margins"
    return "no reward or preference margin logged"
