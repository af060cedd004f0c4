"""Completion samples (issue 8): what 150 parquet files cost ``check``, and opening the samples screen.

Builds two copies of the real grpo_length_hacking fixture run in a temporary folder: one without
``completions/`` and one with 150 TRL-shaped parquet files (the fixture's real files re-stamped to
steps 1..150 with pyarrow). Then, each in fresh processes (the first-call cost is what a user pays):

* ``rltui check RUN`` on both: target <= 10 % slower with the 150 files (samples not asked for);
  ``check --json --no-samples`` the same; ``check --json`` (reads every sample) for reference.
* the samples screen: from the ``c`` key to the screen showing the newest step, through Textual's
  Pilot on the real session (pyarrow not imported before the key): target <= 300 ms.

    python3 benchmarks/bench_samples.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "runs" / "grpo_length_hacking"

SCREEN = r"""
import asyncio, sys, time
from rltui.session import open_sessions
from rltui.ui.app import RltuiApp, UiOptions
from rltui.ui.screens.metrics import MetricsScreen
from rltui.ui.screens.samples import SamplesScreen

async def opened(app, action, ready) -> float:
    t0 = time.perf_counter()
    action()
    while not ready():
        await asyncio.sleep(0.001)
    return (time.perf_counter() - t0) * 1000

async def main() -> None:
    session = open_sessions([sys.argv[1]])[0]
    session.load()
    app = RltuiApp([session], UiOptions(follow=False, frozen_now=0.0))
    async with app.run_test(size=(160, 48)) as pilot:
        while any(s is None for s in app.snapshots) or not app.loaded or app.served < app.requested:
            await pilot.pause(0.05)
        assert "pyarrow" not in sys.modules
        c = await opened(app, app.action_samples, lambda: isinstance(app.screen, SamplesScreen)
                         and app.screen.is_mounted and bool(app.screen.rows)
                         and app.screen._drawn is not None)
        app.pop_screen()
        await pilot.pause(0.2)
        m = await opened(app, app.action_metrics, lambda: isinstance(app.screen, MetricsScreen)
                         and app.screen.is_mounted and app.screen.query_one("DataTable").row_count > 0)
        print(c, m)

asyncio.run(main())
"""


def build(tmp: Path) -> tuple[Path, Path]:
    import pyarrow.parquet as pq

    bare = tmp / "bare"
    shutil.copytree(FIXTURE, bare, ignore=shutil.ignore_patterns("completions"))
    full = tmp / "with_samples"
    shutil.copytree(bare, full)
    (full / "completions").mkdir()
    sources = sorted((FIXTURE / "completions").glob("completions_*.parquet"))
    for step in range(1, 151):
        table = pq.read_table(sources[step % len(sources)])
        import pyarrow as pa

        table = table.set_column(0, "step", pa.array([step] * table.num_rows, pa.int64()))
        pq.write_table(table, full / "completions" / f"completions_{step:05d}.parquet")
    return bare, full


def timed(args: list[str], repeat: int) -> list[float]:
    out = []
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "rltui", *args], cwd=ROOT, env=env, capture_output=True, check=False
        )
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as d:
        bare, full = build(Path(d))
        rows = []
        for label, extra in (("check", []), ("check --json --no-samples", ["--json", "--no-samples"])):
            # interleave the two runs so machine noise hits both alike
            a, b = [], []
            for _ in range(args.repeat):
                a += timed(["check", str(bare), *extra], 1)
                b += timed(["check", str(full), *extra], 1)
            ma, mb = statistics.median(a), statistics.median(b)
            rows.append((label, ma, mb))
            verdict = "met" if mb <= 1.10 * ma else "NOT met"
            print(
                f"{label:<28} no samples {ma * 1000:6.0f} ms | 150 parquet files {mb * 1000:6.0f} ms "
                f"| {100 * (mb / ma - 1):+5.1f} % (target <= +10 %: {verdict})"
            )
        c = statistics.median(timed(["check", str(full), "--json"], args.repeat))
        print(f"{'check --json (reads samples)':<28} {c * 1000:6.0f} ms")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        opens, metrics = [], []
        for _ in range(max(3, args.repeat // 2)):
            out = subprocess.run(
                [sys.executable, "-c", SCREEN, str(full)],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            c_ms, m_ms = map(float, out.stdout.strip().splitlines()[-1].split())
            opens.append(c_ms)
            metrics.append(m_ms)
        med = statistics.median(opens)
        print(
            f"samples screen open (c -> newest step on screen, pyarrow imported on the way): "
            f"median {med:.0f} ms, "
            f"max {max(opens):.0f} ms (target <= 300 ms: {'met' if med <= 300 else 'NOT met'}); "
            f"metrics screen (m), same app: median {statistics.median(metrics):.0f} ms"
        )


if __name__ == "__main__":
    main()
