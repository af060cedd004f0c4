"""PPO's value function: value loss, value clip fraction, explained variance (PPO-04).

Only PPO-style trainers train a critic; GRPO and RLOO replace it with group or leave-one-out
baselines, so for them the gauge is unavailable with that reason rather than silently empty.
"""

from __future__ import annotations

from rltui.model.instruments.base import Ctx, Draft, fmt, missing, trainer_name
from rltui.model.snapshot import InstrumentReading

IID, TITLE = "value", "Value function"


def _missing_reason(ctx: Ctx) -> str:
    trainer = ctx.info.trainer
    if trainer in ("grpo", "rloo"):
        return f"{trainer_name(ctx.info)} has no value function (group baselines replace the critic)"
    if trainer not in ("ppo", "unknown"):
        return f"{trainer_name(ctx.info)} has no value function (only PPO trains a critic)"
    return "no value-function metrics logged"


def value(ctx: Ctx) -> InstrumentReading:
    found = ctx.role("value_loss") or ctx.role("explained_variance")
    if found is None:
        roles = ("value_loss", "explained_variance")
        yet = "no value-function metrics logged yet at this step"
        return missing(ctx, IID, TITLE, roles, yet=yet, reason=_missing_reason(ctx))
    d = Draft.of(ctx, found)
    key = d.key
    label = (
        "value loss" if key.name in ("loss/value_avg", "critic/vf_loss", "critic_loss") else "explained var"
    )
    d.headline(label, accelerating=False)
    for role, text in (("value_clip_fraction", "v-clip"), ("explained_variance", "explained var")):
        other = ctx.role_view(role)
        if other is not None and other.name != key.name:
            d.show(other)
            d.parts.append(f"{text} {fmt(other.last)}")
    return d.finish(IID, TITLE, hint="watch for spikes and NaN; value clip > 0.5 is info")
