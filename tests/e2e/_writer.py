"""A TRL-shaped training run for end-to-end tests and benchmarks, written the way HF writes it.

transformers' ``TensorBoardCallback`` opens a torch ``SummaryWriter`` on
``output_dir/runs/<stamp>_<host>/``, writes the ``TrainingArguments`` JSON once with
``add_text("args", ...)`` (stored under the tag ``args/text_summary``), and at every log step
calls ``add_scalar("train/<key>", value, global_step)`` for each number and then ``flush()``.
torch is not installed here, so this module builds the same protobufs (``Summary.Value`` with a
``simple_value``; a ``DT_STRING`` tensor with the ``text`` plugin) and hands them to tensorboard's
own ``EventFileWriter``, which is what ``SummaryWriter`` uses underneath. No ``trainer_state.json``
is written: that only appears at the first checkpoint.

Also usable from the command line, to feed a dashboard by hand:
``python3 -m tests.e2e._writer OUT_DIR --steps 100 --interval 0.5 [--explode-at 40]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

#: The DPO config the run "was trained with" (a subset of DPOConfig.to_json_string()).
DPO_CONFIG: dict[str, Any] = {
    "output_dir": "dpo-e2e",
    "beta": 0.1,
    "loss_type": "sigmoid",
    "max_steps": 200,
    "logging_steps": 1,
    "learning_rate": 5e-6,
    "per_device_train_batch_size": 2,
    "gradient_accumulation_steps": 1,
    "warmup_steps": 0,
    "warmup_ratio": 0.0,
    "num_train_epochs": 3.0,
    "label_smoothing": 0.0,
    "max_length": 1024,
    "seed": 42,
    "report_to": ["tensorboard"],
}


def _scalar_value(tag: str, value: float) -> summary_pb2.Summary.Value:
    """What torch's ``add_scalar`` builds (``new_style=False``): a float32 ``simple_value``."""
    return summary_pb2.Summary.Value(tag=tag, simple_value=value)


def _text_value(tag: str, text: str) -> summary_pb2.Summary.Value:
    """What torch's ``add_text`` builds: tag + ``/text_summary``, a 1-element DT_STRING tensor."""
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        string_val=[text.encode("utf-8")],
        tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]),
    )
    meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
    return summary_pb2.Summary.Value(tag=f"{tag}/text_summary", tensor=tensor, metadata=meta)


def healthy_dpo(step: int) -> dict[str, float]:
    """A calm DPO step: margin rising slowly to ~2, accuracy ~0.7-0.8, loss ~0.6."""
    margin = 2.0 * (1 - math.exp(-step / 60)) + 0.05 * math.sin(step)
    chosen = 0.4 * margin
    return {
        "loss": 0.693 - 0.05 * margin + 0.01 * math.cos(step),
        "grad_norm": 4.0 + math.sin(step / 3),
        "learning_rate": 5e-6,
        "rewards/chosen": chosen,
        "rewards/rejected": chosen - margin,
        "rewards/accuracies": 0.7 + 0.05 * math.sin(step / 2),
        "rewards/margins": margin,
        "logps/chosen": -250.0 + step * 0.1,
        "logps/rejected": -260.0 - step * 0.1,
        "logits/chosen": -1.2,
        "logits/rejected": -1.3,
        "epoch": step / 100,
    }


def exploding_dpo(step: int, since: int) -> dict[str, float]:
    """Memorising the pairs ([S2]): margin far above 50 and growing, accuracy 1, loss ~0."""
    k = step - since + 1
    margin = 60.0 + 15.0 * k
    out = healthy_dpo(step)
    out.update(
        {
            "loss": 10.0 ** (-4 - 0.5 * k),
            "rewards/chosen": 0.3 * margin,
            "rewards/rejected": -0.7 * margin,
            "rewards/accuracies": 1.0,
            "rewards/margins": margin,
            "grad_norm": 10.0 ** (-2 - 0.5 * k),
        }
    )
    return out


class TrlEventWriter:
    """One HF ``runs/<stamp>/`` event file, written step by step and flushed after each log."""

    def __init__(self, output_dir: str | os.PathLike[str], stamp: str = "Jan01_00-00-00_e2e") -> None:
        self.logdir = Path(output_dir) / "runs" / stamp
        self.logdir.mkdir(parents=True, exist_ok=True)
        # HF flushes explicitly after each log; the writer's own timer would only add noise.
        self._writer = EventFileWriter(str(self.logdir), max_queue_size=1000, flush_secs=3600)
        (self.path,) = self.logdir.glob("events.out.tfevents.*")

    def write_args(self, config: Mapping[str, Any]) -> None:
        """``on_train_begin``: the TrainingArguments JSON as a text summary at step 0."""
        text = json.dumps(dict(config), indent=2, sort_keys=True)
        summary = summary_pb2.Summary(value=[_text_value("args", text)])
        self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=0, summary=summary))
        self._writer.flush()

    def log(self, step: int, scalars: Mapping[str, float], prefix: str = "train/") -> None:
        """``on_log``: one event per scalar (as ``add_scalar`` does), then one flush."""
        for key, value in scalars.items():
            summary = summary_pb2.Summary(value=[_scalar_value(prefix + key, float(value))])
            self._writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> TrlEventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--explode-at", type=int, default=None)
    a = ap.parse_args()
    with TrlEventWriter(a.out) as w:
        w.write_args(DPO_CONFIG | {"max_steps": a.steps})
        for step in range(1, a.steps + 1):
            exploding = a.explode_at is not None and step >= a.explode_at
            w.log(step, exploding_dpo(step, a.explode_at) if exploding else healthy_dpo(step))
            time.sleep(a.interval)


if __name__ == "__main__":
    main()
