"""Train/eval gap: is the model still generalising? ([CvC-I] #8, patterns.md U-09).

At each evaluation the gap is ``eval_loss − median(last 3 train losses at or before that step)``:
the median because a single train point is one interval's noisy mean. ``gap velocity`` is the
change of the gap since the previous evaluation; [CvC-I] flags > 0.1 as potential overfitting.
"""

from __future__ import annotations

import math

import numpy as np

from rltui.model import stats
from rltui.model.instruments.base import (
    LONG,
    Ctx,
    Draft,
    fmt,
    missing,
)
from rltui.model.snapshot import InstrumentReading, Trace

GAP_VELOCITY_WARN = 0.1


def _gaps(
    eval_steps: np.ndarray, eval_vals: np.ndarray, train_steps: np.ndarray, train_vals: np.ndarray
) -> np.ndarray:
    out = np.full(len(eval_steps), np.nan)
    ends = np.searchsorted(train_steps, eval_steps, side="right")
    for i, end in enumerate(ends.tolist()):
        ref = train_vals[max(0, end - 3) : end]
        ref = ref[np.isfinite(ref)]
        if len(ref) and math.isfinite(float(eval_vals[i])):
            out[i] = float(eval_vals[i]) - stats.median(ref)
    return out


def convergence(ctx: Ctx) -> InstrumentReading:
    iid, title = "convergence", "Train/eval gap"
    found = ctx.role("eval_loss")
    if found is None:
        reason = "no eval split logged (set eval_strategy and an eval dataset to track the gap)"
        return missing(ctx, iid, title, ("eval_loss",), yet="no evaluation yet at this step", reason=reason)
    d = Draft.of(ctx, found)
    ev, value = d.view, d.g.value
    d.headline("eval", accelerating=False)
    train = d.add("loss")
    if train is not None:
        e_steps, e_vals = ev.steps[-LONG:], ev.values[-LONG:]
        gaps = _gaps(e_steps, e_vals, train.steps, train.values)
        d.traces.append(Trace("gap", e_steps, gaps))
        gap = float(gaps[-1]) if len(gaps) else math.nan
        if math.isfinite(gap):
            train_ref = value - gap if value is not None else None
            d.parts[0] = f"gap {gap:+.3g} (eval {fmt(value)} vs train {fmt(train_ref)})"
            if len(gaps) >= 2 and math.isfinite(float(gaps[-2])):
                d.parts.append(f"Δgap {gap - float(gaps[-2]):+.3g}/eval")
    finite = np.isfinite(ev.values)
    if bool(finite.any()):
        idx = int(np.flatnonzero(finite)[np.argmin(ev.values[finite])])
        d.parts.append(f"best eval {fmt(float(ev.values[idx]))} @{int(ev.steps[idx])}")
    return d.finish(iid, title, hint=f"warn if the gap grows > {GAP_VELOCITY_WARN:g} per eval")
