"""The ingest policy as pure decisions: which source is read, in which order, which one wins.

Why pure: these rules decide what the user sees when two sources disagree (a console log's 4
digits against an event file's float32, a counted step against a true one), and each was once a
bug found only through a whole session. Here they are plain functions on plain data (kinds,
point counts, config values), tested one branch at a time (tests/test_ingest_policy.py); the
session (:mod:`rltui.session.run`) does the reading and applies them.

Reading order and precedence: least precise first (console logs and tmux panes, JSONL,
``trainer_state.json``, event files, then experiment trackers), so the store, which keeps the
newest value per step, ends with the most precise one. Console sources are skipped once a source
with true steps (:data:`PRECISE`) has given points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rltui.model.snapshot import Framework

#: Read order within a poll: least precise first, so the most precise source wins a step.
#: Trackers after event files: they keep the float64 the script logged, event files float32.
RANK: dict[str, int] = {
    "console": 0,
    "tmux": 1,
    "jsonl": 2,
    "trainer_state": 3,
    "tfevents": 4,
    "mlflow": 5,
    "trackio": 6,
    "swanlab": 7,
    "wandb": 8,
}
#: Sources that carry every logged value with its true step: console logs are not read beside them.
PRECISE = frozenset({"tfevents", "wandb", "mlflow", "trackio", "swanlab"})
#: Experiment trackers' sources (``sources/logger_discovery``).
TRACKERS = frozenset({"wandb", "mlflow", "trackio", "swanlab"})
#: Sources that are text printed by the script (steps inferred from ``logging_steps``).
CONSOLES = frozenset({"console", "tmux"})
#: Kinds whose every file is one stream of the run (a resume rewinds it).
ONE_STREAM = frozenset({"tfevents", "wandb"})


@dataclass(frozen=True, slots=True)
class Src:
    """What the policy knows of one followed source."""

    kind: str
    points: int = 0
    excluded: bool = False
    steps_guessed: bool = False
    has_problems: bool = False


def source_id(kind: str, path: str, select: str | None = None) -> str:
    """The store's id of a source. All event files of a run are one stream (a resume rewinds it);
    so are the transaction logs of a resumed W&B run."""
    if kind in ONE_STREAM:
        return kind
    return f"{kind}:{path}" + (f"#{select}" if select else "")


def precise_have_points(sources: Sequence[Src], held_points: Sequence[int] = ()) -> bool:
    """True once a source with true steps gave points (so far, or ``held_points``: this poll's
    reads of them, not yet ingested). All of them unreadable: the console log is the fallback."""
    return any(s.kind in PRECISE and s.points > 0 for s in sources) or any(n > 0 for n in held_points)


def listed(src: Src, precise_points: bool) -> bool:
    """Whether ``src`` is listed among the run's sources: a console skipped beside event files
    that gave points is left out unless it gave points or problems itself."""
    return not (precise_points and src.kind in CONSOLES and src.points == 0 and not src.has_problems)


@dataclass(frozen=True, slots=True)
class PollPlan:
    """Which sources a poll reads (indices into the ranked list) and whether the consoles among
    them wait for the precise sources' reads (``undecided``)."""

    read: tuple[int, ...]
    undecided: bool


def plan_poll(ranked: Sequence[Src]) -> PollPlan:
    """What a poll reads, given the sources in rank order.

    Consoles are dropped once a precise source has points; excluded sources always are. While no
    precise source has points but some exist beside consoles, the decision is open: the precise
    ones are read first, ingested last (:func:`consoles_after_precise_read`).
    """
    skip = precise_have_points(ranked)
    read = tuple(i for i, s in enumerate(ranked) if not (skip and s.kind in CONSOLES) and not s.excluded)
    kinds = {ranked[i].kind for i in read}
    undecided = not skip and bool(kinds & PRECISE) and bool(kinds & CONSOLES)
    return PollPlan(read, undecided)


def consoles_after_precise_read(held_points: Sequence[int]) -> bool:
    """Whether an undecided poll still reads its consoles after the precise sources were read
    (``held_points``: the points each of those reads gave; None reads count as 0)."""
    return not any(n > 0 for n in held_points)


def restates(kind: str, restarted: bool) -> bool:
    """``trainer_state.json`` is rewritten whole: a restart of it re-states its history."""
    return restarted and kind == "trainer_state"


def positive_int(value: object) -> int | None:
    """``value`` as a positive int (an integral float counts), else None (bools are not ints)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, float) and math.isfinite(value) and value > 0 and value.is_integer():
        return int(value)
    return None


def logging_steps_from_config(config: Mapping[str, object], max_steps: int | None) -> int | None:
    """HF ``logging_steps``: an int, or a float < 1 meaning a fraction of ``max_steps``."""
    value = config.get("logging_steps")
    if isinstance(value, float) and 0 < value < 1:
        return max(1, math.ceil(value * max_steps)) if max_steps else None
    return positive_int(value)


def max_steps_after(
    kind: str, given: int | None, current: int | None, from_state: bool
) -> tuple[int | None, bool]:
    """The run's length after a source said ``given``: ``trainer_state.json`` knows it best; a
    log's counter fills the gap but never overrides it. Returns (max_steps, from_state)."""
    best = kind == "trainer_state" or current is None or not from_state
    if given is not None and given > 0 and best:
        return given, kind == "trainer_state"
    return current, from_state


@dataclass(frozen=True, slots=True)
class Rescale:
    """What a newly known ``logging_steps`` means for the console sources."""

    #: Some console stored points with another scale: the run is re-read into a fresh store.
    reread: bool
    #: Indices of consoles with nothing stored yet whose reader just takes the new scale.
    retune: tuple[int, ...]


def console_rescale(current: int | None, consoles: Sequence[tuple[int | None, int]]) -> Rescale:
    """The ``logging_steps`` re-read condition. ``consoles``: per console source with a reader,
    (the ``logging_steps`` it was made with, None for the guess of 1; points it stored)."""
    if current is None:
        return Rescale(False, ())
    reread = False
    retune: list[int] = []
    for i, (made_with, points) in enumerate(consoles):
        if (made_with or 1) == current:
            continue
        if points > 0:
            reread = True
        else:
            retune.append(i)
    return Rescale(reread, tuple(retune))


def guessed_to_exclude(sources: Sequence[Src]) -> tuple[tuple[int, ...], int | None]:
    """Sources whose steps are counted (1, 2, 3...) beside one with true steps: merged by step
    they would interleave into false spikes, so they are left out. Returns (indices to exclude,
    index of the first true-step source); ((), None) when nothing is to be excluded."""
    with_points = [i for i, s in enumerate(sources) if s.points > 0 and not s.excluded]
    guessed = [i for i in with_points if sources[i].steps_guessed]
    if not guessed or len(guessed) == len(with_points):
        return (), None
    true = next(i for i in with_points if not sources[i].steps_guessed)
    return tuple(guessed), true


def framework_announced(announced: str | None, current: Framework | None) -> Framework | None:
    """The framework a source announced (``rltui/framework`` text) over the current hint; any
    other text (a log can print anything there) leaves the hint as it was."""
    if announced == "unsloth":
        return "unsloth"
    if announced == "mlx":
        return "mlx"
    return current
