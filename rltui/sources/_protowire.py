"""Just enough of the protobuf wire format to pull a few fields out of a message.

W&B's and SwanLab's log records are protobuf messages. Decoding the handful of fields rltui needs
(history items, config items, scalars) by hand avoids depending on either library (tens of MB,
a second or more to import) and on its generated code matching the installed protobuf runtime.
Field numbers are the libraries' published ``.proto`` definitions; the tests check this decoder
against the libraries' own generated classes on files the libraries wrote.

Every function raises :class:`ProtoError` (and nothing else) on malformed input.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5
_DOUBLE = struct.Struct("<d")


class ProtoError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def varint(buf: bytes, i: int) -> tuple[int, int]:
    """The varint at ``buf[i]`` and the index after it."""
    result = 0
    shift = 0
    n = len(buf)
    while True:
        if i >= n or shift > 63:
            raise ProtoError("truncated or over-long varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def fields(buf: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, a, b) for each field of a message.

    VARINT: ``a`` is the value. FIXED64/FIXED32/LEN: the value is ``buf[a:b]``.
    """
    i = 0
    n = len(buf)
    while i < n:
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise ProtoError("field number 0")
        if wt == VARINT:
            value, i = varint(buf, i)
            yield num, wt, value, 0
        elif wt == LEN:
            length, i = varint(buf, i)
            end = i + length
            if end > n:
                raise ProtoError("length past the end of the message")
            yield num, wt, i, end
            i = end
        elif wt == FIXED64:
            if i + 8 > n:
                raise ProtoError("truncated fixed64")
            yield num, wt, i, i + 8
            i += 8
        elif wt == FIXED32:
            if i + 4 > n:
                raise ProtoError("truncated fixed32")
            yield num, wt, i, i + 4
            i += 4
        else:
            raise ProtoError(f"unsupported wire type {wt}")


def text(buf: bytes, a: int, b: int) -> str:
    """A string field (invalid UTF-8 becomes replacement characters, never an error)."""
    return buf[a:b].decode("utf-8", errors="replace")


def double(buf: bytes, a: int) -> float:
    return float(_DOUBLE.unpack_from(buf, a)[0])


def signed(value: int) -> int:
    """An ``int64`` varint as a Python int (two's complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def zigzag(value: int) -> int:
    """An ``sint64`` varint as a Python int."""
    return (value >> 1) ^ -(value & 1)


def timestamp(buf: bytes, a: int, b: int) -> float:
    """A ``google.protobuf.Timestamp`` as Unix seconds."""
    seconds = nanos = 0
    for num, wt, x, _ in fields(buf[a:b]):
        if num == 1 and wt == VARINT:
            seconds = signed(x)
        elif num == 2 and wt == VARINT:
            nanos = signed(x)
    return seconds + nanos * 1e-9
