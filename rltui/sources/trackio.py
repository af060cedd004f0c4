"""Follow one run of a Trackio project database (``<TRACKIO_DIR>/<project>.db``).

Trackio (Hugging Face's local-first tracker, ``report_to="trackio"``) keeps each project in one
SQLite file, in WAL mode, default folder ``~/.cache/huggingface/trackio/`` (``TRACKIO_DIR``
overrides, ``HF_HOME`` moves it). Its ``metrics`` table holds one row per ``log()`` call:
``id`` (autoincrement, read incrementally), ``run_name``, ``step``, ``timestamp`` (ISO 8601),
``metrics`` (a JSON object). The row's step is its ``train/global_step`` when HF's callback
logged one, else Trackio's ``step``; nested objects are joined with ``/``. ``configs`` holds the
run's config as JSON. Read-only through ``_sqlite_ro``; one database = many runs, one reader
per run (``select`` = the run name).
"""

from __future__ import annotations

import json
import math
import os
import time
from datetime import datetime
from typing import Any

from rltui.records import ChunkBuilder, Problem, ReadResult, SourceKind
from rltui.sources._logger_values import (
    STEP_KEYS,
    as_step,
    config_text,
    flat_numbers,
    metric_name,
    run_settings,
)
from rltui.sources._sqlite_ro import DbUnavailable, ReadOnlyDb
from rltui.sources.fs import LOCAL, FileSystem, is_file

_BATCH_ROWS = 20_000
_MAX_PROBLEMS = 1000
_MAX_JSON = 1 << 20
_CONFIG_EVERY_S = 5.0


def default_dir() -> str:
    """Where Trackio keeps its projects: ``TRACKIO_DIR``, else ``$HF_HOME/trackio``."""
    explicit = os.environ.get("TRACKIO_DIR")
    if explicit:
        return explicit
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface"
    )
    return os.path.join(hf_home, "trackio")


def canonical_project_name(project: str) -> str:
    """The file name stem Trackio gives a project (``trackio.utils.canonical_project_name``:
    only letters, digits, ``-`` and ``_`` are kept; ``default`` when nothing remains)."""
    safe = "".join(c for c in project if c.isalnum() or c in ("-", "_")).rstrip()
    return safe or "default"


class NoSuchProject(LookupError):
    """``rltui --trackio PROJECT`` named a project that has no database (yet)."""


def _project_files(folder: str) -> list[str]:
    try:
        return sorted(e.name for e in LOCAL.scandir(folder) if e.kind == "file" and e.name.endswith(".db"))
    except (OSError, ValueError):
        return []


def project_dbs(project: str, folder: str | None = None) -> list[str]:
    """The database of Trackio project ``project``: a path to a ``.db`` file is taken as it is,
    else ``<folder>/<canonical name>.db`` in Trackio's folder (:func:`default_dir`); ``""``
    means every project there. Raises :class:`NoSuchProject`, naming the projects that are
    there, when there is none."""
    if project.endswith(".db") and is_file(LOCAL, project):
        return [project]
    folder = folder or default_dir()
    names = _project_files(folder)
    if not project and names:
        return [os.path.join(folder, n) for n in names]
    path = os.path.join(folder, canonical_project_name(project) + ".db")
    if project and is_file(LOCAL, path):
        return [path]
    there = f" (projects there: {', '.join(n[:-3] for n in names[:20])})" if names else " (no projects there)"
    what = f"Trackio project {project!r}" if project else "Trackio project"
    raise NoSuchProject(f"no {what} in {folder}{there}; TRACKIO_DIR sets the folder")


def _wall(text: object) -> float:
    if not isinstance(text, str) or len(text) > 64:
        return math.nan
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return math.nan


def parse_row(step: object, metrics_json: object) -> tuple[int | None, dict[str, float]] | None:
    """(step, metrics) of one metrics row; None when its JSON is not an object."""
    raw = metrics_json.decode("utf-8", errors="replace") if isinstance(metrics_json, bytes) else metrics_json
    if not isinstance(raw, str) or len(raw) > _MAX_JSON:
        return None
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    metrics: dict[str, float] = {}
    for key, value in obj.items():
        if isinstance(key, str) and not key.startswith("_") and key not in STEP_KEYS:
            flat_numbers(key, value, metrics)
    for key in STEP_KEYS:  # the most specific step field wins
        s = as_step(obj.get(key))
        if s is not None:
            return s, metrics
    return as_step(step), metrics


