"""Completion samples on disk -> :class:`~rltui.records.Sample`, one step at a time.

Three layouts, each a *sample folder* that lists its steps cheaply (file names only) and reads one
step on demand, so a run with hundreds of sample files costs nothing until someone looks:

* TRL ``log_completions=True``: ``completions/completions_NNNNN.parquet`` (NNNNN = global step;
  columns step, prompt, completion, one per reward function, advantage). Read with pyarrow, an
  optional extra (``pip install 'rltui[samples]'``); without it the folder is a reported problem
  naming that command. A file whose footer is not written yet (no trailing ``PAR1`` magic) is
  waited for while it is the newest; once a newer file exists it is a problem. A file that has its
  footer but does not parse is a problem.
* verl ``trainer.rollout_data_dir``: ``<dir>/<step>.jsonl``, one object per line with ``input``,
  ``output``, ``score`` (and ``step``, ``gts``, reward extras).
* The Rich tables TRL prints to the console (``console.log``): see :mod:`rltui.sources.rich_samples`.

Every text is run text: escape sequences and control bytes are stripped here (newlines and tabs
kept), nothing else is changed, and a text longer than :data:`MAX_TEXT` is cut with a problem.

Every listing and read goes through the run's file-system seam (``sources/fs``): the same code
reads a local run, one on an ssh host and one in an object store, and a FIFO or device named
``completions_00010.parquet`` (which ``open()`` would block on forever) or a symlink out of the
run is refused with a problem instead. A parquet file is read into memory (bounded by
:data:`MAX_FILE`) and parsed from there, so pyarrow never opens a path itself.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from rltui.records import Problem, Sample
from rltui.sources.fs import LOCAL, MAX_ENTRIES, FileSystem, describe
from rltui.text import decode, sanitize

#: What to install when a run has parquet samples and pyarrow is missing (exact command).
PYARROW_HINT = "pip install 'rltui[samples]'  (or: pip install pyarrow)"
#: A single prompt or completion longer than this is cut (a hostile or broken file).
MAX_TEXT = 1_000_000
#: Rows read from one step's file at most.
MAX_ROWS = 100_000
#: Files larger than this are not read (a step's samples are kilobytes to a few megabytes).
MAX_FILE = 512 * 1024 * 1024
#: How deep below the run folder sample folders are looked for.
SEARCH_DEPTH = 2
#: verl dumps its rollouts under a folder the user names; these names are looked into.
_SKIP = ("checkpoint-", ".", "__pycache__", "runs", "wandb", "mlruns")

_PARQUET = re.compile(r"^completions_(\d{1,12})\.parquet$")
_ROLLOUT = re.compile(r"^(\d{1,12})\.jsonl$")
_MAGIC = b"PAR1"


class MissingExtra(Exception):
    """A reader needs an optional dependency; the message says what to install."""


@dataclass(slots=True)
class StepRead:
    """What reading one step gave: its samples, problems, and whether to try again later."""

    samples: list[Sample] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    wait: bool = False


class SampleFolder(Protocol):
    kind: str
    path: str

    def listing(self) -> dict[int, str]:
        """step -> file, from names only (cheap; called on every poll)."""
        ...

    def read(self, step: int) -> StepRead: ...


def clean(value: object, problems: list[Problem], path: str, what: str) -> str:
    """Run text made safe: messages joined, escapes stripped, capped at :data:`MAX_TEXT`."""
    if isinstance(value, bytes):
        text = decode(value)
    elif isinstance(value, str):
        text = value
    elif isinstance(value, list):  # conversational: [{"role": ..., "content": ...}, ...]
        parts = []
        for item in value:
            if isinstance(item, dict):
                content = item.get("content")
                parts.append(content if isinstance(content, str) else json.dumps(content, default=str))
            else:
                parts.append(str(item))
        text = "\n".join(parts)
    elif value is None:
        text = ""
    else:
        text = str(value)
    if len(text) > MAX_TEXT:
        problems.append(Problem(path, None, f"{what} longer than {MAX_TEXT} characters: cut"))
        text = text[:MAX_TEXT]
    return sanitize(text)


def number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        x = float(value)
        return x if not math.isnan(x) else math.nan
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _scan(fs: FileSystem, root: str, depth: int = SEARCH_DEPTH) -> Iterator[tuple[str, list[str]]]:
    """(folder, regular file names) for ``root`` and the folders below it, bounded, never raising."""
    stack = [(root, 0)]
    seen = 0
    while stack and seen < 200:
        path, d = stack.pop()
        seen += 1
        try:
            entries = []
            for entry in fs.scandir(path):
                entries.append(entry)
                if len(entries) >= MAX_ENTRIES:
                    break
        except (OSError, ValueError):
            continue
        names = []
        for e in entries:
            if e.kind == "dir" and not e.target:  # symlinked folders are not walked into
                if d < depth and not e.name.startswith(_SKIP):
                    stack.append((e.path, d + 1))
            elif e.kind == "file":
                names.append(e.name)
        yield path, names


def find_sample_folders(root: str, fs: FileSystem = LOCAL) -> list[SampleFolder]:
    """The sample folders of a run: TRL parquet folders and verl rollout dumps below ``root``."""
    out: list[SampleFolder] = []
    for path, names in _scan(fs, root):
        if any(_PARQUET.match(n) for n in names):
            out.append(ParquetFolder(path, fs))
        elif sum(1 for n in names if _ROLLOUT.match(n)) and _looks_like_rollouts(fs, path, names):
            out.append(RolloutFolder(path, fs))
    return out


def _looks_like_rollouts(fs: FileSystem, path: str, names: list[str]) -> bool:
    """A ``<step>.jsonl`` whose first line has verl's ``input``/``output`` keys."""
    first = next((n for n in sorted(names) if _ROLLOUT.match(n)), None)
    if first is None:
        return False
    try:
        with fs.open(os.path.join(path, first)) as fh:
            head = fh.read_at(0, 1 << 20)
        obj = json.loads(head.split(b"\n", 1)[0])
    except (OSError, ValueError):
        return False
    return isinstance(obj, dict) and "output" in obj and ("input" in obj or "prompt" in obj)


