"""Build event-file bytes for tests with tensorboard's own protobufs and RecordWriter.

Framing goes through tensorboard's ``RecordWriter`` (its pure-Python CRC), so the tests do not
check rltui's framing against itself.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.summary.writer.record_writer import RecordWriter


def _wire(message: Any) -> bytes:
    """``message.SerializeToString()``, typed: tensorboard's protobuf modules ship no stubs."""
    data: bytes = message.SerializeToString()
    return data


def record(data: bytes) -> bytes:
    out = io.BytesIO()
    RecordWriter(out).write(data)
    return out.getvalue()


def version_event(wall_time: float = 1.7e9) -> bytes:
    return _wire(event_pb2.Event(wall_time=wall_time, file_version="brain.Event:2"))


def scalar_event(tag: str, value: float, step: int, wall_time: float = 1.7e9) -> bytes:
    """What torch's ``SummaryWriter.add_scalar`` serialises."""
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
    return _wire(event_pb2.Event(summary=summary, wall_time=wall_time, step=step))


def text_event(tag: str, text: str, step: int = 0) -> bytes:
    """What torch's ``add_text`` serialises (tag gets ``/text_summary`` there; pass it whole)."""
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        string_val=[text.encode("utf-8")],
        tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]),
    )
    meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)
    return _wire(event_pb2.Event(summary=summary_pb2.Summary(value=[value]), wall_time=1.7e9, step=step))


def tensor_scalar_event(tag: str, tensor: tensor_pb2.TensorProto, step: int) -> bytes:
    """A tf2-style scalar: a 0-d tensor with plugin ``scalars``."""
    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    )
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)
    return _wire(
        event_pb2.Event(summary=summary_pb2.Summary(value=[value]), wall_time=1.7e9 + step, step=step)
    )


def image_event(tag: str, step: int) -> bytes:
    image = summary_pb2.Summary.Image(height=1, width=1, colorspace=1, encoded_image_string=b"\x89PNG")
    value = summary_pb2.Summary.Value(tag=tag, image=image)
    return _wire(event_pb2.Event(summary=summary_pb2.Summary(value=[value]), wall_time=1.7e9, step=step))


def scalar_file(tags: list[str], steps: int, seed: int = 0) -> tuple[bytes, list[tuple[str, int, float]]]:
    """A file of add_scalar records and the (tag, step, float32 value) points it holds."""
    rng = np.random.default_rng(seed)
    parts = [record(version_event())]
    points = []
    for step in range(1, steps + 1):
        for tag in tags:
            value = float(np.float32(rng.normal()))
            parts.append(record(scalar_event(tag, value, step, 1.7e9 + step)))
            points.append((tag, step, value))
    return b"".join(parts), points
