"""Follow MLflow runs where MLflow keeps them: the file store (``mlruns/``) or a SQLite store.

**File store** (``mlruns/<experiment id>/<run id>/``): one file per metric under ``metrics/``
(a key with ``/`` is a sub-folder), one line ``<unix ms> <value> <step>`` per point, appended as
the run logs; ``params/<key>`` and ``tags/<key>`` hold one value each; ``meta.yaml`` the run's
name and status. :class:`MlflowRunReader` follows every metric file by byte offset (a partial
last line waits for its newline) and picks up metric files that appear.

**SQLite store** (``mlflow.db``, ``mlruns.db``; verl's and recent MLflow's default): the
``metrics`` table (``key, value, timestamp, step, is_nan, run_uuid``) is read incrementally by
SQLite ``rowid``, which grows with every insert; ``params`` give the config. One database holds
many runs; :class:`MlflowDbReader` follows one (``select`` = its run uuid), read-only
(``_sqlite_ro``).

Keys are kept as logged (HF's MLflow callback logs ``loss``, ``eval_loss``; verl ``actor/...``)
and pass through the same canonical mapping as every logger. Params are strings in MLflow; they
are turned back into numbers and booleans where they look like one (``typed_param``) for
trainer detection.
"""

from __future__ import annotations

import math
import os
import time

from rltui.records import ChunkBuilder, Problem, ReadResult, SourceKind
from rltui.sources._logger_values import as_step, config_text, metric_name, run_settings, typed_param
from rltui.sources._sqlite_ro import DbUnavailable, ReadOnlyDb
from rltui.sources.fs import LOCAL, FileSystem

_MAX_PROBLEMS = 1000
_MAX_METRIC_FILES = 5000
_MAX_DEPTH = 8
_READ_BYTES = 16 << 20
_MAX_LINE = 4096
_PARAM_BYTES = 64 << 10
_BATCH_ROWS = 100_000
_PARAMS_EVERY_S = 5.0
_MAX_NAMES = 100_000
_UNSEEN = ""  # not a name metric_name returns


def parse_metric_line(line: bytes) -> tuple[int, float, float] | None:
    """(step, wall time s, value) of one ``timestamp value [step]`` line, or None when malformed."""
    parts = line.split()
    if len(parts) not in (2, 3):
        return None
    try:
        stamp = int(parts[0])
        value = float(parts[1])
        step = int(parts[2]) if len(parts) == 3 else 0
    except ValueError:
        return None
    if as_step(step) is None or not -(1 << 62) < stamp < 1 << 62:
        return None
    return step, stamp / 1000.0, value


class _MetricFile:
    """Byte offset and identity of one followed metric file."""

    __slots__ = ("identity", "offset", "size_seen")

    def __init__(self) -> None:
        self.offset = 0
        self.size_seen = 0
        self.identity: tuple[int, int] | None = None


def read_meta(run_dir: str, fs: FileSystem | None = None) -> dict[str, str]:
    """``key: value`` lines of ``meta.yaml`` (flat scalars only: run_name, status, run_id...)."""
    out: dict[str, str] = {}
    text = _read_small(fs if fs is not None else LOCAL, os.path.join(run_dir, "meta.yaml"))
    if text is None:
        return out
    for raw in text.splitlines():
        if raw[:1] in (" ", "-", "#") or ":" not in raw:
            continue
        key, _, value = raw.partition(":")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def _read_small(fs: FileSystem, path: str) -> str | None:
    """A param, tag or ``meta.yaml``; None when missing, not a regular file, or over 64 KiB."""
    try:
        return fs.read_small(path, _PARAM_BYTES).decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return None


