"""Wiring: one followed run = its discovered files, their readers, a metric store and the model.

``rltui check`` and the dashboard share this one ingest path, so a run reads the same way headless
and live. Contract:

    sessions = open_sessions(paths, tmux=None)   # list[RunSession]; raises NoRunError with a clear message
    s.load(progress=None) -> int                 # the first, possibly long, read (bytes done/total)
    s.poll() -> int                              # read every followed file from its offset; new points
    s.rescan() -> None                           # pick up files that appeared (new event file, checkpoint)
    s.info -> RunInfo                            # detection result (trainer, framework, max_steps, config)
    s.store -> MetricStore                       # may be replaced (see below): always go through s.store
    s.sources() -> tuple[SourceInfo, ...]        # per file: kind, path, points, problems
    s.problems -> list[Problem]                  # run-level problems
    s.watch_paths() -> list[str]                 # what watchfiles should watch
    s.snapshot(at_step=None) -> RunSnapshot      # via rltui.model.engine.RunModel

``find_sweep(path)`` returns the run folders under a sweep folder (for compare and watch), and
``open_new_sessions(paths, known)`` opens the runs that appeared there since ``known`` was opened.

Reading order and precedence. Each poll reads the sources from the least to the most precise:
console logs and tmux panes (4 significant digits in transformers 5, steps inferred from
``logging_steps``), JSONL, ``trainer_state.json`` (checkpoints by step, then the top one), event
files last (by creation stamp). The store keeps the newest value per step, so at load the event
file wins; a checkpoint written later re-states its steps at full precision. All event files of
a run feed the store as ONE source, in creation order, so a resumed run (a new event file starting
again from an earlier step) rewinds the series instead of leaving the abandoned steps behind.

Experiment trackers (W&B, MLflow, Trackio, SwanLab; ``sources/logger_discovery``) are read after
the event files: they keep the float64 the script logged where an event file has float32, so in
a run with both, a step both give takes the tracker's value. A tracker run that stands alone is a
run of its own (one per MLflow/Trackio run of a store, ``SourceFile.select``). The transaction
logs of one W&B run are one stream, like event files.

Console logs are not read once the run's event files (or a tracker) have given points: every value on the console
is also in the event file (at float32 instead of 4 digits, with the true step instead of one
inferred from ``logging_steps``), so reading it would only add a chance of a worse value winning a
step. They are read (and listed as sources) while no event file has given a point: none exists,
no event-file reader, or every event file is unreadable (corrupt or torn). Event files are read
first in a poll to decide this, but ingested last, so they keep their precedence.

A source that restarts (file truncated or replaced) voids what it gave from its new first step on,
except ``trainer_state.json``, whose rewrites re-state its history (``MetricStore.add``).

When ``logging_steps`` becomes known only after console points were stored with a guessed step
scale (no ``trainer_state.json`` before the first checkpoint), the session re-reads the run into a
fresh store once; ``store`` is then a new object, and the snapshot model is rebuilt with it.
"""

from __future__ import annotations

import importlib
import math
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rltui.model.config import Config
from rltui.model.engine import RunModel
from rltui.model.snapshot import RunInfo, RunSnapshot, SourceInfo
from rltui.model.store import MetricStore, SeriesView
from rltui.records import Problem, ReadResult, SourceKind
from rltui.settings import load_config, read_config
from rltui.sources.base import SourceReader
from rltui.sources.detect import Detection, detect, parse_config, read_model_card
from rltui.sources.discovery import DiscoveredRun, Discovery, SourceFile, discover, find_runs, run_files

Progress = Callable[[int, int], None]

