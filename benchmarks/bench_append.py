"""Cost of one appended step as a run's history grows (issue 11: it must not grow with history).

Builds a TRL/GRPO-shaped store of the 30 benchmark tags (the values ``gen_tfevents.py`` writes)
with N steps, takes the first snapshot (the catch-up), then appends one step at a time (30 points,
as one ``read()`` of a live event file hands them over) and times ``store.add`` + ``snapshot()``:
exactly what the dashboard does per refresh, minus the O(new bytes) file read that
``bench_load.py`` times separately. Median and p95 over the appends.

Usage: ``python3 benchmarks/bench_append.py [--steps 20000 100000 500000] [--appends 40]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from gen_tfevents import TAGS

from rltui.model.engine import RunModel
from rltui.model.snapshot import RunInfo
from rltui.model.store import MetricStore
from rltui.records import PointChunk
from rltui.sources.names import canonical_tb_tag

START = 1_795_407_006.0


def _values(i: int, steps: np.ndarray) -> np.ndarray:
    return np.sin(steps * 0.001 + i) * (1.0 + i) + steps * 1e-4


def _chunks(lo: int, hi: int) -> dict[str, PointChunk]:
    steps = np.arange(lo, hi, dtype=np.int64)
    return {
        canonical_tb_tag(tag): PointChunk(
            steps,
            (START + steps * 0.25 + i * 1e-5).astype(np.float64, copy=False),
            _values(i, steps.astype(np.float64)),
        )
        for i, tag in enumerate(TAGS)
    }


def measure(n: int, appends: int) -> tuple[float, float, float]:
    """(first snapshot s, median append ms, p95 append ms) for a run of ``n`` steps."""
    info = RunInfo(name=f"append-{n}", path="/bench", framework="trl", trainer="grpo")
    store = MetricStore()
    store.add("events", _chunks(1, n + 1))
    model = RunModel(info, store)
    t0 = time.perf_counter()
    model.snapshot()
    first = time.perf_counter() - t0
    times = []
    for k in range(appends + 3):
        step = n + 1 + k
        t0 = time.perf_counter()
        store.add("events", _chunks(step, step + 1))
        model.snapshot()
        times.append(time.perf_counter() - t0)
    times = sorted(times[3:])
    return first, statistics.median(times) * 1e3, times[int(0.95 * (len(times) - 1))] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[20_000, 100_000, 500_000])
    parser.add_argument("--appends", type=int, default=40)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    rows = []
    for n in args.steps:
        first, med, p95 = measure(n, args.appends)
        rows.append((n, med))
        print(
            f"{n:>8} steps x {len(TAGS)} tags: catch-up {first:.2f} s, one appended step median {med:.2f} ms, p95 {p95:.2f} ms"
        )
    if len(rows) > 1:
        ratio = rows[-1][1] / rows[0][1]
        print(f"growth {rows[0][0]} -> {rows[-1][0]} steps: x{ratio:.2f} (target <= x2)")


if __name__ == "__main__":
    main()
