"""Follow a growing LevelDB-style log (W&B ``.wandb``, SwanLab ``.swanlab``) by byte offset.

Each ``read()`` opens the file through the file-system seam (``sources/fs``: a FIFO or device
is refused without blocking, a symlink out of the run's folder is not followed), takes the bytes
after the saved offset with ``read_at``, frames them (``_leveldb_log``) and hands over the complete records.
Like the event-file reader it notices a file that was replaced (other inode), rewritten in place
(other first bytes) or truncated, and starts again from the top with ``restarted=True``; a file
that is missing or unreadable is one problem per change of state, and reading resumes when it
comes back. A 7-byte file header that is not the expected one is a problem, and nothing is read
from that file until it changes.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

from rltui.records import Problem
from rltui.sources import _leveldb_log
from rltui.sources.fs import LOCAL, FileSystem, NotRegularFile, OutsideRoot, describe
from rltui.text import sanitize

HEAD_BYTES = 64
"""How much of a file's beginning identifies it (its header and first record)."""

CHUNK_BYTES = 4 << 20
"""Bytes framed per pass of a large read: bounded buffers on a cold load of a big log."""


@dataclass(frozen=True, slots=True)
class Span:
    """Bytes ``data`` read from an offset, and the file they came from as it was then."""

    data: bytes
    size: int
    identity: tuple[int, int]
    head: bytes


def read_span(fs: FileSystem, path: str, offset: int, size: int) -> Span:
    """At most ``size`` bytes of ``path`` from ``offset`` and its first bytes, in one open."""
    with fs.open(path) as fh:
        info = fh.info
        head = fh.read_at(0, HEAD_BYTES)
        want = max(0, min(size, info.size - offset))
        data = fh.read_at(offset, want) if want else b""
    return Span(data, info.size, info.identity, head)


@dataclass(slots=True)
class LogBatch:
    records: list[tuple[int, bytes]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    restarted: bool = False


class LogFollower:
    """Incremental reader of one LevelDB-style log with a 7-byte header (see the module doc).

    ``magic`` is the header's first 6 bytes (ident + magic); ``label`` names the format in
    problems ("W&B transaction log").
    """

    def __init__(self, path: str, magic: bytes, label: str, fs: FileSystem | None = None) -> None:
        self.path = path
        self._fs: FileSystem = fs if fs is not None else LOCAL
        self._magic = magic
        self._label = label
        self._restart()
        self._ever = False
        self._state: str | None = None

    def _restart(self) -> None:
        self._offset = _leveldb_log.HEADER
        self._size_seen = 0
        self._need = 0
        self._identity: tuple[int, int] | None = None
        self._head = b""
        self._bad_header = False

    @property
    def offset(self) -> int:
        return self._offset

    def read(self) -> LogBatch:
        batch = LogBatch()
        try:
            self._read(batch)
        except OSError as exc:
            self._file_problem(batch, _describe(exc))
        except ValueError:  # a path no file system can open (an embedded NUL)
            self._file_problem(batch, "not a path that can be opened; not read")
        else:
            if self._state is not None and not self._bad_header:
                self._state = None
        return batch

    def _read(self, batch: LogBatch) -> None:
        want = max(CHUNK_BYTES, self._need - self._offset)
        span = read_span(self._fs, self.path, self._offset, want)
        if self._changed(span):
            self._restart()
            batch.restarted = self._ever
            span = read_span(self._fs, self.path, self._offset, want)
        self._ever = True
        self._identity = span.identity
        if len(span.head) > len(self._head):
            self._head = span.head
        self._size_seen = max(self._size_seen, span.size)
        if span.size < _leveldb_log.HEADER:
            return  # the header is not written yet
        if span.head[:6] != self._magic:
            self._bad_header = True
            self._file_problem(batch, f"not a {self._label}: unexpected file header")
            return
        self._bad_header = False
        while True:
            if span.size < self._need or not span.data:
                return
            base = self._offset
            framed = _leveldb_log.frame(span.data, base)
            batch.records.extend(framed.records)
            batch.problems.extend(Problem(self.path, off, msg) for off, msg in framed.problems)
            self._offset = framed.consumed
            self._need = framed.need
            end = base + len(span.data)
            if end >= span.size:
                return
            if framed.consumed == base:
                want = 2 * max(want, len(span.data))  # one split record larger than the window
            span = read_span(self._fs, self.path, self._offset, want)
            if span.identity != self._identity:
                return  # replaced while reading: the next poll starts over

    def _changed(self, span: Span) -> bool:
        if self._identity is None:
            return False
        if span.identity != self._identity or span.size < self._size_seen:
            return True
        common = min(len(span.head), len(self._head))
        return span.head[:common] != self._head[:common]

    def _file_problem(self, batch: LogBatch, message: str) -> None:
        if message != self._state:
            self._state = message
            batch.problems.append(Problem(self.path, None, message))


def _describe(exc: OSError) -> str:
    if isinstance(exc, (NotRegularFile, OutsideRoot)):
        return sanitize(describe(exc), single_line=True)
    if exc.errno == errno.ENOENT:
        return "file vanished (or not created yet); will resume if it comes back"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; will resume when readable"
    return f"cannot read: {sanitize(describe(exc), single_line=True)}"
