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

from rltui.text import sanitize

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

_MIN_FAST = 22  # 09+8, 10+1, 2a+1, 0a+1, 0a+1, 15+4 with an empty tag
_MAX_FAST = 137  # one-byte lengths: len1 = taglen + 9 < 128
_HASH_MULT = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93] * 5,
    dtype=np.uint64,
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


def _decode_fast(buf: bytes, data: I64, lengths: I64) -> tuple[I64, list[str], I64, I64, F64, F64]:
    """Vectorised decode of the ``add_scalar`` layout; returns the indices it handled."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    idx = np.flatnonzero((lengths >= _MIN_FAST) & (lengths <= _MAX_FAST))
    d = data[idx]
    ok = (arr[d] == 0x09) & (arr[d + 9] == 0x10)
    idx, d = idx[ok], d[ok]
    # Step varint of 1..4 bytes (steps < 2**28); longer or negative steps take the slow path.
    b = [arr[d + 10 + k].astype(np.int64) for k in range(4)]
    k = np.full(len(d), 0, dtype=np.int64)
    k[b[0] < 0x80] = 1
    k[(k == 0) & (b[1] < 0x80)] = 2
    k[(k == 0) & (b[2] < 0x80)] = 3
    k[(k == 0) & (b[3] < 0x80)] = 4
    step = b[0] & 0x7F
    step = np.where(k >= 2, step | ((b[1] & 0x7F) << 7), step)
    step = np.where(k >= 3, step | ((b[2] & 0x7F) << 14), step)
    step = np.where(k >= 4, step | ((b[3] & 0x7F) << 21), step)
    ok = k > 0
    s = d + 10 + k  # the 0x2a summary tag
    end = data[idx] + lengths[idx]
    s_c = np.minimum(s, end - 6)  # keep reads inside the record; `ok` rejects what this clips
    len1 = arr[s_c + 1].astype(np.int64)
    len2 = arr[s_c + 3].astype(np.int64)
    tl = arr[s_c + 5].astype(np.int64)
    ok &= (arr[s_c] == 0x2A) & (arr[s_c + 2] == 0x0A) & (arr[s_c + 4] == 0x0A)
    ok &= (s + 2 + len1 == end) & (len2 == len1 - 2) & (tl + 7 == len2) & (tl >= 2)
    tag_end = np.where(ok, s + 6 + tl, end - 5)
    ok &= arr[tag_end] == 0x15
    idx, d, step, tl, tag_end = idx[ok], d[ok], step[ok], tl[ok], tag_end[ok]
    if len(idx) == 0:
        z = np.zeros(0, np.int64)
        return z, [], z, z, np.zeros(0), np.zeros(0)
    u64 = np.ndarray((len(buf) - 7,), dtype="<u8", buffer=buf, offset=0, strides=(1,))
    f64 = np.ndarray((len(buf) - 7,), dtype="<f8", buffer=buf, offset=0, strides=(1,))
    f32 = np.ndarray((len(buf) - 3,), dtype="<f4", buffer=buf, offset=0, strides=(1,))
    walls = f64[d + 1].astype(np.float64)
    values = f32[tag_end + 1].astype(np.float64)

    tag_ids = np.full(len(idx), -1, dtype=np.int64)
    tags: list[str] = []
    tag_index: dict[str, int] = {}
    for length in np.unique(tl).tolist():
        grp = np.flatnonzero(tl == length)
        te = tag_end[grp]
        # Words that cover exactly the tag bytes; short tags include their fixed-layout prefix.
        if length < 8:
            words = u64[te - 8][:, None]
        else:
            offs = [min(8 * i, length - 8) for i in range((length + 7) // 8)]
            words = np.stack([u64[te - length + o] for o in offs], axis=1)
        nw = words.shape[1]
        h = words[:, 0] if nw == 1 else (words * _HASH_MULT[:nw]).sum(axis=1, dtype=np.uint64)
        uniq, first, inv = np.unique(h, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        same = (words == words[first[inv]]).all(axis=1)
        for u in range(len(uniq)):
            rep = int(grp[first[u]])
            start = int(tag_end[rep]) - length
            tag = buf[start : start + length].decode("utf-8", errors="replace")
            tid = tag_index.setdefault(tag, len(tags))
            if tid == len(tags):
                tags.append(tag)
            members = grp[(inv == u) & same]
            tag_ids[members] = tid
    keep = tag_ids >= 0  # hash collisions (never seen, but possible) go to the slow path
    return idx[keep], tags, tag_ids[keep], step[keep], walls[keep], values[keep]


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
                out.texts[value.tag] = sanitize(_tensor_text(value.tensor))
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