def _list(fs: FileSystem, path: str, pattern: re.Pattern[str]) -> dict[int, str]:
    out: dict[int, str] = {}
    try:
        for n, entry in enumerate(fs.scandir(path)):
            if n >= MAX_ENTRIES:
                break
            m = pattern.match(entry.name)
            if m and entry.kind == "file":
                out[int(m.group(1))] = entry.path
    except (OSError, ValueError):
        return {}
    return out


def _read_bounded(fs: FileSystem, path: str, what: str) -> bytes | StepRead:
    """The whole file, or the problem that says why not (too large, not a regular file, gone)."""
    try:
        with fs.open(path) as fh:
            size = fh.info.size
            if size > MAX_FILE:
                return StepRead(problems=[Problem(path, None, f"{what} of {size} bytes: not read")])
            return fh.read_at(0, size)
    except (OSError, ValueError) as exc:
        message = describe(exc) if isinstance(exc, OSError) else str(exc)
        return StepRead(problems=[Problem(path, None, f"cannot read: {message}")])


class ParquetFolder:
    """TRL's ``completions/`` folder: one parquet file per logged step."""

    kind = "completions"

    def __init__(self, path: str, fs: FileSystem = LOCAL) -> None:
        self.path = path
        self._fs = fs
        self._files: dict[int, str] = {}

    def listing(self) -> dict[int, str]:
        self._files = _list(self._fs, self.path, _PARQUET)
        return dict(self._files)

    def read(self, step: int) -> StepRead:
        files = self._files if step in self._files else self.listing()
        path = files.get(step)
        if path is None:
            return StepRead()
        newest = step == max(files)
        data = _read_bounded(self._fs, path, "parquet file")
        if isinstance(data, StepRead):
            return data
        size = len(data)
        head, tail = data[:4], (data[-4:] if size >= 12 else b"")
        if head and head != _MAGIC:
            return StepRead(problems=[Problem(path, 0, "not a parquet file (no PAR1 magic)")])
        if tail != _MAGIC:
            if newest:
                return StepRead(wait=True)  # the writer is still at it
            return StepRead(problems=[Problem(path, size, "incomplete parquet file (no footer)")])
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise MissingExtra(f"completion samples in {self.path} need pyarrow: {PYARROW_HINT}") from exc
        try:
            table = pq.ParquetFile(io.BytesIO(data)).read()
            rows = table.slice(0, MAX_ROWS).to_pylist()
        except Exception as exc:  # pyarrow raises many types on a corrupt file
            return StepRead(
                problems=[Problem(path, None, f"corrupt parquet file: {type(exc).__name__}: {exc}")]
            )
        problems: list[Problem] = []
        if table.num_rows > MAX_ROWS:
            problems.append(Problem(path, None, f"{table.num_rows} rows: the first {MAX_ROWS} read"))
        samples = [s for row in rows if (s := _trl_row(row, step, path, problems)) is not None]
        return StepRead(samples, problems)


