"""Metrics from HF ``trainer_state.json``: its ``log_history`` (one dict per log, with ``step``).

The Trainer rewrites this file whole at every checkpoint save, so it is not followed by offset:
a change of (mtime, size, inode) means "parse it again and re-state every entry" with
``restarted=True`` (the store replaces points by step, nothing doubles). The file is small, so
O(file) per change is fine. A read can catch the file half-written: an unparseable file is reported
on the first read (``check`` reads once) as possibly mid-write, not repeated while it stays broken,
and dropped from ``problems`` once the file parses; still unparseable on a later read with the file
unchanged, it is reported again with the parser's detail.

Python's ``json`` writes and reads ``NaN``/``Infinity``/``-Infinity``; they are kept as float
nan/inf. ``null`` (GRPO's all-NaN window), booleans and text are skipped. Every key except
``step`` is a metric, already in the canonical spelling (``eval_*`` for eval rows, ``epoch``, the
end-of-training ``train_runtime``/``train_loss``...). The file has no clock: wall times are NaN.
Problem offsets are ``None``: the file is parsed whole, so there is no byte offset to give; a bad
entry is named in the message instead (``log_history[3]: ...``, 0-based).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rltui.records import FloatArray, IntArray, PointChunk, Problem, ReadResult, SourceKind
from rltui.sources._json import loads, parse_shallow
from rltui.sources.console import clean_key, to_float
from rltui.sources.fs import LOCAL, FileSystem, describe

_MAX_BYTES = 256 << 20  # a trainer_state.json is a few MB at most; refuse to slurp anything huge
_MAX_PROBLEMS = 1000
NOT_JSON = "not valid JSON (possibly mid-write: will retry)"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an int beyond float range
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        return to_float(value)  # numeric strings, "nan", "inf"
    return None


def _numbers(column: list[Any]) -> tuple[Any, FloatArray] | None:
    """The numbers of a column as floats: ``(None, values)`` when every entry is one, else
    ``(mask, values)`` of the entries that are (see :func:`_number`); None when none is."""
    kinds = set(map(type, column))
    if kinds <= {float, int}:
        try:
            return None, np.fromiter(column, dtype=np.float64, count=len(column))
        except OverflowError:  # an int beyond float range: the per-value path makes it +-inf
            pass
    converted = [_number(v) for v in column]
    mask = np.fromiter((v is not None for v in converted), dtype=bool, count=len(converted))
    if not mask.any():
        return None
    values = np.fromiter((v for v in converted if v is not None), dtype=np.float64)
    return mask, values


_STEP_LIMIT = 1 << 63  # steps are stored as int64


def _int_step(value: Any) -> int | None:
    """An int or integral float within int64, else None."""
    step: int | None = None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        step = value
    elif isinstance(value, float) and value.is_integer():
        step = int(value)
    if step is None or not -_STEP_LIMIT <= step < _STEP_LIMIT:
        return None
    return step


class TrainerStateReader:
    """Re-parses ``trainer_state.json`` whenever it changes (see the module docstring).

    ``points`` counts the points of the latest successful parse.
    """

    kind: SourceKind = "trainer_state"

    def __init__(self, path: str, *, fs: FileSystem | None = None) -> None:
        self.path = path
        self._fs: FileSystem = fs if fs is not None else LOCAL
        self.points = 0
        self.problems: list[Problem] = []
        self._parsed_sig: tuple[int, int, int] | None = None
        self._failed_sig: tuple[int, int, int] | None = None
        self._reported_sig: tuple[int, int, int] | None = None
        self._state = "ok"
        self._parsed_once = False
        self._seen: set[tuple[int | None, str]] = set()
        #: Problems of the current "does not parse" episode, dropped once the file parses.
        self._json_problems: list[Problem] = []

    def _report(self, result: ReadResult, offset: int | None, message: str) -> None:
        key = (offset, message)
        if key in self._seen or len(self.problems) >= _MAX_PROBLEMS:
            return
        self._seen.add(key)
        p = Problem(self.path, offset, message)
        self.problems.append(p)
        result.problems.append(p)

    def _file_problem(self, result: ReadResult, message: str) -> None:
        if self._state != message:  # one problem per transition
            self._state = message
            p = Problem(self.path, None, message, transient=True)
            self.problems.append(p)
            result.problems.append(p)

    def read(self) -> ReadResult:
        result = ReadResult()
        try:
            with self._fs.open(self.path) as fh:
                info = fh.info
                data = fh.read_at(0, min(info.size, _MAX_BYTES) + 1)
        except FileNotFoundError:
            self._file_problem(result, "file not found (vanished or not written yet)")
            self._parsed_sig = None  # when it comes back, parse it whatever its stat
            return result
        except OSError as exc:
            self._file_problem(result, f"cannot read file: {describe(exc)}")
            self._parsed_sig = None
            return result
        self._state = "ok"
        sig = (info.mtime_ns, info.size, info.identity[1])
        if sig == self._parsed_sig:
            return result
        if len(data) > _MAX_BYTES:
            if self._reported_sig != sig:
                self._reported_sig = sig
                self._file_problem(result, f"file larger than {_MAX_BYTES} bytes, not read")
            return result
        text = data.decode("utf-8", errors="replace")
        if text.startswith("\ufeff"):
            text = text[1:]  # a UTF-8 BOM (written by some editors and Windows tools)
        try:
            state = loads(text)
        except RecursionError:
            # Valid JSON nested deeper than Python's parser goes: take it apart entry by entry.
            state = None
            try:
                state, deep = parse_shallow(text)
            except ValueError as exc:
                self._unparseable(result, sig, exc)
                return result
            for where in deep:
                self._report(result, None, f"{where}: nested deeper than the parser allows, skipped")
        except ValueError as exc:
            self._unparseable(result, sig, exc)
            return result
        self._parsed_sig = sig
        self._failed_sig = None
        if self._json_problems:  # it parses now: the earlier failure was a write in progress
            self.problems = [p for p in self.problems if p not in self._json_problems]
            self._json_problems = []
        self._emit(state, result)
        return result

    def _unparseable(self, result: ReadResult, sig: tuple[int, int, int], exc: Exception) -> None:
        """Report a file that does not parse at once (``check`` reads only once), once per episode.

        The Trainer rewrites the file in place, so a read can catch it half-written: the first
        failure says so with a constant message (no repeat while it stays broken, none for every
        torn write of the same episode); the same file still broken on a later read is corrupt and
        gets the parser's detail, once.
        """
        if not self._json_problems:
            self._add_json_problem(result, NOT_JSON)
        elif self._failed_sig == sig and self._reported_sig != sig:
            self._reported_sig = sig
            self._add_json_problem(result, f"still not valid JSON, file unchanged: {str(exc)[:200]}")
        self._failed_sig = sig

    def _add_json_problem(self, result: ReadResult, message: str) -> None:
        p = Problem(self.path, None, message, transient=True)
        self._json_problems.append(p)
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(p)
        result.problems.append(p)

    def _emit(self, state: Any, result: ReadResult) -> None:
        result.restarted = self._parsed_once
        self._parsed_once = True
        if not isinstance(state, dict):
            self._report(result, None, "top level is not a JSON object")
            self.points = 0
            return
        for field in ("max_steps", "logging_steps"):
            value = _int_step(state.get(field))
            if value is not None and value > 0:
                setattr(result, field, value)
        history = state.get("log_history")
        if not isinstance(history, list):
            self._report(result, None, "no log_history list")
            self.points = 0
            return
        # Rows come in a few shapes (train rows, eval rows, the final summary): gathered by their
        # keys, each key of a shape is then one column, converted by numpy in one call. A column
        # with anything but plain numbers (None, bools, strings, huge ints) takes the per-value
        # path. The points come out exactly as a row-by-row walk gives them: per metric in row
        # order, and the metrics in the order they first appear (issue 11: 2.6x json.load).
        shapes: dict[tuple[str, ...], tuple[list[int], list[int], list[dict[str, Any]]]] = {}
        for index, entry in enumerate(history):
            if not isinstance(entry, dict):
                self._report(result, None, f"log_history[{index}]: entry is not an object")
                continue
            step = _int_step(entry.get("step"))
            if step is None:
                self._report(result, None, f"log_history[{index}]: entry without an integer step")
                continue
            shape = tuple(entry)
            group = shapes.get(shape)
            if group is None:
                group = shapes[shape] = ([], [], [])
            group[0].append(index)
            group[1].append(step)
            group[2].append(entry)
        names: dict[str, str | None] = {}  # raw key -> metric name (None: unusable key)
        # metric -> parts of (row indexes, steps, values), and where the metric first appears
        parts: dict[str, list[tuple[IntArray, IntArray, FloatArray]]] = {}
        first_seen: dict[str, tuple[int, int]] = {}
        for shape, (rows, steps, entries) in shapes.items():
            row_ix = np.asarray(rows, dtype=np.int64)
            step_arr = np.asarray(steps, dtype=np.int64)
            for position, key in enumerate(shape):
                if key == "step":
                    continue
                try:
                    name = names[key]
                except KeyError:
                    name = names[key] = clean_key(key)
                if name is None:
                    continue
                column = [e[key] for e in entries]
                kept = _numbers(column)
                if kept is None:
                    continue
                mask, values = kept
                part = (row_ix, step_arr, values) if mask is None else (row_ix[mask], step_arr[mask], values)
                if not len(part[0]):
                    continue
                parts.setdefault(name, []).append(part)
                seen = (int(part[0][0]), position)
                if name not in first_seen or seen < first_seen[name]:
                    first_seen[name] = seen
        points = 0
        chunks: dict[str, PointChunk] = {}
        for name in sorted(parts, key=lambda n: first_seen[n]):
            pieces = parts[name]
            if len(pieces) == 1:
                _, st, vals = pieces[0]
            else:
                order = np.argsort(np.concatenate([p[0] for p in pieces]), kind="stable")
                st = np.concatenate([p[1] for p in pieces])[order]
                vals = np.concatenate([p[2] for p in pieces])[order]
            n = len(st)
            points += n
            chunks[name] = PointChunk(
                np.ascontiguousarray(st, dtype=np.int64),
                np.full(n, math.nan),  # trainer_state.json has no clock
                np.ascontiguousarray(vals, dtype=np.float64),
                np.full(n, -1, dtype=np.int64),  # nor a byte offset per point
            )
        self.points = points
        result.chunks = chunks

    @property
    def healthy(self) -> bool:
        """The file was read and parses (a torn write or a vanished file is over)."""
        return self._state == "ok" and not self._json_problems

    def close(self) -> None:
        """Nothing to release: the file is opened only for the duration of each read."""
