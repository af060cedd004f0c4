"""PPO's value function: value loss, value clip fraction, explained variance (PPO-04).

Only PPO-style trainers train a critic; GRPO and RLOO replace it with group or leave-one-out
baselines, so for them the gauge is unavailable with that reason rather than silently empty.
"""

from __future__ import annotations

from rltui.model.instruments.base import (
    Ctx,
    arrow,
    fmt,
    gauge_numbers,
    join,
    not_logged_yet,
    reading,
    trace,
    trainer_name,
    unavailable,
)
from rltui.model.snapshot import InstrumentReading, Trace

IID, TITLE = "value", "Value function"


def value(ctx: Ctx) -> InstrumentReading:
    found = ctx.role("value_loss") or ctx.role("explained_variance")
    if found is None:
        if not_logged_yet(ctx, "value_loss") or not_logged_yet(ctx, "explained_variance"):
            return unavailable(IID, TITLE, "no value-function metrics logged yet at this step")
        trainer = ctx.info.trainer
        if trainer in ("grpo", "rloo"):
            reason = f"{trainer_name(ctx.info)} has no value function (group baselines replace the critic)"
        elif trainer not in ("ppo", "unknown"):
            reason = f"{trainer_name(ctx.info)} has no value function (only PPO trains a critic)"
        else:
            reason = "no value-function metrics logged"
        return unavailable(IID, TITLE, reason)
    key, view = found
    g = gauge_numbers(ctx, view)
    label = (
        "value loss" if key.name in ("loss/value_avg", "critic/vf_loss", "critic_loss") else "explained var"
    )
    parts = [f"{label} {fmt(g.value)} {arrow(g.trend)}".rstrip()]
    traces: list[Trace] = [trace(view)]
    for role, text in (("value_clip_fraction", "v-clip"), ("explained_variance", "explained var")):
        other = ctx.role_view(role)
        if other is not None and other.name != key.name:
            traces.append(trace(other))
            parts.append(f"{text} {fmt(other.last)}")
    return reading(
        IID,
        TITLE,
        g,
        primary=key.name,
        summary=join(*parts),
        traces=tuple(traces),
        hint="watch for spikes and NaN; value clip > 0.5 is info",
    )
