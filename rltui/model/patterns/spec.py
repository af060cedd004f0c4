"""What a failure rule *is*, as data: id, severities, thresholds with their sources, texts, check.

Why a spec rather than code alone: the same record feeds the engine (``check``), ``rltui explain``
and the help screen (logic, cause, action, source) and the config validator (threshold names), so
a rule's documentation cannot drift from what it does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rltui.model.snapshot import Severity

if TYPE_CHECKING:
    from rltui.model.patterns.context import Ctx

#: Severity levels as integers so "at least warn" is a comparison. 0 means "clean".
CLEAN, INFO, WARN, CRITICAL = 0, 1, 2, 3
LEVEL_NAME: dict[int, Severity] = {INFO: "info", WARN: "warn", CRITICAL: "critical"}
NAME_LEVEL: dict[str, int] = {v: k for k, v in LEVEL_NAME.items()}

#: Trainer families a rule can be limited to (see :func:`rltui.model.patterns.context.family_of`).
SUPERVISED = frozenset({"sft"})
PREFERENCE = frozenset({"pref"})
ONLINE_RL = frozenset({"rl"})
NOT_RL = frozenset({"sft", "pref"})
ANY = frozenset({"sft", "pref", "rl"})

Evidence = dict[str, float | int | str]


@dataclass(frozen=True, slots=True)
class Threshold:
    """A tunable number, its source tag ([S1], [S3], [CvC-I], [LIT], [PROP]...) and its meaning."""

    value: float
    source: str
    help: str


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule saw at one point: a level (1 info, 2 warn, 3 critical) and the evidence.

    ``cause``/``action`` replace the spec's texts when the diagnosis depends on the numbers
    (e.g. "prompts solved" vs "reward never fires").
    """

    level: int
    evidence: Evidence = field(default_factory=dict)
    cause: str | None = None
    action: str | None = None


Check = Callable[["Ctx", Mapping[str, float]], "Finding | None"]


#: ``RuleSpec.instrument`` for rules about no single gauge (e.g. which instruments are missing):
#: their alerts raise no gauge's status.
NO_GAUGE = "none"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One catalogue entry (patterns.md §4)."""

    id: str
    code: str  # the catalogue number, e.g. "DPO-04"
    severities: tuple[Severity, ...]
    title: str
    instrument: str
    primary: str  # the role whose logged points drive evaluation ("*" = every metric)
    roles: tuple[str, ...]  # every role the rule may read (the first is required)
    families: frozenset[str]
    thresholds: Mapping[str, Threshold]
    logic: str
    cause: str
    action: str  # a template: {names} are filled from the evidence
    source: str
    check: Check
    #: Severities that fire on a single point; the others need 3 of the last 4 points.
    instant: frozenset[Severity] = frozenset()
    #: Only for these trainers (None: any trainer of the families above).
    trainers: frozenset[str] | None = None
    #: A *level* rule (a threshold on the value now, not a change against a baseline): its reading
    #: of the newest point sets its gauge's status at once, before the alert is sustained.
    gauge: bool = False
    #: "early" (warns while there is time to act) or "audit" (names what already went wrong).
    kind: str = "early"
    #: Severities that fire as soon as every point so far shows them, while the run has fewer
    #: than the 3 points sustained evidence needs: dead signals (loss 0 with grad-norm 0, every
    #: group without reward variance) are unambiguous from the first logged point.
    from_first: frozenset[Severity] = frozenset()

    def defaults(self) -> dict[str, float]:
        return {k: t.value for k, t in self.thresholds.items()}


def hit(level: int, **evidence: float | int | str) -> Finding:
    return Finding(level, dict(evidence))


def level_above(x: float, limits: Mapping[int, float], *, inclusive: bool = False) -> int:
    """The highest level whose limit ``x`` exceeds (reaches, when ``inclusive``), or 0.

    The usual tiering "critical above c, else warn above w, else info above i": ``limits`` maps each
    level to its limit; a NaN ``x`` exceeds nothing.
    """
    passed = [lv for lv, limit in limits.items() if (x >= limit if inclusive else x > limit)]
    return max(passed, default=CLEAN)


def th(value: float, source: str, help_text: str) -> Threshold:
    return Threshold(float(value), source, help_text)


def rule(
    registry: list[RuleSpec],
    *,
    id: str,
    code: str,
    severities: tuple[Severity, ...],
    title: str,
    instrument: str,
    primary: str,
    roles: tuple[str, ...] = (),
    families: frozenset[str] = ANY,
    thresholds: Mapping[str, Threshold] | None = None,
    logic: str,
    cause: str,
    action: str,
    source: str,
    instant: tuple[Severity, ...] = (),
    trainers: tuple[str, ...] | None = None,
    gauge: bool = False,
    kind: str = "early",
    from_first: tuple[Severity, ...] = (),
) -> Callable[[Check], Check]:
    """Decorator: register the decorated check as a :class:`RuleSpec` in ``registry``."""

    def wrap(fn: Check) -> Check:
        registry.append(
            RuleSpec(
                id=id,
                code=code,
                severities=severities,
                title=title,
                instrument=instrument,
                primary=primary,
                roles=roles or (primary,),
                families=families,
                thresholds=dict(thresholds or {}),
                logic=logic,
                cause=cause,
                action=action,
                source=source,
                check=fn,
                instant=frozenset(instant),
                trainers=frozenset(trainers) if trainers is not None else None,
                gauge=gauge,
                kind=kind,
                from_first=frozenset(from_first),
            )
        )
        return fn

    return wrap
