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

Console logs are not read once the run's event files (or a tracker) have given points: every
value on the console is also in the event file (at float32 instead of 4 digits, with the true
step instead of one inferred from ``logging_steps``), so reading it would only add a chance of a
worse value winning a step. They are read (and listed as sources) while no event file has given a
point: none exists, no event-file reader, or every event file is unreadable (corrupt or torn).
Event files are read first in a poll to decide this, but ingested last, so they keep their
precedence.

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
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rltui.model.config import Config
from rltui.model.engine import RunModel
from rltui.model.snapshot import Alert, Framework, RuleConfig, RunInfo, RunSnapshot, SourceInfo
from rltui.model.store import MetricStore, SeriesView
from rltui.records import Problem, ReadResult, Sample, SourceKind
from rltui.sample_feed import RunSamples
from rltui.settings import ResolvedConfig, resolve_config
from rltui.sources.base import SourceReader
from rltui.sources.detect import Detection, detect, parse_config, read_model_card
from rltui.sources.discovery import DiscoveredRun, Discovery, SourceFile, discover, find_runs, run_files
from rltui.sources.fs import LOCAL, FileSystem
from rltui.sources.locations import BadLocation, canonical, fs_for, is_remote, parse_ssh
from rltui.sources.ssh import SshFS, SshWaker
from rltui.sources.wake import IntervalWaker, TmuxPaneWaker, Waker
from rltui.text import sanitize

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
#: Experiment trackers' sources (``sources/logger_discovery``).
_TRACKERS = frozenset({"wandb", "mlflow", "trackio", "swanlab"})
#: Text summary tags whose JSON is the run's config.
CONFIG_TEXT_TAGS = ("args/text_summary", "args")
#: Problems kept per source (readers dedupe; this bounds a pathological file).
MAX_PROBLEMS_PER_SOURCE = 200

LOOKED_FOR = (
    "events.out.tfevents.*, trainer_state.json, *.log, *.jsonl, wandb/, mlruns/, mlflow.db, swanlog/, "
    "trackio/"
)

_PENDING = "step went back from {high} to {step} at the end of what is written"
#: How a step that went backwards was read (``MetricStore`` order notes), as told to the user.
_ORDER_MESSAGES = {
    "resume": "step went back from {high} to {step} and went on from there: read as a resumed run, "
    "the earlier points after step {step} replaced",
    "stray": "out-of-order point at step {step} after step {high}: kept, not read as a resume",
    "pending": _PENDING + " so far: kept; a resume if the next points go on from it",
}


class NoRunError(Exception):
    """Nothing readable under the given paths; the message is meant for the user as is."""


