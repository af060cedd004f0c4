"""Write a sweep: N runs (default 100) of the 30 benchmark tags x S steps (default 2000) each.

Each run is a folder with one TRL-shaped event file (the bytes ``gen_tfevents.py`` writes), its
values shifted per run so the runs differ. The issue-11 sweep benchmark: ``rltui check --json``
on the sweep's folder against RustBoard's load cycle on the same logdir.

Usage: ``python3 benchmarks/gen_sweep.py [--runs 100] [--steps 2000] [--out benchmarks/data]``
"""

from __future__ import annotations

import argparse
import math
import os
import time

from gen_tfevents import TAGS, frame, scalar_event, version_event


def write_run(path: str, steps: int, run: int, start: float = 1_795_407_006.0) -> None:
    chunks = [frame(version_event(start))]
    for step in range(1, steps + 1):
        wall = start + step * 0.25
        for i, tag in enumerate(TAGS):
            value = math.sin(step * 0.003 + i + run) * (1.0 + i) + step * 1e-4 * (1 + run % 7)
            chunks.append(frame(scalar_event(tag, value, step, wall + i * 1e-5)))
    with open(path, "wb") as f:
        f.write(b"".join(chunks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "data"))
    args = parser.parse_args()
    root = os.path.join(args.out, f"sweep_{args.runs}x{args.steps}")
    t0 = time.perf_counter()
    for r in range(args.runs):
        run_dir = os.path.join(root, f"run_{r:03d}")
        os.makedirs(run_dir, exist_ok=True)
        write_run(os.path.join(run_dir, f"events.out.tfevents.1795407006.bench.{r}.0"), args.steps, r)
    print(f"wrote {args.runs} runs x {len(TAGS)} tags x {args.steps} steps to {root} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
