"""Metrics from a JSONL log: one JSON object per line (verl's file logger, custom loggers).

Each line is an object with a step field (the first of ``step``, ``global_step``, ``_step``,
``training/global_step`` holding an integer), and its metrics either beside it or, verl style,
inside ``{"step": N, "data": {...}}``. Nested objects are flattened with ``/``
(``{"actor": {"pg_loss": 1}}`` -> ``actor/pg_loss``); keys are kept as written (verl and custom
names are already canonical). A line without a step gets the previous line's step + 1 (the first
gets 1), i.e. one line per step. A numeric ``_timestamp``/``timestamp``/``wall_time`` field is the
wall time of the line's points (else NaN) and not a metric.

Problem offsets are **1-based line numbers** (except a line over the 1 MiB cap, reported at its
byte offset by the line follower, and file-level problems, ``None``). A partial trailing line
waits for its newline; a corrupt complete line is a problem and reading goes on.
"""

from __future__ import annotations

import json
import math
from typing import Any

from rltui.records import ChunkBuilder, Problem, ReadResult, SourceKind
from rltui.sources._lines import LineFollower
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


def _int_step(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        return int(value)
    return None


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


def parse_object(obj: dict[str, Any]) -> tuple[int | None, float, dict[str, float]]:
    """(step or None, wall time or NaN, metrics) of one JSONL object."""
    step: int | None = None
    step_key: str | None = None
    for key in STEP_KEYS:
        if key in obj:
            step = _int_step(obj[key])
            if step is not None:
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
        source = {k: v for k, v in obj.items() if k != step_key and k not in TIME_KEYS}
    metrics: dict[str, float] = {}
    for key, value in flatten(source).items():
        name = clean_key(key)
        if name is not None:
            metrics[name] = value
    return step, wall, metrics


class JsonlReader:
    """Follows a JSONL metrics file by byte offset (see the module docstring for the rules).

    ``points`` counts points emitted since the last (re)start of the file.
    """

    kind: SourceKind = "jsonl"

    def __init__(self, path: str) -> None:
        self.path = path
        self._follower = LineFollower(path, split_cr=False)
        self.points = 0
        self.problems: list[Problem] = []
        self._line_no = 0  # complete lines seen (empty ones too), to report line numbers
        self._consumed = 0  # byte offset up to which lines have been counted
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
            self._line_no = 0
            self._consumed = 0
            self._last_step = 0
        for p in batch.problems:
            self._add_problem(result, p)
        builder = ChunkBuilder()
        for offset, raw in batch.lines:
            self._line_no += 1 + self._blank_lines_before(offset)
            self._consumed = offset + len(raw) + 1
            self._parse(raw, result, builder)
        result.chunks = builder.build()
        return result

    def _blank_lines_before(self, offset: int) -> int:
        # The follower drops empty lines; each skipped byte range between two handed-over lines
        # is made only of newlines (one per blank line), so its length is their count.
        return max(0, offset - self._consumed)

    def _parse(self, raw: bytes, result: ReadResult, builder: ChunkBuilder) -> None:
        text = decode(raw).strip()
        if not text:
            return
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError) as exc:
            self._add_problem(result, Problem(self.path, self._line_no, f"not JSON: {str(exc)[:120]}"))
            return
        if not isinstance(obj, dict):
            self._add_problem(result, Problem(self.path, self._line_no, "line is not a JSON object"))
            return
        step, wall, metrics = parse_object(obj)
        if step is None:
            step = self._last_step + 1
        self._last_step = step
        for key, value in metrics.items():
            builder.add(key, step, wall, value)
        self.points += len(metrics)

    def close(self) -> None:
        """Nothing to release: the file is opened only for the duration of each read."""
