"""Follow one TensorBoard event file: only new bytes on each call, never an exception.

Each ``read()`` opens the file, checks that it is still the file we were reading (same inode,
not shorter than our offset, same first bytes), reads from the saved offset to the end, and hands
the bytes to the framing (``_tfrecord``) and decoding (``_event_decode``) layers. The offset only
ever moves past complete records (or past corrupt bytes already reported), so a record being
written is simply picked up by a later call, and no problem is reported twice.
"""

from __future__ import annotations

import errno
import os

import numpy as np

from rltui.records import PointChunk, Problem, ReadResult, SourceKind
from rltui.sources import _event_decode, _tfrecord
from rltui.sources.names import canonical_tb_tag
from rltui.text import sanitize

_HEAD_BYTES = 64
"""How much of the file's beginning identifies it: the first event holds the writer's wall time,
so a file replaced by another run's differs here even when it has the same inode and size."""


class TfEventsReader:
    """Incremental reader of one ``events.out.tfevents.*`` file (see ``SourceReader``).

    Offsets in problems are byte offsets of the record header in the file.
    """

    kind: SourceKind = "tfevents"

    def __init__(self, path: str) -> None:
        self.path = path
        self.points = 0
        self.problems: list[Problem] = []
        self._offset = 0
        self._resyncing = False
        self._need = 0  # file size below which another read cannot complete a record
        self._identity: tuple[int, int] | None = None
        self._head = b""
        self._access_error: str | None = None

    def read(self) -> ReadResult:
        result = ReadResult()
        buf = self._read_new_bytes(result)
        if buf:
            self._consume(buf, result)
        self.points += result.points
        self.problems.extend(result.problems)
        return result

    def close(self) -> None:
        """Nothing is held open between calls; kept for the ``SourceReader`` contract."""

    # -- file handling --------------------------------------------------------------------

    def _read_new_bytes(self, result: ReadResult) -> bytes:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as e:
            self._access_failed(e, result)
            return b""
        try:
            st = os.fstat(fd)
            identity = (st.st_dev, st.st_ino)
            head = os.pread(fd, _HEAD_BYTES, 0)
            replaced = self._identity is not None and identity != self._identity
            shrank = st.st_size < self._offset
            common = min(len(head), len(self._head))
            rewritten = head[:common] != self._head[:common]
            if replaced or shrank or rewritten:
                self._restart()
                result.restarted = True
            self._identity = identity
            if len(head) > len(self._head):
                self._head = head
            if st.st_size <= self._offset or st.st_size < self._need:
                data = b""
            else:
                data = _read_from(fd, self._offset, st.st_size - self._offset)
        except OSError as e:
            self._access_failed(e, result)
            return b""
        finally:
            os.close(fd)
        self._access_error = None
        return data

    def _access_failed(self, e: OSError, result: ReadResult) -> None:
        """Report a missing or unreadable file once per change of state, not on every poll."""
        if e.errno == errno.ENOENT:
            state = "file vanished (or not created yet); will resume if it comes back"
        elif e.errno in (errno.EACCES, errno.EPERM):
            state = "permission denied; will resume when readable"
        else:
            state = f"cannot read: {sanitize(e.strerror or str(e), single_line=True)}"
        if state != self._access_error:
            result.problems.append(Problem(self.path, None, state))
            self._access_error = state

    def _restart(self) -> None:
        self._offset = 0
        self._resyncing = False
        self._need = 0
        self._head = b""

    # -- decoding -------------------------------------------------------------------------

    def _consume(self, buf: bytes, result: ReadResult) -> None:
        base = self._offset
        framing = _tfrecord.frame(buf, self._resyncing)
        for rel, msg in framing.problems:
            result.problems.append(Problem(self.path, base + rel, msg))
        self._offset = base + framing.consumed
        self._resyncing = framing.resyncing
        self._need = self._offset + _partial_need(buf, framing.consumed, framing.resyncing)
        decoded = _event_decode.decode(buf, framing.record_starts, framing.data_lengths)
        for rel, msg in decoded.problems:
            result.problems.append(Problem(self.path, base + rel, msg))
        result.problems.sort(key=lambda p: p.offset if p.offset is not None else -1)
        result.texts.update(decoded.texts)
        max_steps, logging_steps = _event_decode.run_settings(decoded.texts)
        result.max_steps, result.logging_steps = max_steps, logging_steps
        for tag, (_ordinal, steps, walls, values) in decoded.points.items():
            key = sanitize(canonical_tb_tag(tag), single_line=True)
            chunk = PointChunk(steps, walls, values)
            old = result.chunks.get(key)
            if old is not None:  # two raw tags with one canonical name, e.g. "train/x" and "x"
                chunk = PointChunk(
                    np.concatenate([old.steps, steps]),
                    np.concatenate([old.wall_times, walls]),
                    np.concatenate([old.values, values]),
                )
            result.chunks[key] = chunk


def _read_from(fd: int, offset: int, size: int) -> bytes:
    parts = []
    while size > 0:
        part = os.pread(fd, size, offset)
        if not part:
            break
        parts.append(part)
        offset += len(part)
        size -= len(part)
    return b"".join(parts)


def _partial_need(buf: bytes, consumed: int, resyncing: bool) -> int:
    """Bytes (from ``consumed``) that must exist before the partial record there can complete.

    Waiting for them avoids re-reading a large half-written record on every poll.
    """
    if resyncing or len(buf) - consumed < _tfrecord.HEADER_BYTES:
        return 0
    length, length_crc = _tfrecord._HEADER.unpack_from(buf, consumed)
    if _tfrecord.masked_crc(buf[consumed : consumed + 8]) != length_crc:
        return 0
    return _tfrecord.HEADER_BYTES + length + _tfrecord.FOOTER_BYTES
