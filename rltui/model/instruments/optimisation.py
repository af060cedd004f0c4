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
    Draft,
    baseline,
    config_number,
    finite_tail,
    fmt,
    median_tail,
    missing,
    pct,
)
from rltui.model.snapshot import InstrumentReading

LN2 = math.log(2.0)


def loss(ctx: Ctx) -> InstrumentReading:
    iid, title = "loss", "Loss"
    found = ctx.role("loss")
    if found is None:
        if ctx.info.trainer == "ppo":
            reason = "PPO logs no total loss (see the value and reward gauges)"
        else:
            reason = "no training loss logged"
        return missing(ctx, iid, title, ("loss",), yet="no loss logged yet at this step", reason=reason)
    d = Draft.of(ctx, found)
    start = baseline(d.view.values)
    d.headline("loss")
    if start is not None and len(d.view) > 10:
        d.parts.append(f"start {fmt(start)}")
    hint = ""
    thresholds: dict[str, float] = {}
    if ctx.info.trainer in ONLINE_TRAINERS:
        hint = "policy loss: watch for jumps, not the trend"
    elif ctx.info.trainer == "dpo":
        loss_type = ctx.info.config.get("loss_type")
        if loss_type in (None, "sigmoid") or loss_type == ["sigmoid"]:
            thresholds["ln2"] = LN2
            hint = "sigmoid DPO starts at ln 2 = 0.693"
    return d.finish(iid, title, thresholds=thresholds, hint=hint)


def gradients(ctx: Ctx) -> InstrumentReading:
    iid, title = "gradients", "Gradient norm"
    found = ctx.role("grad_norm")
    if found is None:
        yet = "no gradient norm logged yet at this step"
        return missing(ctx, iid, title, ("grad_norm",), yet=yet, reason="no gradient norm logged")
    d = Draft.of(ctx, found)
    view = d.view
    max_norm = config_number(ctx.info, "max_grad_norm")
    if max_norm is None and ctx.info.framework == "trl":
        max_norm = 1.0  # HF TrainingArguments default
    med = median_tail(view.values)
    d.headline("grad-norm")
    if med is not None:
        d.parts.append(f"median {fmt(med)}")
    thresholds: dict[str, float] = {}
    hint = ""
    if max_norm is not None and max_norm > 0:
        tail = finite_tail(view.values, SHORT)
        if len(tail):
            clipped = float(np.count_nonzero(tail > max_norm)) / len(tail)
            d.parts.append(f"{pct(clipped)} above max_grad_norm {fmt(max_norm)}")
        warn = ctx.threshold("always_clipped", "warn_factor") * max_norm
        thresholds = {"info": max_norm, "warn": warn}
        hint = f"clip at {fmt(max_norm)}; warn if median > {fmt(warn)}"
    return d.finish(iid, title, thresholds=thresholds, hint=hint)


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
        yet = "no learning rate logged yet at this step"
        return missing(ctx, iid, title, ("learning_rate",), yet=yet, reason="no learning rate logged")
    d = Draft.of(ctx, found)
    values, value = d.view.values, d.g.value
    finite = values[np.isfinite(values)]
    peak = float(finite.max()) if len(finite) else None
    phase = _lr_phase(values)
    d.parts.append(f"lr {fmt(value)} ({phase})" if phase else f"lr {fmt(value)}")
    if peak and value is not None and math.isfinite(value) and peak > 0:
        d.parts.append(f"{pct(value / peak)} of peak {fmt(peak)}")
    configured = config_number(ctx.info, "learning_rate")
    thresholds = {"configured": configured} if configured else {}
    return d.finish(
        iid, title, thresholds=thresholds, hint=f"configured {fmt(configured)}" if configured else ""
    )
