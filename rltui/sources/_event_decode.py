"""Decode framed ``Event`` protobufs into scalar points and text summaries.

Nearly every record in a training run's event file is one scalar written by ``add_scalar``, and
protobuf serialises it with one fixed layout (fields in number order)::

    09 <wall_time f64> 10 <step varint> 2a <n> 0a <n-2> 0a <taglen> <tag> 15 <value f32>

Those records are recognised and decoded with numpy over all records at once; the tags are told
apart by the 64-bit words that exactly cover their bytes, so equal words mean equal tags. Every
other record (text summaries, tensor-encoded scalars, step 0, several values per event, anything
unusual) goes through tensorboard's own ``event_pb2`` parser, which is the reference for what the
bytes mean, so the fast path can only be faster, never different.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from rltui.records import Sample
from rltui.sources.text_generations import is_generations_tag, parse_generations
from rltui.text import sanitize

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

_MIN_FAST = 22  # 09+8, 10+1, 2a+1, 0a+1, 0a+1, 15+4 with an empty tag
_MAX_FAST = 137  # one-byte lengths: len1 = taglen + 9 < 128
_VERSION_CHECK_LIMIT = 64  # more slow records than this: the protobuf import is paid anyway
_HASH_MULT = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64
)
_VARINT_MASKS = np.array([0, 0x7F, 0x3FFF, 0x1FFFFF, 0xFFFFFFF], dtype=np.uint64)
_KEEP_HIGH = np.array(
    [(0xFFFFFFFFFFFFFFFF << (8 * z)) & 0xFFFFFFFFFFFFFFFF for z in range(9)], dtype=np.uint64
)

# tensorflow DataType enum values (tensorboard/compat/proto/types.proto).
_DT_FLOAT, _DT_DOUBLE, _DT_INT32, _DT_UINT8, _DT_INT16, _DT_INT8 = 1, 2, 3, 4, 5, 6
_DT_STRING, _DT_INT64, _DT_BOOL, _DT_BFLOAT16, _DT_HALF = 7, 9, 10, 14, 19
_DT_UINT32, _DT_UINT64, _DT_UINT16 = 22, 23, 17
_CONTENT_DTYPES = {
    _DT_FLOAT: "<f4",
    _DT_DOUBLE: "<f8",
    _DT_INT32: "<i4",
    _DT_UINT8: "u1",
    _DT_INT16: "<i2",
    _DT_INT8: "i1",
    _DT_INT64: "<i8",
    _DT_BOOL: "?",
    _DT_HALF: "<f2",
    _DT_UINT16: "<u2",
    _DT_UINT32: "<u4",
    _DT_UINT64: "<u8",
}


@dataclass(slots=True)
class Decoded:
    """Points per raw tag as (record ordinal, step, wall_time, value) columns, plus texts."""

    points: dict[str, tuple[I64, I64, F64, F64]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    problems: list[tuple[int, str]] = field(default_factory=list)
    #: Generations logged as text summaries (verl ``val/generations``), in record order.
    samples: list[Sample] = field(default_factory=list)


def decode(buf: bytes, record_starts: I64, data_lengths: I64) -> Decoded:
    """Decode the records at ``record_starts`` (TFRecord header offsets within ``buf``)."""
    out = Decoded()
    if len(record_starts) == 0:
        return out
    data = record_starts + 12
    fast_idx, tags, tag_ids, steps, walls, values = _decode_fast(buf, data, data_lengths)
    slow = np.ones(len(data), dtype=bool)
    slow[fast_idx] = False
    parts: dict[str, list[tuple[I64, I64, F64, F64]]] = {}
    if len(fast_idx):
        order = np.argsort(tag_ids, kind="stable")
        bounds = np.searchsorted(tag_ids[order], np.arange(len(tags) + 1))
        for t, tag in enumerate(tags):
            sel = order[bounds[t] : bounds[t + 1]]
            parts.setdefault(tag, []).append((fast_idx[sel], steps[sel], walls[sel], values[sel]))
    slow_idx = np.flatnonzero(slow)
    if 0 < len(slow_idx) <= _VERSION_CHECK_LIMIT:
        keep = [not _is_version_event(buf, int(data[i]), int(data_lengths[i])) for i in slow_idx]
        slow_idx = slow_idx[np.array(keep, dtype=bool)]
    if len(slow_idx):
        _decode_slow(buf, record_starts, data, data_lengths, slow_idx, parts, out)
    for tag, cols in parts.items():
        if len(cols) == 1:
            out.points[tag] = cols[0]
            continue
        ordinal = np.concatenate([c[0] for c in cols])
        o = np.argsort(ordinal, kind="stable")
        out.points[tag] = (
            ordinal[o],
            np.concatenate([c[1] for c in cols])[o],
            np.concatenate([c[2] for c in cols])[o],
            np.concatenate([c[3] for c in cols])[o],
        )
    return out


def _is_version_event(buf: bytes, start: int, length: int) -> bool:
    """The ``file_version`` event that opens every file, as tensorboard's writer serialises it.

    ``09 <wall_time> 1a <n> <file_version>``, optionally followed by ``52 <m> 0a <m-2> <writer>``
    (``source_metadata``). It holds no points, and recognising it spares a read of plain scalars
    the protobuf import (~30 ms); requiring ASCII strings (hence valid UTF-8, which protobuf
    demands of a string) and one-byte lengths makes skipping it exact.
    """
    end = start + length
    if length < 11 or buf[start] != 0x09 or buf[start + 9] != 0x1A or buf[start + 10] >= 0x80:
        return False
    pos = start + 11 + buf[start + 10]
    if pos > end or not buf[start + 11 : pos].isascii():
        return False
    if pos == end:
        return True
    if pos + 4 > end or buf[pos] != 0x52 or buf[pos + 2] != 0x0A:
        return False
    size, inner = buf[pos + 1], buf[pos + 3]
    return size < 0x80 and inner + 2 == size and pos + 2 + size == end and buf[pos + 4 : end].isascii()


def _decode_fast(buf: bytes, data: I64, lengths: I64) -> tuple[I64, list[str], I64, I64, F64, F64]:
    """Vectorised decode of the ``add_scalar`` layout; returns the indices it handled.

    Every byte of the layout is fixed by the record length and the step varint's length ``k``:
    the tag length is ``length - 21 - k``, and so are the three length bytes before it. So one
    ``uint64`` read checks the whole ``2a .. 0a tl`` header against what the length implies.
    """
    n = len(buf)
    arr = np.frombuffer(buf, dtype=np.uint8)
    u64 = np.ndarray((max(n - 7, 0),), dtype="<u8", buffer=buf, offset=0, strides=(1,))
    idx = np.flatnonzero((lengths >= _MIN_FAST) & (lengths <= _MAX_FAST))
    d = data[idx]
    end = d + lengths[idx]
    # Bytes d+9 .. d+16 (inside the record: length >= 22): the 0x10 step tag and 4 varint bytes.
    w = u64[d + 9]
    ok = (arr[d] == 0x09) & ((w & np.uint64(0xFF)) == 0x10)
    v = (w >> np.uint64(8)) & np.uint64(0xFFFFFFFF)
    stop = ~v & np.uint64(0x80808080)  # one bit per varint byte that ends the varint
    ok &= stop != 0  # steps of more than 4 bytes (>= 2**28) take the slow path
    k = (
        1
        + ((stop & np.uint64(0x80)) == 0).view(np.uint8)
        + ((stop & np.uint64(0x8080)) == 0).view(np.uint8)
        + ((stop & np.uint64(0x808080)) == 0).view(np.uint8)
    ).astype(np.int64)
    t = v & np.uint64(0x7F7F7F7F)
    packed = (
        (t & np.uint64(0x7F))
        | ((t >> np.uint64(1)) & np.uint64(0x3F80))
        | ((t >> np.uint64(2)) & np.uint64(0x1FC000))
        | ((t >> np.uint64(3)) & np.uint64(0xFE00000))
    )
    step = (packed & _VARINT_MASKS[k]).view(np.int64)
    tl = lengths[idx] - 21 - k
    ok &= tl >= 2
    s = d + 10 + k  # the 0x2a summary tag; s + 8 <= end - 3 whenever tl >= 2
    expected = (tl << 40) | ((tl + 7) << 24) | ((tl + 9) << 8) | 0x0A000A002A
    ok &= (u64[s].view(np.int64) & 0xFFFFFFFFFFFF) == expected
    te = end - 5  # end of the tag: the 0x15 simple_value tag
    ok &= arr[te] == 0x15
    if not ok.all():
        idx, d, step, tl, te = idx[ok], d[ok], step[ok], tl[ok], te[ok]
    if len(idx) == 0:
        z = np.zeros(0, np.int64)
        return z, [], z, z, np.zeros(0), np.zeros(0)
    f64 = np.ndarray((n - 7,), dtype="<f8", buffer=buf, offset=0, strides=(1,))
    f32 = np.ndarray((n - 3,), dtype="<f4", buffer=buf, offset=0, strides=(1,))
    walls = f64[d + 1].astype(np.float64, copy=False)
    values = f32[te + 1].astype(np.float64)
    tags, tag_ids = _tag_ids(buf, u64, te, tl)
    keep = tag_ids >= 0
    if not keep.all():
        idx, tag_ids, step, walls, values = idx[keep], tag_ids[keep], step[keep], walls[keep], values[keep]
    return idx, tags, tag_ids, step, walls, values


def _tag_ids(buf: bytes, u64: npt.NDArray[np.uint64], te: I64, tl: I64) -> tuple[list[str], I64]:
    """Number the distinct tags (``tl`` bytes ending at ``te``); -1 where not decided here.

    A tag is identified by the words covering it and the byte before it (its length), each word
    read backwards from its end, with the bytes before that coverage masked out; equal word rows
    therefore mean equal tags. A row hash groups them, and every row is then compared with its
    group's representative, so a hash collision can only send records to the slow path.
    """
    cover = tl + 1
    rows = []
    h = np.zeros(len(te), dtype=np.uint64)
    for j in range(int((int(cover.max()) + 7) // 8)):
        drop = np.clip(8 * (j + 1) - cover, 0, 8)  # leading bytes of word j outside the tag
        word = u64[np.maximum(te - 8 * (j + 1), 0)] & _KEEP_HIGH[drop]
        rows.append(word)
        h += word * _HASH_MULT[j % len(_HASH_MULT)]
    uniq = np.unique(h)
    inv = np.searchsorted(uniq, h)
    rep = np.empty(len(uniq), dtype=np.int64)
    rep[inv] = np.arange(len(h))  # any member will do: all are compared with it below
    rep_of = rep[inv]
    same = np.ones(len(h), dtype=bool)
    for word in rows:
        same &= word == word[rep_of]
    names: list[str] = []
    ids = np.full(len(uniq), -1, dtype=np.int64)
    for u, r in enumerate(rep.tolist()):
        end = int(te[r])
        try:  # protobuf rejects a tag that is not UTF-8: leave those to the slow path
            names.append(buf[end - int(tl[r]) : end].decode("utf-8"))
        except UnicodeDecodeError:
            continue
        ids[u] = len(names) - 1
    tag_ids = ids[inv]
    tag_ids[~same] = -1
    return names, tag_ids


def _decode_slow(
    buf: bytes,
    record_starts: I64,
    data: I64,
    lengths: I64,
    which: I64,
    parts: dict[str, list[tuple[I64, I64, F64, F64]]],
    out: Decoded,
) -> None:
    from google.protobuf.message import DecodeError
    from tensorboard.compat.proto import event_pb2

    ords: dict[str, tuple[list[int], list[int], list[float], list[float]]] = {}
    for i in which.tolist():
        start = int(data[i])
        try:
            event = event_pb2.Event.FromString(buf[start : start + int(lengths[i])])
        except (DecodeError, ValueError, RuntimeError) as e:
            out.problems.append((int(record_starts[i]), f"undecodable event: {type(e).__name__}"))
            continue
        if not event.HasField("summary"):
            continue
        for value in event.summary.value:
            kind = value.WhichOneof("value")
            plugin = value.metadata.plugin_data.plugin_name
            if kind == "simple_value":
                scalar: float | None = float(value.simple_value)
            elif kind == "tensor" and plugin == "text":
                text = sanitize(_tensor_text(value.tensor))
                out.texts[value.tag] = text
                if is_generations_tag(value.tag):
                    out.samples.extend(parse_generations(text, int(event.step)))
                continue
            elif kind == "tensor" and plugin == "scalars":
                scalar = _tensor_scalar(value.tensor)
            else:
                continue
            if scalar is None:
                out.problems.append((int(record_starts[i]), f"tag {value.tag!r}: not a scalar tensor"))
                continue
            cols = ords.setdefault(value.tag, ([], [], [], []))
            cols[0].append(i)
            cols[1].append(int(event.step))
            cols[2].append(float(event.wall_time))
            cols[3].append(scalar)
    for tag, (o, s, w, v) in ords.items():
        parts.setdefault(tag, []).append(
            (
                np.asarray(o, dtype=np.int64),
                np.asarray(s, dtype=np.int64),
                np.asarray(w, dtype=np.float64),
                np.asarray(v, dtype=np.float64),
            )
        )


def _tensor_text(tensor: Any) -> str:
    return "\n".join(s.decode("utf-8", errors="replace") for s in tensor.string_val)


def _tensor_scalar(tensor: Any) -> float | None:
    """The single number in a scalar tensor (tf.summary.scalar / new-style add_scalar)."""
    dims = [d.size for d in tensor.tensor_shape.dim]
    if any(size != 1 for size in dims):
        return None
    dtype = int(tensor.dtype)
    if tensor.tensor_content:
        np_dtype = _CONTENT_DTYPES.get(dtype)
        if np_dtype is None or len(tensor.tensor_content) != np.dtype(np_dtype).itemsize:
            return None
        return float(np.frombuffer(tensor.tensor_content, dtype=np_dtype)[0])
    field_for = {
        _DT_FLOAT: "float_val",
        _DT_DOUBLE: "double_val",
        _DT_INT32: "int_val",
        _DT_UINT8: "int_val",
        _DT_INT16: "int_val",
        _DT_INT8: "int_val",
        _DT_UINT16: "int_val",
        _DT_INT64: "int64_val",
        _DT_BOOL: "bool_val",
        _DT_UINT32: "uint32_val",
        _DT_UINT64: "uint64_val",
    }
    if dtype in (_DT_HALF, _DT_BFLOAT16):
        if len(tensor.half_val) != 1:
            return None
        bits = int(tensor.half_val[0]) & 0xFFFF
        if dtype == _DT_HALF:
            return float(np.array([bits], dtype=np.uint16).view(np.float16)[0])
        return float(np.array([bits << 16], dtype=np.uint32).view(np.float32)[0])
    name = field_for.get(dtype)
    if name is None:
        return None
    vals = getattr(tensor, name)
    return float(vals[0]) if len(vals) == 1 else None


def run_settings(texts: dict[str, str]) -> tuple[int | None, int | None]:
    """``max_steps`` and ``logging_steps`` from transformers' ``args/text_summary`` JSON."""
    raw = texts.get("args/text_summary")
    if raw is None:
        return None, None
    try:
        args = json.loads(raw)
    except ValueError:
        return None, None
    if not isinstance(args, dict):
        return None, None

    def positive_int(key: str) -> int | None:
        v = args.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None

    return positive_int("max_steps"), positive_int("logging_steps")
