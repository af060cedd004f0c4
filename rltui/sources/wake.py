"""Wake-ups for sources that have no file to watch: tmux panes and remote runs.

Why: local files wake the dashboard through watchfiles (OS file events); a tmux pane or a file on
another host sends none, so before this a pane was followed only with ``--poll`` (issue 9: the
header stayed at step 2 for 50 s while the pane printed 252 log dicts). A :class:`Waker` is the
same kind of hint for those: ``wait(timeout)`` returns True when the source may have new output,
and the caller then reads every source from its saved position, exactly as after a file event.

* :class:`TmuxPaneWaker` attaches one tmux *control-mode* client (``tmux -C attach -r``, read
  only, ignoring its size) to the pane's session and wakes on each ``%output`` line for the pane.
  A quiet pane costs nothing (the thread sleeps in ``read``); polling ``tmux display-message``
  instead costs ~2 ms of CPU per call, 1 % of a core at the 4 Hz the latency target needs. If
  control mode is refused (an old tmux, the server gone) it falls back to a timer, and tries to
  attach again later.
  A pane on another host (``--tmux ssh://host/SESSION:WIN.PANE``) is followed the same way: the
  control-mode client runs there, through one more ``ssh`` process of the user's own (``wrap``),
  and only its ``%output`` notices cross the wire; the pane's id is asked through the host's
  existing connection (``runner``). Before, a remote pane was captured four times a second, two
  tmux commands on the GPU box each time, however quiet it was.
* :class:`IntervalWaker` is that timer: it wakes every ``interval`` seconds (remote runs, whose
  connection does the cheap part of the polling).
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO, Protocol

from rltui.sources._process import close_pipe, end_process

#: Fallback polling interval when a pane cannot be followed in control mode.
FALLBACK_INTERVAL_S = 0.3
#: Two reads of a busy pane are at least this far apart (a tqdm bar redraws 10 times a second).
MIN_GAP_S = 0.1
#: How long after losing control mode the waker tries to attach again.
RETRY_S = 5.0


class Waker(Protocol):
    """A wake-up hint for sources without file events (see the module docstring)."""

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` s; True when the source may have new data."""
        ...

    def close(self) -> None: ...


class IntervalWaker:
    """Wakes every ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._closed = threading.Event()
        self._last = 0.0

    def wait(self, timeout: float) -> bool:
        due = self._last + self.interval - time.monotonic()
        if due > timeout:
            self._closed.wait(timeout)
            return False
        if due > 0 and self._closed.wait(due):
            return False
        self._last = time.monotonic()
        return not self._closed.is_set()

    def close(self) -> None:
        self._closed.set()


class TmuxPaneWaker:
    """Wakes when tmux reports output in one pane (a control-mode client, see the module docstring).

    ``socket`` is tmux's ``-L`` name (None: the default server, or the one ``$TMUX`` names).
    ``wrap`` turns a tmux argv into the command that runs it elsewhere (``ssh host 'tmux ...'``)
    and ``runner`` runs one short tmux command there; both None for a local pane.
    """

    def __init__(
        self,
        target: str,
        socket: str | None = None,
        *,
        wrap: Callable[[list[str]], list[str]] | None = None,
        runner: Callable[[list[str]], tuple[int, bytes, str]] | None = None,
        fallback_interval: float = FALLBACK_INTERVAL_S,
    ) -> None:
        self.target = target
        self.socket = socket
        self._wrap = wrap
        self._runner = runner
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pane: bytes | None = None
        self._retry_at = 0.0
        self._closed = False
        self._last = 0.0
        self._fallback = IntervalWaker(fallback_interval)
        #: "control" while attached, "polling" while falling back to the timer.
        self.mode = "polling"

    def _cmd(self, *args: str) -> list[str]:
        argv = ["tmux", *(["-L", self.socket] if self.socket else []), *args]
        return self._wrap(argv) if self._wrap is not None else argv

    def _pane_and_session(self) -> list[str]:
        """``[pane_id, session_id]`` of the target, or fewer fields when tmux cannot say."""
        ask = ["display-message", "-p", "-t", self.target, "#{pane_id} #{session_id}"]
        if self._runner is not None:
            try:
                rc, out, _ = self._runner(ask)
            except OSError:
                return []
        else:
            info = subprocess.run(
                self._cmd(*ask), capture_output=True, timeout=5, check=False, stdin=subprocess.DEVNULL
            )
            rc, out = info.returncode, info.stdout
        return out.decode("ascii", "replace").split() if rc == 0 else []

    def _attach(self) -> None:
        """Start the control-mode client (at most once per ``RETRY_S``); on failure, poll."""
        if self._closed or time.monotonic() < self._retry_at:
            return
        self._retry_at = time.monotonic() + RETRY_S
        try:
            fields = self._pane_and_session()
            if len(fields) != 2:
                return
            pane, session = fields
            proc = subprocess.Popen(
                self._cmd("-C", "attach-session", "-r", "-f", "ignore-size,read-only", "-t", session),
                stdin=subprocess.PIPE,  # control mode ends when its stdin closes: kept open
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                # Same process group as rltui: when the pane rltui runs in is killed (its tmux server
                # going away), the hangup ends this client too. A new session here left the client
                # and a dying server waiting on each other forever.
                start_new_session=False,
            )
        except (OSError, subprocess.SubprocessError):
            return
        self._pane = pane.encode()
        self._proc = proc
        self.mode = "control"
        assert proc.stdout is not None
        threading.Thread(target=self._listen, args=(proc, proc.stdout), daemon=True).start()
        self._event.set()  # whatever was printed before the attach is read once now

    def _listen(self, proc: subprocess.Popen[bytes], out: IO[bytes]) -> None:
        prefixes = (
            b"%output " + (self._pane or b"") + b" ",
            b"%extended-output " + (self._pane or b"") + b" ",
        )
        try:
            for line in out:
                if line.startswith(prefixes):
                    self._event.set()
                elif line.startswith(b"%session-changed"):
                    # The client is attached now (over ssh that is a second or so after the
                    # Popen): output printed in between sent no notice, so read once more.
                    self._event.set()
                elif line.startswith(b"%exit"):
                    break
        except (OSError, ValueError):
            pass
        with self._lock:
            if self._proc is proc:
                self._proc = None
                self.mode = "polling"
                self._event.set()  # the pane may be gone or replaced: read now, then poll
        end_process(proc)
        close_pipe(out)  # this thread was its only reader

    def wait(self, timeout: float) -> bool:
        with self._lock:
            if self._proc is None:
                self._attach()
            attached = self._proc is not None
        if not attached:
            return self._fallback.wait(timeout)
        gap = self._last + MIN_GAP_S - time.monotonic()
        if gap > 0:
            time.sleep(gap)
            timeout -= gap
        if not self._event.wait(max(0.0, timeout)):
            return False
        self._event.clear()
        self._last = time.monotonic()
        return not self._closed

    def close(self) -> None:
        self._closed = True
        self._fallback.close()
        with self._lock:
            proc, self._proc = self._proc, None
        self._event.set()
        if proc is not None:
            end_process(proc)
