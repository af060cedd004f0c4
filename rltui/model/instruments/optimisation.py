"""The optimiser's own gauges: loss, gradient norm and learning rate (every trainer).

For policy-gradient trainers (GRPO, RLOO, PPO) the loss is not a progress measure (its level
depends on advantages that are re-normalised every batch), so the summary says to watch it for
discontinuities only (patterns.md U-02, [CvC-III]).
"""

from __future__ import annotations

import math

import numpy as np

from rltui.model.instruments.base import (
    ONLINE_TRAINERS,
    SHORT,
    Ctx,
    arrow,
    baseline,
    config_number,
    finite_tail,
    fmt,
    gauge_numbers,
    join,
    median_tail,
    not_logged_yet,
    pct,
    reading,
    trace,
    unavailable,
)
from rltui.model.snapshot import InstrumentReading

LN2 = math.log(2.0)


def loss(ctx: Ctx) -> InstrumentReading:
    iid, title = "loss", "Loss"
    found = ctx.role("loss")
    if found is None:
        if not_logged_yet(ctx, "loss"):
            return unavailable(iid, title, "no loss logged yet at this step")
        if ctx.info.trainer == "ppo":
            return unavailable(iid, title, "PPO logs no total loss (see the value and reward gauges)")
        return unavailable(iid, title, "no training loss logged")
    key, view = found
    g = gauge_numbers(ctx, view)
    start = baseline(view.values)
    parts = [f"loss {fmt(g.value)} {arrow(g.trend, g.accelerating)}".rstrip()]
    if start is not None and len(view) > 10:
        parts.append(f"start {fmt(start)}")
    hint = ""
    thresholds: dict[str, float] = {}
    if ctx.info.trainer in ONLINE_TRAINERS:
        hint = "policy loss: watch for jumps, not the trend"
    elif ctx.info.trainer == "dpo":
        loss_type = ctx.info.config.get("loss_type")
        if loss_type in (None, "sigmoid") or loss_type == ["sigmoid"]:
            thresholds["ln2"] = LN2
            hint = "sigmoid DPO starts at ln 2 = 0.693"
    return reading(
        iid,
        title,
        g,
        primary=key.name,
        summary=join(*parts),
        traces=(trace(view),),
        thresholds=thresholds,
        hint=hint,
    )


def gradients(ctx: Ctx) -> InstrumentReading:
    iid, title = "gradients", "Gradient norm"
    found = ctx.role("grad_norm")
    if found is None:
        if not_logged_yet(ctx, "grad_norm"):
            return unavailable(iid, title, "no gradient norm logged yet at this step")
        return unavailable(iid, title, "no gradient norm logged")
    key, view = found
    g = gauge_numbers(ctx, view)
    max_norm = config_number(ctx.info, "max_grad_norm")
    if max_norm is None and ctx.info.framework == "trl":
        max_norm = 1.0  # HF TrainingArguments default
    med = median_tail(view.values)
    parts = [f"grad-norm {fmt(g.value)} {arrow(g.trend, g.accelerating)}".rstrip()]
    if med is not None:
        parts.append(f"median {fmt(med)}")
    thresholds: dict[str, float] = {}
    hint = ""
    if max_norm is not None and max_norm > 0:
        tail = finite_tail(view.values, SHORT)
        if len(tail):
            clipped = float(np.count_nonzero(tail > max_norm)) / len(tail)
            parts.append(f"{pct(clipped)} above max_grad_norm {fmt(max_norm)}")
        thresholds = {"info": max_norm, "warn": 10.0 * max_norm}
        hint = f"clip at {fmt(max_norm)}; warn if median > {fmt(10.0 * max_norm)}"
    return reading(
        iid,
        title,
        g,
        primary=key.name,
        summary=join(*parts),
        traces=(trace(view),),
        thresholds=thresholds,
        hint=hint,
    )


def _lr_phase(values: np.ndarray) -> str:
    """Phase over the last 10 learning rates, as [CvC-I] #3 reads it."""
    tail = finite_tail(values, 10)
    if len(tail) < 3:
        return ""
    d = np.diff(tail)
    if bool(np.all(d == 0)):
        return "constant"
    if bool(np.all(d >= 0)):
        return "warmup"
    if bool(np.all(d <= 0)):
        return "decay"
    return "varying"


def learning_rate(ctx: Ctx) -> InstrumentReading:
    iid, title = "learning_rate", "Learning rate"
    found = ctx.role("learning_rate")
    if found is None:
        if not_logged_yet(ctx, "learning_rate"):
            return unavailable(iid, title, "no learning rate logged yet at this step")
        return unavailable(iid, title, "no learning rate logged")
    key, view = found
    g = gauge_numbers(ctx, view)
    finite = view.values[np.isfinite(view.values)]
    peak = float(finite.max()) if len(finite) else None
    parts = [f"lr {fmt(g.value)}"]
    phase = _lr_phase(view.values)
    if phase:
        parts[0] += f" ({phase})"
    if peak and g.value is not None and math.isfinite(g.value) and peak > 0:
        parts.append(f"{pct(g.value / peak)} of peak {fmt(peak)}")
    configured = config_number(ctx.info, "learning_rate")
    thresholds = {"configured": configured} if configured else {}
    return reading(
        iid,
        title,
        g,
        primary=key.name,
        summary=join(*parts),
        traces=(trace(view),),
        thresholds=thresholds,
        hint=f"configured {fmt(configured)}" if configured else "",
    )
