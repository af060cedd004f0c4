"""Metrics from a JSONL log: one JSON object per line (verl's file logger, custom loggers).

Each line is an object with a step field (the first present of ``step``, ``global_step``,
``_step``, ``training/global_step``, LLaMA-Factory's ``current_steps``; it must hold an integer, or
an integral float: any other value makes the line a problem, skipped, since its points could not be
placed), or ms-swift's ``"global_step/max_steps": "300/1296"``, and its metrics either
beside it or, verl style, inside ``{"step": N, "data": {...}}``. Nested objects are flattened with
``/`` (``{"actor": {"pg_loss": 1}}`` -> ``actor/pg_loss``); keys are kept as written (verl and
custom names are already canonical). A line without a step gets the previous line's step + 1 (the
first gets 1), i.e. one line per step: such a file's steps are a *guess* (``steps_guessed``), and the
session never merges it with a source whose steps are true. The run's length comes from
LLaMA-Factory's ``total_steps`` or the ``max_steps`` half of ms-swift's counter; progress and clock
fields (``percentage``, ``elapsed_time``, ``remaining_time``) are not metrics. A numeric
``_timestamp``/``timestamp``/``wall_time`` field
is the wall time of the line's points (else NaN) and not a metric.

Problem offsets are **byte offsets** of the start of the offending line, as for every reader
(file-level problems: ``None``). Step fields are never metrics. A partial trailing line waits for
its newline; a corrupt complete line is a problem and reading goes on.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from rltui.records import ChunkBuilder, Problem, ReadResult, SourceKind
from rltui.sources._json import loads
from rltui.sources._lines import LineFollower
from rltui.sources.console import clean_key, to_float
from rltui.sources.fs import FileSystem
from rltui.text import decode

STEP_KEYS = ("step", "global_step", "_step", "training/global_step", "current_steps")
#: ms-swift writes the step and the run's length as one string, "300/1296".
SWIFT_COUNTER = "global_step/max_steps"
#: Keys that carry the run's length, not a metric.
MAX_STEP_KEYS = ("total_steps", "max_steps")
TIME_KEYS = ("_timestamp", "timestamp", "wall_time")
#: Progress and clock fields of LLaMA-Factory and ms-swift: derived from the step, not metrics.
PROGRESS_KEYS = frozenset({"percentage", "elapsed_time", "remaining_time", "epoch_progress"})
_NOT_METRICS = frozenset((*STEP_KEYS, *MAX_STEP_KEYS, *TIME_KEYS, *PROGRESS_KEYS, SWIFT_COUNTER))
_COUNTER = re.compile(r"\s*(\d{1,18})\s*/\s*(\d{1,18})\s*")
_MAX_DEPTH = 16
_MAX_PROBLEMS = 1000


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        return to_float(value)
    return None


_STEP_LIMIT = 1 << 63  # steps are stored as int64


def _int_step(value: Any) -> int | None:
    """An integer step (int, integral float, decimal string) within int64, else None."""
    step: int | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        step = value
    elif isinstance(value, float) and value.is_integer():
        step = int(value)
    elif isinstance(value, str) and len(value) < 20:
        text = value.strip()
        digits = text[1:] if text.startswith("-") else text
        if digits.isascii() and digits.isdecimal():
            step = int(text)
    if step is None or not -_STEP_LIMIT <= step < _STEP_LIMIT:
        return None
    return step


def flatten(obj: dict[str, Any], prefix: str = "", depth: int = 0) -> dict[str, float]:
    """Numeric leaves of nested dicts, keyed by their ``/``-joined path."""
    out: dict[str, float] = {}
    if depth > _MAX_DEPTH:
        return out
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "/", depth + 1))
            continue
        number = _number(value)
        if number is not None:
            out[name] = number
    return out


class BadStep(ValueError):
    """A step field is present but is not a finite integer: the line cannot be placed."""


@dataclass(slots=True)
class Row:
    """One JSONL object, read: its step (None when it names none), wall time, metrics, run length."""

    step: int | None
    wall: float
    metrics: dict[str, float]
    max_steps: int | None = None


def _swift_counter(value: Any) -> tuple[int, int] | None:
    """``"300/1296"`` -> (300, 1296); anything else None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    m = _COUNTER.fullmatch(value)
    return (int(m.group(1)), int(m.group(2))) if m else None


