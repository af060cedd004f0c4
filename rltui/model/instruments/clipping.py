"""Policy ratio and clip fraction: how far each update moves the policy (RL-07, PPO-01/02).

TRL GRPO logs ``clip_ratio/{low,high,region}_mean``; with ``num_iterations=1`` and generation
aligned with the optimiser step the old log-probs *are* the current ones, the ratio is exactly 1
and every clip ratio is 0 by construction, which the summary says instead of reporting "no
clipping" as if it were a finding.
"""

from __future__ import annotations

import numpy as np

from rltui.model.instruments.base import (
    PREFERENCE_TRAINERS,
    Ctx,
    Draft,
    config_number,
    fmt,
    missing,
    pct,
    trainer_name,
)
from rltui.model.snapshot import InstrumentReading

IID, TITLE = "clipping", "Clipping"

#: Group-relative trainers: [CvC-III] 10–30 % balanced clipping is healthy (the info line).
TYPICAL_GROUP_CLIP = 0.2


def _missing_reason(ctx: Ctx) -> str:
    trainer = ctx.info.trainer
    if trainer in PREFERENCE_TRAINERS:
        return f"{trainer_name(ctx.info)} trains offline on fixed pairs: there is no policy ratio to clip"
    if trainer == "sft":
        return "SFT has no policy ratio: it is supervised, nothing is clipped"
    if trainer == "reward":
        return "reward modelling has no policy ratio"
    return "no clip fraction or policy ratio logged"


def clipping(ctx: Ctx) -> InstrumentReading:
    found = ctx.role("clip_fraction")
    ratio = ctx.role("ratio")
    if found is None and ratio is not None:
        found = ratio
    if found is None:
        roles = ("clip_fraction", "ratio")
        yet = "no clipping logged yet at this step"
        return missing(ctx, IID, TITLE, roles, yet=yet, reason=_missing_reason(ctx))
    d = Draft.of(ctx, found)
    key, view, g = d.key, d.view, d.g
    is_ratio = key.name == "val/ratio"
    if is_ratio:
        d.headline("ratio", accelerating=False)
        thresholds = {
            "warn_low": ctx.threshold("ratio_extreme", "warn_low"),
            "warn": ctx.threshold("ratio_extreme", "warn_high"),
            "critical": ctx.threshold("ratio_extreme", "critical_high"),
        }
    else:
        d.headline("clip")
        if key.name == "policy/clipfrac_avg":  # PPO-02: LR too high for epsilon
            thresholds = {"warn": ctx.threshold("clipfrac", "warn")}
        else:
            thresholds = {"info": TYPICAL_GROUP_CLIP, "warn": ctx.threshold("clipping", "warn")}
    low, high = ctx.role_view("clip_low"), ctx.role_view("clip_high")
    for v in (low, high):
        if v is not None and v.name != key.name:
            d.show(v)
    if low is not None and high is not None and low.last is not None and high.last is not None:
        d.parts.append(f"low {fmt(low.last)} / high {fmt(high.last)}")
    if not is_ratio and ratio is not None:
        d.show(ratio[1])
        d.parts.append(f"ratio {fmt(ratio[1].last)}")
    if not is_ratio:
        all_zero = bool(len(view.values)) and bool(np.all(view.values == 0.0))
        if all_zero:
            iters = config_number(ctx.info, "num_iterations")
            if iters == 1 or (iters is None and ctx.info.trainer == "grpo"):
                d.parts = ["clip 0 by construction (num_iterations=1: ratio ≡ 1, nothing to clip)"]
            else:
                d.parts.append("all exactly 0")
        elif g.value is not None and len(view) > 1:
            nz = view.values[-20:]
            share = float(np.count_nonzero(nz > 0)) / len(nz)
            if share < 1.0:
                d.parts.append(f"non-zero in {pct(share)} of recent points")
    hint = (
        f"ratio ≈ 1; warn < {fmt(thresholds['warn_low'])} or > {fmt(thresholds['warn'])}"
        if is_ratio
        else f"warn > {fmt(thresholds['warn'])}" + (" (typical ≤ 0.2)" if "info" in thresholds else "")
    )
    return d.finish(IID, TITLE, thresholds=thresholds, hint=hint)
