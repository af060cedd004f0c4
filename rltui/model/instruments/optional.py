"""Gauges that need extra logging callbacks: attention entropy, LoRA norms, completion samples.

Stock trainers do not log these ([CvC-I] #4–6 implement them as custom callbacks), so they are
usually unavailable; the reason names the key a callback would have to log.
"""

from __future__ import annotations

from rltui.model.instruments.base import Ctx, Draft, fmt, pct, unavailable
from rltui.model.snapshot import InstrumentReading


def _pair(
    ctx: Ctx,
    iid: str,
    title: str,
    role: str,
    var_role: str,
    label: str,
    missing: str,
    thresholds: dict[str, float],
    hint: str,
) -> InstrumentReading:
    found = ctx.role(role)
    if found is None:
        return unavailable(iid, title, missing)
    d = Draft.of(ctx, found)
    d.headline(label)
    d.add(var_role, "variance")
    return d.finish(iid, title, thresholds=thresholds, hint=hint)


def attention(ctx: Ctx) -> InstrumentReading:
    return _pair(
        ctx,
        "attention",
        "Attention entropy",
        "attention_entropy",
        "attention_entropy_var",
        "attention entropy",
        "attention entropy not logged (needs a callback logging attention/mean_entropy)",
        # [CvC-I] #4's illustrative bands: < 1 nat collapsing, > 5 nats approaching uniform.
        {"warn": 1.0, "uniform": 5.0},
        "collapse below 1 nat, uniform above 5",
    )


def lora(ctx: Ctx) -> InstrumentReading:
    return _pair(
        ctx,
        "lora",
        "LoRA adapters",
        "lora_norm",
        "lora_norm_var",
        "mean norm",
        "LoRA norms not logged (needs a callback logging lora/mean_norm)",
        {},
        "warn when the norm grows and accelerates",
    )


def samples(ctx: Ctx) -> InstrumentReading:
    """What the completions themselves show (rltui.model.samples): distinct-2 across the step as the
    headline, with repetition, endings without EOS, empty completions, length spread within a
    prompt group and zero-std groups, counted from the samples rather than from the trainer's log."""
    iid, title = "samples", "Samples"
    found = ctx.role("sample_distinct_2")
    if found is None:
        if ctx.role("sample_count") is not None:
            return unavailable(iid, title, "the completion samples hold no words to measure")
        return unavailable(
            iid, title, "no completion samples read (TRL: log_completions=True; verl: rollout_data_dir)"
        )
    d = Draft.of(ctx, found)
    d.headline("distinct-2")
    for role, label in (
        ("sample_repeated", "repeated 3-grams"),
        ("sample_no_eos", "no EOS"),
        ("sample_empty", "empty"),
        ("sample_zero_std", "zero-std groups"),
    ):
        view = d.add(role)
        if view is not None and view.last is not None:
            d.parts.append(f"{label} {pct(view.last)}")
    spread = d.add("sample_group_spread")
    if spread is not None and spread.last is not None:
        d.parts.append(f"group length spread {fmt(spread.last)} chars")
    return d.finish(iid, title, hint="from the completions: distinct-2, repetition, EOS, empty, groups")