class MlflowRunReader:
    """Incremental reader of one file-store run folder ``mlruns/<exp>/<run>/`` (``SourceReader``)."""

    kind: SourceKind = "mlflow"

    def __init__(self, path: str, *, fs: FileSystem | None = None) -> None:
        self.path = path
        self._fs: FileSystem = fs if fs is not None else LOCAL
        self.points = 0
        self.problems: list[Problem] = []
        self._metrics_dir = os.path.join(path, "metrics")
        self._files: dict[str, _MetricFile] = {}
        self._params_seen: frozenset[str] = frozenset()
        self._too_many = False

    def read(self) -> ReadResult:
        result = ReadResult()
        builder = ChunkBuilder()
        for rel in self._metric_files(result):
            state = self._files.get(rel)
            if state is None:
                state = self._files[rel] = _MetricFile()
            self._read_metric(rel, state, builder, result)
        result.chunks = builder.build()
        self.points += result.points
        self._read_params(result)
        return result

    def _metric_files(self, result: ReadResult) -> list[str]:
        """Metric files under ``metrics/`` as ``/``-joined relative paths (bounded walk)."""
        out: list[str] = []
        stack = [("", self._metrics_dir, 0)]
        while stack:
            rel, folder, depth = stack.pop()
            try:
                entries = list(self._fs.scandir(folder))
            except (OSError, ValueError):
                continue
            for entry in entries:
                name = f"{rel}/{entry.name}" if rel else entry.name
                if entry.target:  # MLflow never writes symlinks: one here is not its metric
                    continue
                if entry.kind == "dir":
                    if depth < _MAX_DEPTH:
                        stack.append((name, entry.path, depth + 1))
                elif entry.kind == "file":
                    out.append(name)
                if len(out) >= _MAX_METRIC_FILES:
                    if not self._too_many:
                        self._too_many = True
                        self._problem(
                            result, Problem(self._metrics_dir, None, f"more than {_MAX_METRIC_FILES} metrics")
                        )
                    return sorted(out)
        return sorted(out)

    def _read_metric(self, rel: str, state: _MetricFile, builder: ChunkBuilder, result: ReadResult) -> None:
        path = os.path.join(self._metrics_dir, *rel.split("/"))
        try:
            with self._fs.open(path) as fh:
                info = fh.info
                if state.identity is not None and (
                    info.identity != state.identity or info.size < state.size_seen
                ):
                    state.offset = state.size_seen = 0  # rewritten: read it again (the store merges by step)
                state.identity = info.identity
                state.size_seen = max(state.size_seen, info.size)
                want = min(_READ_BYTES, info.size - state.offset)
                data = fh.read_at(state.offset, want) if want > 0 else b""
        except (OSError, ValueError):
            return  # vanished between listing and reading, or not a regular file
        last = data.rfind(b"\n")
        if last < 0:
            if len(data) > _MAX_LINE:
                self._problem(result, Problem(path, state.offset, "line without newline skipped"))
                state.offset += len(data)
            return
        name = metric_name(rel)
        base = state.offset
        pos = 0
        for line in data[: last + 1].split(b"\n")[:-1]:
            point = parse_metric_line(line) if line.strip() else None
            if point is None:
                if line.strip():
                    self._problem(result, Problem(path, base + pos, "not a 'timestamp value step' line"))
            elif name is not None:
                builder.add(name, point[0], point[1], point[2])
            pos += len(line) + 1
        state.offset = base + last + 1

    def _read_params(self, result: ReadResult) -> None:
        folder = os.path.join(self.path, "params")
        try:
            names = frozenset(e.name for e in self._fs.scandir(folder) if e.kind == "file" and not e.target)
        except (OSError, ValueError):
            return
        if names == self._params_seen:
            return
        self._params_seen = names
        config: dict[str, object] = {}
        for name in sorted(names):
            value = _read_small(self._fs, os.path.join(folder, name))
            if value is not None:
                config[name] = typed_param(value)
        if config:
            result.texts["args"] = config_text(config)
            result.max_steps, result.logging_steps = run_settings(config)

    def _problem(self, result: ReadResult, problem: Problem) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(problem)
            result.problems.append(problem)

    def close(self) -> None:
        """Nothing is held open between calls."""