#: Reader classes, imported when first needed (readers are optional at import time).
READERS: dict[str, tuple[str, str]] = {
    "tfevents": ("rltui.sources.tfevents", "TfEventsReader"),
    "trainer_state": ("rltui.sources.trainer_state", "TrainerStateReader"),
    "console": ("rltui.sources.console", "ConsoleLogReader"),
    "jsonl": ("rltui.sources.jsonl", "JsonlReader"),
    "tmux": ("rltui.sources.tmux", "TmuxPaneReader"),
    "wandb": ("rltui.sources.wandb", "WandbReader"),
    "swanlab": ("rltui.sources.swanlab", "SwanlabReader"),
    "mlflow": ("rltui.sources.mlflow", "open_reader"),
    "trackio": ("rltui.sources.trackio", "TrackioReader"),
}
#: Read order within a poll: least precise first, so the most precise source wins a step.
#: Trackers after event files: they keep the float64 the script logged, event files float32.
_RANK: dict[str, int] = {
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
_PRECISE = frozenset({"tfevents", "wandb", "mlflow", "trackio", "swanlab"})
#: Text summary tags whose JSON is the run's config.
CONFIG_TEXT_TAGS = ("args/text_summary", "args")
#: Problems kept per source (readers dedupe; this bounds a pathological file).
MAX_PROBLEMS_PER_SOURCE = 200

LOOKED_FOR = (
    "events.out.tfevents.*, trainer_state.json, *.log, *.jsonl, wandb/, mlruns/, mlflow.db, swanlog/, trackio/"
)


class NoRunError(Exception):
    """Nothing readable under the given paths; the message is meant for the user as is."""


def _load_reader_class(kind: str) -> Any:
    module_name, cls_name = READERS[kind]
    module = importlib.import_module(module_name)
    return getattr(module, cls_name)


def reader_available(kind: str) -> bool:
    try:
        _load_reader_class(kind)
    except (ImportError, AttributeError):
        return False
    return True


@dataclass(slots=True)
class _Followed:
    """One followed file (or pane): its reader and what it gave so far."""

    kind: SourceKind
    path: str
    order: int
    reader: SourceReader | None = None
    points: int = 0
    problems: list[Problem] = field(default_factory=list)
    seen: set[tuple[int | None, str]] = field(default_factory=set)
    #: The ``logging_steps`` a console reader was created with (None: a guess of 1).
    logging_steps: int | None = None
    bytes_read: int = 0
    #: The run inside a multi-run store (``SourceFile.select``).
    select: str | None = None

    @property
    def source_id(self) -> str:
        # All event files of a run are one stream: a resume rewinds it (module docstring); so are
        # the transaction logs of a resumed W&B run.
        if self.kind in ("tfevents", "wandb"):
            return self.kind
        return f"{self.kind}:{self.path}" + (f"#{self.select}" if self.select else "")

    def report(self, problems: Sequence[Problem]) -> None:
        for p in problems:
            key = (p.offset, p.message)
            if key in self.seen or len(self.problems) >= MAX_PROBLEMS_PER_SOURCE:
                continue
            self.seen.add(key)
            self.problems.append(p)


def _positive_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, float) and math.isfinite(value) and value > 0 and value.is_integer():
        return int(value)
    return None


def _logging_steps_from_config(config: Mapping[str, object], max_steps: int | None) -> int | None:
    """HF ``logging_steps``: an int, or a float < 1 meaning a fraction of ``max_steps``."""
    value = config.get("logging_steps")
    if isinstance(value, float) and 0 < value < 1:
        return max(1, math.ceil(value * max_steps)) if max_steps else None
    return _positive_int(value)


