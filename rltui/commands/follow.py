"""``rltui check --follow PATH...``: headless following, one line per new warn/critical alert.

Why: the piece a user leaves running in a spare tmux window, or as a systemd unit on a login
node, to watch runs on several boxes without a terminal open on each. It shares the ingest path
and the alert diff (``rltui.model.alert_news``) with the dashboard, so a line here is the banner
there.

* Startup: every run is read once; the warn/critical alerts already active are printed (marked
  as such, ``"new": false`` in JSON) but are not news: ``--on-alert`` runs only for alerts that
  appear or escalate afterwards.
* Wake-ups: watchfiles for local files, the sources' own wakers for tmux panes and remote runs
  (``RunSession.waker``), and a rescan every :data:`RESCAN_S` seconds (new files, new runs in a
  sweep folder, file systems without events). A quiet run costs a sleeping thread.
* End: when every run has reached its ``max_steps`` (a run whose length is unknown is followed
  until stopped), or on Ctrl+C / SIGTERM. Exit code as ``check``: 0 nothing active at or above
  ``--fail-on``, 1 something is, 2 bad usage or no readable run at the start.
* ``--on-alert CMD`` runs CMD through the shell with the alert in ``RLTUI_*`` environment
  variables (and its JSON on stdin), never pasted into the command line (``alert_env``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from rltui.model.alert_news import AlertTracker, alert_env, alert_json
from rltui.model.snapshot import SEVERITY_RANK, Alert, RunSnapshot
from rltui.model.verdict import status_of, verdict_of
from rltui.text import sanitize

#: Seconds between rescans (new files and runs; a poll for file systems without events).
RESCAN_S = 2.0
#: Longest an ``--on-alert`` command may run before it is ended.
ON_ALERT_TIMEOUT_S = 300.0
EXIT_OK, EXIT_FAIL = 0, 1


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class _Stop(Exception):
    """SIGTERM: end like Ctrl+C (a systemd unit being stopped)."""


class Follower:
    """Follows opened sessions until they finish or the user stops it (see the module docstring)."""

    def __init__(
        self,
        sessions: Sequence[Any],
        *,
        paths: Sequence[str],
        as_json: bool,
        fail_on: str,
        on_alert: str | None,
        config_path: str | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.sessions = list(sessions)
        self.paths = list(paths)
        self.as_json = as_json
        self.fail_on = fail_on
        self.on_alert = on_alert
        self.config_path = config_path
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.tracker = AlertTracker()
        self.snaps: list[RunSnapshot] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._children_lock = threading.Lock()
        self._watched: set[str] = set()
        self._wakers: set[int] = set()

    # -- output --------------------------------------------------------------------------
    def _line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _alert_line(self, snap: RunSnapshot, alert: Alert, new: bool) -> None:
        if self.as_json:
            doc = json.loads(alert_json(snap, alert))
            self._line(json.dumps({"event": "alert", "time": _now(), "new": new, **doc}, allow_nan=False))
            return
        where = "" if new else " (already active at start)"
        one = sanitize(
            f"{_now()} {alert.severity.upper()} {snap.info.name} step {snap.step}: {alert.id} since step "
            f"{alert.first_step}{where}: {alert.message} | action: {alert.action}",
            single_line=True,
            max_len=2000,
        )
        self._line(one)

    def _done_line(self, snap: RunSnapshot) -> None:
        if self.as_json:
            doc = {
                "event": "finished",
                "time": _now(),
                "run": snap.info.name,
                "path": snap.info.path,
                "step": snap.step,
                "status": status_of(snap),
                "verdict": verdict_of(snap),
            }
            self._line(json.dumps(doc, allow_nan=False))
        else:
            text = f"{_now()} FINISHED {snap.info.name} step {snap.step}: {verdict_of(snap)}"
            self._line(sanitize(text, single_line=True, max_len=2000))

    def _note(self, message: str) -> None:
        """Status for the person reading the log (stderr, so stdout stays one alert per line)."""
        with contextlib.suppress(OSError, ValueError):
            self.err.write(f"rltui check --follow: {sanitize(message, single_line=True, max_len=500)}\n")
            self.err.flush()

    # -- --on-alert ----------------------------------------------------------------------
    def _run_on_alert(self, snap: RunSnapshot, alert: Alert) -> None:
        if not self.on_alert:
            return
        try:
            proc = subprocess.Popen(
                self.on_alert,
                shell=True,  # the user's own command line; run text only ever in its environment
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env={**os.environ, **alert_env(snap, alert)},
                start_new_session=True,
            )
        except OSError as exc:
            self._note(f"--on-alert failed to start: {exc}")
            return
        with self._children_lock:
            self._children[proc.pid] = proc
        payload = alert_json(snap, alert).encode()
        threading.Thread(target=self._reap, args=(proc, payload, alert.id), daemon=True).start()

    def _reap(self, proc: subprocess.Popen[bytes], payload: bytes, alert_id: str) -> None:
        try:
            _, err = proc.communicate(payload, timeout=ON_ALERT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            err = b""
            # As subprocess's docs prescribe after a timeout: finish the communication, which reaps
            # it and closes its pipes (else they are left to the garbage collector). A grandchild
            # still holding stderr gets 5 s, then the pipes are closed regardless.
            with contextlib.suppress(subprocess.TimeoutExpired, OSError, ValueError):
                proc.communicate(timeout=5)
            for pipe in (proc.stdin, proc.stderr):
                with contextlib.suppress(OSError, ValueError):
                    if pipe is not None:
                        pipe.close()
            self._note(f"--on-alert for {alert_id} ran longer than {ON_ALERT_TIMEOUT_S:.0f} s: ended")
        except (OSError, ValueError):
            err = b""
        with self._children_lock:
            self._children.pop(proc.pid, None)
        if proc.returncode:
            tail = err.decode("utf-8", "replace").strip()[-200:]
            self._note(f"--on-alert for {alert_id} exited {proc.returncode}" + (f": {tail}" if tail else ""))

    def end_children(self) -> None:
        with self._children_lock:
            procs = list(self._children.values())
            self._children.clear()
        for proc in procs:
            _kill_group(proc)

    # -- wake-ups ------------------------------------------------------------------------
    def _start_wakers(self) -> None:
        for session in self.sessions:
            get = getattr(session, "waker", None)
            waker = get() if callable(get) else None
            if waker is not None and id(waker) not in self._wakers:
                self._wakers.add(id(waker))
                threading.Thread(target=self._wake_on, args=(waker,), daemon=True).start()
        paths = sorted({p for s in self.sessions for p in s.watch_paths() if os.path.exists(p)})
        fresh = [p for p in paths if p not in self._watched]
        if fresh:
            self._watched.update(fresh)
            threading.Thread(target=self._watch_files, args=(fresh,), daemon=True).start()

    def _wake_on(self, waker: Any) -> None:
        try:
            while not self._stop.is_set():
                if waker.wait(10.0):
                    self._wake.set()
        finally:
            waker.close()

    def _watch_files(self, paths: list[str]) -> None:
        try:
            from watchfiles import watch
        except ImportError:
            return  # the periodic rescan still polls
        try:
            for _changes in watch(*paths, stop_event=self._stop, debounce=100, step=100):
                self._wake.set()
        except Exception as exc:  # a vanished folder or an inotify limit: the rescan goes on
            self._note(f"file events unavailable ({type(exc).__name__}); polling every {RESCAN_S:.0f} s")

    # -- the loop ------------------------------------------------------------------------
    def _snapshots(self) -> list[RunSnapshot]:
        return [s.snapshot() for s in self.sessions]

    def _finished(self, snaps: list[RunSnapshot]) -> bool:
        if not snaps:
            return False
        for session, snap in zip(self.sessions, snaps, strict=True):
            ms = snap.info.max_steps
            if getattr(session, "placeholder", False) or not ms or snap.step is None or snap.step < ms:
                return False
        return True

    def _news(self, snaps: list[RunSnapshot]) -> None:
        for snap, alert in self.tracker.new_alerts(snaps):
            if alert.severity in ("warn", "critical"):
                self._alert_line(snap, alert, new=True)
                self._run_on_alert(snap, alert)

    def _link_note(self, session: Any, before: list[Any]) -> None:
        """A remote host lost or back: said on stderr (stdout stays one alert per line)."""
        now = [p.message for p in session.problems if p.transient]
        if now:
            self._note(now[0])
        elif any(p.transient for p in before):
            self._note(f"{session.info.path}: connection back")

    def _discover(self) -> None:
        """Runs that appeared in a named sweep folder (or where a watched folder had none yet)."""
        from rltui.session import open_new_sessions

        if not all(os.path.isdir(p) for p in self.paths):
            return
        fresh = open_new_sessions(self.paths, [s for s in self.sessions if not s.placeholder])
        if not fresh:
            return
        self.sessions = [s for s in self.sessions if not s.placeholder]
        for s in fresh:
            s.load()
            self.sessions.append(s)
            self._note(f"new run: {s.info.name}")
        self._start_wakers()

    def run(self) -> int:
        previous = signal.signal(signal.SIGTERM, _raise_stop) if _main_thread() else None
        try:
            return self._run()
        finally:
            self._stop.set()
            self.end_children()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def _run(self) -> int:
        try:
            for s in self.sessions:
                s.load()
            snaps = self._snapshots()
            self.tracker.reset_to(snaps)
            for snap in snaps:
                for alert in snap.alerts:
                    if alert.active and alert.severity in ("warn", "critical"):
                        self._alert_line(snap, alert, new=False)
            self._start_wakers()
            self.snaps = snaps
            last_rescan = time.monotonic()
            while not self._finished(self.snaps):
                self._wake.wait(max(0.05, last_rescan + RESCAN_S - time.monotonic()))
                self._wake.clear()
                rescan = time.monotonic() - last_rescan >= RESCAN_S
                new = 0
                for s in self.sessions:
                    if rescan:
                        s.rescan()
                    link = s.problems if getattr(s, "revision", None) is not None else []
                    before = getattr(s, "revision", 0)
                    new += s.poll()
                    if getattr(s, "revision", 0) != before:
                        self._link_note(s, link)
                grew = len(self.sessions)
                if rescan:
                    last_rescan = time.monotonic()
                    self._discover()
                if new or len(self.sessions) != grew:
                    self.snaps = self._snapshots()
                    self._news(self.snaps)
            for snap in self.snaps:
                self._done_line(snap)
        except (KeyboardInterrupt, _Stop):
            pass
        except BrokenPipeError:
            _silence_stdout()
        worst = max(
            (SEVERITY_RANK[a.severity] for s in self.snaps for a in s.alerts if a.active),
            default=0,
        )
        return EXIT_FAIL if worst >= SEVERITY_RANK[self.fail_on] else EXIT_OK


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        os.killpg(proc.pid, signal.SIGTERM)


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
