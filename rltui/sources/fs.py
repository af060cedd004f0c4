"""The one seam between ``sources/`` and a file system: every open, stat and listing of a run file.

Why one seam: a run folder is someone else's data. A FIFO named ``README.md`` blocks a plain
``open()`` forever, a character device never ends, a 1 GiB sparse ``rltui.toml`` is read whole by
``read_text()``, a symlink to another run's ``runs/`` merges that run's event file into this one.
Each of those was once a separate bug in a separate ``open()``; here they are refused in one place:

* :meth:`FileSystem.open` opens with ``O_NONBLOCK`` and then ``fstat``\\s the descriptor, so a
  FIFO, a socket or a device is refused (:class:`NotRegularFile`) without ever blocking, and the
  size, identity and mtime come from the file actually opened (no stat/open race);
* :meth:`FileSystem.read_small` bounds every config and metadata read (:class:`TooLarge` from
  the size, before reading a byte);
* a file system made :meth:`confined <FileSystem.confined>` to a run's root refuses paths whose
  real location leaves that root (:class:`OutsideRoot`), and :meth:`FileSystem.scandir` says
  which entries are symlinks leaving it, so discovery can skip them and say so;
* readers take bytes at an offset from a :class:`FileHandle` (``read_at``), never a path: an
  ssh or fsspec backend (remote PATHs) and logger readers only need to implement these two small
  interfaces. :data:`LOCAL` is the local implementation, :class:`LocalFS`.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, Protocol

#: Default bound of :meth:`FileSystem.read_small` (configs, model cards, small metadata files).
MAX_METADATA_BYTES = 1 << 20
#: Entries :meth:`FileSystem.scandir` lists at most (datasets and caches hold millions).
MAX_ENTRIES = 20000


class NotRegularFile(OSError):
    """The path is a FIFO, socket, device or folder: refused without blocking."""

    def __init__(self, path: str, what: str) -> None:
        super().__init__(errno.EINVAL, f"not a regular file ({what}), not read", path)


class OutsideRoot(OSError):
    """The path (through a symlink) lies outside the run's root: not followed."""

    def __init__(self, path: str, target: str) -> None:
        super().__init__(errno.EXDEV, f"symlink leaves the run folder (to {target}), not followed", path)
        self.target = target


class TooLarge(OSError):
    """A config or metadata file larger than the bound given to ``read_small``."""

    def __init__(self, path: str, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"file of {size} bytes is larger than the {limit}-byte limit", path)


def describe(exc: OSError) -> str:
    """A short, stable message for an ``OSError`` (without the path; problems carry it)."""
    return str(exc.strerror or exc)


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What a reader needs to know of a file to follow it."""

    size: int
    mtime_ns: int
    #: (device, inode) locally; any value that changes when the path names another file.
    identity: tuple[int, int]
    kind: Literal["file", "dir", "other"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a folder listing."""

    name: str
    path: str
    kind: Literal["file", "dir", "other", "missing"]
    #: The entry is a symlink whose target lies outside the file system's root (kind "other").
    outside: bool = False
    #: For a symlink: its real target (else "").
    target: str = ""


class FileHandle(Protocol):
    """An open regular file: its info at open time and bytes at an offset."""

    info: FileInfo

    def read_at(self, offset: int, size: int) -> bytes: ...

    def close(self) -> None: ...

    def __enter__(self) -> FileHandle: ...

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class FileSystem(Protocol):
    """Where run files are read from (local now; ssh and fsspec backends implement the same)."""

    def open(self, path: str) -> FileHandle: ...

    def stat(self, path: str) -> FileInfo: ...

    def scandir(self, path: str) -> Iterator[Entry]: ...

    def read_small(self, path: str, limit: int = MAX_METADATA_BYTES) -> bytes: ...

    def confined(self, root: str | None) -> FileSystem: ...


def _kind(mode: int) -> Literal["file", "dir", "other"]:
    if stat_mod.S_ISREG(mode):
        return "file"
    if stat_mod.S_ISDIR(mode):
        return "dir"
    return "other"


def _what(mode: int) -> str:
    if stat_mod.S_ISFIFO(mode):
        return "a FIFO"
    if stat_mod.S_ISSOCK(mode):
        return "a socket"
    if stat_mod.S_ISCHR(mode) or stat_mod.S_ISBLK(mode):
        return "a device"
    if stat_mod.S_ISDIR(mode):
        return "a folder"
    return "a special file"