_TRL_TEXT = {"prompt", "completion", "step", "advantage", "image", "images"}


def _trl_row(row: dict[str, Any], step: int, path: str, problems: list[Problem]) -> Sample | None:
    if "completion" not in row:
        if not problems:
            problems.append(Problem(path, None, "no 'completion' column"))
        return None
    rewards = []
    for key, value in row.items():
        if key in _TRL_TEXT:
            continue
        x = number(value)
        if x is not None:
            rewards.append((sanitize(str(key), single_line=True, max_len=80), x))
    total = sum(x for _, x in rewards) if rewards else None
    return Sample(
        step=step,
        prompt=clean(row.get("prompt"), problems, path, "prompt"),
        completion=clean(row.get("completion"), problems, path, "completion"),
        reward=total,
        advantage=number(row.get("advantage")),
        rewards=tuple(rewards),
    )


class RolloutFolder:
    """verl's ``rollout_data_dir``: ``<step>.jsonl``, one rollout per line."""

    kind = "completions"

    def __init__(self, path: str, fs: FileSystem = LOCAL) -> None:
        self.path = path
        self._fs = fs
        self._files: dict[int, str] = {}

    def listing(self) -> dict[int, str]:
        self._files = _list(self._fs, self.path, _ROLLOUT)
        return dict(self._files)

    def read(self, step: int) -> StepRead:
        path = (self._files if step in self._files else self.listing()).get(step)
        if path is None:
            return StepRead()
        data = _read_bounded(self._fs, path, "rollout dump")
        if isinstance(data, StepRead):
            return data
        out = StepRead()
        offset = 0
        for raw in data.split(b"\n"):
            line_at, offset = offset, offset + len(raw) + 1
            if offset > len(data) and raw.strip():
                out.wait = True  # a partial last line: verl is still writing this step
                break
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError as exc:
                out.problems.append(Problem(path, line_at, f"not JSON: {exc}"))
                continue
            if not isinstance(obj, dict) or "output" not in obj:
                out.problems.append(Problem(path, line_at, "a line without 'output'"))
                continue
            extras = tuple(
                (sanitize(str(k), single_line=True, max_len=80), x)
                for k, v in obj.items()
                if k not in ("input", "output", "prompt", "gts", "step", "score")
                and (x := number(v)) is not None
            )
            out.samples.append(
                Sample(
                    step=step,
                    prompt=clean(obj.get("input", obj.get("prompt")), out.problems, path, "input"),
                    completion=clean(obj.get("output"), out.problems, path, "output"),
                    reward=number(obj.get("score")),
                    advantage=number(obj.get("advantage")),
                    rewards=extras,
                )
            )
            if len(out.samples) >= MAX_ROWS:
                break
        return out


class InlineSamples:
    """Samples a log holds inline (verl's ``val/generations`` text summaries in an event file).

    The event-file reader finds them while it decodes (no second pass over the file) and the
    session hands them over; this folder only keeps them by step. They are a handful of
    validation generations per step, not every completion of a training step, so they are shown
    but give no statistics to the rules (``kind`` is not ``completions``).
    """

    kind = "tensorboard"
    #: Samples kept per step at most (verl logs ``log_val_generations`` of them, 10 or so).
    MAX_PER_STEP = 256

    def __init__(self, path: str) -> None:
        self.path = path
        self._steps: dict[int, list[Sample]] = {}

    def add(self, samples: list[Sample]) -> None:
        for s in samples:
            got = self._steps.setdefault(s.step, [])
            if len(got) < self.MAX_PER_STEP:
                got.append(s)

    def listing(self) -> dict[int, str]:
        return dict.fromkeys(self._steps, self.path)

    def read(self, step: int) -> StepRead:
        return StepRead(samples=list(self._steps.get(step, ())))
