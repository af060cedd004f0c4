"""The Textual application: holds the runs, their latest snapshots and the replay cursor, and
hands them to the screens.

Data flow (Textual's own, as in memray's live TUI and toolong): one thread worker, the pump
(``rltui.ui.pump``), reads the files and computes every snapshot, and posts each result as a
``SnapshotsReady`` message; bursts coalesce in the message queue (``can_replace``). The handler
sets the ``snapshots`` reactive inside ``batch_update()``; each screen watches that reactive (and
``replay``) and redraws from what it is given. The UI loop never reads a file and never waits
for the pump. A pump that dies is shown on screen (``pump_error``) with its sanitised reason.
Series the screens draw are read through ``run.view()``, which takes the run's lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from rltui.model.snapshot import Alert, RunSnapshot
from rltui.ui import ascii_mode, palette
from rltui.ui.alerting import Announcement, Announcer, alert_env, alert_json, osc9
from rltui.ui.chart_spec import ChartSpec
from rltui.ui.export import output_dir, output_name, write_csv
from rltui.ui.glyphs import safe
from rltui.ui.host import Host
from rltui.ui.prefs import UiPrefs
from rltui.ui.pump import Batch, Pump, PumpConfig
from rltui.ui.replay_cursor import MIN_TICK_S, SPEEDS, ReplayCursor
from rltui.ui.run_subset import RunSubset
from rltui.ui.runs import RunSource
from rltui.ui.screens.alerts import AlertsScreen
from rltui.ui.screens.console import ConsoleScreen
from rltui.ui.screens.dashboard import DashboardScreen
from rltui.ui.screens.detail import DetailScreen
from rltui.ui.screens.help import HelpScreen
from rltui.ui.screens.metrics import MetricsScreen
from rltui.ui.screens.replay import ReplayDashboardScreen
from rltui.ui.screens.run_info import RunInfoScreen
from rltui.ui.screens.samples import SamplesScreen, read_samples_in_background
from rltui.ui.screens.sweep import OPEN_FIRST_AT, SweepScreen

__all__ = ["MIN_TICK_S", "SPEEDS", "RltuiApp", "SnapshotsReady", "UiOptions"]

Mode = Literal["watch", "replay", "compare"]


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
    #: Theme, smoothing, pinned and hidden gauges ([ui] in rltui.toml, then what was remembered).
    prefs: UiPrefs = field(default_factory=UiPrefs)
    #: Remembers changed prefs (the state file); None keeps them for this session only (tests).
    save_prefs: Callable[[UiPrefs], None] | None = None
    #: A problem met while reading the prefs (shown once as a toast), or None.
    prefs_problem: str | None = None


class SnapshotsReady(Message):
    """The pump finished a batch of snapshots. Only the newest matters: a newer one waiting in the
    queue replaces an older one not yet handled (a burst of file events draws once)."""

    def __init__(self, batch: Batch) -> None:
        super().__init__()
        self.batch = batch

    def can_replace(self, message: Message) -> bool:
        # The first batch (the baseline, replay's steps) and one naming new runs carry more
        # than snapshots: those are never dropped.
        return (
            isinstance(message, SnapshotsReady) and not message.batch.baseline and not message.batch.new_runs
        )


class RltuiApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "rltui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        # btop, nvitop, k9s and lazygit quit on Ctrl+C; Textual's default only tells you to
        # press ctrl+q (issue 12, point 7).
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("s", "screenshot", "Screenshot"),
        Binding("c", "samples", "Samples"),
        Binding("o", "overview", "Overview"),
    ]

    # repaint=False: a reactive on the App repaints the whole screen when set, which would undo
    # the row-level refresh of the gauges (benchmarks/bench_frame.py); the screens' watchers
    # repaint what changed.
    #: The latest snapshot of each run (None until its first); screens watch this.
    snapshots: reactive[list[RunSnapshot | None]] = reactive(
        list, always_update=True, init=False, repaint=False
    )
    #: Where the replay is (a loaded cursor only in replay mode); screens watch this too.
    replay: reactive[ReplayCursor] = reactive(ReplayCursor, always_update=True, init=False, repaint=False)
    #: Why the pump stopped (sanitised), or None while it runs.
    pump_error: reactive[str | None] = reactive(None, init=False, repaint=False)

    def __init__(self, runs: Sequence[RunSource], options: UiOptions | None = None) -> None:
        super().__init__()
        self.runs: list[RunSource] = list(runs)
        self.options = options or UiOptions()
        self.ascii_only = self.options.ascii_only
        empty: list[RunSnapshot | None] = [None] * len(self.runs)
        self.set_reactive(RltuiApp.snapshots, empty)
        self.set_reactive(RltuiApp.replay, ReplayCursor(speed=self.options.speed))
        self.announcer = Announcer(
            bell=self.options.bell,
            notify=self.options.notify,
            on_alert=bool(self.options.on_alert),
            tmux=bool(os.environ.get("TMUX")),
            loading=self.options.follow and self.options.mode != "replay",
        )
        #: What reached the terminal besides the screen (for tests and for --no-bell checks).
        self.bells = 0
        self.sent_notifications: list[str] = []
        self.on_alert_failures: list[str] = []
        #: Process-group ids of running ``--on-alert`` commands (ended on exit).
        self._children: set[int] = set()
        self.last_export: Path | None = None
        #: True once the pump has read the runs (its first batch arrived).
        self.loaded = False
        #: Snapshot requests made / answered (a request is answered by a later batch).
        self.requested = 0
        self.served = 0
        self._stop = threading.Event()
        self._pump: Pump | None = None
        self._tick_timer: Timer | None = None
        self.prefs = self.options.prefs
        self._prefs_save_failed = False
        self._start_theme = ""

    # -- what the screens read (rltui.ui.host.Host) -----------------------------------------------
    @property
    def replaying(self) -> bool:
        return self.options.mode == "replay"

    def now(self) -> float:
        return self.options.frozen_now if self.options.frozen_now is not None else time.time()

    @property
    def cursor(self) -> int | None:
        return self.replay.step if self.replaying else None

    # The replay cursor's parts, read by tests and the samples screen.
    @property
    def cursor_index(self) -> int:
        return self.replay.index

    @property
    def playing(self) -> bool:
        return self.replay.playing

    @property
    def speed(self) -> float:
        return self.replay.speed

    @property
    def replay_steps(self) -> tuple[int, ...]:
        return self.replay.steps

    def view_step(self, run_index: int) -> int | None:
        """The step the UI shows for a run: the replay cursor, or None (everything) when live."""
        del run_index
        return self.cursor

    def mode_label(self) -> str | None:
        return self.replay.label() if self.replaying else None

    def notify_user(self, message: str, severity: str = "information") -> None:
        self.notify(message, severity=severity, markup=False)  # type: ignore[arg-type]

    def set_prefs(self, prefs: UiPrefs) -> None:
        """Change the dashboard's settings: redraw with them and remember them (the state file).
        A file that cannot be written costs one warning, never the session's settings."""
        if prefs == self.prefs:
            return
        self.prefs = prefs
        save = self.options.save_prefs
        if save is not None:
            try:
                save(prefs)
            except OSError as exc:
                if not self._prefs_save_failed:
                    self._prefs_save_failed = True
                    self.notify_user(f"settings not remembered: {safe(str(exc), 200)}", "warning")
        self.redraw()

    def _theme_changed(self, theme: Any) -> None:
        """A theme picked in the palette (Textual's own command) is remembered like the rest."""
        name = getattr(theme, "name", None)
        # Textual announces the theme it starts with too: that one is not a choice to remember.
        if isinstance(name, str) and name != (self.prefs.theme or self._start_theme):
            self.set_prefs(self.prefs.with_theme(name))

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
        theme = self.prefs.theme
        if theme is not None:
            if theme in self.available_themes:
                self.theme = theme
            else:
                why = f"unknown theme {safe(theme, 60)!r} in the settings, kept the default"
                self.notify_user(why, "warning")
        if self.options.prefs_problem:
            self.notify_user(safe(self.options.prefs_problem, 300), "warning")
        self._start_theme = self.theme
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.push_screen(ReplayDashboardScreen(self) if self.replaying else DashboardScreen(self))
        if not self.replaying and len(self.runs) > OPEN_FIRST_AT:
            self.push_screen(SweepScreen(self))  # too many runs for one dashboard: the overview
        self._pump = Pump(
            self.runs,
            PumpConfig(
                replay=self.replaying,
                follow=self.options.follow,
                poll=self.options.poll,
                poll_interval=self.options.poll_interval,
                reopen=self.options.reopen,
                watch_roots=self.options.watch_roots,
            ),
            self._post_batch,
            self._stop,
        )
        self.pump()
        if self.options.frozen_now is None:
            self.set_interval(1.0, self._tick_clock)

    def _post_batch(self, batch: Batch) -> None:
        """Called on the pump's thread: ``post_message`` is thread-safe."""
        self.post_message(SnapshotsReady(batch))

    @work(thread=True, exclusive=True, group="pump", name="pump", exit_on_error=False)
    def pump(self) -> None:
        """The one worker that reads the runs and computes their snapshots (``rltui.ui.pump``)."""
        assert self._pump is not None
        self._pump.run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A pump that fails says so on screen; the last snapshots stay, marked as no longer live."""
        if event.worker.name != "pump":
            return
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            reason = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
            self.pump_error = safe(reason, 200)
        elif event.state == WorkerState.SUCCESS and not self._stop.is_set():
            self.pump_error = "the reader ended"

    def on_unmount(self) -> None:
        self._close_pump()
        self.end_children()

    async def action_quit(self) -> None:
        self._close_pump()
        self.end_children()
        await super().action_quit()

    def _close_pump(self) -> None:
        self._stop.set()
        if self._pump is not None:
            self._pump.close()

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
        if isinstance(screen, DashboardScreen):
            screen.show_header()

    # -- snapshots -----------------------------------------------------------------------------
    def request_snapshots(self) -> int:
        """Ask the pump for fresh snapshots (at the replay cursor); returns the request number,
        answered when ``served`` reaches it. Requests made while one is computed coalesce."""
        self.requested += 1
        if self._pump is not None:
            self._pump.request(self.requested, self.cursor)
        return self.requested

    def on_snapshots_ready(self, message: SnapshotsReady) -> None:
        batch = message.batch
        with self.batch_update():
            self.runs = list(batch.runs)
            self.served = max(self.served, batch.served)
            live = self.options.follow and not self.replaying
            if batch.baseline and live:
                # Alerts a run already has when it is opened are on screen, not news: only later
                # transitions (a new alert, an escalation) ring or notify.
                self.announcer.rebaseline()
            if batch.replay_steps is not None:
                self._replay_loaded(batch)
            else:
                self.set_snapshots(batch.snapshots)
            self.loaded = True
        for name in batch.new_runs:
            self.notify(f"new run: {safe(name, 60)}", markup=False)
        if batch.baseline and self.options.follow and not self.replaying:
            self.run_worker(read_samples_in_background(self), group="samples")

    def set_snapshots(self, snaps: Iterable[RunSnapshot | None]) -> None:
        """Swap in new snapshots (the message handler; tests and benchmarks push their own):
        the screens redraw through their watchers, and new alerts are announced."""
        with self.batch_update():
            self.snapshots = list(snaps)
        for news in self.announcer.observe(self.snapshots):
            self._perform(news)

    def redraw(self) -> None:
        """Draw the current snapshots again (after something they do not show changed)."""
        self.set_snapshots(self.snapshots)

    # -- replay --------------------------------------------------------------------------------
    def _replay_loaded(self, batch: Batch) -> None:
        steps = batch.replay_steps or ()
        self.replay = ReplayCursor.over(steps, batch.alert_steps, self.replay.speed)
        if not steps:
            self.set_snapshots(batch.snapshots)
            return
        self.request_snapshots()
        if self.options.autoplay:
            self.set_replay(self.replay.set_playing(True))

    def set_replay(self, cursor: ReplayCursor) -> None:
        """Move the replay (a key, a tick): new snapshots when the step changed, a new tick rate
        when play or speed changed."""
        old = self.replay
        self.replay = cursor
        if cursor.index < old.index:
            # Jumping back: alerts active there were already announced in this session.
            self.announcer.rebaseline()
        if cursor.step != old.step or self.snapshots[:1] == [None]:
            self.request_snapshots()
        if cursor.playing != old.playing or cursor.speed != old.speed or not cursor.playing:
            if self._tick_timer is not None:
                self._tick_timer.stop()
                self._tick_timer = None
            if cursor.playing:
                self._tick_timer = self.set_interval(cursor.tick_s, self._tick)

    def _tick(self) -> None:
        self.set_replay(self.replay.ticked())

    def seek_step(self, step: int) -> None:
        self.set_replay(self.replay.seek(step))

    # -- alerts leaving the screen ---------------------------------------------------------------
    def _perform(self, news: Announcement) -> None:
        """Ring, notify, run ``--on-alert``: what the Announcer decided for one new alert."""
        if news.bell:
            self.bells += 1
            self.bell()
        if news.notification is not None:
            self.sent_notifications.append(news.notification)
            self._write_terminal(news.notification)
        if news.on_alert is not None and self.options.on_alert:
            payload, env = news.on_alert
            self.run_worker(self._run_on_alert(self.options.on_alert, payload, env), group="on-alert")

    def _announce(self, snap: RunSnapshot, alert: Alert) -> None:
        """Announce one alert as new, whatever was announced before (tests of what leaves)."""
        critical = alert.severity == "critical"
        self._perform(
            Announcement(
                snap,
                alert,
                bell=critical and self.options.bell,
                notification=osc9(snap, alert, tmux=self.announcer.tmux)
                if critical and self.options.notify
                else None,
                on_alert=(alert_json(snap, alert), alert_env(snap, alert))
                if alert.severity != "info"
                else None,
            )
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
        self.push_screen(DetailScreen(self, spec))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self, self.screen))

    def action_alerts(self) -> None:
        if not isinstance(self.screen, AlertsScreen):
            self.push_screen(AlertsScreen(self))

    def action_samples(self) -> None:
        """The samples screen; on a focused banner or alert row, the evidence view of that alert."""
        if isinstance(self.screen, SamplesScreen):
            return
        focused = self.focused
        alert = getattr(focused, "alert", None)
        run_index = getattr(focused, "run_index", 0)
        host = getattr(self.screen, "host", None)
        if isinstance(host, RunSubset):  # a dashboard the sweep overview opened: its own indexes
            run_index = host.global_index(run_index if run_index < len(host.indexes) else 0)
        self.push_screen(SamplesScreen(self, run_index, alert if isinstance(alert, Alert) else None))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The overview only where there are several runs to overview (hidden otherwise)."""
        del parameters
        if action == "overview":
            return len(self.runs) > 1 and not self.replaying and not isinstance(self.screen, SweepScreen)
        return True

    def action_overview(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, SweepScreen):  # back to the one already open, not a second
                while self.screen is not screen:
                    self.pop_screen()
                return
        self.push_screen(SweepScreen(self))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's commands (theme, keys, screenshot, quit) and rltui's (``rltui.ui.palette``)."""
        yield from super().get_system_commands(screen)
        yield from palette.commands(self, screen)

    def open_run(self, index: int) -> None:
        """One run of several in a dashboard of its own (the palette's "Open run"; esc comes back)."""
        if 0 <= index < len(self.runs):
            self.push_screen(DashboardScreen(RunSubset(self, [index]), back=True))

    def action_run_info(self) -> None:
        if not isinstance(self.screen, RunInfoScreen):
            self.push_screen(RunInfoScreen(self._screen_host()))

    def action_console(self) -> None:
        if isinstance(self.screen, ConsoleScreen):
            return
        host = self._screen_host()
        self.push_screen(ConsoleScreen(host, getattr(self.focused, "run_index", 0)))

    def _screen_host(self) -> Host:
        """The host of the screen on top: a dashboard the overview opened shows only its runs."""
        host = getattr(self.screen, "host", None)
        return host if isinstance(host, RunSubset) else self

    def action_metrics(self) -> None:
        if not isinstance(self.screen, MetricsScreen):
            self.push_screen(MetricsScreen(self))

    def out_dir(self) -> Path:
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
        path = self.out_dir() / output_name(f"{name}-{stem}", "csv", self.now())
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
        directory = path or str(self.out_dir())
        filename = filename or output_name(name, "svg", self.now())
        try:
            saved = self.save_screenshot(filename=filename, path=directory)
        except OSError as exc:
            self.notify(f"screenshot failed: {safe(str(exc), 200)}", severity="error", markup=False)
            return
        self.last_export = Path(saved)
        self.notify(safe(saved, 200), title="Screenshot saved", markup=False)
