"""Write the benchmark's TRL-shaped event file: 30 tags x 20k steps = 600k scalars.

The bytes are what ``torch.utils.tensorboard.SummaryWriter.add_scalar`` writes (torch is not
installed here): torch builds ``Summary(value=[Summary.Value(tag=..., simple_value=...)])`` inside an
``Event(wall_time=..., step=...)`` and hands it to tensorboard's ``EventFileWriter``, which frames
it with ``RecordWriter``. We serialise the same protobufs, but frame them with the C ``crc32c``
package because tensorboard's pure-Python CRC would make generation take minutes; the first records
are checked byte for byte against tensorboard's own ``RecordWriter`` so the shortcut cannot drift.

Usage: ``python3 benchmarks/gen_tfevents.py [--steps 20000] [--out benchmarks/data]``
"""

from __future__ import annotations

import argparse
import io
import math
import os
import struct
import sys
import time
from typing import Any

import crc32c
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

TAGS = [
    "train/loss",
    "train/grad_norm",
    "train/learning_rate",
    "train/entropy",
    "train/num_tokens",
    "train/mean_token_accuracy",
    "train/rewards/chosen",
    "train/rewards/rejected",
    "train/rewards/accuracies",
    "train/rewards/margins",
    "train/logps/chosen",
    "train/logps/rejected",
    "train/logits/chosen",
    "train/logits/rejected",
    "train/epoch",
    "train/kl",
    "train/reward",
    "train/reward_std",
    "train/frac_reward_zero_std",
    "train/completions/mean_length",
    "train/completions/min_length",
    "train/completions/max_length",
    "train/completions/clipped_ratio",
    "train/clip_ratio/low_mean",
    "train/clip_ratio/high_mean",
    "train/clip_ratio/region_mean",
    "train/step_time",
    "eval/loss",
    "eval/rewards/margins",
    "eval/runtime",
]
assert len(TAGS) == 30


def _masked_crc(data: bytes) -> int:
    crc = crc32c.crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """One TFRecord: length, masked CRC of the length, data, masked CRC of the data."""
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", _masked_crc(header)) + data + struct.pack("<I", _masked_crc(data))


def _wire(message: Any) -> bytes:
    """``message.SerializeToString()``, typed: tensorboard's protobuf modules ship no stubs."""
    data: bytes = message.SerializeToString()
    return data


def version_event(wall_time: float) -> bytes:
    """The first event every EventFileWriter writes."""
    ev = event_pb2.Event(wall_time=wall_time, file_version="brain.Event:2")
    ev.source_metadata.writer = "tensorboard.summary.writer.event_file_writer"
    return _wire(ev)


def scalar_event(tag: str, value: float, step: int, wall_time: float) -> bytes:
    """Exactly what torch's ``add_scalar`` (simple_value, not new_style) serialises."""
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
    return _wire(event_pb2.Event(summary=summary, wall_time=wall_time, step=step))


def _value(tag_index: int, step: int) -> float:
    return math.sin(step * 0.001 + tag_index) * (1.0 + tag_index) + step * 1e-4


def generate(path: str, steps: int, start: float = 1_795_407_006.0) -> int:
    """Write the file; return the number of scalar points."""
    chunks = [frame(version_event(start))]
    n = 0
    for step in range(1, steps + 1):
        wall = start + step * 0.25
        for i, tag in enumerate(TAGS):
            chunks.append(frame(scalar_event(tag, _value(i, step), step, wall + i * 1e-5)))
            n += 1
    with open(path, "wb") as f:
        f.write(b"".join(chunks))
    return n


def check_against_tensorboard_writer(steps: int = 3) -> None:
    """Our framing must equal tensorboard's RecordWriter byte for byte."""
    ours = io.BytesIO()
    theirs = io.BytesIO()
    writer = RecordWriter(theirs)
    for step in range(steps):
        for i, tag in enumerate(TAGS):
            data = scalar_event(tag, _value(i, step), step, 1.5 + step)
            ours.write(frame(data))
            writer.write(data)
    if ours.getvalue() != theirs.getvalue():
        sys.exit("framing differs from tensorboard's RecordWriter")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "data"))
    args = parser.parse_args()
    check_against_tensorboard_writer()
    run_dir = os.path.join(args.out, f"trl_{len(TAGS)}x{args.steps}")
    os.makedirs(run_dir, exist_ok=True)
    path = os.path.join(run_dir, "events.out.tfevents.1795407006.bench.1.0")
    t0 = time.perf_counter()
    n = generate(path, args.steps)
    print(
        f"wrote {n} scalars, {os.path.getsize(path) / 1e6:.1f} MB to {path} "
        f"in {time.perf_counter() - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
