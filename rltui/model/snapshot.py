"""Immutable results of the model: what the dashboard draws and what ``check --json`` prints.

The UI never reaches into the store or the rules; it receives one :class:`RunSnapshot` per
refresh and renders it. That keeps rendering a pure function of data (easy to test, easy to
replay) and lets the model run in a worker thread without locks on the UI side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rltui.records import FloatArray, IntArray, Problem, SourceKind
from rltui.records import Framework as Framework  # re-exported: the model's RunInfo speaks them
from rltui.records import Trainer as Trainer

Status = Literal["ok", "info", "warn", "critical", "unavailable"]
Severity = Literal["info", "warn", "critical"]
Trend = Literal["rising", "flat", "falling", "unknown"]

SEVERITY_RANK: dict[str, int] = {"ok": 0, "unavailable": 0, "info": 1, "warn": 2, "critical": 3}


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What is known about the run as a whole (from detection and metadata)."""

    name: str
    path: str
    framework: Framework = "unknown"
    trainer: Trainer = "unknown"
    max_steps: int | None = None
    logging_steps: int | None = None
    #: The run's config (TrainingArguments JSON from ``args/text_summary`` or the model card), parsed.
    config: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SourceInfo:
    kind: SourceKind
    path: str
    points: int
    problems: tuple[Problem, ...] = ()
    #: Stored points holding this source's value: in a run several sources feed (TensorBoard and
    #: a tracker), which one won the steps they share. None where it does not apply (samples).
    #: The event files of a run (and a W&B run's logs) are one stream: its count is on the first.
    won: int | None = None


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """One entry of ``check --json``'s ``metrics`` map."""

    points: int
    first_step: int
    last_step: int
    last: float
    min: float | None
    max: float | None
    nonfinite: int


@dataclass(frozen=True, slots=True)
class Trace:
    """A named series to draw on a gauge or detail chart (already cut at the snapshot's step)."""

    name: str
    steps: IntArray
    values: FloatArray


@dataclass(frozen=True, slots=True)
class InstrumentReading:
    """One gauge: an instrument's verdict on its inputs at the snapshot's step."""

    id: str
    title: str
    status: Status
    value: float | None = None
    smoothed: float | None = None
    unit: str = ""
    trend: Trend = "unknown"
    accelerating: bool = False
    summary: str = ""
    #: Why the instrument is unavailable (only when status == "unavailable").
    reason: str = ""
    #: The metric the gauge's value and sparkline come from.
    primary: str | None = None
    #: Every input series the instrument used (the first is the primary one).
    traces: tuple[Trace, ...] = ()
    #: Reference lines for the detail chart, e.g. {"warn": 0.5, "critical": 1.0}.
    thresholds: dict[str, float] = field(default_factory=dict)
    #: A short threshold hint for the gauge ("warn > 0.5").
    hint: str = ""


@dataclass(frozen=True, slots=True)
class Alert:
    """A failure pattern that fired: what, since when, the evidence, the cause and the action."""

    id: str
    severity: Severity
    first_step: int
    last_step: int
    active: bool
    message: str
    cause: str
    action: str
    evidence: dict[str, float | int | str] = field(default_factory=dict)
    #: The metric the alert is about, so the UI can open its chart.
    metric: str | None = None
    instrument: str | None = None
    #: The step at which the alert was raised (its evidence became sustained); ``first_step`` is
    #: backdated to the onset of that evidence. Replay's next-alert jumps land here.
    raised_step: int | None = None
    #: "early" (a warning while there is time to act) or "audit" (names what already went wrong).
    kind: str = "early"
    #: The rule's title ("Reward margin runaway"), for one-line verdicts.
    title: str = ""


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """Which ``rltui.toml`` files shaped the rules of a run, and how (design.md §8).

    ``changed``: what differs from the built-in defaults (``rules.kl_level.enabled=false``);
    ``ignored``: what a config inside the run folder asked for and was not applied.
    """

    files: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line for a header: empty when the defaults apply and nothing was ignored."""
        parts = []
        if self.changed:
            off = sum(1 for c in self.changed if c.endswith(".enabled=false"))
            tuned = len(self.changed) - off
            bits = [f"{off} rule{'s' if off != 1 else ''} off"] if off else []
            bits += [f"{tuned} threshold{'s' if tuned != 1 else ''} changed"] if tuned else []
            parts.append("config: " + ", ".join(bits))
        if self.ignored:
            n = len(self.ignored)
            parts.append(f"run config ignored ({n} change{'s' if n != 1 else ''})")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """Everything the UI or ``check`` needs about one run, as of ``step``."""

    info: RunInfo
    step: int | None
    instruments: tuple[InstrumentReading, ...]
    alerts: tuple[Alert, ...]
    metrics: dict[str, MetricSummary]
    sources: tuple[SourceInfo, ...] = ()
    problems: tuple[Problem, ...] = ()
    #: Wall time of the newest point (seconds since the epoch), None when unknown.
    last_wall_time: float | None = None
    #: Wall time of the first point, for elapsed / steps-per-minute / ETA.
    first_wall_time: float | None = None
    #: The rule config that applies and where it came from.
    rule_config: RuleConfig = field(default_factory=RuleConfig)

    @property
    def worst(self) -> str:
        active = [a.severity for a in self.alerts if a.active]
        return max(active, key=lambda s: SEVERITY_RANK[s]) if active else "ok"
