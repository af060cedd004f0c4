"""The instrument cluster: one gauge per aspect of a run (design.md §5).

Each instrument reads its inputs through the alias roles, so one gauge serves TRL, verl and
OpenRLHF; when its inputs are missing it is ``unavailable`` with a reason specific to the trainer
(a GRPO run with beta=0 has no KL to show, a DPO run samples no completions). Instruments give
their own *simple* verdict (a non-finite current value is critical, otherwise ok); the failure
patterns raise statuses separately and the engine merges the two.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rltui.model.instruments.base import Ctx
from rltui.model.instruments.clipping import clipping
from rltui.model.instruments.convergence import convergence
from rltui.model.instruments.generation import entropy, length
from rltui.model.instruments.kl import kl
from rltui.model.instruments.optimisation import gradients, learning_rate, loss
from rltui.model.instruments.optional import attention, lora, samples
from rltui.model.instruments.reward import reward
from rltui.model.instruments.throughput import throughput
from rltui.model.instruments.value import value
from rltui.model.snapshot import InstrumentReading, RunInfo
from rltui.model.store import MetricStore

_INSTRUMENTS: tuple[tuple[str, Callable[[Ctx], InstrumentReading]], ...] = (
    ("loss", loss),
    ("gradients", gradients),
    ("learning_rate", learning_rate),
    ("convergence", convergence),
    ("throughput", throughput),
    ("reward", reward),
    ("kl", kl),
    ("clipping", clipping),
    ("length", length),
    ("entropy", entropy),
    ("value", value),
    ("attention", attention),
    ("lora", lora),
    ("samples", samples),
)

INSTRUMENT_IDS: tuple[str, ...] = tuple(iid for iid, _ in _INSTRUMENTS)


def evaluate_instruments(
    store: MetricStore,
    info: RunInfo,
    at_step: int | None = None,
    *,
    smoothing: float = 0.6,
    rules: Mapping[str, Mapping[str, float]] | None = None,
) -> tuple[InstrumentReading, ...]:
    """One reading per id of :data:`INSTRUMENT_IDS`, in that order, as of ``at_step``.

    ``rules``: the configured thresholds per rule id, so the gauges' lines follow ``rltui.toml``.
    """
    ctx = Ctx.build(store, info, at_step, smoothing, rules)
    return tuple(fn(ctx) for _, fn in _INSTRUMENTS)


__all__ = ["INSTRUMENT_IDS", "evaluate_instruments"]
