"""Follow one TensorBoard event file: only new bytes on each call, never an exception.

Each ``read()`` opens the file, checks that it is still the file we were reading (same inode,
not shorter than our offset, same first bytes), reads from the saved offset to the end, and hands
the bytes to the framing (``_tfrecord``) and decoding (``_event_decode``) layers. The offset only
ever moves past complete records (or past corrupt bytes already reported), so a record being
written is simply picked up by a later call, and no problem is reported twice.
"""

from __future__ import annotations

import errno

import numpy as np

from rltui.records import PointChunk, Problem, ReadResult, SourceKind
from rltui.sources import _event_decode, _tfrecord
from rltui.sources._crc_bulk import masked_crc
from rltui.sources._event_decode import F64, I64
from rltui.sources.fs import LOCAL, FileHandle, FileSystem, describe
from rltui.sources.names import canonical_tb_tag
from rltui.text import sanitize

_CHUNK_BYTES = 4 << 20
"""Bytes decoded per step of a large read (see ``_read_chunks``)."""

_HEAD_BYTES = 64
"""How much of the file's beginning identifies it: the first event holds the writer's wall time,
so a file replaced by another run's differs here even when it has the same inode and size."""


class TfEventsReader:
    """Incremental reader of one ``events.out.tfevents.*`` file (see ``SourceReader``).

    Offsets in problems are byte offsets of the record header in the file.
    """

    kind: SourceKind = "tfevents"

    def __init__(self, path: str, *, fs: FileSystem | None = None) -> None:
        self.path = path
        self._fs: FileSystem = fs if fs is not None else LOCAL
        self.points = 0
        self.problems: list[Problem] = []
        self._offset = 0
        self._resyncing = False
        self._need = 0  # file size below which another read cannot complete a record
        self._identity: tuple[int, int] | None = None
        self._head = b""
        self._access_error: str | None = None
        #: Raw tag -> index into ``_keys`` (its canonical, sanitised metric name), kept across
        #: reads so a tag is named once per reader, not once per chunk.
        self._tag_key: dict[str, int] = {}
        self._keys: list[str] = []
        self._key_id: dict[str, int] = {}

    def read(self) -> ReadResult:
        result = ReadResult()
        pieces: list[tuple[I64, I64, F64, F64, I64]] = []
        try:
            fh = self._fs.open(self.path)
        except OSError as e:
            self._access_failed(e, result)
        else:
            try:
                with fh:
                    self._read_chunks(fh, result, pieces)
                self._access_error = None
            except OSError as e:
                self._access_failed(e, result)
        self._split(pieces, result)
        result.problems.sort(key=lambda p: p.offset if p.offset is not None else -1)
        result.max_steps, result.logging_steps = _event_decode.run_settings(result.texts)
        self.points += result.points
        self.problems.extend(result.problems)
        return result

    @property
    def healthy(self) -> bool:
        """The last read opened and read the file."""
        return self._access_error is None

    def close(self) -> None:
        """Nothing is held open between calls; kept for the ``SourceReader`` contract."""

    # -- file handling --------------------------------------------------------------------

    def _split(self, pieces: list[tuple[I64, I64, F64, F64, I64]], result: ReadResult) -> None:
        """One PointChunk per metric from the flat columns of every chunk read: one stable sort by
        metric, so each metric's points stay in file order. Metrics come in the order they first
        appear in this read."""
        if not pieces:
            return
        key, steps, walls, values, offsets = (
            (np.concatenate(c) for c in zip(*pieces, strict=True)) if len(pieces) > 1 else pieces[0]
        )
        if len(key) == 0:
            return
        o = np.argsort(key, kind="stable")
        sorted_key = key[o]
        cuts = np.flatnonzero(sorted_key[1:] != sorted_key[:-1]) + 1
        starts = np.r_[0, cuts]
        ends = np.r_[cuts, len(o)]
        first_seen = np.minimum.reduceat(o, starts) if len(starts) else starts
        steps, walls, values, offsets = steps[o], walls[o], values[o], offsets[o]
        ids = sorted_key[starts].tolist()
        for g in np.argsort(first_seen, kind="stable").tolist():
            a, b = int(starts[g]), int(ends[g])
            result.chunks[self._keys[ids[g]]] = PointChunk(steps[a:b], walls[a:b], values[a:b], offsets[a:b])

    def _key_of(self, tag: str) -> int:
        k = self._tag_key.get(tag)
        if k is None:
            # Two raw tags can share one canonical name, e.g. "train/x" and "x": both are kept.
            name = sanitize(canonical_tb_tag(tag), single_line=True)
            k = self._key_id.get(name)
            if k is None:
                k = self._key_id[name] = len(self._keys)
                self._keys.append(name)
            self._tag_key[tag] = k
        return k

    def _read_chunks(
        self, fh: FileHandle, result: ReadResult, pieces: list[tuple[I64, I64, F64, F64, I64]]
    ) -> None:
        """Decode the new bytes a chunk at a time, exactly as if the file had grown that way.

        Bounded chunks keep every buffer and temporary array small enough to stay in cache and to
        be reused by the allocator, instead of touching (and page-faulting) fresh memory several
        times the file's size on a cold load.
        """
        size = self._check_identity(fh, result)
        while size > self._offset and size >= self._need:
            before = self._offset
            want = max(_CHUNK_BYTES, self._need - before)
            buf = fh.read_at(before, min(want, size - before))
            if not buf:
                return
            end = before + len(buf)
            self._consume(buf, result, pieces)
            if end >= size or (self._offset == before and self._need <= end):
                return

    def _check_identity(self, fh: FileHandle, result: ReadResult) -> int:
        """Restart if the path now holds another file (or a rewritten one); return its size."""
        identity = fh.info.identity
        head = fh.read_at(0, _HEAD_BYTES)
        replaced = self._identity is not None and identity != self._identity
        shrank = fh.info.size < self._offset
        common = min(len(head), len(self._head))
        rewritten = head[:common] != self._head[:common]
        if replaced or shrank or rewritten:
            self._restart()
            result.restarted = True
        self._identity = identity
        if len(head) > len(self._head):
            self._head = head
        return fh.info.size

    def _access_failed(self, e: OSError, result: ReadResult) -> None:
        """Report a missing or unreadable file once per change of state, not on every poll."""
        if e.errno == errno.ENOENT:
            state = "file vanished (or not created yet); will resume if it comes back"
        elif e.errno in (errno.EACCES, errno.EPERM):
            state = "permission denied; will resume when readable"
        else:
            state = f"cannot read: {sanitize(describe(e), single_line=True)}"
        if state != self._access_error:
            result.problems.append(Problem(self.path, None, state, transient=True))
            self._access_error = state

    def _restart(self) -> None:
        self._offset = 0
        self._resyncing = False
        self._need = 0
        self._head = b""

    # -- decoding -------------------------------------------------------------------------

    def _consume(self, buf: bytes, result: ReadResult, pieces: list[tuple[I64, I64, F64, F64, I64]]) -> None:
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
        result.texts.update(decoded.texts)
        result.samples.extend(decoded.samples)
        if len(decoded.steps):
            known = self._tag_key
            ids = [known.get(tag) for tag in decoded.tags]
            lut = np.array(
                [self._key_of(t) if k is None else k for t, k in zip(decoded.tags, ids, strict=True)]
            )
            offsets = base + framing.record_starts[decoded.ordinal]  # where each point's record begins
            pieces.append((lut[decoded.tag_index], decoded.steps, decoded.walls, decoded.values, offsets))


def _partial_need(buf: bytes, consumed: int, resyncing: bool) -> int:
    """Bytes (from ``consumed``) that must exist before the partial record there can complete.

    Waiting for them avoids re-reading a large half-written record on every poll.
    """
    if resyncing or len(buf) - consumed < _tfrecord.HEADER_BYTES:
        return 0
    length, length_crc = _tfrecord._HEADER.unpack_from(buf, consumed)
    if masked_crc(buf[consumed : consumed + 8]) != length_crc:
        return 0
    return _tfrecord.HEADER_BYTES + int(length) + _tfrecord.FOOTER_BYTES