def _tracker_fs(path: str) -> FileSystem:
    """The file system a tracker's reader is confined to: the folder of its log or database, or
    the MLflow run folder itself (``mlruns/<exp>/<run>/``)."""
    try:
        is_dir = LOCAL.stat(path).kind == "dir"
    except (OSError, ValueError):
        is_dir = False
    return LOCAL.confined(path if is_dir else os.path.dirname(os.path.abspath(path)))


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
    #: Left out of the store: its steps are counted, not logged, and a source with true steps
    #: covers the run (see :meth:`RunSession._guessed_beside_true`).
    excluded: bool = False

    @property
    def steps_guessed(self) -> bool:
        return bool(getattr(self.reader, "steps_guessed", False))

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
        rule_config: RuleConfig | None = None,
    ) -> None:
        self.run = run
        #: Which rltui.toml files shaped the rules, shown by check and the dashboard header.
        self.rule_config = rule_config if rule_config is not None else RuleConfig()
        self._track_sources = False
        self._store = MetricStore(track_sources=self._track_sources)
        self._followed: list[_Followed] = []
        self._problems: list[Problem] = list(problems)
        self._problem_keys: set[tuple[str, int | None, str]] = set()
        self._missing_readers: set[str] = set()
        self._config: dict[str, object] = {}
        self._max_steps: int | None = None
        self._max_steps_from_state = False
        self._framework_hint: Framework | None = None
        self._trainer_hint: str | None = None
        self._logging_steps: int | None = None
        self._detect_key: tuple[object, ...] | None = None
        self._detection = Detection()
        self._card_path = run.model_card or (None if run.single_file else os.path.join(run.root, "README.md"))
        self._card_sig: tuple[int, int] | None = None
        self._card_text: str | None = None
        self._model_config = model_config
        self._model: RunModel | None = None
        self._rebuilding = False
        self._gone = False
        self._order = 0
        self._tmux = tmux
        self._tmux_socket = tmux_socket
        self._info = RunInfo(name=run.name, path=run.root)
        #: Completion samples, listed and read only when asked for (rltui.sample_feed).
        self._samples: RunSamples | None = None
        #: Every file of the run is read through this seam, confined to the run's root: a file
        #: replaced by a symlink out of the run is refused (a single named file is the user's).
        #: Local, ssh or an object store (rltui.sources.locations), the same seam for all.
        base = fs_for(run.root) if run.root else LOCAL
        self._fs: FileSystem = base if run.single_file or not run.root else base.confined(run.root)
        self._remote = bool(run.root) and is_remote(run.root)
        #: The run-level problem shown while the run's host cannot be reached (which, since when).
        self._link_problem: Problem | None = None
        #: Ingest (load/poll/rescan) and snapshot run in worker threads while the UI reads
        #: series: every entry point that touches the store or the readers holds this lock.
        self._lock = threading.RLock()
        #: True for the empty stand-in of a watched folder with no run yet (``wait=True``):
        #: the dashboard replaces it when a real run appears there.
        self.placeholder = False
        self._waker: Waker | None = None
        #: Bumped when what a snapshot shows changed without new points (a host lost or back).
        self.revision = 0
        self._last_rescan = 0.0
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

    def track_sources(self) -> None:
        """Count which source's value each stored point holds (``SourceInfo.won``; ``check``).
        Call before the first read; a dashboard leaves it off (it costs a map per shared step)."""
        self._track_sources = True
        self._store.track_sources = True

    def sources(self) -> tuple[SourceInfo, ...]:
        """Every followed source, in read order (console logs skipped for event files are left out)."""
        skip_console = self._events_have_points()
        won = self._store.points_by_source() if self._track_sources else None
        out: list[SourceInfo] = []
        for f in self._ordered():
            if skip_console and f.kind in ("console", "tmux") and f.points == 0 and not f.problems:
                continue
            count = None if won is None else won.pop(f.source_id, 0)
            out.append(SourceInfo(f.kind, f.path, f.points, tuple(f.problems), count))
        return tuple(out) + tuple(self._samples.sources() if self._samples is not None else ())

    def watch_paths(self) -> list[str]:
        """Folders to watch: the run folder (recursively), or the folder of a single file."""
        if not self.run.root or self._remote:
            return []  # a tmux pane or a remote run: no local file events (see waker())
        if self.run.single_file:
            return [os.path.dirname(os.path.abspath(self.run.root))]
        return [self.run.root]

    def waker(self) -> Waker | None:
        """What wakes this run when nothing on disk changes (a tmux pane), or None.

        Files wake the dashboard through watchfiles; a pane has no file, so without this it was
        read only with ``--poll`` (rltui.sources.wake).
        """
        if self._waker is None:
            if self._remote and not self.run.root.startswith("ssh://"):
                from rltui.sources import objstore  # each poll costs a request per file

                self._waker = IntervalWaker(objstore.POLL_INTERVAL_S)
            elif self._remote and isinstance(self._fs, SshFS):
                # The host watches the files and answers one outstanding request when they change.
                self._waker = SshWaker(self._fs, self.run.root)
            elif self._remote or (self._tmux is not None and is_remote(self._tmux)):
                # A remote pane: polled, one round trip (two tmux commands there) per poll.
                from rltui.sources.ssh import POLL_INTERVAL_S

                self._waker = IntervalWaker(POLL_INTERVAL_S)
            elif self._tmux is not None:
                self._waker = TmuxPaneWaker(self._tmux, self._tmux_socket)
        return self._waker

    def close_waker(self) -> None:
        if self._waker is not None:
            self._waker.close()
            self._waker = None

    def load(self, progress: Progress | None = None) -> int:
        """The first read, reporting ``progress(bytes_done, bytes_total)`` after each file.

        The completion samples are read too when the rules need them as a witness (a sampling run
        whose scalar logs lack length, truncation or zero-std groups); otherwise not.
        """
        with self._lock:
            new = self._poll(progress)
            if self._remote:
                self._link_status()
            elif self.samples.needed_as_witness(self._store, self._info):
                new += self._read_samples()
            return new

    # -- completion samples (rltui.sample_feed) ------------------------------------------------
    @property
    def samples(self) -> RunSamples:
        consoles = [f.path for f in self._followed if f.kind == "console"]
        if self._samples is None:
            self._samples = RunSamples(self.run.root, consoles, single_file=self.run.single_file)
        else:  # an event file's inline samples may have made it before the console was found
            self._samples.offer_consoles(consoles)
        return self._samples

    def read_samples(self) -> int:
        """Read every sample step (newest first), follow new ones from now on; points stored."""
        with self._lock:
            return self._read_samples()

    def _read_samples(self) -> int:
        self.samples.read_all()
        n = self.samples.feed(self._store)
        self._update_info()
        return n

    def sample_step(self, step: int | None = None) -> tuple[int | None, tuple[Sample, ...]]:
        """The samples of the newest sample step at or before ``step`` (None: the newest)."""
        with self._lock:
            return self.samples.at(step)

    def sample_steps(self) -> list[int]:
        with self._lock:
            return self.samples.steps()

    def alert_evidence(self, alert: Alert, k: int = 3) -> tuple[int | None, list[Sample]]:
        """Up to ``k`` samples that explain ``alert``, from the sample step nearest its raised step."""
        with self._lock:
            return self.samples.evidence(alert, k)

    def sample_counts(self, at_step: int | None = None) -> tuple[int, int]:
        """(sample steps read, completions read), counting steps up to ``at_step``."""
        with self._lock:
            book = self.samples.book
            steps = [s for s in book.steps() if at_step is None or s <= at_step]
            return len(steps), sum(len(book.get(s)) for s in steps)

    def poll(self) -> int:
        """Read what every followed source has appended since the last call; new points."""
        with self._lock:
            try:
                take = getattr(self._waker, "take_rescan", None)
                if callable(take) and take():
                    self._rescan(force=True)  # a folder of the remote run changed
                if self._folder_gone():
                    return 0
                return self._poll(None)
            finally:
                if self._remote:
                    self._link_status()

    #: The run-level problem shown while the run's folder is missing.
    GONE = "run folder deleted: waiting for it to come back"

    def _folder_gone(self) -> bool:
        """True while the run's folder is missing; when it comes back, the run starts over.

        A folder deleted and created again is a new run (a rerun into the same output_dir): its
        length, config and points must not mix with the old run's ("step 400/150").
        """
        root = self.run.root
        if not root or self.run.single_file:
            return False
        here = self._is_dir(root)
        if not here:
            if not self._gone:
                self._gone = True
                self._run_problems([Problem(root, None, self.GONE)])
            return True
        if self._gone:
            self._gone = False
            self._problems = [p for p in self._problems if p.message != self.GONE]
            self._problem_keys = {k for k in self._problem_keys if k[2] != self.GONE}
            self._start_over()
        return False

    def _is_dir(self, root: str) -> bool:
        """Whether the run folder is there; a host that cannot be reached is not "deleted"."""
        if not self._remote:
            return os.path.isdir(root)
        try:
            return self._fs.stat(root).kind == "dir"
        except FileNotFoundError:
            return False
        except OSError:
            return True  # unreachable or unreadable: the link problem says so, the run stays

    def _link_status(self) -> None:
        """Show (or clear) the run-level problem of a remote run whose host is unreachable."""
        status = getattr(self._fs, "status", None)
        message = status() if callable(status) else None
        old = self._link_problem
        if old is not None and (message is None or message != old.message):
            self._problems = [p for p in self._problems if p is not old]
            self._problem_keys.discard((old.path, old.offset, old.message))
            self._link_problem = None
        if message is not None and self._link_problem is None:
            self._link_problem = Problem(self.run.root, None, message, transient=True)
            self._run_problems([self._link_problem])
        if self._link_problem is not old:
            self.revision += 1

    def _start_over(self) -> None:
        """Forget everything read: a fresh store, fresh readers, no length, config or hints."""
        self.close()
        self._followed = []
        self._store = MetricStore(track_sources=self._track_sources)
        self._model = None
        if self._samples is not None:
            self._samples.forget_store()
        self._config = {}
        self._max_steps = None
        self._max_steps_from_state = False
        self._logging_steps = None
        self._framework_hint = None
        self._trainer_hint = None
        self._detect_key = None
        self._card_sig = None
        self._info = RunInfo(name=self.run.name, path=self.run.root)
        self._rescan()

    def unread_bytes(self) -> int:
        """Bytes the run's files hold beyond what was read of them (what a load would read)."""
        return _new_bytes(self._followed)

    def rescan(self) -> None:
        """Follow files that appeared since the run was opened (a new event file, a checkpoint)."""
        with self._lock:
            self._rescan()

    #: A remote run's folders are watched by its host (SshWaker asks for a rescan when one
    #: changes); the periodic rescans callers do for local runs go over the wire only this often.
    REMOTE_RESCAN_S = 30.0

    def _rescan(self, force: bool = False) -> None:
        if self.run.single_file or not self.run.root:
            return
        if self._remote and not force:
            now = time.monotonic()
            if now - self._last_rescan < self.REMOTE_RESCAN_S:
                return
        self._last_rescan = time.monotonic()
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
            snap = model.snapshot(at_step=at_step, sources=self.sources(), problems=tuple(self._problems))
            if self.rule_config != snap.rule_config:
                snap = replace(snap, rule_config=self.rule_config)
            return snap

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
                f.reader = cls(
                    f.path,
                    logging_steps=self._logging_steps or 1,
                    known_scale=self._logging_steps is not None,
                    fs=self._fs,
                )
            elif f.kind == "tmux":
                f.reader = cls(f.path, socket=self._tmux_socket, runner=_tmux_runner(f.path))
            elif f.kind in _TRACKERS:
                # A tracker's folder is often beside the run's output_dir, not in it: its reader
                # is confined to the tracker's own folder instead.
                extra = {"select": f.select} if f.select is not None else {}
                f.reader = cls(f.path, fs=_tracker_fs(f.path), **extra)
            else:
                f.reader = cls(f.path, fs=self._fs)
        except Exception as exc:  # a reader that cannot start is a problem, not a crash
            f.report([Problem(f.path, None, f"cannot open: {type(exc).__name__}: {exc}")])
            return None
        return f.reader

    def _poll(self, progress: Progress | None) -> int:
        ordered = self._ordered()
        prefetch = getattr(self._fs, "prefetch", None)
        if callable(prefetch):  # a remote run: every file's info in one round trip
            prefetch([f.path for f in ordered if f.kind != "tmux"])
        consoles = ("console", "tmux")
        skip_console = self._events_have_points()
        order = [f for f in ordered if not (skip_console and f.kind in consoles) and not f.excluded]
        # Whether consoles are read depends on the event files' points: while that is open, read
        # the event files first but ingest them last, in rank order, so they keep their precedence.
        undecided = not skip_console and any(f.kind in _PRECISE for f in order)
        undecided = undecided and any(f.kind in consoles for f in order)
        total_bytes = done = 0
        if progress is not None:  # counting consoles in only once they are known to be read
            total_bytes = _new_bytes((f for f in order if not (undecided and f.kind in consoles)), self._fs)
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
                total_bytes += _new_bytes((f for f in order if f.kind in consoles), self._fs)
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
        if self._samples is not None:
            new += self._samples.poll(self._store)
        if self._console_scale_is_stale() and not self._rebuilding:
            return self._rebuild(progress)
        if self._guessed_beside_true() and not self._rebuilding:
            return self._rebuild(progress)
        self._update_info()
        return new

    def _guessed_beside_true(self) -> bool:
        """Leave out sources whose steps are counted when another source's steps are true.

        A JSONL file without a step field, or a console log counted with an assumed
        ``logging_steps``, numbers its rows 1, 2, 3...: merged by step with a
        ``trainer_state.json`` logged every 20 steps, the two interleave into false spikes. The
        counted source is dropped (and the user told); True when that needs a re-read.
        """
        with_points = [f for f in self._followed if f.points > 0 and not f.excluded]
        guessed = [f for f in with_points if f.steps_guessed]
        if not guessed or len(guessed) == len(with_points):
            return False
        true = next(f for f in with_points if not f.steps_guessed)
        for f in guessed:
            f.excluded = True
            f.report(
                [
                    Problem(
                        f.path,
                        None,
                        f"not merged: its rows carry no step (numbered 1, 2, 3...), and {true.path} "
                        "has the true steps",
                    )
                ]
            )
        return True

    def _progressed(self, f: _Followed, progress: Progress | None, done: int, total: int) -> int:
        """Count ``f``'s new bytes as done and report it; the new ``done``."""
        if progress is None or f.kind == "tmux":
            return done
        size = _size(f.path, self._fs)
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
            res = reader.read()
        except Exception as exc:  # a reader bug must not stop the other sources
            f.report([Problem(f.path, None, f"reader failed: {type(exc).__name__}: {exc}")])
            return None
        if getattr(reader, "healthy", False) and any(p.transient for p in f.problems):
            # Recovered (a torn file now parses, a vanished one is back): its state is news no more.
            f.problems = [p for p in f.problems if not p.transient]
            f.seen = {(p.offset, p.message) for p in f.problems}
        return res

    def _ingest(self, f: _Followed, res: ReadResult) -> int:
        # trainer_state.json is rewritten whole: it re-states its history, it does not restart.
        restates = res.restarted and f.kind == "trainer_state"
        n = self._store.add(f.source_id, res.chunks, restarted=res.restarted, restates=restates)
        f.points = (n if res.restarted else f.points + n) if (n or res.restarted) else f.points
        f.report(res.problems)
        self._report_order(f)
        if res.samples:
            self.samples.push(f.path, res.samples)
        for tag in CONFIG_TEXT_TAGS:
            text = res.texts.get(tag)
            if text:
                parsed = parse_config(text)
                if parsed is not None:
                    self._config = parsed
        announced = res.texts.get("rltui/framework")
        if announced == "unsloth":
            self._framework_hint = "unsloth"
        elif announced == "mlx":
            self._framework_hint = "mlx"
        self._trainer_hint = res.texts.get("rltui/trainer") or self._trainer_hint
        # trainer_state.json knows the run's length best; a log's counter fills the gap.
        best = f.kind == "trainer_state" or self._max_steps is None or not self._max_steps_from_state
        if res.max_steps is not None and res.max_steps > 0 and best:
            self._max_steps = res.max_steps
            self._max_steps_from_state = f.kind == "trainer_state"
        if res.logging_steps is not None and res.logging_steps > 0:
            self._logging_steps = res.logging_steps
        return n

    def _report_order(self, f: _Followed) -> None:
        """Tell the user how every step that went backwards was read (a resume or a stray)."""
        notes = self._store.take_order_notes()
        if not notes:
            return
        grouped: dict[tuple[str, int, int, int | None], int] = {}
        for note in notes:
            key = (note.kind, note.step, note.high, note.offset)
            grouped[key] = grouped.get(key, 0) + 1
        for (kind, step, high, offset), count in grouped.items():
            if kind != "pending":  # decided: the "not decided yet" problem has done its job
                prefix = _PENDING.format(high=high, step=step)
                for g in self._followed:
                    g.problems = [p for p in g.problems if not p.message.startswith(prefix)]
                    g.seen = {k for k in g.seen if not k[1].startswith(prefix)}
            what = f" ({count} metrics)" if count > 1 else ""
            message = _ORDER_MESSAGES[kind].format(high=high, step=step) + what
            f.report([Problem(f.path, offset, message)])

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
        self._store = MetricStore(track_sources=self._track_sources)
        self._model = None
        if self._samples is not None:
            self._samples.forget_store()
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
            st = self._fs.stat(path)
        except OSError:
            self._card_sig = None
            self._card_text = None
            return None
        sig = (st.mtime_ns, st.size)
        if sig != self._card_sig:
            self._card_sig = sig
            self._card_text = read_model_card(path, self._fs)
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
            self._framework_hint,
            len(self._followed),
        )
        if key == self._detect_key:
            return
        self._detect_key = key
        files = [f.path for f in self._followed if f.points > 0]
        self._detection = detect(
            card,
            self._config or None,
            names,
            files=files,
            hint=self._framework_hint,
            trainer_hint=self._trainer_hint,
            first=self._first_values(("rewards/chosen", "rewards/rejected")),
        )
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

    def _first_values(self, names: Sequence[str]) -> dict[str, float]:
        out: dict[str, float] = {}
        for name in names:
            s = self._store.get(name)
            if s is None:
                continue
            vals = s.values[: min(len(s.values), 8)]
            finite = vals[np.isfinite(vals)]
            if len(finite):
                out[name] = float(finite[0])
        return out

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


