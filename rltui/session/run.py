"""RunSession: one followed run = its discovered files, their readers, a metric store and the model.

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

``rltui.session.opening``: ``find_sweep(path)`` returns the run folders under a sweep folder (for
compare and watch), and ``open_new_sessions(paths, known)`` opens the runs that appeared there
since ``known`` was opened.

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

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from rltui.model.config import Config
from rltui.model.engine import RunModel
from rltui.model.snapshot import Alert, RuleConfig, RunInfo, RunSnapshot, SourceInfo
from rltui.model.store import MetricStore, SeriesView
from rltui.records import NO_RUN_YET, Problem, ReadResult, Sample
from rltui.sample_feed import RunSamples
from rltui.session import ingest_policy as policy
from rltui.session.followed import Followed, make_reader, reader_available
from rltui.session.followed import read as read_followed
from rltui.session.problems import RunProblems, order_problems
from rltui.session.progress import Progress, advance, new_bytes
from rltui.session.run_facts import RunFacts
from rltui.sources.base import SourceReader
from rltui.sources.console_tail import tail_file
from rltui.sources.detect import Detection
from rltui.sources.discovery import LOOKED_FOR, DiscoveredRun, SourceFile, run_files
from rltui.sources.fs import LOCAL, FileSystem
from rltui.sources.locations import fs_for, is_remote, remote_pane_waker
from rltui.sources.ssh import SshFS, SshWaker
from rltui.sources.wake import IntervalWaker, TmuxPaneWaker, Waker

#: The state of a watched folder that holds no run yet.
WAITING = f"{NO_RUN_YET}, waiting for {LOOKED_FOR}"


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
        self._followed: list[Followed] = []
        self._run_book = RunProblems(problems)
        self._missing_readers: set[str] = set()
        #: Config, length, logging interval, hints, model card; the detection made from them.
        self._facts = RunFacts(run)
        self._model_config = model_config
        self._model: RunModel | None = None
        self._rebuilding = False
        self._gone = False
        self._order = 0
        self._tmux = tmux
        self._tmux_socket = tmux_socket
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
            self._followed.append(Followed("tmux", tmux, self._next_order()))

    # -- public API -----------------------------------------------------------------------
    @property
    def info(self) -> RunInfo:
        return self._facts.info

    @property
    def store(self) -> MetricStore:
        return self._store

    @property
    def problems(self) -> list[Problem]:
        return list(self._run_book.items)

    def add_problems(self, problems: Sequence[Problem]) -> None:
        """Run-level problems (discovery's, config's), each kept once."""
        self._run_book.add(problems)

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
        precise = self._events_have_points()
        won = self._store.points_by_source() if self._track_sources else None
        out: list[SourceInfo] = []
        for f in self._ordered():
            if not policy.listed(f.as_src(), precise):
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
            elif self._tmux is not None and self._tmux.startswith("ssh://") and not self._remote:
                # A remote pane: a control-mode client on its host says when it prints.
                self._waker = remote_pane_waker(self._tmux)
            elif self._remote or (self._tmux is not None and is_remote(self._tmux)):
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
            elif self.samples.needed_as_witness(self._store, self._facts.info):
                new += self._read_samples()
            return new

    # -- the console, as a person reads it ---------------------------------------------------------
    def console_tail(self, max_lines: int = 200) -> tuple[str, list[str]] | None:
        """(source, its newest lines) of the run's console log or tmux pane (the one read last
        among them), or None when the run has neither; OSError when it cannot be read now."""
        with self._lock:
            consoles = [f for f in self._ordered() if f.kind in ("console", "tmux")]
            if not consoles:
                return None
            f = consoles[-1]
            if f.kind == "tmux":
                reader = f.reader if f.reader is not None else self._open(f)
                tail = getattr(reader, "tail", None)
                if tail is None:
                    raise OSError("the tmux pane is not open")
                return str(getattr(reader, "path", f.path)), list(tail(max_lines))
            return f.path, tail_file(self._fs, f.path, max_lines)

    # -- completion samples (rltui.sample_feed) ------------------------------------------------
    @property
    def samples(self) -> RunSamples:
        consoles = [f.path for f in self._followed if f.kind == "console"]
        if self._samples is None:
            self._samples = RunSamples(self.run.root, consoles, single_file=self.run.single_file, fs=self._fs)
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
                self._run_book.add([Problem(root, None, self.GONE)])
            return True
        if self._gone:
            self._gone = False
            self._run_book.drop(lambda p: p.message == self.GONE)
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
            self._run_book.drop(lambda p: p is old)
            self._link_problem = None
        if message is not None and self._link_problem is None:
            self._link_problem = Problem(self.run.root, None, message, transient=True)
            self._run_book.add([self._link_problem])
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
        self._facts.reset()
        self._rescan()

    def unread_bytes(self) -> int:
        """Bytes the run's files hold beyond what was read of them (what a load would read)."""
        return new_bytes(self._followed)

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
        self._run_book.add(problems)
        known = {(f.kind, f.path, f.select) for f in self._followed}
        for sf in files:
            if (sf.kind, sf.path, sf.select) not in known:
                self._add(sf)
        if self.run.model_card is None:
            self._facts.card_path = os.path.join(self.run.root, "README.md")

    def snapshot(self, at_step: int | None = None) -> RunSnapshot:
        """The model's verdict as of ``at_step`` (None: the newest step)."""
        with self._lock:
            model = self._get_model()
            problems = tuple(self._run_book.items)
            if self.placeholder and not self._store.names():
                # An empty folder (or one that is not a run) is not "OK": say what is awaited.
                problems = (Problem(self.run.root, None, WAITING, transient=True), *problems)
            snap = model.snapshot(at_step=at_step, sources=self.sources(), problems=problems)
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
            f.close()

    # -- reading --------------------------------------------------------------------------
    def _next_order(self) -> int:
        self._order += 1
        return self._order

    def _add(self, sf: SourceFile) -> None:
        self._followed.append(Followed(sf.kind, sf.path, self._next_order(), select=sf.select))

    def _ordered(self) -> list[Followed]:
        return sorted(self._followed, key=lambda f: (policy.RANK[f.kind], f.order))

    def _events_have_points(self, held: Mapping[int, ReadResult | None] | None = None) -> bool:
        """True once an event file gave points (so far, or in ``held``, this poll's event reads)."""
        held_points = [r.points if r is not None else 0 for r in (held or {}).values()]
        return policy.precise_have_points([f.as_src() for f in self._followed], held_points)

    def _open(self, f: Followed) -> SourceReader | None:
        if f.reader is not None:
            return f.reader
        try:
            f.reader = make_reader(f, self._fs, self._facts.logging_steps, self._tmux_socket)
        except (ImportError, AttributeError) as exc:
            if not reader_available(f.kind):
                if f.kind not in self._missing_readers:
                    self._missing_readers.add(f.kind)
                    self._run_book.add(
                        [Problem(f.path, None, f"no reader for {f.kind} sources is installed")]
                    )
                return None
            f.report([Problem(f.path, None, f"cannot open: {type(exc).__name__}: {exc}")])
            return None
        except Exception as exc:  # a reader that cannot start is a problem, not a crash
            f.report([Problem(f.path, None, f"cannot open: {type(exc).__name__}: {exc}")])
            return None
        return f.reader

    def _poll(self, progress: Progress | None) -> int:
        ranked = self._ordered()
        prefetch = getattr(self._fs, "prefetch", None)
        if callable(prefetch):  # a remote run: every file's info in one round trip
            prefetch([f.path for f in ranked if f.kind != "tmux"])
        plan = policy.plan_poll([f.as_src() for f in ranked])
        order = [ranked[i] for i in plan.read]
        consoles = policy.CONSOLES
        # Whether consoles are read depends on the event files' points: while that is open, read
        # the event files first but ingest them last, in rank order, so they keep their precedence.
        undecided = plan.undecided
        total_bytes = done = 0
        if progress is not None:  # counting consoles in only once they are known to be read
            total_bytes = new_bytes((f for f in order if not (undecided and f.kind in consoles)), self._fs)
            progress(0, total_bytes)
        held: dict[int, ReadResult | None] = {}
        if undecided:
            for f in order:
                if f.kind in policy.PRECISE:
                    held[id(f)] = self._read(f)
                    done = advance(f, self._fs, progress, done, total_bytes)
            held_points = [r.points if r is not None else 0 for r in held.values()]
            if not policy.consoles_after_precise_read(held_points):
                order = [f for f in order if f.kind not in consoles]
            elif progress is not None:
                total_bytes += new_bytes((f for f in order if f.kind in consoles), self._fs)
        new = 0
        for f in order:
            if id(f) in held:
                res = held[id(f)]
                new += self._ingest(f, res) if res is not None else 0
                continue
            new += self._read_one(f)
            done = advance(f, self._fs, progress, done, total_bytes)
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
        exclude, true = policy.guessed_to_exclude([f.as_src() for f in self._followed])
        if true is None:
            return False
        true_path = self._followed[true].path
        for i in exclude:
            f = self._followed[i]
            f.excluded = True
            f.report(
                [
                    Problem(
                        f.path,
                        None,
                        f"not merged: its rows carry no step (numbered 1, 2, 3...), and {true_path} "
                        "has the true steps",
                    )
                ]
            )
        return True

    def _read_one(self, f: Followed) -> int:
        res = self._read(f)
        return self._ingest(f, res) if res is not None else 0

    def _read(self, f: Followed) -> ReadResult | None:
        if self._open(f) is None:
            return None
        return read_followed(f)

    def _ingest(self, f: Followed, res: ReadResult) -> int:
        restates = policy.restates(f.kind, res.restarted)
        n = self._store.add(f.source_id, res.chunks, restarted=res.restarted, restates=restates)
        f.points = (n if res.restarted else f.points + n) if (n or res.restarted) else f.points
        f.report(res.problems)
        self._report_order(f)
        if res.samples:
            self.samples.push(f.path, res.samples)
        self._facts.take(f.kind, res)
        return n

    def _report_order(self, f: Followed) -> None:
        """Tell the user how every step that went backwards was read (a resume or a stray)."""
        notes = self._store.take_order_notes()
        if not notes:
            return
        decided, problems = order_problems(notes, f.path)
        for prefix in decided:
            for g in self._followed:
                g.book.drop(_starts_with(prefix))
        f.report(problems)

    def _console_scale_is_stale(self) -> bool:
        """True when a console source stored points with a step scale that is now known wrong."""
        current = self._facts.known_logging_steps()
        consoles = [f for f in self._followed if f.kind in policy.CONSOLES and f.reader is not None]
        decision = policy.console_rescale(current, [(f.logging_steps, f.points) for f in consoles])
        for i in decision.retune:
            f = consoles[i]
            if f.reader is not None and hasattr(f.reader, "logging_steps"):
                f.reader.logging_steps = current  # nothing stored yet: just fix the scale
                f.logging_steps = current
        return decision.reread

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
    def _update_info(self) -> None:
        files = [f.path for f in self._followed if f.points > 0]
        if self._facts.update(self._fs, self._store, files, len(self._followed)) and self._model is not None:
            self._model.set_info(self._facts.info)

    @property
    def detection(self) -> Detection:
        """How the trainer was decided (evidence, versions from the model card)."""
        return self._facts.detection

    # -- the model ------------------------------------------------------------------------
    def _get_model(self) -> RunModel:
        # The store is replaced when a console-only run learns its logging interval late.
        if self._model is None or self._model.store is not self._store:
            self._model = RunModel(self._facts.info, self._store, self._model_config)
        return self._model


def _starts_with(prefix: str) -> Callable[[Problem], bool]:
    return lambda p: p.message.startswith(prefix)