def _info(st: os.stat_result) -> FileInfo:
    return FileInfo(st.st_size, st.st_mtime_ns, (st.st_dev, st.st_ino), _kind(st.st_mode))


class LocalFile:
    """A local regular file opened by :meth:`LocalFS.open` (``pread`` at offsets)."""

    def __init__(self, fd: int, info: FileInfo) -> None:
        self._fd = fd
        self.info = info

    def read_at(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes from ``offset`` (fewer only at the end of the file)."""
        parts: list[bytes] = []
        while size > 0:
            part = os.pread(self._fd, min(size, 1 << 26), offset)
            if not part:
                break
            parts.append(part)
            offset += len(part)
            size -= len(part)
        return b"".join(parts)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> LocalFile:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


class LocalFS:
    """The local file system, optionally confined to a root (see the module docstring)."""

    def __init__(self, root: str | None = None) -> None:
        self.root = os.path.realpath(root) if root else None

    def confined(self, root: str | None) -> LocalFS:
        return LocalFS(root)

    def _inside(self, path: str) -> None:
        if self.root is None:
            return
        real = os.path.realpath(path)
        if not within(real, self.root):
            raise OutsideRoot(path, real)

    def open(self, path: str) -> LocalFile:
        self._inside(path)
        fd = os.open(path, _OPEN_FLAGS)
        try:
            st = os.fstat(fd)
            if not stat_mod.S_ISREG(st.st_mode):
                raise NotRegularFile(path, _what(st.st_mode))
        except BaseException:
            os.close(fd)
            raise
        return LocalFile(fd, _info(st))

    def stat(self, path: str) -> FileInfo:
        self._inside(path)
        return _info(os.stat(path))

    def scandir(self, path: str) -> Iterator[Entry]:
        """Entries of ``path`` (at most :data:`MAX_ENTRIES`; the caller counts and reports)."""
        with os.scandir(path) as it:
            for entry in it:
                yield self._entry(entry)

    def _entry(self, entry: os.DirEntry[str]) -> Entry:
        try:
            target = ""
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if self.root is not None and not within(target, self.root):
                    return Entry(entry.name, entry.path, "other", outside=True, target=target)
            if entry.is_dir(follow_symlinks=True):
                return Entry(entry.name, entry.path, "dir", target=target)
            if entry.is_file(follow_symlinks=True):
                return Entry(entry.name, entry.path, "file", target=target)
            exists = os.path.exists(entry.path) if target else True
            return Entry(entry.name, entry.path, "other" if exists else "missing", target=target)
        except (OSError, ValueError):
            return Entry(entry.name, entry.path, "missing")  # vanished while listing

    def read_small(self, path: str, limit: int = MAX_METADATA_BYTES) -> bytes:
        """The whole of a small file; :class:`TooLarge` (from its size, nothing read) above ``limit``."""
        with self.open(path) as fh:
            if fh.info.size > limit:
                raise TooLarge(path, fh.info.size, limit)
            data = fh.read_at(0, limit + 1)
        if len(data) > limit:  # grew between fstat and read
            raise TooLarge(path, len(data), limit)
        return data


def within(real: str, root: str) -> bool:
    """Whether the real path ``real`` is ``root`` or lies below it."""
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def is_file(fs: FileSystem, path: str) -> bool:
    """Whether ``path`` is a regular file; any error (permission, loop, outside root) is "no"."""
    try:
        return fs.stat(path).kind == "file"
    except (OSError, ValueError):
        return False


def is_dir(fs: FileSystem, path: str) -> bool:
    """Whether ``path`` is a folder; any error (permission, loop, outside root) is "no"."""
    try:
        return fs.stat(path).kind == "dir"
    except (OSError, ValueError):
        return False


def read_head(fs: FileSystem, path: str, size: int) -> bytes | None:
    """The first ``size`` bytes of a regular file, or None when it cannot be read as one."""
    try:
        with fs.open(path) as fh:
            return fh.read_at(0, size)
    except (OSError, ValueError):
        return None


#: The unconfined local file system (the path the user named is theirs to name).
LOCAL = LocalFS()