class TrackioReader:
    """Incremental reader of one run (``select`` = run name) of a Trackio project database."""

    kind: SourceKind = "trackio"

    def __init__(self, path: str, select: str | None = None, *, fs: FileSystem | None = None) -> None:
        self.path = path
        self.run_name = select
        self.points = 0
        self.problems: list[Problem] = []
        self._db = ReadOnlyDb(path, fs)
        self._id = 0
        self._config_at = -math.inf
        self._config_raw: object = None
        self._state: str | None = None

    def read(self) -> ReadResult:
        result = ReadResult()
        builder = ChunkBuilder()
        try:
            self._read_rows(result, builder)
            self._read_config(result)
            self._state = None
        except DbUnavailable as exc:
            if not (exc.transient and "locked" in str(exc)):
                self._file_problem(result, str(exc))
        result.chunks = builder.build()
        self.points += result.points
        return result

    def _read_rows(self, result: ReadResult, builder: ChunkBuilder) -> None:
        if self.run_name is None:
            raise DbUnavailable("no run selected in this Trackio project")
        top = self._db.query("SELECT max(id) FROM metrics")
        if self._db.replaced or (top and top[0][0] is not None and top[0][0] < self._id):
            self._db.replaced = False
            self._id = 0
            self.points = 0
            result.restarted = True
        while True:
            rows = self._db.query(
                "SELECT id, step, timestamp, metrics FROM metrics WHERE run_name = ? AND id > ? "
                "ORDER BY id LIMIT ?",
                (self.run_name, self._id, _BATCH_ROWS),
            )
            for row_id, step, stamp, metrics_json in rows:
                self._id = row_id
                parsed = parse_row(step, metrics_json)
                if parsed is None:
                    self._problem(
                        result, Problem(self.path, None, f"metrics row {row_id}: not a JSON object")
                    )
                    continue
                s, metrics = parsed
                if s is None:
                    self._problem(result, Problem(self.path, None, f"metrics row {row_id}: no integer step"))
                    continue
                wall = _wall(stamp)
                for key, value in metrics.items():
                    name = metric_name(key)
                    if name is not None:
                        builder.add(name, s, wall, value)
            if len(rows) < _BATCH_ROWS:
                return

    def _read_config(self, result: ReadResult) -> None:
        now = time.monotonic()
        if now - self._config_at < _CONFIG_EVERY_S:
            return
        self._config_at = now
        try:
            rows = self._db.query("SELECT config FROM configs WHERE run_name = ? LIMIT 1", (self.run_name,))
        except DbUnavailable:
            return  # older Trackio projects have no configs table
        if not rows or rows[0][0] == self._config_raw:
            return
        self._config_raw = raw = rows[0][0]
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        try:
            obj: Any = json.loads(text) if isinstance(text, str) and len(text) <= _MAX_JSON else None
        except (ValueError, RecursionError):
            obj = None
        if isinstance(obj, dict):
            config = {k: v for k, v in obj.items() if isinstance(k, str) and not k.startswith("_")}
            if config:
                result.texts["args"] = config_text(config)
                result.max_steps, result.logging_steps = run_settings(config)

    def _problem(self, result: ReadResult, problem: Problem) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(problem)
            result.problems.append(problem)

    def _file_problem(self, result: ReadResult, message: str) -> None:
        if message != self._state:
            self._state = message
            self._problem(result, Problem(self.path, None, message))

    def close(self) -> None:
        self._db.close()


def project_runs(path: str, fs: FileSystem | None = None) -> list[str]:
    """The run names of a Trackio project database, in the order they first logged."""
    db = ReadOnlyDb(path, fs)
    try:
        rows = db.query("SELECT run_name, min(id) AS first FROM metrics GROUP BY run_name ORDER BY first")
    except DbUnavailable:
        return []
    finally:
        db.close()
    return [str(r[0]) for r in rows if isinstance(r[0], str)]
