"""The pump: the one place that reads the runs and computes their snapshots.

It is the body of the app's single thread worker (``RltuiApp.pump``, ``@work(thread=True,
exclusive=True)``), the way memray's live TUI and toolong feed their screens: everything that
touches the files (the first read, polls, rescans, discovering new runs in a sweep folder) and
every snapshot is done here, in order, and the result leaves as one immutable ``Batch`` handed to
``publish`` (the app posts it as a ``SnapshotsReady`` message). The UI never reads a file.

What wakes the pump (file events, a tmux pane's waker, the ``--poll`` clock, the app asking for
a snapshot at a new replay step) only sets a flag and an event; small daemon threads wait on the
file watcher and the wakers and do nothing else.

Every blocking call runs in a daemon thread that the pump waits on while watching ``stop``
(``_call``): a read stuck on a hung mount must not keep ``q`` from ending the process (the
thread worker itself sits in the loop's default executor, which the interpreter joins at exit).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from rltui.model.snapshot import RunSnapshot
from rltui.ui.runs import RunSource, Waker

R = TypeVar("R")

#: Snapshots are published at most once per this many seconds (~10 a second): a burst of file
#: events or replay ticks gathered meanwhile is served by one snapshot.
MIN_PUBLISH_S = 0.1
#: watchfiles' Rust thread sleeps ``step`` ms between looks at its event queue: 100 ms is 10
#: wake-ups a second on a quiet run and adds at most ~0.1 s to append -> screen (p95 <= 0.5 s).
WATCH_STEP_MS = 100
#: While a sweep loads run by run, what is loaded is published this often.
PROGRESS_PUBLISH_S = 0.5
#: Longest a burst of file events is gathered before the readers run.
WATCH_DEBOUNCE_MS = 100
#: Longest one wait of a run's waker (tmux pane, remote run) before it is simply asked again.
WAKE_TIMEOUT_S = 10.0
#: How often a stuck call checks whether the app is quitting.
STOP_CHECK_S = 0.1
#: With ``--poll``, every this many polls also rescans (new files) and looks for new runs.
RESCAN_EVERY = 10
#: Without ``--poll``, a watched folder still showing the empty stand-in is looked at this often,
#: and any watched sweep folder every ``SWEEP_RESCAN_S``: file events can be lost (a run created
#: before the watcher was set up, an inotify queue overflow), and a lost event must not strand a
#: folder on "no run yet". The look is one directory scan, so it costs nothing on a quiet run.
PLACEHOLDER_RESCAN_S = 2.0
SWEEP_RESCAN_S = 30.0
#: Without ``--poll``, the followed files are also read this often whatever the events say: an
#: append made while watchfiles was still setting up its watches (the first second or so, longer on
#: a loaded box) produced no event, and a run whose last line was a NaN before it crashed would
#: never have shown it. One ``stat`` per followed file: nothing, next to a frame.
SAFETY_READ_S = 3.0


class Stopped(Exception):
    """The app is quitting: the pump ends without waiting for the call in progress."""


@dataclass(frozen=True, slots=True)
class Batch:
    """One published state: the runs and a snapshot of each, as of one moment."""

    runs: tuple[RunSource, ...]
    snapshots: tuple[RunSnapshot | None, ...]
    #: The step the snapshots were cut at (replay), or None (everything).
    at_step: int | None
    #: The highest request number this batch answers (``Pump.request``).
    served: int
    #: True for the first batch: its active alerts are the baseline, not news.
    baseline: bool = False
    #: Replay only, on the first batch: every logged step, and where each alert is raised.
    replay_steps: tuple[int, ...] | None = None
    alert_steps: tuple[int, ...] = ()
    #: Names of runs discovered since the previous batch (a sweep gaining a run).
    new_runs: tuple[str, ...] = ()


@dataclass(slots=True)
class PumpConfig:
    replay: bool = False
    follow: bool = True
    poll: bool = False
    poll_interval: float = 1.0
    reopen: Callable[[], Sequence[RunSource]] | None = None
    watch_roots: tuple[str, ...] = ()


def is_placeholder(run: RunSource) -> bool:
    """The empty stand-in the session opens for a watched folder with no run yet."""
    return bool(getattr(run, "placeholder", False)) and not run.names()


@dataclass(slots=True)
class _Wakes:
    """What happened since the pump last looked (set by the waiting threads and the app)."""

    requested: int = 0
    at_step: int | None = None
    files: bool = False
    added: bool = False
    unknown_added: bool = False
    woke: set[int] = field(default_factory=set)


class Pump:
    def __init__(
        self,
        runs: Sequence[RunSource],
        config: PumpConfig,
        publish: Callable[[Batch], None],
        stop: threading.Event,
    ) -> None:
        self.runs: list[RunSource] = list(runs)
        self.config = config
        self.publish = publish
        self.stop = stop
        self._wake = threading.Event()
        self._lock = threading.Lock()  # guards _pending only: signalling, never run data
        self._pending = _Wakes()
        self._served = 0
        self._last_publish = 0.0
        self._threads: list[threading.Thread] = []
        #: Set when the file watcher could not start or died: the pump then polls instead.
        self.watch_failed = False
        self._last_discover = time.monotonic()
        self._next_safety_read = time.monotonic() + SAFETY_READ_S
        #: While a sweep loads: the snapshot of each run read so far, by id (None: loaded).
        self._loaded: dict[int, RunSnapshot] | None = None
        #: Indexes of the runs a waker follows (tmux panes, remote hosts, object stores).
        self._waked: set[int] = set()

    # -- asked from other threads ------------------------------------------------------------------
    def request(self, number: int, at_step: int | None) -> None:
        """Snapshots at ``at_step`` (None: everything), answering request ``number``."""
        with self._lock:
            self._pending.requested = max(self._pending.requested, number)
            self._pending.at_step = at_step
        self._wake.set()

    def close(self) -> None:
        """The app is quitting: end the wait at once (and every call waiting on ``stop``)."""
        self.stop.set()
        self._wake.set()

    # -- the worker body ---------------------------------------------------------------------------
    def run(self) -> None:
        """Read, publish, then follow until ``stop``; returns quietly when the app quits."""
        try:
            self._run()
        except Stopped:
            return

    def _run(self) -> None:
        if self.config.replay or len(self.runs) < 2:
            self._call(self._read_all, True)
        else:
            self._load_progressively()
        if self.config.replay:
            self._publish_replay()
        else:
            self._publish(None, baseline=True)  # while a sweep loads: the snapshots it took
            self._loaded = None
            if self.config.follow:
                self._start_followers()
        polls = 0
        next_poll = time.monotonic() + self.config.poll_interval
        while not self.stop.is_set():
            follow = self.config.follow and not self.config.replay
            polling = (self.config.poll or self.watch_failed) and follow
            timeout = max(0.0, next_poll - time.monotonic()) if polling else self._idle_timeout()
            self._wake.wait(timeout)
            self._wake.clear()
            if self.stop.is_set():
                return
            with self._lock:
                wakes, self._pending = self._pending, _Wakes(at_step=self._pending.at_step)
            changed = False
            new_runs: tuple[str, ...] = ()
            if polling and time.monotonic() >= next_poll:
                polls += 1
                next_poll = time.monotonic() + self.config.poll_interval
                rescan = polls % RESCAN_EVERY == 0
                if rescan:
                    new_runs = self._discover()
                changed = self._call(self._read_all, rescan) > 0 or bool(new_runs)
            if wakes.unknown_added or self._discovery_due():
                new_runs += self._discover()
            if follow and not polling and time.monotonic() >= self._next_safety_read:
                self._next_safety_read = time.monotonic() + SAFETY_READ_S
                changed = self._call(self._read_unwoken) > 0 or changed
            if wakes.files:
                changed = self._call(self._read_all, wakes.added) > 0 or wakes.added or changed
            for index in wakes.woke:
                changed = self._poll_woken(index) or changed
            if changed or bool(new_runs) or wakes.requested > self._served:
                self._served = max(self._served, wakes.requested)
                self._publish(wakes.at_step, new_runs=new_runs)

    def _rescan_interval(self) -> float | None:
        """How often the folder is looked at for new runs without an event (None: never)."""
        if self.config.reopen is None or not self.config.follow or self.config.replay:
            return None
        if any(is_placeholder(r) for r in self.runs):
            return PLACEHOLDER_RESCAN_S
        return SWEEP_RESCAN_S

    def _idle_timeout(self) -> float:
        now = time.monotonic()
        live = self.config.follow and not self.config.replay
        limit = min(WAKE_TIMEOUT_S, self._next_safety_read - now) if live else WAKE_TIMEOUT_S
        interval = self._rescan_interval()
        if interval is not None:
            limit = min(limit, self._last_discover + interval - now)
        return max(0.0, limit)

    def _discovery_due(self) -> bool:
        interval = self._rescan_interval()
        return interval is not None and time.monotonic() >= self._last_discover + interval

    # -- reading -----------------------------------------------------------------------------------
    def _call(self, fn: Callable[..., R], *args: object) -> R:
        """``fn(*args)`` in a daemon thread; raises ``Stopped`` if the app quits meanwhile."""
        done = threading.Event()
        box: list[R] = []
        errors: list[BaseException] = []

        def target() -> None:
            try:
                box.append(fn(*args))
            except BaseException as exc:  # handed to the pump, which lets the worker fail
                errors.append(exc)
            finally:
                done.set()

        threading.Thread(target=target, name=f"rltui-{getattr(fn, '__name__', 'read')}", daemon=True).start()
        while not done.wait(STOP_CHECK_S):
            if self.stop.is_set():
                raise Stopped
        if errors:
            raise errors[0]
        return box[0]

    def _load_progressively(self) -> None:
        """Read the runs one by one, publishing what is loaded every ``PROGRESS_PUBLISH_S`` (the
        baseline batch that follows reuses the snapshots taken here): a
        100-run sweep showed nothing for 23 s before; now its first runs are on screen at once
        and the rest fill in ("loading …" until then). Replay needs every step first, and a
        single run is one read, so both still load in one go."""
        self._loaded = {}
        runs = list(self.runs)
        began = time.monotonic()
        for n, run in enumerate(runs):
            self._loaded[id(run)] = self._call(self._read_one, run)
            # Often at first (something to read at once), then less: every redraw of the
            # growing screen takes the GIL from the reads.
            interval = PROGRESS_PUBLISH_S if time.monotonic() - began < 3.0 else 4 * PROGRESS_PUBLISH_S
            due = time.monotonic() - self._last_publish >= interval
            if due and n + 1 < len(runs):
                self._publish(None)

    @staticmethod
    def _read_one(run: RunSource) -> RunSnapshot:
        """Read a run and take its snapshot, kept until the sweep is loaded: each publish of the
        loading sweep re-took every loaded run's snapshot, 23 s -> 60 s for 100 runs."""
        run.rescan()
        run.poll()
        return run.snapshot()

    def _read_all(self, rescan: bool) -> int:
        total = 0
        for run in list(self.runs):
            if rescan:
                run.rescan()
            total += run.poll()
        return total

    def _read_unwoken(self) -> int:
        """Poll the runs that only file events wake (a waker already asks the others)."""
        total = 0
        for index, run in enumerate(list(self.runs)):
            if index not in self._waked:
                total += run.poll()
        return total

    def _poll_woken(self, index: int) -> bool:
        runs = list(self.runs)
        if index >= len(runs):
            return False
        run = runs[index]
        revision = getattr(run, "revision", 0)
        return bool(self._call(run.poll)) or getattr(run, "revision", 0) != revision

    def _discover(self) -> tuple[str, ...]:
        """Runs that appeared in a watched sweep folder join; the empty-folder stand-in leaves."""
        if self.config.reopen is None:
            return ()
        self._last_discover = time.monotonic()
        found = self._call(self.config.reopen)
        known = {r.info.path for r in self.runs}
        fresh = [run for run in found if run.info.path not in known]
        if not fresh:
            return ()
        for run in fresh:
            self._call(run.poll)
        self.runs = [r for r in self.runs if not is_placeholder(r)] + fresh
        return tuple(run.info.name for run in fresh)

    def _snapshots(self, at_step: int | None) -> tuple[RunSnapshot | None, ...]:
        loaded = self._loaded
        if loaded is None:
            return tuple(run.snapshot(at_step=at_step) for run in self.runs)
        return tuple(loaded.get(id(run)) for run in self.runs)

    def _publish(
        self, at_step: int | None, *, baseline: bool = False, new_runs: tuple[str, ...] = ()
    ) -> None:
        wait = self._last_publish + MIN_PUBLISH_S - time.monotonic()
        if wait > 0 and self.stop.wait(wait):
            raise Stopped
        with self._lock:  # a request that came in while waiting is answered by this batch too
            if self._pending.requested > self._served:
                self._served = self._pending.requested
                at_step = self._pending.at_step
                self._pending.requested = 0
        snaps = self._call(self._snapshots, at_step)
        self._last_publish = time.monotonic()
        self.publish(Batch(tuple(self.runs), snaps, at_step, self._served, baseline, new_runs=new_runs))

    def _publish_replay(self) -> None:
        full = self._call(self._snapshots, None)
        arrays = [v.steps for run in self.runs for n in run.names() if (v := run.view(n)) is not None]
        steps = tuple(sorted({int(s) for a in arrays for s in a}))
        # Jump to where each alert is raised (its banner shows), not to its backdated onset.
        alert_steps = tuple(
            sorted(
                {
                    a.raised_step if a.raised_step is not None else a.first_step
                    for s in full
                    if s is not None
                    for a in s.alerts
                }
            )
        )
        self._last_publish = time.monotonic()
        self.publish(
            Batch(
                tuple(self.runs), full, None, self._served, True, replay_steps=steps, alert_steps=alert_steps
            )
        )

    # -- what wakes the pump -------------------------------------------------------------------------
    def _start_followers(self) -> None:
        if not self.config.poll:
            for index, run in enumerate(self.runs):
                get = getattr(run, "waker", None)
                waker = get() if callable(get) else None
                if waker is not None:
                    self._waked.add(index)
                    self._spawn(self._wait_waker, index, waker)
            self._spawn(self._watch_files)

    def _spawn(self, fn: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=fn, args=args, name=f"rltui-{fn.__name__}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _wait_waker(self, index: int, waker: Waker) -> None:
        try:
            while not self.stop.is_set():
                if waker.wait(WAKE_TIMEOUT_S) and not self.stop.is_set():
                    with self._lock:
                        self._pending.woke.add(index)
                    self._wake.set()
        finally:
            with contextlib.suppress(Exception):
                waker.close()

    def _known(self, path: str) -> bool:
        """True when ``path`` lies in a followed run (a new file there is that run's own). The
        stand-in for an empty watched folder does not count: its root is the whole folder."""
        p = Path(path)
        for run in list(self.runs):
            if is_placeholder(run):
                continue
            root = Path(run.info.path)
            if p == root or root in p.parents:
                return True
        return False

    def _watch_files(self) -> None:
        """Follow file events; if the watcher cannot run (no inotify, a watch limit reached, a
        folder it cannot read), the pump falls back to polling rather than go deaf."""
        try:
            self._watch_file_events()
        except Exception:
            if not self.stop.is_set():
                self.watch_failed = True
                self._wake.set()

    def _watch_file_events(self) -> None:
        from watchfiles import Change, watch

        roots = list(self.config.watch_roots) if self.config.reopen else []
        paths = sorted({p for run in self.runs for p in run.watch_paths()} | set(roots))
        paths = [p for p in paths if Path(p).exists()]
        if not paths:
            return
        for changes in watch(
            *paths,
            stop_event=self.stop,
            debounce=WATCH_DEBOUNCE_MS,
            step=WATCH_STEP_MS,
            raise_interrupt=False,
        ):
            added = [p for kind, p in changes if kind == Change.added]
            with self._lock:
                self._pending.files = True
                self._pending.added = self._pending.added or bool(added)
                if any(not self._known(p) for p in added):
                    self._pending.unknown_added = True
            self._wake.set()
