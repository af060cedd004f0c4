"""Find the runs the experiment trackers left on disk: W&B, MLflow, Trackio, SwanLab.

Why apart from ``discovery``: a tracker's folder is not a run folder. ``wandb/`` holds one run per
``run-*``/``offline-run-*`` folder, ``mlruns/`` and ``mlflow.db`` hold many runs of many
experiments, a Trackio project database many runs, ``swanlog/`` one run per ``run-*``. Each of
those becomes its own rltui run, named by the tracker's run name, unless it belongs to a run
found otherwise: a tracker run whose logged config has an ``output_dir`` (HF TrainingArguments)
that is a discovered run folder is merged into that run (TensorBoard and W&B of one training
are ONE run; the session's precedence decides each step).

Where it looks, for every folder the generic walk visited (and the folder given): ``wandb/``,
``mlruns/``, ``swanlog/``, ``trackio/`` inside it, ``mlflow.db``/``mlruns.db`` in it, and the
folder itself when it is one of those or a single tracker run. For a run folder given directly
(``rltui out/``), the ``wandb/``/``mlruns``/... beside it are searched for runs whose
``output_dir`` is that folder (only those: the neighbours' other runs are not this run).
Only names, a bounded listing and each log's first MiB (W&B: run name and config) are read.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rltui.records import SourceKind
from rltui.sources.fs import LOCAL, Entry, is_dir, is_file

MAX_TRACKER_RUNS = 2000
MLFLOW_DB_NAMES = ("mlflow.db", "mlruns.db")
_HEAD_BYTES = 1 << 20
_MAX_ENTRIES = 20000


@dataclass(slots=True)
class TrackerRun:
    """One tracker run: the file or folder its reader follows, and how to name and place it."""

    kind: SourceKind
    path: str
    name: str
    select: str | None = None
    #: Extra files of the run (W&B's ``files/output.log``), used when it stands alone.
    extras: list[tuple[SourceKind, str]] = field(default_factory=list)
    #: The folder it was found next to: a relative ``output_dir`` is resolved against it.
    base: str = ""
    #: Lazily read ``output_dir`` of the logged config ("" when none).
    output_dir: Callable[[], str] = lambda: ""


def _listdir(path: str) -> list[Entry]:
    """A bounded listing through the file-system seam, confined to ``path``: a symlink leaving
    a tracker's folder (another project's ``wandb/run-*``) is an entry of kind "other"."""
    try:
        return list(itertools.islice(LOCAL.confined(path).scandir(path), _MAX_ENTRIES))
    except (OSError, ValueError):
        return []


def _is_dir(entry: Entry) -> bool:
    return entry.kind == "dir"


def _is_file(path: str) -> bool:
    return is_file(LOCAL, path)


def _isdir(path: str) -> bool:
    return is_dir(LOCAL, path)


def _config_dir(config: dict[str, object]) -> str:
    value = config.get("output_dir")
    return value if isinstance(value, str) else ""


# -- W&B --------------------------------------------------------------------------------------


def wandb_run_dir(folder: str, base: str) -> TrackerRun | None:
    """The W&B run in ``folder`` (``run-<stamp>-<id>/`` holding ``run-<id>.wandb``)."""
    logs = sorted(e.path for e in _listdir(folder) if e.name.endswith(".wandb") and e.kind == "file")
    if not logs:
        return None
    return wandb_file(logs[-1], base)


def wandb_file(path: str, base: str) -> TrackerRun:
    from rltui.sources.wandb import scan_head

    names, config = scan_head(path, _HEAD_BYTES)
    folder = os.path.dirname(path)
    run = TrackerRun("wandb", path, names.get("display_name") or os.path.basename(folder), base=base)
    output_log = os.path.join(folder, "files", "output.log")
    run.extras.append(("console", output_log))
    run.output_dir = lambda: _config_dir(config)
    return run


def wandb_runs(wandb_dir: str) -> list[TrackerRun]:
    base = os.path.dirname(os.path.abspath(wandb_dir))
    out = []
    for e in sorted(_listdir(wandb_dir), key=lambda e: e.name):
        if e.name.startswith(("run-", "offline-run-")) and _is_dir(e):
            run = wandb_run_dir(e.path, base)
            if run is not None:
                out.append(run)
    return out


# -- MLflow -----------------------------------------------------------------------------------


def _mlflow_file_run(run_dir: str, base: str, experiment: str) -> TrackerRun | None:
    from rltui.sources.mlflow import read_meta

    meta = read_meta(run_dir)
    if not meta or meta.get("lifecycle_stage") == "deleted" or not _isdir(os.path.join(run_dir, "metrics")):
        return None
    name = meta.get("run_name") or os.path.basename(run_dir)
    run = TrackerRun("mlflow", run_dir, name, base=base)
    param = os.path.join(run_dir, "params", "output_dir")

    def output_dir() -> str:
        try:
            return LOCAL.read_small(param, 4096).decode("utf-8", errors="replace").strip()
        except (OSError, ValueError):
            return ""

    run.output_dir = output_dir
    return run


def mlflow_file_runs(mlruns: str) -> list[TrackerRun]:
    """Runs of a file store: ``mlruns/<experiment>/<run>/meta.yaml`` (``.trash`` skipped)."""
    base = os.path.dirname(os.path.abspath(mlruns))
    out = []
    for exp in sorted(_listdir(mlruns), key=lambda e: e.name):
        if exp.name.startswith(".") or not _is_dir(exp):
            continue
        for run_dir in sorted(_listdir(exp.path), key=lambda e: e.name):
            if _is_dir(run_dir) and _is_file(os.path.join(run_dir.path, "meta.yaml")):
                run = _mlflow_file_run(run_dir.path, base, exp.name)
                if run is not None:
                    out.append(run)
    return out


def mlflow_db_runs(db: str) -> list[TrackerRun]:
    from rltui.sources._sqlite_ro import DbUnavailable, ReadOnlyDb
    from rltui.sources.mlflow import db_runs

    base = os.path.dirname(os.path.abspath(db))
    out = []
    for uuid, name, _exp in db_runs(db):
        run = TrackerRun("mlflow", db, name, select=uuid, base=base)

        def output_dir(uuid: str = uuid) -> str:
            conn = ReadOnlyDb(db)
            try:
                rows = conn.query(
                    "SELECT value FROM params WHERE run_uuid = ? AND key = 'output_dir'", (uuid,)
                )
            except DbUnavailable:
                return ""
            finally:
                conn.close()
            return str(rows[0][0]) if rows else ""

        run.output_dir = output_dir
        out.append(run)
    return out


# -- Trackio, SwanLab ---------------------------------------------------------------------------


def trackio_db_runs(db: str) -> list[TrackerRun]:
    import json

    from rltui.sources._sqlite_ro import DbUnavailable, ReadOnlyDb
    from rltui.sources.trackio import project_runs

    base = os.path.dirname(os.path.abspath(db))
    out = []
    for name in project_runs(db):
        run = TrackerRun("trackio", db, name, select=name, base=base)

        def output_dir(name: str = name) -> str:
            conn = ReadOnlyDb(db)
            try:
                rows = conn.query("SELECT config FROM configs WHERE run_name = ? LIMIT 1", (name,))
                raw = rows[0][0] if rows else None
                text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
                config = json.loads(text) if isinstance(text, str) and len(text) < 1 << 20 else {}
            except (DbUnavailable, ValueError, RecursionError):
                return ""
            finally:
                conn.close()
            return _config_dir(config) if isinstance(config, dict) else ""

        run.output_dir = output_dir
        out.append(run)
    return out


def trackio_dir_runs(folder: str) -> list[TrackerRun]:
    out: list[TrackerRun] = []
    for e in sorted(_listdir(folder), key=lambda e: e.name):
        if e.name.endswith(".db") and e.kind == "file" and is_trackio_db(e.path):
            out.extend(trackio_db_runs(e.path))
    return out


def is_trackio_db(path: str) -> bool:
    from rltui.sources._sqlite_ro import tables

    found = tables(path)
    return "metrics" in found and "configs" in found and "runs" not in found


def is_mlflow_db(path: str) -> bool:
    from rltui.sources._sqlite_ro import tables

    found = tables(path)
    return {"runs", "metrics", "params", "experiments"} <= found


def swanlab_run_dir(folder: str, base: str) -> TrackerRun | None:
    logs = sorted(e.path for e in _listdir(folder) if e.name.endswith(".swanlab") and e.kind == "file")
    if not logs:
        return None
    name = os.path.basename(folder)
    return TrackerRun("swanlab", logs[-1], name, base=base)


def swanlab_runs(swanlog: str) -> list[TrackerRun]:
    base = os.path.dirname(os.path.abspath(swanlog))
    out = []
    for e in sorted(_listdir(swanlog), key=lambda e: e.name):
        if e.name.startswith("run-") and _is_dir(e):
            run = swanlab_run_dir(e.path, base)
            if run is not None:
                out.append(run)
    return out


# -- one folder ---------------------------------------------------------------------------------


def runs_in(folder: str, files: Iterable[str]) -> list[TrackerRun]:
    """The tracker runs in or directly below ``folder`` (``files``: its file names)."""
    names = set(files)
    out: list[TrackerRun] = []
    base = os.path.basename(os.path.abspath(folder))
    parent = os.path.dirname(os.path.abspath(folder))
    if base == "wandb":
        out.extend(wandb_runs(folder))
    elif base == "mlruns":
        out.extend(mlflow_file_runs(folder))
    elif base == "swanlog":
        out.extend(swanlab_runs(folder))
    elif base == "trackio":
        out.extend(trackio_dir_runs(folder))
    else:
        for sub, finder in (
            ("wandb", wandb_runs),
            ("mlruns", mlflow_file_runs),
            ("swanlog", swanlab_runs),
            ("trackio", trackio_dir_runs),
        ):
            path = os.path.join(folder, sub)
            if _isdir(path):
                out.extend(finder(path))
        if any(n.endswith(".wandb") for n in names):
            run = wandb_run_dir(folder, os.path.dirname(parent))
            if run is not None:
                out.append(run)
        if any(n.endswith(".swanlab") for n in names):
            run = swanlab_run_dir(folder, os.path.dirname(parent))
            if run is not None:
                out.append(run)
        if "meta.yaml" in names and _isdir(os.path.join(folder, "metrics")):
            run = _mlflow_file_run(folder, parent, "")
            if run is not None:
                out.append(run)
    for db_name in MLFLOW_DB_NAMES:
        if db_name in names and is_mlflow_db(os.path.join(folder, db_name)):
            out.extend(mlflow_db_runs(os.path.join(folder, db_name)))
    return out


def file_runs(path: str) -> list[TrackerRun] | None:
    """The tracker runs of a file given directly; None when it is no tracker's file."""
    lower = path.lower()
    if lower.endswith(".wandb"):
        return [wandb_file(path, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(path)))))]
    if lower.endswith(".swanlab"):
        folder = os.path.dirname(os.path.abspath(path))
        return [TrackerRun("swanlab", path, os.path.basename(folder))]
    if lower.endswith((".db", ".sqlite", ".sqlite3")):
        if is_mlflow_db(path):
            return mlflow_db_runs(path)
        if is_trackio_db(path):
            return trackio_db_runs(path)
    return None


def claimed_folder(run: TrackerRun) -> str | None:
    """The folder a tracker run owns (its files are not a generic run's), if any."""
    if run.kind in ("wandb", "swanlab"):
        return os.path.dirname(os.path.abspath(run.path))
    if run.kind == "mlflow" and _isdir(run.path):
        return os.path.abspath(run.path)
    return None


def resolved_output_dir(run: TrackerRun) -> str | None:
    """The logged ``output_dir`` as a real path (relative ones against the run's base folder)."""
    try:
        value = run.output_dir()
    except Exception:  # a hostile config must not stop discovery
        return None
    if not value or len(value) > 4096 or "\x00" in value:
        return None
    path = value if os.path.isabs(value) else os.path.join(run.base or ".", value)
    return os.path.realpath(path)
