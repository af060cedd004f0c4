"""Ending a helper process (a tmux control client, an ssh connection) without hanging on it."""

from __future__ import annotations

import contextlib
import subprocess
from typing import IO


def end_process(proc: subprocess.Popen[bytes]) -> None:
    """Close its stdin (a control client detaches, the remote helper exits), then make sure it is
    gone: a process that does not exit within 2 s is killed."""
    with contextlib.suppress(OSError, ValueError):
        if proc.stdin is not None:
            proc.stdin.close()
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(subprocess.SubprocessError):
            proc.wait(timeout=2)


def close_pipe(pipe: IO[bytes] | None) -> None:
    """Close one of its pipes once nothing reads it any more (the reader thread at EOF, or no
    reader ever started): ``Popen`` closes them only in ``communicate``, so a pipe read by hand is
    otherwise left to the garbage collector (a ``ResourceWarning``, an fd held until then)."""
    if pipe is not None:
        with contextlib.suppress(OSError, ValueError):
            pipe.close()
