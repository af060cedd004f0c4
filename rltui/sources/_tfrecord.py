"""TFRecord framing for event files, vectorised for the common case and exact in every case.

A record is ``uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)``.
A Python loop that unpacks each header costs ~0.7 µs per record, more than the whole budget for a
600k-record file, so the chain of records is found with numpy instead:

1. every position ``p`` whose byte ``p + 12`` is ``0x09`` (the wall_time tag that begins every
   serialised ``Event``) is a candidate header; its length is read through an unaligned ``uint64``
   view and its header CRC is compared with a table built with one C call per distinct length;
2. candidates whose ``p + 16 + length`` is the next candidate form a run of records, taken whole;
3. anything else (a record not starting with ``0x09``, a bad header, a partial tail) goes through
   the exact one-record-at-a-time path, which also does the resynchronisation after a bad header.

Data CRCs are then checked for all complete records, folded into a few C calls (``_crc_bulk``).
Nothing here decides what an event means; see ``_event_decode``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from rltui.arrays import unique_inverse
from rltui.sources import _crc_bulk as _bulk
from rltui.sources._crc_bulk import masked_crc

MAX_RECORD_BYTES = 64 * 1024 * 1024
"""Longer records are treated as corrupt: no event file writer produces them, and trusting a
corrupt length would mean allocating or waiting for gigabytes."""

HEADER_BYTES = 12
FOOTER_BYTES = 4
_HEADER = struct.Struct("<QI")
_U64 = struct.Struct("<Q")
_SCAN_WINDOW = 1 << 16
_TABLE_LIMIT = 1 << 16  # lengths below this are looked up through a bincount-sized table

I64 = npt.NDArray[np.int64]


@dataclass(slots=True)
class Framing:
    """What one pass over a buffer found; offsets are relative to the buffer start.

    ``record_starts``/``data_lengths`` list the records whose both CRCs validate, in file order.
    ``consumed`` is where the next pass must begin (the start of a partial record, or the end).
    ``resyncing`` means the bytes before ``consumed`` held no valid header after a corrupt one,
    so the next pass must keep scanning rather than trust the bytes at ``consumed``.
    """

    record_starts: I64
    data_lengths: I64
    consumed: int
    resyncing: bool
    problems: list[tuple[int, str]] = field(default_factory=list)


def _u64_view(buf: bytes) -> npt.NDArray[np.uint64]:
    """Every little-endian uint64 at every byte offset, without copying."""
    n = max(len(buf) - 7, 0)
    return np.ndarray((n,), dtype="<u8", buffer=buf, offset=0, strides=(1,))


def _expected_length_crcs(lengths: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint32]:
    """Masked CRC of each length's 8 bytes: one C call per distinct length (lengths repeat)."""
    if len(lengths) and int(lengths.max()) < _TABLE_LIMIT:
        present = np.flatnonzero(np.bincount(lengths.astype(np.intp)))
        table = np.zeros(int(present[-1]) + 1, dtype=np.uint32)
        table[present] = [masked_crc(_U64.pack(v)) for v in present.tolist()]
        by_length: npt.NDArray[np.uint32] = table[lengths.astype(np.intp)]
        return by_length
    uniq, inv = unique_inverse(lengths)
    expected = np.array([masked_crc(_U64.pack(int(v))) for v in uniq.tolist()], dtype=np.uint32)
    each: npt.NDArray[np.uint32] = expected[inv.reshape(-1)]
    return each