def _new_bytes(followed: Iterable[_Followed], fs: FileSystem = LOCAL) -> int:
    """Bytes the files have beyond what was read of them (tmux panes count none)."""
    return sum(max(0, _size(f.path, fs) - f.bytes_read) for f in followed if f.kind != "tmux")


def _size(path: str, fs: FileSystem = LOCAL) -> int:
    try:
        return fs.stat(path).size
    except OSError:
        return 0


def _tmux_runner(target: str) -> Any:
    """How a pane's tmux is run: locally (None: the reader's own subprocess), or on the host
    of an ``ssh://host/SESSION:WIN.PANE`` target, through that host's connection."""
    loc = parse_ssh(target) if target.startswith("ssh://") else None
    if loc is None:
        return None
    fs = fs_for(target)
    return getattr(fs, "tmux", None)


def resolve_paths(paths: Sequence[str]) -> list[str]:
    """The PATHs of a command line as rltui writes them inside (``rltui.sources.locations``):
    ``host:rel`` and ``~`` become ``ssh://host/abs``. A host that refuses or cannot be reached
    raises :class:`NoRunError` with the reason and the fix."""
    out = []
    for p in paths:
        try:
            path = canonical(p)
            if is_remote(path):
                fs_for(path)  # a store whose backend is not installed: the install command, now
            out.append(path)
        except BadLocation as exc:
            raise NoRunError(str(exc)) from None
        except OSError as exc:
            raise NoRunError(f"cannot read {p}: {exc.strerror or exc}") from None
    return out