class MlflowDbReader:
    """Incremental reader of one run of an MLflow SQLite store (``select`` = the run uuid)."""

    kind: SourceKind = "mlflow"

    def __init__(self, path: str, select: str | None = None, *, fs: FileSystem | None = None) -> None:
        self.path = path
        self.run_uuid = select
        self.points = 0
        self.problems: list[Problem] = []
        self._db = ReadOnlyDb(path, fs)
        self._rowid = 0
        #: Logged key -> canonical name (None: unusable), so each key is mapped once.
        self._names: dict[object, str | None] = {}
        self._params_at = -math.inf
        self._params_count = -1
        self._state: str | None = None

    def read(self) -> ReadResult:
        result = ReadResult()
        builder = ChunkBuilder()
        try:
            self._read_rows(result, builder)
            self._read_params(result)
            self._state = None
        except DbUnavailable as exc:
            if not exc.transient or "locked" not in str(exc):
                self._file_problem(result, str(exc))
        result.chunks = builder.build()
        self.points += result.points
        return result

    def _read_rows(self, result: ReadResult, builder: ChunkBuilder) -> None:
        if self.run_uuid is None:
            raise DbUnavailable("no run selected in this MLflow database")
        top = self._db.query("SELECT max(rowid) FROM metrics")
        if self._db.replaced or (top and top[0][0] is not None and top[0][0] < self._rowid):
            self._db.replaced = False
            self._rowid = 0
            self.points = 0
            result.restarted = True
        while True:
            rows = self._db.query(
                "SELECT rowid, key, value, timestamp, step, is_nan FROM metrics "
                "WHERE run_uuid = ? AND rowid > ? ORDER BY rowid LIMIT ?",
                (self.run_uuid, self._rowid, _BATCH_ROWS),
            )
            names = self._names
            add = builder.add
            for _rowid, key, value, stamp, step, is_nan in rows:
                name = names.get(key, _UNSEEN)
                if name is _UNSEEN:
                    name = metric_name(key) if isinstance(key, str) else None
                    if len(names) < _MAX_NAMES:
                        names[key] = name
                if name is None:
                    continue
                # What MLflow writes (an integer step and time, a REAL value) is taken as is
                # (SQLite integers are int64: always a valid step); anything else is checked.
                if type(step) is int and type(value) is float and type(stamp) is int and not is_nan:
                    add(name, step, stamp / 1000.0, value)
                else:
                    self._row(name, value, stamp, step, is_nan, builder)
            if rows:
                self._rowid = rows[-1][0]
            if len(rows) < _BATCH_ROWS:
                return

    @staticmethod
    def _row(
        name: str, value: object, stamp: object, step: object, is_nan: object, builder: ChunkBuilder
    ) -> None:
        s = as_step(step)
        if s is None:
            return
        if is_nan:
            v = math.nan
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            v = float(value)
        else:
            return
        wall = stamp / 1000.0 if isinstance(stamp, int) and not isinstance(stamp, bool) else math.nan
        builder.add(name, s, wall, v)

    def _read_params(self, result: ReadResult) -> None:
        now = time.monotonic()
        if now - self._params_at < _PARAMS_EVERY_S:
            return
        self._params_at = now
        rows = self._db.query("SELECT key, value FROM params WHERE run_uuid = ?", (self.run_uuid,))
        if len(rows) == self._params_count:
            return
        self._params_count = len(rows)
        config = {str(k): typed_param(str(v)) for k, v in rows if isinstance(k, str)}
        if config:
            result.texts["args"] = config_text(config)
            result.max_steps, result.logging_steps = run_settings(config)

    def _file_problem(self, result: ReadResult, message: str) -> None:
        if message != self._state:
            self._state = message
            p = Problem(self.path, None, message)
            if len(self.problems) < _MAX_PROBLEMS:
                self.problems.append(p)
            result.problems.append(p)

    def close(self) -> None:
        self._db.close()


def db_runs(path: str, fs: FileSystem | None = None) -> list[tuple[str, str, str]]:
    """(run uuid, run name, experiment name) of every active run in an MLflow SQLite store."""
    db = ReadOnlyDb(path, fs)
    try:
        rows = db.query(
            "SELECT r.run_uuid, r.name, e.name FROM runs r LEFT JOIN experiments e "
            "ON r.experiment_id = e.experiment_id WHERE r.lifecycle_stage IS NOT 'deleted' "
            "ORDER BY r.start_time, r.run_uuid"
        )
    except DbUnavailable:
        return []
    finally:
        db.close()
    return [(str(u), str(n or u), str(e or "")) for u, n, e in rows if isinstance(u, str)]


def open_reader(
    path: str, select: str | None = None, *, fs: FileSystem | None = None
) -> MlflowRunReader | MlflowDbReader:
    """The reader for a file-store run folder, or for one run (``select``) of a SQLite store."""
    fs = fs if fs is not None else LOCAL
    try:
        is_dir = fs.stat(path).kind == "dir"
    except (OSError, ValueError):
        is_dir = select is None  # not there yet: a file-store run has no select
    if is_dir:
        return MlflowRunReader(path, fs=fs)
    return MlflowDbReader(path, select, fs=fs)
