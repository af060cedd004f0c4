"""Sweep start-up: ``rltui compare SWEEP`` -> the first runs on screen, and -> every run loaded.

Issue 11's target: first full screen <= 3 s for a 100-run sweep (30 tags x 2000 steps each, the
folder ``gen_sweep.py`` writes). The app runs headless (Textual's ``run_test``, 160x48) on the
real sessions; the clock starts before the sweep is opened and stops when the app's snapshots
hold at least one run, then all of them. Before the run-by-run pump the first screen came with
the last run (23 s here).

Usage: ``python3 benchmarks/bench_sweep_start.py [SWEEP_DIR]`` (default
``benchmarks/data/sweep_100x2000``; write it with ``python3 benchmarks/gen_sweep.py``).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_frame import machine


async def measure(path: str) -> tuple[int, float, float, float, int]:
    from rltui import session
    from rltui.ui.app import RltuiApp, UiOptions

    t0 = time.monotonic()
    runs = session.open_sessions([path])
    opened = time.monotonic() - t0
    app = RltuiApp(runs, UiOptions(mode="compare", follow=True))
    first = None
    at_3s = 0
    async with app.run_test(size=(160, 48)):
        while True:
            await asyncio.sleep(0.02)
            n = sum(s is not None for s in app.snapshots)
            if n and first is None:
                first = time.monotonic() - t0
            if time.monotonic() - t0 <= 3.0:
                at_3s = n
            if n == len(runs):
                return len(runs), opened, first or 0.0, time.monotonic() - t0, at_3s


def main() -> None:
    default = Path(__file__).resolve().parent / "data" / "sweep_100x2000"
    path = sys.argv[1] if len(sys.argv) > 1 else str(default)
    if not Path(path).is_dir():
        raise SystemExit(f"no sweep at {path}: run python3 benchmarks/gen_sweep.py first")
    print(f"machine: {machine()}")
    n, opened, first, full, at_3s = asyncio.run(measure(path))
    print(
        f"{n} runs: discovered in {opened:.2f} s, first runs on screen at {first:.2f} s "
        f"({at_3s} loaded at 3 s), all loaded at {full:.2f} s"
    )
    print(f"target: first screen <= 3 s -> {'met' if first <= 3 else 'missed'}")


if __name__ == "__main__":
    main()