class RunSession:
    """One run: discovered files, their readers, a metric store, detection and the model."""

    def __init__(
        self,
        run: DiscoveredRun,
        *,
        model_config: Config | None = None,
        tmux: str | None = None,
        tmux_socket: str | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        self.run = run
        self._store = MetricStore()
        self._followed: list[_Followed] = []
        self._problems: list[Problem] = list(problems)
        self._problem_keys: set[tuple[str, int | None, str]] = set()
        self._missing_readers: set[str] = set()
        self._config: dict[str, object] = {}
        self._max_steps: int | None = None
        self._logging_steps: int | None = None
        self._detect_key: tuple[object, ...] | None = None
        self._detection = Detection()
        self._card_path = run.model_card or (None if run.single_file else os.path.join(run.root, "README.md"))
        self._card_sig: tuple[int, int] | None = None
        self._card_text: str | None = None
        self._model_config = model_config
        self._model: RunModel | None = None
        self._rebuilding = False
        self._order = 0
        self._tmux = tmux
        self._tmux_socket = tmux_socket
        self._info = RunInfo(name=run.name, path=run.root)
        #: Ingest (load/poll/rescan) and snapshot run in worker threads while the UI reads
        #: series: every entry point that touches the store or the readers holds this lock.
        self._lock = threading.RLock()
        #: True for the empty stand-in of a watched folder with no run yet (``wait=True``):
        #: the dashboard replaces it when a real run appears there.
        self.placeholder = False
        for f in run.files:
            self._add(f)
        if tmux is not None:
            self._followed.append(_Followed("tmux", tmux, self._next_order()))

    # -- public API -----------------------------------------------------------------------
    @property
    def info(self) -> RunInfo:
        return self._info

    @property
    def store(self) -> MetricStore:
        return self._store

    @property
    def problems(self) -> list[Problem]:
        return list(self._problems)

    @property
    def path(self) -> str:
        return self.run.root

    def sources(self) -> tuple[SourceInfo, ...]:
        """Every followed source, in read order (console logs skipped for event files are left out)."""
        skip_console = self._events_have_points()
        return tuple(
            SourceInfo(f.kind, f.path, f.points, tuple(f.problems))
            for f in self._ordered()
            if not (skip_console and f.kind in ("console", "tmux") and f.points == 0 and not f.problems)
        )

    def watch_paths(self) -> list[str]:
        """Folders to watch: the run folder (recursively), or the folder of a single file."""
        if not self.run.root:
            return []  # a tmux pane: nothing on disk to watch
        if self.run.single_file:
            return [os.path.dirname(os.path.abspath(self.run.root))]
        return [self.run.root]

    def load(self, progress: Progress | None = None) -> int:
        """The first read, reporting ``progress(bytes_done, bytes_total)`` after each file."""
        with self._lock:
            return self._poll(progress)

    def poll(self) -> int:
        """Read what every followed source has appended since the last call; new points."""
        with self._lock:
            return self._poll(None)

    def rescan(self) -> None:
        """Follow files that appeared since the run was opened (a new event file, a checkpoint)."""
        with self._lock:
            self._rescan()

    def _rescan(self) -> None:
        if self.run.single_file or not self.run.root:
            return
        problems: list[Problem] = []
        files = run_files(self.run.root, jsonl_only=self.run.jsonl_only, problems=problems)
        self._run_problems(problems)
        known = {(f.kind, f.path, f.select) for f in self._followed}
        for sf in files:
            if (sf.kind, sf.path, sf.select) not in known:
                self._add(sf)
        if self.run.model_card is None:
            card = os.path.join(self.run.root, "README.md")
            self._card_path = card

    def snapshot(self, at_step: int | None = None) -> RunSnapshot:
        """The model's verdict as of ``at_step`` (None: the newest step)."""
        with self._lock:
            model = self._get_model()
            return model.snapshot(at_step=at_step, sources=self.sources(), problems=tuple(self._problems))

    def view(self, name: str, at_step: int | None = None) -> SeriesView | None:
        """One series as of ``at_step``, read under the ingest lock (safe from the UI thread).

        The view stays valid after the lock is released: merges build new arrays instead of
        changing the ones a view holds.
        """
        with self._lock:
            return self._store.view(name, at_step)

    def names(self) -> list[str]:
        """The metric names stored so far, read under the ingest lock."""
        with self._lock:
            return list(self._store.names())

    def close(self) -> None:
        for f in self._followed:
            if f.reader is not None:
                f.reader.close()
                f.reader = None

    # -- reading --------------------------------------------------------------------------
    def _next_order(self) -> int:
        self._order += 1
        return self._order

    def _add(self, sf: SourceFile) -> None:
        self._followed.append(_Followed(sf.kind, sf.path, self._next_order(), select=sf.select))

    def _ordered(self) -> list[_Followed]:
        return sorted(self._followed, key=lambda f: (_RANK[f.kind], f.order))

    def _events_have_points(self, held: Mapping[int, ReadResult | None] | None = None) -> bool:
        """True once an event file gave points (so far, or in ``held``, this poll's event reads).

        A run whose event files are all unreadable (corrupt, torn) falls back to its console log.
        """
        if any(f.kind in _PRECISE and f.points > 0 for f in self._followed):
            return True
        return any(r is not None and r.points > 0 for r in (held or {}).values())

    def _run_problems(self, problems: Sequence[Problem]) -> None:
        for p in problems:
            key = (p.path, p.offset, p.message)
            if key not in self._problem_keys:
                self._problem_keys.add(key)
                self._problems.append(p)

    def _open(self, f: _Followed) -> SourceReader | None:
        if f.reader is not None:
            return f.reader
        try:
            cls = _load_reader_class(f.kind)
        except (ImportError, AttributeError):
            if f.kind not in self._missing_readers:
                self._missing_readers.add(f.kind)
                self._run_problems([Problem(f.path, None, f"no reader for {f.kind} sources is installed")])
            return None
        try:
            if f.kind == "console":
                f.logging_steps = self._logging_steps
                f.reader = cls(f.path, logging_steps=self._logging_steps or 1)
            elif f.kind == "tmux":
                f.reader = cls(f.path, socket=self._tmux_socket)
            elif f.select is not None:
                f.reader = cls(f.path, select=f.select)
            else:
                f.reader = cls(f.path)
        except Exception as exc:  # a reader that cannot start is a problem, not a crash
            f.report([Problem(f.path, None, f"cannot open: {type(exc).__name__}: {exc}")])
            return None
        return f.reader

    def _poll(self, progress: Progress | None) -> int:
        ordered = self._ordered()
        consoles = ("console", "tmux")
        skip_console = self._events_have_points()
        order = [f for f in ordered if not (skip_console and f.kind in consoles)]
        # Whether consoles are read depends on the event files' points: while that is open, read
        # the event files first but ingest them last, in rank order, so they keep their precedence.
        undecided = not skip_console and any(f.kind in _PRECISE for f in order)
        undecided = undecided and any(f.kind in consoles for f in order)
        total_bytes = done = 0
        if progress is not None:  # counting consoles in only once they are known to be read
            total_bytes = _new_bytes(f for f in order if not (undecided and f.kind in consoles))
            progress(0, total_bytes)
        held: dict[int, ReadResult | None] = {}
        if undecided:
            for f in order:
                if f.kind in _PRECISE:
                    held[id(f)] = self._read(f)
                    done = self._progressed(f, progress, done, total_bytes)
            if self._events_have_points(held):
                order = [f for f in order if f.kind not in consoles]
            elif progress is not None:
                total_bytes += _new_bytes(f for f in order if f.kind in consoles)
        new = 0
        for f in order:
            if id(f) in held:
                res = held[id(f)]
                new += self._ingest(f, res) if res is not None else 0
                continue
            new += self._read_one(f)
            done = self._progressed(f, progress, done, total_bytes)
        if progress is not None:
            progress(total_bytes, total_bytes)
        if self._console_scale_is_stale() and not self._rebuilding:
            return self._rebuild(progress)
        self._update_info()
        return new

    @staticmethod
    def _progressed(f: _Followed, progress: Progress | None, done: int, total: int) -> int:
        """Count ``f``'s new bytes as done and report it; the new ``done``."""
        if progress is None or f.kind == "tmux":
            return done
        size = _size(f.path)
        done = min(total, done + max(0, size - f.bytes_read))
        f.bytes_read = size
        progress(done, total)
        return done

    def _read_one(self, f: _Followed) -> int:
        res = self._read(f)
        return self._ingest(f, res) if res is not None else 0

    def _read(self, f: _Followed) -> ReadResult | None:
        reader = self._open(f)
        if reader is None:
            return None
        try:
            return reader.read()
        except Exception as exc:  # a reader bug must not stop the other sources
            f.report([Problem(f.path, None, f"reader failed: {type(exc).__name__}: {exc}")])
            return None

    def _ingest(self, f: _Followed, res: ReadResult) -> int:
        # trainer_state.json is rewritten whole: it re-states its history, it does not restart.
        restates = res.restarted and f.kind == "trainer_state"
        n = self._store.add(f.source_id, res.chunks, restarted=res.restarted, restates=restates)
        f.points = (n if res.restarted else f.points + n) if (n or res.restarted) else f.points
        f.report(res.problems)
        for tag in CONFIG_TEXT_TAGS:
            text = res.texts.get(tag)
            if text:
                parsed = parse_config(text)
                if parsed is not None:
                    self._config = parsed
        if res.max_steps is not None and res.max_steps > 0:
            self._max_steps = res.max_steps
        if res.logging_steps is not None and res.logging_steps > 0:
            self._logging_steps = res.logging_steps
        return n

    def _console_scale_is_stale(self) -> bool:
        """True when a console source stored points with a step scale that is now known wrong."""
        if self._logging_steps is None and self._config:
            self._logging_steps = _logging_steps_from_config(self._config, self._max_steps)
        current = self._logging_steps
        if current is None:
            return False
        stale = False
        for f in self._followed:
            if f.kind not in ("console", "tmux") or f.reader is None or (f.logging_steps or 1) == current:
                continue
            if f.points > 0:
                stale = True
            elif hasattr(f.reader, "logging_steps"):
                f.reader.logging_steps = current  # nothing stored yet: just fix the scale
                f.logging_steps = current
        return stale

    def _rebuild(self, progress: Progress | None) -> int:
        """Re-read everything into a fresh store (console steps were scaled by a guess)."""
        self.close()
        self._store = MetricStore()
        self._model = None
        for f in self._followed:
            f.points = 0
            f.bytes_read = 0
        self._rebuilding = True  # at most one re-read per poll, whatever the files say
        try:
            return self._poll(progress)
        finally:
            self._rebuilding = False

    # -- detection ------------------------------------------------------------------------
    def _card(self) -> str | None:
        path = self._card_path
        if path is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            self._card_sig = None
            self._card_text = None
            return None
        sig = (st.st_mtime_ns, st.st_size)
        if sig != self._card_sig:
            self._card_sig = sig
            self._card_text = read_model_card(path)
        return self._card_text

    def _update_info(self) -> None:
        card = self._card()
        names = self._store.names()
        key = (
            self._card_sig,
            id(self._config),
            len(self._config),
            tuple(names),
            self._max_steps,
            self._logging_steps,
        )
        if key == self._detect_key:
            return
        self._detect_key = key
        self._detection = detect(card, self._config or None, names)
        max_steps = self._max_steps or _positive_int(self._config.get("max_steps"))
        logging_steps = self._logging_steps or _logging_steps_from_config(self._config, max_steps)
        info = RunInfo(
            name=self.run.name,
            path=self.run.root,
            framework=self._detection.framework,
            trainer=self._detection.trainer,
            max_steps=max_steps,
            logging_steps=logging_steps,
            config=dict(self._config),
        )
        if info != self._info:
            self._info = info
            if self._model is not None:
                self._model.set_info(info)

    @property
    def detection(self) -> Detection:
        """How the trainer was decided (evidence, versions from the model card)."""
        return self._detection

    # -- the model ------------------------------------------------------------------------
    def _get_model(self) -> RunModel:
        # The store is replaced when a console-only run learns its logging interval late.
        if self._model is None or self._model.store is not self._store:
            self._model = RunModel(self._info, self._store, self._model_config)
        return self._model


def _new_bytes(followed: Iterable[_Followed]) -> int:
    """Bytes the files have beyond what was read of them (tmux panes count none)."""
    return sum(max(0, _size(f.path) - f.bytes_read) for f in followed if f.kind != "tmux")


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


# -- opening runs -------------------------------------------------------------------------------


def _load_model_config(config_path: str | None, run_root: str) -> Config | None:
    """The thresholds for the rules: ``--config FILE``, else the ``rltui.toml`` that applies to
    the run (run folder, working directory, user config folder; ``rltui.settings``).

    ``ConfigError`` from a bad file propagates: ``check`` turns it into exit code 2.
    """
    if config_path is not None:
        return read_config(config_path)
    run_dir = None
    if run_root:
        run_dir = run_root if os.path.isdir(run_root) else os.path.dirname(os.path.abspath(run_root))
    config, _path = load_config(run_dir=run_dir)
    return config


def open_sessions(
    paths: Sequence[str],
    tmux: str | None = None,
    *,
    config_path: str | None = None,
    tmux_socket: str | None = None,
    wait: bool = False,
) -> list[RunSession]:
    """One session per run found under ``paths`` (files, run folders, sweep folders).

    ``tmux`` follows a pane: as an extra console source of the run when ``paths`` name exactly one
    run, otherwise as a run of its own. ``wait`` (the dashboard started before the training wrote
    anything) returns an empty session for a folder with no run yet instead of raising.
    Raises :class:`NoRunError` when nothing readable was found.
    """
    if not paths and tmux is not None:
        paths, found = [], Discovery()  # only the pane: do not go looking in the working directory
    else:
        paths = list(paths) or ["."]
        found = find_runs(paths)
    runs = found.runs
    waiting = False
    if not runs and wait and tmux is None:
        folders = [p for p in paths if os.path.isdir(p)]
        if folders:
            runs = [DiscoveredRun(folders[0], os.path.basename(os.path.abspath(folders[0])))]
            waiting = True
    if not runs and tmux is None:
        where = ", ".join(paths)
        detail = "; ".join(f"{p.path}: {p.message}" for p in found.problems[:3])
        msg = f"no run found under {where}: looked for {LOOKED_FOR}"
        raise NoRunError(msg + (f" ({detail})" if detail else ""))
    sessions: list[RunSession] = []
    attach = tmux if (tmux is not None and len(runs) == 1) else None
    for run in runs:
        problems = [p for p in found.problems if p.path == run.root or p.path.startswith(run.root + os.sep)]
        sessions.append(
            RunSession(
                run,
                model_config=_load_model_config(config_path, run.root),
                tmux=attach,
                tmux_socket=tmux_socket,
                problems=problems,
            )
        )
    if waiting:
        sessions[0].placeholder = True
    if tmux is not None and attach is None:
        pane_run = DiscoveredRun("", f"tmux:{tmux}", single_file=True)
        sessions.append(
            RunSession(
                pane_run,
                model_config=_load_model_config(config_path, ""),
                tmux=tmux,
                tmux_socket=tmux_socket,
            )
        )
    if sessions and found.problems:
        owned = {id(p) for s in sessions for p in s._problems}
        leftover = [p for p in found.problems if id(p) not in owned]
        sessions[0]._run_problems(leftover)
    return sessions


def find_sweep(path: str) -> list[str]:
    """The run folders (or files) under ``path``, sorted; [] when there is none."""
    return sorted({r.root for r in discover(path).runs})


def open_new_sessions(
    paths: Sequence[str], known: Sequence[RunSession], *, config_path: str | None = None
) -> list[RunSession]:
    """Sessions for runs that appeared under ``paths`` after ``known`` were opened (a sweep grows)."""
    have = {s.run.key for s in known if s.run.root}
    out: list[RunSession] = []
    for run in find_runs(list(paths) or ["."]).runs:
        if run.key in have:
            continue
        out.append(RunSession(run, model_config=_load_model_config(config_path, run.root)))
    return out
