"""Check the data CRC32C of many TFRecord records with a few C calls instead of one per record.

One ``crc32c`` call per record costs ~0.5 µs of Python overhead, more than the rest of the load of
a 600k-record file, while the C function itself hashes the whole 35 MB file in ~3 ms. The checks
are therefore folded into a CRC of whole blocks of consecutive records, using two properties of
the *raw* CRC (register starting at 0, no final XOR; linear over GF(2)):

* a message followed by its own raw CRC (little-endian) leaves the register at 0, and zero bytes
  keep a zero register at 0;
* the raw CRC of a concatenation is the XOR of each part's raw CRC, each multiplied by a power of
  ``x`` (its distance from the end), and that multiplication is invertible.

In a scratch copy of the records, each 12-byte header is zeroed and each stored (masked) data CRC
is replaced by the raw CRC it claims (unmasked, minus what the standard initial value and final
XOR add for that length, i.e. ``crc32c(bytes(n))``). A block of records then has raw CRC 0 when
every record in it is valid; a record whose data or stored CRC is wrong adds a non-zero term that
no other term of the same record can cancel, so a bad record is always detected exactly as its own
CRC would detect it. Only corruptions in two or more records of one block can cancel each other,
with the same 2**-32 odds as a random corruption matching a CRC. Blocks that do not come out at
0 are checked again one record at a time, so each bad record is identified exactly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rltui.arrays import union, unique_inverse
from rltui.sources._crc import crc32c

I64 = npt.NDArray[np.int64]

HEADER_BYTES = 12
FOOTER_BYTES = 4
MIN_RECORDS = 16
"""Below this many records one C call per record is cheaper than building the scratch copy."""

_BLOCK_RECORDS = 1024
"""Records per folded CRC: small enough that re-checking a failing block one record at a time is
cheap, large enough that the per-block Python call is negligible."""

_MASK_DELTA = 0xA282EAD8
_RAW = 0xFFFFFFFF  # crc32c(data, _RAW) == raw_crc(data) ^ _RAW
_TABLE_LIMIT = 1 << 16  # lengths below this are looked up through a bincount-sized table


def _unmask(masked: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    r = masked - np.uint32(_MASK_DELTA)  # wraps modulo 2**32
    return (r >> np.uint32(17)) | (r << np.uint32(15))


def _init_terms(lengths: I64) -> npt.NDArray[np.uint32]:
    """``crc32c(bytes(n))`` for each length: the standard CRC minus the raw CRC of n bytes."""
    if int(lengths.max()) < _TABLE_LIMIT:
        present = np.flatnonzero(np.bincount(lengths))
        table = np.zeros(int(present[-1]) + 1, dtype=np.uint32)
        table[present] = [crc32c(bytes(n)) for n in present.tolist()]
        by_length: npt.NDArray[np.uint32] = table[lengths]
        return by_length
    uniq, inv = unique_inverse(lengths)
    terms = np.array([crc32c(bytes(n)) for n in uniq.tolist()], dtype=np.uint32)
    each: npt.NDArray[np.uint32] = terms[inv.reshape(-1)]
    return each


def _u32_at(buf: bytes | bytearray | npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    """Every little-endian uint32 at every byte offset, without copying."""
    return np.ndarray((max(len(buf) - 3, 0),), dtype="<u4", buffer=buf, offset=0, strides=(1,))


def masked_crc(data: bytes | memoryview) -> int:
    """TFRecord's masked CRC32C (rotated so that CRCs of CRCs do not collapse)."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def _each_ok(buf: bytes, starts: I64, lengths: I64, stored: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    """One C call per record: the exact reference the folded check must agree with."""
    mv = memoryview(buf)
    data = (starts + HEADER_BYTES).tolist()
    ends = (starts + HEADER_BYTES + lengths).tolist()
    got = [masked_crc(mv[a:b]) for a, b in zip(data, ends, strict=True)]
    return np.equal(np.array(got, dtype=np.uint32), stored)


def data_crcs_ok(buf: bytes, starts: I64, lengths: I64) -> npt.NDArray[np.bool_]:
    """Which records (header offset ``starts``, data length ``lengths``) have a valid data CRC.

    Records must be in file order and must not overlap (what framing produces).
    """
    n = len(starts)
    stored = _u32_at(buf)[starts + HEADER_BYTES + lengths] if n else np.zeros(0, np.uint32)
    if n < MIN_RECORDS:
        return _each_ok(buf, starts, lengths, stored)
    ends = starts + (HEADER_BYTES + FOOTER_BYTES) + lengths
    lo, hi = int(starts[0]), int(ends[-1])
    scratch = np.frombuffer(buf, dtype=np.uint8, count=hi - lo, offset=lo).copy()
    rel = starts - lo
    np.ndarray((len(scratch) - 7,), dtype="<u8", buffer=scratch, offset=0, strides=(1,))[rel] = 0
    u32 = _u32_at(scratch)
    u32[rel + 8] = 0
    u32[rel + HEADER_BYTES + lengths] = _unmask(stored) ^ _init_terms(lengths)

    # Blocks of at most _BLOCK_RECORDS records, also cut wherever bytes lie between two records.
    cuts = np.flatnonzero(ends[:-1] != starts[1:]) + 1
    bounds = np.arange(0, n, _BLOCK_RECORDS)
    if len(cuts):
        bounds = union(bounds, cuts)
    first = bounds.tolist()
    last = [*first[1:], n]
    block_lo = rel[bounds].tolist()
    block_hi = (ends[np.asarray(last) - 1] - lo).tolist()
    mv = scratch.data
    ok = np.ones(n, dtype=bool)
    for a, b, i, j in zip(block_lo, block_hi, first, last, strict=True):
        if crc32c(mv[a:b], _RAW) != _RAW:
            ok[i:j] = _each_ok(buf, starts[i:j], lengths[i:j], stored[i:j])
    return ok