# -- opening runs -------------------------------------------------------------------------------


def _load_model_config(config_path: str | None, run_root: str) -> ResolvedConfig:
    """The thresholds for the rules: ``--config FILE``, else the user's ``rltui.toml`` with the
    run folder's one shown but applied only when the user opted in (``rltui.settings``).

    ``ConfigError`` from a bad *user* config propagates: ``check`` turns it into exit code 2. A bad
    config inside the run is a problem of that run (``ResolvedConfig.problems``).
    """
    run_dir = None
    if run_root and not is_remote(run_root):  # a remote run's rltui.toml is not read (yet)
        run_dir = run_root if os.path.isdir(run_root) else os.path.dirname(os.path.abspath(run_root))
    return resolve_config(run_dir=run_dir, config_path=config_path)


def _session(run: DiscoveredRun, config_path: str | None, **kwargs: Any) -> RunSession:
    """A session for ``run`` with the config that applies to it (its problems included)."""
    resolved = _load_model_config(config_path, run.root)
    problems = [*kwargs.pop("problems", ()), *resolved.problems]
    return RunSession(
        run,
        model_config=resolved.config,
        problems=problems,
        rule_config=RuleConfig(tuple(resolved.files), tuple(resolved.changed), tuple(resolved.ignored)),
        **kwargs,
    )


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
        sessions.append(_session(run, config_path, tmux=attach, tmux_socket=tmux_socket, problems=problems))
    if waiting:
        sessions[0].placeholder = True
    if tmux is not None and attach is None:
        pane_run = DiscoveredRun("", f"tmux:{tmux}", single_file=True)
        sessions.append(_session(pane_run, config_path, tmux=tmux, tmux_socket=tmux_socket))
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
        try:
            out.append(_session(run, config_path))
        except Exception as exc:  # a sweep gaining a run must never end the dashboard
            msg = sanitize(f"cannot open this run: {type(exc).__name__}: {exc}", single_line=True)
            out.append(RunSession(run, problems=[Problem(run.root, None, msg)]))
    return out
