"""Live sweep: 10 of 100 runs append at once -> their new step in the app's snapshots.

Issue 11's target: append -> screen p95 <= 0.5 s while 10 runs write (it measured 1.53 s).
A 100-run sweep of TRL-shaped event files (``tests/e2e/_writer.py``, ``--history`` DPO steps
each) is opened by the real app, headless (Textual's ``run_test``, 160x48, the sweep overview
on top, file events as in ``rltui compare SWEEP``). Then ``--rounds`` times, 10 runs each get one
more step, written and flushed as HF does, all at once; the figure per run and round is the time
from its write to the first snapshot the app holds at that step. It covers the file event, the
pump's read, the model and the app applying the batch, not the terminal's paint
(``bench_latency.py`` measures that for one run: ~0.2 s p95).

Usage: ``python3 benchmarks/bench_sweep_live.py [--runs 100] [--history 100] [--rounds 15]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_frame import machine
from tests.e2e._writer import DPO_CONFIG, TrlEventWriter, healthy_dpo


async def run(a: argparse.Namespace, root: Path) -> list[float]:
    from rltui import session
    from rltui.ui.app import RltuiApp, UiOptions

    writers = []
    for r in range(a.runs):
        w = TrlEventWriter(root / f"run_{r:03d}")
        w.__enter__()
        w.write_args(DPO_CONFIG | {"max_steps": 10_000, "beta": 0.1 + r / 1000})
        for step in range(1, a.history + 1):
            w.log(step, healthy_dpo(step))
        writers.append(w)
    runs = session.open_sessions([str(root)])
    names = [r.info.name for r in runs]
    app = RltuiApp(runs, UiOptions(mode="compare", follow=True))
    latencies: list[float] = []
    async with app.run_test(size=(160, 48)):
        while sum(s is not None for s in app.snapshots) < len(runs):
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        for k in range(a.rounds):
            step = a.history + 1 + k
            chosen = [(k * 7 + 10 * i) % a.runs for i in range(10)]
            written = {}
            for r in chosen:
                writers[r].log(step, healthy_dpo(step))
                written[f"run_{r:03d}"] = time.monotonic()
            pending = dict(written)
            deadline = time.monotonic() + 10
            while pending and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
                for i, snap in enumerate(app.snapshots):
                    name = names[i] if i < len(names) else ""
                    if name in pending and snap is not None and snap.step == step:
                        latencies.append(time.monotonic() - pending.pop(name))
            latencies += [10.0] * len(pending)  # never arrived: counted as 10 s
            await asyncio.sleep(0.5)
    for w in writers:
        w.__exit__(None, None, None)
    return latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--history", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=15)
    a = ap.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        lat = asyncio.run(run(a, Path(tmp)))
    lat.sort()
    p95 = lat[int(0.95 * (len(lat) - 1))]
    print(
        f"{a.runs} runs, 10 appending at once, {a.rounds} rounds: append -> snapshot "
        f"p50 {1000 * statistics.median(lat):.0f} ms  p95 {1000 * p95:.0f} ms  max {1000 * lat[-1]:.0f} ms"
    )
    print(f"target p95 <= 500 ms -> {'met' if p95 <= 0.5 else 'missed'}")


if __name__ == "__main__":
    main()
