"""Drive rltui in a real terminal: a private tmux server, a 120x40 pane, keys in, screen text out.

Each harness gets its own server socket (``tmux -L rltui-test-<random>``), so tests never touch
the user's tmux sessions nor each other's, and ``kill-server`` in ``close()`` takes down the
dashboard with it whatever state the test left it in.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 120, 40
#: How long a test waits for text to appear (slow shared CI cores included).
DEFAULT_TIMEOUT = 20.0
POLL_S = 0.1
#: Printed by the pane's shell line once rltui has exited (with its exit code).
EXIT_MARK = "RLTUI-EXITED"
#: ``step 12`` or ``step 12/200`` in the header.
STEP_RE = re.compile(r"\bstep (\d+)(?:/(\d+))?")


def require_tmux() -> str:
    path = shutil.which("tmux")
    if path is None:
        pytest.skip("tmux is not installed")
    return path


class Tmux:
    """One private tmux server running one command in a WIDTH x HEIGHT pane."""

    def __init__(self) -> None:
        self.tmux = require_tmux()
        self.socket = f"rltui-test-{uuid.uuid4().hex[:10]}"
        self.started = False
        self.socket_path: str | None = None

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # -f /dev/null: the user's tmux.conf must not change what the tests see.
        return subprocess.run(
            [self.tmux, "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=10,
        )

    def start(self, argv: Sequence[str], cwd: str | os.PathLike[str] = REPO, linger: bool = True) -> None:
        """Run ``argv`` in a detached session. With ``linger`` the pane then prints EXIT_MARK and
        the exit code and stays open (so a crash's traceback can be read); otherwise the session
        ends with the command."""
        # tmux sets TERM from its default-terminal option inside the pane: override it on the
        # command itself, as a user's xterm-256color would be seen through ssh.
        # COLUMNS/LINES are dropped: pytest exports its own, and shutil.get_terminal_size (which
        # Textual asks) would prefer them to the pane's real size.
        env = {"TERM": "xterm-256color", "PYTHONPATH": str(REPO)}
        cmd = shlex.join(
            ["env", "-u", "COLUMNS", "-u", "LINES", *(f"{k}={v}" for k, v in env.items()), *argv]
        )
        if linger:
            cmd = f"{cmd}; echo {EXIT_MARK} rc=$?; sleep 60"
        args = ["new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-s", "t", "-c", str(cwd)]
        self._run(*args, cmd)
        self.started = True
        self.socket_path = (
            self._run("display-message", "-p", "#{socket_path}", check=False).stdout.strip() or None
        )
        # Keep the pane (and its last screen) if the command dies before linger kicks in.
        self._run("set-option", "-t", "t", "remain-on-exit", "on", check=False)

    def capture(self) -> str:
        res = self._run("capture-pane", "-p", "-t", "t", check=False)
        return res.stdout if res.returncode == 0 else ""

    def alive(self) -> bool:
        return self._run("has-session", "-t", "t", check=False).returncode == 0

    def pane_dead(self) -> bool:
        res = self._run("display-message", "-p", "-t", "t", "#{pane_dead}", check=False)
        return res.returncode != 0 or res.stdout.strip() == "1"

    def send(self, *keys: str) -> None:
        self._run("send-keys", "-t", "t", *keys)

    def wait_for(
        self,
        predicate: Callable[[str], object],
        what: str,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> str:
        """Poll the screen until ``predicate(screen)`` is truthy; fail with the last screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while True:
            screen = self.capture()
            if predicate(screen):
                return screen
            if EXIT_MARK in screen and not predicate(screen):
                pytest.fail(f"rltui exited while waiting for {what}:\n{screen}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; screen:\n{screen}")
            time.sleep(POLL_S)

    def wait_text(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> str:
        return self.wait_for(lambda s: text in s, repr(text), timeout)

    def close(self) -> None:
        if self.started:
            self._run("kill-server", check=False)
            self.started = False
        if self.socket_path:
            # kill-server leaves the socket file behind in /tmp/tmux-UID/.
            Path(self.socket_path).unlink(missing_ok=True)
            self.socket_path = None

    def __enter__(self) -> Tmux:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def rltui(*args: str) -> list[str]:
    """The command line that runs this checkout's rltui with the test's interpreter."""
    return [sys.executable, "-m", "rltui", *args]


def _header(screen: str) -> str:
    """The header's two lines (the top of the screen)."""
    return "\n".join(screen.splitlines()[:2])


def header_step(screen: str) -> int | None:
    """The step in the header (``step N`` in its first lines), or None."""
    m = STEP_RE.search(_header(screen))
    return int(m.group(1)) if m else None


def at_step(step: int) -> Callable[[str], bool]:
    """A ``wait_for`` predicate: the header shows this step (binds ``step`` now, not at call time)."""

    def shown(screen: str) -> bool:
        return header_step(screen) == step

    return shown


def header_max_steps(screen: str) -> int | None:
    m = STEP_RE.search(_header(screen))
    return int(m.group(2)) if m and m.group(2) else None