def _valid_headers(buf: bytes, starts: I64, lengths: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """Which candidate headers have a plausible length and a matching length CRC."""
    ok = lengths <= MAX_RECORD_BYTES
    if not ok.any():
        return ok
    stored = np.ndarray((max(len(buf) - 3, 0),), dtype="<u4", buffer=buf, offset=0, strides=(1,))[
        starts[ok] + 8
    ]
    ok[ok] = _expected_length_crcs(lengths[ok]) == stored
    return ok


def _scan_for_header(buf: bytes, start: int, u64: npt.NDArray[np.uint64]) -> int | None:
    """First offset >= ``start`` holding a complete header whose CRC validates, else None."""
    last = len(buf) - HEADER_BYTES  # last offset with a complete header
    pos = start
    while pos <= last:
        end = min(pos + _SCAN_WINDOW, last + 1)
        lengths = u64[pos:end]
        starts = np.arange(pos, end, dtype=np.int64)
        ok = _valid_headers(buf, starts, lengths)
        hits = np.flatnonzero(ok)
        if len(hits):
            return int(starts[hits[0]])
        pos = end
    return None


def frame(buf: bytes, resyncing: bool = False) -> Framing:
    """Find the complete, valid records in ``buf`` (see the module docstring)."""
    n = len(buf)
    problems: list[tuple[int, str]] = []
    u64 = _u64_view(buf)
    arr = np.frombuffer(buf, dtype=np.uint8)

    # Candidate headers of the common shape, validated in bulk.
    if n > HEADER_BYTES:
        # p + 12 < n, so every candidate has a full uint64 (and uint32 at p + 8) to read.
        cand = np.flatnonzero(arr[HEADER_BYTES:] == 0x09).astype(np.int64, copy=False)
        cand_len = u64[cand]
        keep = _valid_headers(buf, cand, cand_len)
        cand = cand[keep]
        nxt = cand + (HEADER_BYTES + FOOTER_BYTES) + cand_len[keep].astype(np.int64)
    else:
        cand = np.zeros(0, dtype=np.int64)
        nxt = cand
    breaks = np.flatnonzero(nxt[:-1] != cand[1:])  # run i..j is unbroken when no break in [i, j)

    runs: list[I64] = []
    pos = 0
    if resyncing:
        found = _scan_for_header(buf, 0, u64)
        if found is None:
            return Framing(np.zeros(0, np.int64), np.zeros(0, np.int64), max(0, n - HEADER_BYTES + 1), True)
        pos = found
    while pos + HEADER_BYTES <= n:
        i = int(np.searchsorted(cand, pos))
        if i < len(cand) and cand[i] == pos:
            b = int(np.searchsorted(breaks, i))
            j = int(breaks[b]) if b < len(breaks) else len(cand) - 1
            complete = int(np.searchsorted(nxt[i : j + 1], n, side="right"))
            if complete:
                runs.append(cand[i : i + complete])
                pos = int(nxt[i + complete - 1])
            if complete < j + 1 - i:
                break  # a partial record: wait for the rest
            continue
        length, length_crc = _HEADER.unpack_from(buf, pos)
        crc_ok = masked_crc(buf[pos : pos + 8]) == length_crc
        if not crc_ok or length > MAX_RECORD_BYTES:
            msg = (
                f"record length {length} is impossible (limit {MAX_RECORD_BYTES}), skipping"
                if crc_ok
                else "bad length checksum, skipping to the next valid record header"
            )
            problems.append((pos, msg))
            found = _scan_for_header(buf, pos + 1, u64)
            if found is None:
                return _finish(buf, runs, max(pos + 1, n - HEADER_BYTES + 1), True, problems)
            pos = found
            continue
        end = pos + HEADER_BYTES + length + FOOTER_BYTES
        if end > n:
            break
        runs.append(np.array([pos], dtype=np.int64))
        pos = end
    return _finish(buf, runs, pos, False, problems)


def _finish(
    buf: bytes, runs: list[I64], consumed: int, resyncing: bool, problems: list[tuple[int, str]]
) -> Framing:
    starts = np.concatenate(runs) if runs else np.zeros(0, dtype=np.int64)
    lengths = _u64_view(buf)[starts].astype(np.int64) if len(starts) else np.zeros(0, np.int64)
    ok = _bulk.data_crcs_ok(buf, starts, lengths)
    if not ok.all():
        for bad in starts[~ok].tolist():
            problems.append((bad, "bad data checksum, record skipped"))
        problems.sort()
        starts, lengths = starts[ok], lengths[ok]
    return Framing(starts, lengths, consumed, resyncing, problems)
