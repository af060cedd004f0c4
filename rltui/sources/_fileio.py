"""The one place the logger readers get bytes from a file: ``read_span(path, offset, size)``.

Why a function of its own: every reader of an appended binary log (W&B, SwanLab) needs the same
three facts per poll: which file the path holds now (to notice a replaced file), its first bytes
(to notice a file rewritten in place) and the bytes from the saved offset. Keeping the opening
here lets a file-system seam (one helper that refuses FIFOs, devices and other non-files) replace
this body without touching the readers. It refuses anything but a regular file itself, so a FIFO
named like a log can never block a poll.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

HEAD_BYTES = 64
"""How much of a file's beginning identifies it (its header and first record)."""


@dataclass(frozen=True, slots=True)
class Span:
    """Bytes ``data`` read from ``offset``, and the file they came from as it was then."""

    data: bytes
    size: int
    identity: tuple[int, int]
    head: bytes


class NotAFile(OSError):
    """The path exists but is not a regular file (FIFO, socket, device, folder)."""


def read_span(path: str, offset: int, size: int) -> Span:
    """At most ``size`` bytes of ``path`` from ``offset``; raises OSError (never blocks on a FIFO)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotAFile(f"not a regular file: {path}")
        head = os.pread(fd, HEAD_BYTES, 0)
        parts: list[bytes] = []
        want = max(0, min(size, st.st_size - offset))
        pos = offset
        while want > 0:
            part = os.pread(fd, want, pos)
            if not part:
                break
            parts.append(part)
            pos += len(part)
            want -= len(part)
        return Span(b"".join(parts), st.st_size, (st.st_dev, st.st_ino), head)
    finally:
        os.close(fd)


def is_regular_file(path: str) -> bool:
    """True for a regular file (following symlinks); what SQLite stores must be before we open them."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
