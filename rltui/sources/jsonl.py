"""Metrics from a JSONL log: one JSON object per line (verl's file logger, custom loggers).

Each line is an object with a step field (the first present of ``step``, ``global_step``,
``_step``, ``training/global_step``; it must hold an integer, or an integral float: any other value
makes the line a problem, skipped, since its points could not be placed), and its metrics either
beside it or, verl style, inside ``{"step": N, "data": {...}}``. Nested objects are flattened with
``/`` (``{"actor": {"pg_loss": 1}}`` -> ``actor/pg_loss``); keys are kept as written (verl and
custom names are already canonical). A line without a step gets the previous line's step + 1 (the
first gets 1), i.e. one line per step. A numeric ``_timestamp``/``timestamp``/``wall_time`` field
is the wall time of the line's points (else NaN) and not a metric.

Problem offsets are **byte offsets** of the start of the offending line, as for every reader
(file-level problems: ``None``). Step fields are never metrics. A partial trailing line waits for
its newline; a corrupt complete line is a problem and reading goes on.
"""

from __future__ import annotations

import json
import math
from typing import Any

from rltui.records import ChunkBuilder, Problem, ReadResult, SourceKind
from rltui.sources._json import loads
from rltui.sources._lines import LineFollower
from rltui.sources.fs import FileSystem
from rltui.sources.console import clean_key, to_float
from rltui.text import decode

STEP_KEYS = ("step", "global_step", "_step", "training/global_step")
TIME_KEYS = ("_timestamp", "timestamp", "wall_time")
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


def parse_object(obj: dict[str, Any]) -> tuple[int | None, float, dict[str, float]]:
    """(step or None, wall time or NaN, metrics) of one JSONL object.

    Raises :class:`BadStep` when a step field is present but holds no finite integer
    (``1e309``, ``NaN``, ``2.5``, ``true``, an object...): guessing a step would misplace the
    line's points. Step fields are never metrics.
    """
    step: int | None = None
    step_key: str | None = None
    for key in STEP_KEYS:
        if key in obj:
            step = _int_step(obj[key])
            if step is None:
                raise BadStep(f"{key!r} is not an integer step: {_short(obj[key])}")
            step_key = key
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
        source = {k: v for k, v in obj.items() if k not in STEP_KEYS and k not in TIME_KEYS}
    metrics: dict[str, float] = {}
    for key, value in flatten(source).items():
        name = clean_key(key)
        if name is not None and name not in STEP_KEYS:
            metrics[name] = value
    return step, wall, metrics


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
        for p in batch.problems:
            self._add_problem(result, p)
        builder = ChunkBuilder()
        for offset, raw in batch.lines:
            builder.offset = offset
            self._parse(offset, raw, result, builder)
        result.chunks = builder.build()
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
            step, wall, metrics = parse_object(obj)
        except BadStep as exc:
            self._add_problem(result, Problem(self.path, offset, f"line skipped: {exc}"))
            return
        if step is None:
            step = self._last_step + 1
        self._last_step = step
        for key, value in metrics.items():
            builder.add(key, step, wall, value)
        self.points += len(metrics)

    @property
    def healthy(self) -> bool:
        return self._follower.healthy

    def close(self) -> None:
        """Nothing to release: the file is opened only for the duration of each read."""
