"""The record framing of W&B's ``run-<id>.wandb`` and SwanLab's ``run-<id>.swanlab`` logs.

Both write LevelDB's log format (github.com/google/leveldb doc/log_format.md) after a 7-byte file
header (4-byte ident, 2-byte magic, 1-byte version): the file is cut into 32 KiB blocks; each
block holds records of ``crc32 (4, little-endian) | length (2) | type (1) | payload``; a payload
that does not fit in the rest of a block is split into FIRST, MIDDLE... LAST fragments; fewer
than 7 bytes left in a block are zero padding. Unlike LevelDB, the checksum is zlib's CRC-32
(IEEE) of the payload seeded with the type byte, unmasked (W&B's ``leveldb`` fork with
``CRCAlgoIEEE``, SwanLab's ``store`` module).

This module is pure: bytes in, payloads and problems out, with absolute file offsets, so the
follower (``_logfollow``) can feed it any window of the file. The rules a live reader needs:

* a record whose bytes are not all there yet ends the pass: ``consumed`` stays at its start (at
  the FIRST fragment of a split record), so the next poll reads it again, whole;
* a record can never cross its block, so a length that does not fit, an unknown type or a bad
  checksum is corruption, never "wait": it is reported and the rest of the block is skipped
  (LevelDB's own recovery); a fragment whose FIRST was lost is reported and dropped;
* nothing is reported at an offset below ``consumed`` twice: problems only come from bytes the
  pass moves past.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

BLOCK = 32768
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_HEAD = struct.Struct("<IHB")
_SEED = [zlib.crc32(bytes([t])) for t in range(LAST + 1)]


@dataclass(slots=True)
class Framed:
    """What one pass over a window found; offsets are absolute file offsets."""

    records: list[tuple[int, bytes]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    consumed: int = 0
    #: File size below which another pass cannot get further (0: any growth may help).
    need: int = 0


def frame(buf: bytes, base: int) -> Framed:
    """Frame ``buf``, which holds the file's bytes from absolute offset ``base`` (>= the header)."""
    out = Framed(consumed=base)
    end = base + len(buf)
    pos = base
    frag_start = -1
    frag: list[bytes] = []
    records = out.records
    problems = out.problems
    unpack = _HEAD.unpack_from
    crc32 = zlib.crc32
    while True:
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # trailer: zero padding up to the next block
            if pos + left > end:
                break
            pos += left
            if frag_start < 0:
                out.consumed = pos
            continue
        if pos + HEADER > end:
            break
        i = pos - base
        crc, length, rtype = unpack(buf, i)
        if rtype == 0 and length == 0 and crc == 0:
            # Zeros: padding or space preallocated by the file system. Skip the block once it is
            # all there and all zero; until then it may still be written.
            block_end = pos + left
            if block_end > end:
                if buf.count(0, i) == len(buf) - i:
                    break
            elif buf.count(0, i, block_end - base) == left:
                pos = block_end
                if frag_start < 0:
                    out.consumed = pos
                continue
            problem = "bad record header: zero length and type before non-zero bytes"
        elif rtype > LAST or rtype == 0 or HEADER + length > left:
            problem = f"bad record header (type {rtype}, length {length}, {left} bytes left in block)"
        elif pos + HEADER + length > end:
            out.need = pos + HEADER + length if frag_start < 0 else 0
            break
        else:
            data = buf[i + HEADER : i + HEADER + length]
            if crc32(data, _SEED[rtype]) != crc:
                problem = "bad checksum"
            else:
                start = pos
                pos += HEADER + length
                if rtype == FULL:
                    if frag_start >= 0:
                        problems.append((frag_start, "split record without its last part dropped"))
                        frag_start, frag = -1, []
                    records.append((start, data))
                    out.consumed = pos
                elif rtype == FIRST:
                    if frag_start >= 0:
                        problems.append((frag_start, "split record without its last part dropped"))
                    frag_start, frag = start, [data]
                elif frag_start < 0:
                    problems.append((start, "record fragment without its first part skipped"))
                    out.consumed = pos
                elif rtype == MIDDLE:
                    frag.append(data)
                else:
                    frag.append(data)
                    records.append((frag_start, b"".join(frag)))
                    frag_start, frag = -1, []
                    out.consumed = pos
                continue
        # corruption at pos: report it, drop any open split record, skip to the next block
        if frag_start >= 0:
            problems.append((frag_start, "split record dropped: a later fragment is corrupt"))
            frag_start, frag = -1, []
        skip_to = pos + left
        problems.append((pos, f"{problem}; skipped {skip_to - pos} bytes to the next 32 KiB block"))
        pos = skip_to
        out.consumed = pos  # may lie past the end: the skipped bytes are skipped when they come
        if pos > end:
            break
    if frag_start >= 0:
        out.consumed = frag_start
    return out
