"""Write the text-log benchmarks: a TRL-shaped console log and a ``trainer_state.json``.

The console log is what ``trainer.train()`` prints to a terminal captured with ``tee``: per
optimizer step a few tqdm redraws (``\\r``-separated), then HF's ``ProgressCallback`` log dict
(``{'loss': ..., 'grad_norm': ..., ...}``), an eval dict every 50 steps and an occasional
warning. ``trainer_state.json`` is what transformers writes at a checkpoint: ``log_history``
with one dict per logged step.

Usage: ``python3 benchmarks/gen_text.py [--mb 200] [--rows 50000] [--out benchmarks/data]``
"""

from __future__ import annotations

import argparse
import json
import math
import os

KEYS = [
    "loss",
    "grad_norm",
    "learning_rate",
    "num_tokens",
    "completions/mean_length",
    "completions/min_length",
    "completions/max_length",
    "completions/clipped_ratio",
    "rewards/accuracy_reward/mean",
    "rewards/accuracy_reward/std",
    "reward",
    "reward_std",
    "frac_reward_zero_std",
    "kl",
    "entropy",
    "clip_ratio/region_mean",
    "epoch",
]


def _row(step: int) -> dict[str, float]:
    return {k: round(math.sin(step * 0.01 + i) * (i + 1) + step * 1e-5, 6) for i, k in enumerate(KEYS)}


def console(path: str, mb: float) -> int:
    total = 10**9
    target = int(mb * 1e6)
    written = 0
    step = 0
    with open(path, "w", encoding="utf-8") as f:
        while written < target:
            step += 1
            parts = []
            for sub in range(3):
                pct = step * 100 // total
                parts.append(f"\r{pct:3d}%|{'█' * (pct // 10):<10}| {step}/{total} [00:{sub:02d}<12:34:56,  1.23it/s]")
            parts.append("\r" + " " * 40 + "\r" + repr(_row(step)) + "\n")
            if step % 50 == 0:
                parts.append(repr({"eval_loss": 0.5 + step * 1e-6, "eval_runtime": 12.5, "epoch": step / 1e4}) + "\n")
            if step % 997 == 0:
                parts.append("/venv/lib/python3.11/site-packages/torch/utils/checkpoint.py:91: UserWarning: None\n")
            text = "".join(parts)
            f.write(text)
            written += len(text.encode("utf-8"))
    return step


def trainer_state(path: str, rows: int) -> None:
    history = [{**_row(s), "step": s} for s in range(1, rows + 1)]
    doc = {"global_step": rows, "max_steps": rows, "logging_steps": 1, "log_history": history}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200.0)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "data"))
    args = parser.parse_args()
    cdir = os.path.join(args.out, "console")
    sdir = os.path.join(args.out, "trainer_state", "checkpoint-1")
    os.makedirs(cdir, exist_ok=True)
    os.makedirs(sdir, exist_ok=True)
    steps = console(os.path.join(cdir, "console.log"), args.mb)
    print(f"console.log: {steps} steps, {os.path.getsize(os.path.join(cdir, 'console.log')) / 1e6:.0f} MB")
    trainer_state(os.path.join(sdir, "trainer_state.json"), args.rows)
    print(f"trainer_state.json: {args.rows} rows")


if __name__ == "__main__":
    main()
