"""The Textual application: holds the runs and their latest snapshots, schedules work off the UI
loop, and routes redraws to the screens.

Threading model: reading files and computing snapshots happen in worker threads
(``asyncio.to_thread``); the UI loop only swaps in finished, immutable snapshots and repaints,
at most ``1 / MIN_REDRAW_S`` times a second. Ingest and snapshots of one run take that run's
lock (``RunSession``), and the UI reads series only through ``run.view()``, which takes it too.
While a watched run is quiet, the watcher sleeps in ``watchfiles.awatch`` and nothing else runs
but a 1 Hz header clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer

from rltui.model.snapshot import Alert, RunSnapshot
from rltui.ui import ascii_mode
from rltui.ui.alerting import AlertTracker, alert_env, alert_json, osc9
from rltui.ui.chart_spec import ChartSpec
from rltui.ui.export import output_dir, output_name, write_csv
from rltui.ui.glyphs import safe
from rltui.ui.off_loop import off_loop
from rltui.ui.runs import RunSource, Waker
from rltui.ui.screens.alerts import AlertsScreen
from rltui.ui.screens.dashboard import DashboardScreen
from rltui.ui.screens.detail import DetailScreen
from rltui.ui.screens.help import HelpScreen
from rltui.ui.screens.metrics import MetricsScreen
from rltui.ui.screens.replay import ReplayDashboardScreen
from rltui.ui.screens.samples import SamplesScreen, read_samples_in_background

Mode = Literal["watch", "replay", "compare"]

#: Redraws are coalesced to at most one per this many seconds (~10 per second).
MIN_REDRAW_S = 0.1
#: Replay never ticks faster than this; higher speeds advance several steps per tick.
MIN_TICK_S = 0.1
#: watchfiles' Rust thread sleeps ``step`` ms between looks at its event queue (and takes the GIL
#: to check the stop event each time): 20 ms meant 50 wake-ups a second on a quiet run. 100 ms
#: is 10 a second and adds at most ~0.1 s to the append -> screen latency (target p95 <= 0.5 s).
WATCH_STEP_MS = 100
#: Longest a burst of file events is gathered before the readers run.
WATCH_DEBOUNCE_MS = 100
#: Longest one wait of a run's waker (tmux pane, remote run) before it is simply asked again.
WAKE_TIMEOUT_S = 10.0
SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 100.0, 250.0, 1000.0)


@dataclass(slots=True)
class UiOptions:
    mode: Mode = "watch"
    ascii_only: bool = False
    bell: bool = True
    notify: bool = True
    on_alert: str | None = None
    poll: bool = False
    poll_interval: float = 1.0
    speed: float = 10.0
    #: Follow the files (watch/compare). Tests turn it off and push snapshots themselves.
    follow: bool = True
    #: Start playing as soon as a replay is loaded.
    autoplay: bool = True
    #: A fixed "now" for deterministic screenshots (also stops the header clock).
    frozen_now: float | None = None
    #: Re-discover the runs (a sweep folder gaining a run); None when the paths were explicit runs.
    reopen: Callable[[], Sequence[RunSource]] | None = None
    #: Folders watched for new runs (the sweep folders named on the command line).
    watch_roots: tuple[str, ...] = ()


class RltuiApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "rltui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("s", "screenshot", "Screenshot"),
        Binding("c", "samples", "Samples"),
    ]

    def __init__(self, runs: Sequence[RunSource], options: UiOptions | None = None) -> None:
        super().__init__()
        self.runs: list[RunSource] = list(runs)
        self.options = options or UiOptions()
        self.ascii_only = self.options.ascii_only
        self.snapshots: list[RunSnapshot | None] = [None] * len(self.runs)
        self.tracker = AlertTracker()
        #: What reached the terminal besides the screen (for tests and for --no-bell checks).
        self.bells = 0
        self.sent_notifications: list[str] = []
        self.on_alert_failures: list[str] = []
        #: Process-group ids of running ``--on-alert`` commands (ended on exit).
        self._children: set[int] = set()
        self.last_export: Path | None = None
        self._last_draw = 0.0
        self._redraw_timer: Timer | None = None
        self._computing = False
        self._dirty = False
        self._pending_apply = 0
        self._stop = asyncio.Event()
        # replay state
        self.replay_steps: np.ndarray = np.empty(0, dtype=np.int64)
        self.cursor_index = 0
        self.playing = False
        self.speed = self.options.speed
        self.alert_steps: list[int] = []
        self._tick_timer: Timer | None = None
        self.loaded = False

    # -- small accessors used by the screens ---------------------------------------------------
    @property
    def replaying(self) -> bool:
        return self.options.mode == "replay"

    def now(self) -> float:
        return self.options.frozen_now if self.options.frozen_now is not None else time.time()

    @property
    def cursor(self) -> int | None:
        if not self.replaying or len(self.replay_steps) == 0:
            return None
        return int(self.replay_steps[self.cursor_index])

    def view_step(self, run_index: int) -> int | None:
        """The step the UI shows for a run: the replay cursor, or None (everything) when live."""
        del run_index
        return self.cursor if self.replaying else None

    def mode_label(self) -> str | None:
        if not self.replaying:
            return None
        if not self.loaded:
            return "REPLAY loading"
        at_end = self.cursor_index >= len(self.replay_steps) - 1
        state = "end" if at_end and not self.playing else ("playing" if self.playing else "paused")
        return f"REPLAY {state} {self.speed:g} steps/s"

    # -- lifecycle -----------------------------------------------------------------------------
    def _load_screen_css(self, screen: Screen[Any]) -> None:
        """Every screen, Textual's own included (palette, help), passes here once: in ASCII mode
        its compositor is made to draw ASCII only (issue 12: borders, scrollbars, keys, charts)."""
        super()._load_screen_css(screen)
        if self.ascii_only:
            ascii_mode.install(screen)

    def get_key_display(self, binding: Binding) -> str:
        return (
            binding.key
            if self.ascii_only and binding.key_display is None
            else super().get_key_display(binding)
        )

    def on_mount(self) -> None:
        self.push_screen(ReplayDashboardScreen() if self.replaying else DashboardScreen())
        if self.replaying:
            self.run_worker(self._load_replay(), group="load", exclusive=True)
        elif self.options.follow:
            self.run_worker(self._watch(), group="watch", exclusive=True)
        else:
            self.request_snapshots()
        if self.options.frozen_now is None:
            self.set_interval(1.0, self._tick_clock)

    def on_unmount(self) -> None:
        self._stop.set()
        self.end_children()

    async def action_quit(self) -> None:
        self._stop.set()
        self.end_children()
        await super().action_quit()

    def end_children(self) -> None:
        """End every ``--on-alert`` command still running (its whole process group): a
        ``sleep 600`` there must not outlive the dashboard."""
        for pid in list(self._children):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGTERM)
        self._children.clear()

    def _tick_clock(self) -> None:
        """Keep "stale for N s" and elapsed honest while no data arrives (one Static repaint)."""
        screen = self.screen_stack[1] if len(self.screen_stack) > 1 else None
        if isinstance(screen, DashboardScreen) and not self._computing:
            screen.show_header()

    # -- snapshots -----------------------------------------------------------------------------
    def _compute(self, runs: list[RunSource]) -> list[RunSnapshot]:
        return [run.snapshot(at_step=self.view_step(i)) for i, run in enumerate(runs)]

    def request_snapshots(self) -> None:
        """Compute fresh snapshots in a thread; requests during a computation coalesce into one."""
        if self._computing:
            self._dirty = True
            return
        self._computing = True
        self.run_worker(self._compute_loop(), group="snapshot")

    async def _compute_loop(self) -> None:
        try:
            while True:
                self._dirty = False
                runs = list(self.runs)
                snaps = await off_loop(self._compute, runs)
                # Hand over to the app's own message pump: widgets mounted from a worker task
                # were sometimes never laid out (Textual 8.2).
                self._pending_apply += 1
                self.call_later(self._apply_computed, runs, snaps)
                if not self._dirty:
                    break
        finally:
            self._computing = False

    def _apply_computed(self, runs: list[RunSource], snaps: list[RunSnapshot]) -> None:
        self._pending_apply -= 1
        if len(runs) != len(self.runs) or any(a is not b for a, b in zip(runs, self.runs, strict=True)):
            return  # the run list changed meanwhile (a run appeared): a newer computation follows
        self.set_snapshots(snaps)

    @property
    def busy(self) -> bool:
        """True while a snapshot is being computed, waiting to be applied, or waiting to be drawn."""
        return self._computing or self._pending_apply > 0 or self._redraw_timer is not None

    def set_snapshots(self, snaps: Iterable[RunSnapshot | None]) -> None:
        """Swap in new snapshots (any thread-free caller, tests included), announce new alerts,
        and schedule a coalesced redraw."""
        self.snapshots = list(snaps)
        ready = [s for s in self.snapshots if s is not None]
        if self._reset_tracker_after_compute:
            self._reset_tracker_after_compute = False
            self.tracker.reset_to(ready)
        for snap, alert in self.tracker.new_alerts(ready):
            self._announce(snap, alert)
        self.schedule_redraw()

    def schedule_redraw(self) -> None:
        if self._redraw_timer is not None:
            return
        wait = self._last_draw + MIN_REDRAW_S - time.monotonic()
        if wait <= 0:
            self._redraw_timer = self.set_timer(0.001, self.redraw)
        else:
            self._redraw_timer = self.set_timer(wait, self.redraw)

    def redraw(self) -> None:
        self._redraw_timer = None
        self._last_draw = time.monotonic()
        stack = self.screen_stack
        targets = {id(s): s for s in (stack[1:2] + stack[-1:])}
        for screen in targets.values():
            show = getattr(screen, "show", None)
            if callable(show):
                # A screen still composing raises NoMatches; its on_mount draws it.
                with contextlib.suppress(NoMatches):
                    show()

    # -- live ----------------------------------------------------------------------------------
    def _read_all(self, rescan: bool) -> int:
        total = 0
        for run in self.runs:
            if rescan:
                run.rescan()
            total += run.poll()
        return total

    def _known(self, path: str) -> bool:
        """True when ``path`` lies in a followed run (so a new file there is that run's own).

        The empty stand-in for a watched folder with no run yet does not count: its root is the
        whole folder, and the run the training creates inside it must still be discovered.
        """
        p = Path(path)
        for run in self.runs:
            if _is_placeholder(run):
                continue
            root = Path(run.info.path)
            if p == root or root in p.parents:
                return True
        return False

    async def _discover(self) -> None:
        if self.options.reopen is None:
            return
        found = await off_loop(self.options.reopen)
        known = {r.info.path for r in self.runs}
        fresh = [run for run in found if run.info.path not in known]
        if not fresh:
            return
        # Real runs turned up: the stand-in for the empty folder has done its job.
        keep = [i for i, r in enumerate(self.runs) if not _is_placeholder(r)]
        self.runs = [self.runs[i] for i in keep]
        self.snapshots = [self.snapshots[i] for i in keep]
        for run in fresh:
            self.runs.append(run)
            self.snapshots.append(None)
            self.notify(f"new run: {safe(run.info.name, 60)}", markup=False)
        self.request_snapshots()

    async def _watch(self) -> None:
        await off_loop(self._read_all, True)
        self.loaded = True
        self.run_worker(read_samples_in_background(self), group="samples")
        # Alerts the run already has when it is opened are on screen, not news: they are the
        # baseline, and only later transitions (a new alert, an escalation) ring or notify.
        self._reset_tracker_after_compute = True
        self.request_snapshots()
        if not self.options.poll:
            self._follow_wakers()
        if self.options.poll:
            polls = 0
            while not self._stop.is_set():
                await asyncio.sleep(self.options.poll_interval)
                polls += 1
                if polls % 10 == 0:
                    await self._discover()
                if await off_loop(self._read_all, polls % 10 == 0):
                    self.request_snapshots()
            return
        from watchfiles import Change, awatch

        paths = sorted({p for run in self.runs for p in run.watch_paths()} | set(self._sweep_roots()))
        paths = [p for p in paths if Path(p).exists()]
        if not paths:
            return
        async for changes in awatch(
            *paths, stop_event=self._stop, debounce=WATCH_DEBOUNCE_MS, step=WATCH_STEP_MS
        ):
            added = any(kind == Change.added for kind, _ in changes)
            if added and any(not self._known(p) for _, p in changes):
                await self._discover()
            if await off_loop(self._read_all, added) or added:
                self.request_snapshots()

    def _follow_wakers(self) -> None:
        """A worker per run that has a wake-up besides file events (a tmux pane)."""
        for run in self.runs:
            get = getattr(run, "waker", None)
            waker = get() if callable(get) else None
            if waker is not None:
                self.run_worker(self._wake_loop(run, waker), group="wake")

    async def _wake_loop(self, run: RunSource, waker: Waker) -> None:
        try:
            while not self._stop.is_set():
                woke = await off_loop(waker.wait, WAKE_TIMEOUT_S)
                if not woke or self._stop.is_set():
                    continue
                revision = getattr(run, "revision", 0)
                if await off_loop(run.poll) or getattr(run, "revision", 0) != revision:
                    self.request_snapshots()
        finally:
            waker.close()

    def _sweep_roots(self) -> list[str]:
        return list(self.options.watch_roots) if self.options.reopen else []

    # -- replay --------------------------------------------------------------------------------
    async def _load_replay(self) -> None:
        await off_loop(self._read_all, True)
        full = await off_loop(lambda: [run.snapshot() for run in self.runs])
        steps = [run.view(n) for run in self.runs for n in run.names()]
        arrays = [v.steps for v in steps if v is not None]
        self.replay_steps = np.unique(np.concatenate(arrays)) if arrays else np.empty(0, dtype=np.int64)
        # The onsets at once; where each banner first shows replaces them when found (~1 s of
        # snapshots in the past on an 800-step run: playback must not wait for it).
        # Jump to where each alert is raised (its banner shows), not to its backdated onset.
        self.alert_steps = sorted(
            {a.raised_step if a.raised_step is not None else a.first_step for s in full for a in s.alerts}
        )
        self.cursor_index = 0
        self.loaded = True
        if len(self.replay_steps) == 0:
            self.snapshots = list(full)
            self.schedule_redraw()
            return
        self.request_snapshots()
        if self.options.autoplay:
            self.set_playing(True)

    def set_playing(self, playing: bool) -> None:
        self.playing = playing and len(self.replay_steps) > 0
        if self._tick_timer is not None:
            self._tick_timer.stop()
            self._tick_timer = None
        if self.playing:
            self._tick_timer = self.set_interval(max(MIN_TICK_S, 1.0 / self.speed), self._tick)
        self.schedule_redraw()

    def _tick(self) -> None:
        per_tick = max(1, round(self.speed * max(MIN_TICK_S, 1.0 / self.speed)))
        last = len(self.replay_steps) - 1
        self.move_cursor_to(min(last, self.cursor_index + per_tick))
        if self.cursor_index >= last:
            self.set_playing(False)

    def move_cursor_to(self, index: int) -> None:
        if len(self.replay_steps) == 0:
            return
        index = max(0, min(len(self.replay_steps) - 1, index))
        if index == self.cursor_index and self.snapshots[0] is not None:
            return
        back = index < self.cursor_index
        self.cursor_index = index
        if back:
            # Jumping back: alerts that are active there were already announced in this session.
            self._reset_tracker_after_compute = True
        self.request_snapshots()

    def seek_step(self, step: int) -> None:
        self.move_cursor_to(int(np.searchsorted(self.replay_steps, step, side="left")))

    def set_speed(self, direction: int) -> None:
        faster = [s for s in SPEEDS if s > self.speed]
        slower = [s for s in SPEEDS if s < self.speed]
        if direction > 0 and faster:
            self.speed = faster[0]
        elif direction < 0 and slower:
            self.speed = slower[-1]
        self.set_playing(self.playing)

    # -- alerts leaving the screen ---------------------------------------------------------------
    _reset_tracker_after_compute = False

    def _announce(self, snap: RunSnapshot, alert: Alert) -> None:
        if alert.severity == "critical":
            if self.options.bell:
                self.bells += 1
                self.bell()
            if self.options.notify:
                seq = osc9(snap, alert, tmux=bool(os.environ.get("TMUX")))
                self.sent_notifications.append(seq)
                self._write_terminal(seq)
        if self.options.on_alert and alert.severity != "info":
            self.run_worker(
                self._run_on_alert(self.options.on_alert, alert_json(snap, alert), alert_env(snap, alert)),
                group="on-alert",
            )

    def _write_terminal(self, data: str) -> None:
        driver = self._driver
        if driver is not None and not self.is_headless:
            driver.write(data)
            driver.flush()

    async def _run_on_alert(self, cmd: str, payload: str, env: dict[str, str] | None = None) -> None:
        try:
            # Its own process group, so that quitting ends the command and all it started.
            proc = await asyncio.create_subprocess_shell(
                cmd,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
            self._children.add(proc.pid)
            try:
                _, err = await proc.communicate(payload.encode())
            finally:
                self._children.discard(proc.pid)
            if proc.returncode:
                tail = safe(err.decode("utf-8", "replace").strip()[-200:], 200)
                raise RuntimeError(f"exit {proc.returncode}{': ' + tail if tail else ''}")
        except Exception as exc:
            message = f"--on-alert failed: {safe(str(exc), 200)}"
            self.on_alert_failures.append(message)
            self.notify(message, severity="error", markup=False)

    # -- screens and files -----------------------------------------------------------------------
    def open_chart(self, spec: ChartSpec) -> None:
        if not spec.series:
            self.notify("nothing to chart yet", severity="warning", markup=False)
            return
        self.push_screen(DetailScreen(spec))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_alerts(self) -> None:
        if not isinstance(self.screen, AlertsScreen):
            self.push_screen(AlertsScreen())

    def action_samples(self) -> None:
        """The samples screen; on a focused banner or alert row, the evidence view of that alert."""
        if isinstance(self.screen, SamplesScreen):
            return
        focused = self.focused
        alert = getattr(focused, "alert", None)
        run_index = getattr(focused, "run_index", 0)
        self.push_screen(SamplesScreen(run_index, alert if isinstance(alert, Alert) else None))

    def action_metrics(self) -> None:
        if not isinstance(self.screen, MetricsScreen):
            self.push_screen(MetricsScreen())

    def _out_dir(self) -> Path:
        return output_dir(r.info.path for r in self.runs)

    def export_csv(self, series: list[tuple[int, str]], stem: str) -> Path | None:
        views = []
        seen = set()
        for i, metric in series:
            if (i, metric) in seen:
                continue
            seen.add((i, metric))
            view = self.runs[i].view(metric, self.view_step(i))
            if view is not None:
                views.append((self.runs[i].info.name, view))
        if not views:
            self.notify("no series to export", severity="warning", markup=False)
            return None
        name = self.runs[0].info.name if len(self.runs) == 1 else "compare"
        path = self._out_dir() / output_name(f"{name}-{stem}", "csv", self.now())
        try:
            rows = write_csv(path, views)
        except OSError as exc:
            self.notify(f"CSV export failed: {safe(str(exc), 200)}", severity="error", markup=False)
            return None
        self.last_export = path
        self.notify(f"{rows} rows -> {safe(str(path), 200)}", title="CSV saved", markup=False)
        return path

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        name = self.runs[0].info.name if len(self.runs) == 1 else "compare"
        directory = path or str(self._out_dir())
        filename = filename or output_name(name, "svg", self.now())
        try:
            saved = self.save_screenshot(filename=filename, path=directory)
        except OSError as exc:
            self.notify(f"screenshot failed: {safe(str(exc), 200)}", severity="error", markup=False)
            return
        self.last_export = Path(saved)
        self.notify(safe(saved, 200), title="Screenshot saved", markup=False)


def _is_placeholder(run: RunSource) -> bool:
    """The empty stand-in the session opens for a watched folder with no run yet."""
    return bool(getattr(run, "placeholder", False)) and not run.names()