def parse_object(obj: dict[str, Any]) -> Row:
    """The :class:`Row` of one JSONL object.

    Raises :class:`BadStep` when a step field is present but holds no finite integer
    (``1e309``, ``NaN``, ``2.5``, ``true``, an object...): guessing a step would misplace the
    line's points. Step fields are never metrics.
    """
    step: int | None = None
    step_key: str | None = None
    max_steps: int | None = None
    for key in STEP_KEYS:
        if key in obj:
            step = _int_step(obj[key])
            if step is None:
                raise BadStep(f"{key!r} is not an integer step: {_short(obj[key])}")
            step_key = key
            break
    if SWIFT_COUNTER in obj:
        counter = _swift_counter(obj[SWIFT_COUNTER])
        if counter is None:
            raise BadStep(f"{SWIFT_COUNTER!r} is not 'step/max': {_short(obj[SWIFT_COUNTER])}")
        if step is None:
            step, step_key = counter[0], SWIFT_COUNTER
        max_steps = counter[1]
    for key in MAX_STEP_KEYS:
        m = _int_step(obj.get(key)) if key in obj else None
        if m is not None and m > 0:
            max_steps = m
            break
    wall = math.nan
    for key in TIME_KEYS:
        t = _number(obj.get(key))
        if t is not None and math.isfinite(t):
            wall = t
            break
    data = obj.get("data")
    if step_key == "step" and isinstance(data, dict):
        source: dict[str, Any] = data  # verl: {"step": N, "data": {...}}
    else:
        source = {k: v for k, v in obj.items() if k not in _NOT_METRICS}
    metrics: dict[str, float] = {}
    for key, value in flatten(source).items():
        name = clean_key(key)
        if name is not None and name not in STEP_KEYS:
            metrics[name] = value
    return Row(step, wall, metrics, max_steps)


def _short(value: Any) -> str:
    text = json.dumps(value, allow_nan=True)
    return text if len(text) <= 40 else text[:37] + "..."


class JsonlReader:
    """Follows a JSONL metrics file by byte offset (see the module docstring for the rules).

    ``points`` counts points emitted since the last (re)start of the file.
    """

    kind: SourceKind = "jsonl"

    def __init__(self, path: str, *, fs: FileSystem | None = None) -> None:
        self.path = path
        self._follower = LineFollower(path, split_cr=False, fs=fs)
        self.points = 0
        self.problems: list[Problem] = []
        self._last_step = 0
        #: True once a line without a step field was numbered by its position (see module doc).
        self.steps_guessed = False
        #: The run's length, when the file says it (LLaMA-Factory, ms-swift).
        self.max_steps: int | None = None

    def _add_problem(self, result: ReadResult, problem: Problem) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(problem)
            result.problems.append(problem)

    def read(self) -> ReadResult:
        batch = self._follower.read()
        result = ReadResult(restarted=batch.restarted)
        if batch.restarted:
            self.points = 0
            self._last_step = 0
            self.steps_guessed = False
        for p in batch.problems:
            self._add_problem(result, p)
        builder = ChunkBuilder()
        for offset, raw in batch.lines:
            builder.offset = offset
            self._parse(offset, raw, result, builder)
        result.chunks = builder.build()
        result.max_steps = self.max_steps
        return result

    def _parse(self, offset: int, raw: bytes, result: ReadResult, builder: ChunkBuilder) -> None:
        text = decode(raw).strip()
        if not text:
            return
        try:
            obj = loads(text)  # long integers as floats: a valid line is never "not JSON"
        except (ValueError, RecursionError) as exc:
            self._add_problem(result, Problem(self.path, offset, f"not JSON: {str(exc)[:120]}"))
            return
        if not isinstance(obj, dict):
            self._add_problem(result, Problem(self.path, offset, "line is not a JSON object"))
            return
        try:
            row = parse_object(obj)
        except BadStep as exc:
            self._add_problem(result, Problem(self.path, offset, f"line skipped: {exc}"))
            return
        step = row.step
        if step is None:
            if not row.metrics:
                return
            step = self._last_step + 1
            self.steps_guessed = True
        self._last_step = step
        if row.max_steps is not None:
            self.max_steps = row.max_steps
        for key, value in row.metrics.items():
            builder.add(key, step, row.wall, value)
        self.points += len(row.metrics)

    @property
    def healthy(self) -> bool:
        return self._follower.healthy

    def close(self) -> None:
        """Nothing to release: the file is opened only for the duration of each read."""
