"""Load progress in bytes: how much of the run's files is read, for the first (long) read.

Sizes come through the run's file-system seam (a remote run's are prefetched in one round trip);
tmux panes have no size and count none. A file that cannot be stat'ed counts as empty: progress
is a hint on screen, never a reason to fail a load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from rltui.sources.fs import LOCAL, FileSystem

Progress = Callable[[int, int], None]


class Sized(Protocol):
    """A followed source as progress sees it (kind and path read, bytes_read kept)."""

    bytes_read: int

    @property
    def kind(self) -> str: ...

    @property
    def path(self) -> str: ...


def size_of(path: str, fs: FileSystem = LOCAL) -> int:
    try:
        return fs.stat(path).size
    except OSError:
        return 0


def new_bytes(followed: Iterable[Sized], fs: FileSystem = LOCAL) -> int:
    """Bytes the files have beyond what was read of them (tmux panes count none)."""
    return sum(max(0, size_of(f.path, fs) - f.bytes_read) for f in followed if f.kind != "tmux")


def advance(f: Sized, fs: FileSystem, progress: Progress | None, done: int, total: int) -> int:
    """Count ``f``'s new bytes as done and report it; the new ``done``."""
    if progress is None or f.kind == "tmux":
        return done
    size = size_of(f.path, fs)
    done = min(total, done + max(0, size - f.bytes_read))
    f.bytes_read = size
    progress(done, total)
    return done
