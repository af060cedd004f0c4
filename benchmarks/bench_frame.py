"""Frame time of the real dashboard with 16 gauges over 100k points each (design.md §7: <= 50 ms).

The app is rltui's own ``RltuiApp`` driven headless through Textual's ``run_test`` (Pilot), at
160x50 so all 16 gauges are on screen. Its one run is a stand-in for a session: a real
``MetricStore`` holding 16 metrics x 100k points, and a snapshot with one gauge per metric whose
trace is the whole 100k-point series (what an instrument hands the UI). Snapshots are computed
outside the timed region: in the app they come from a worker thread, and the model's cost is not
a frame's cost.

A frame, timed per live update, is what the UI loop does when a new step arrives:
  1. one point is appended to every metric and a new snapshot swapped in;
  2. ``app.set_snapshots()`` (the ``SnapshotsReady`` handler): the snapshots reactive set and
     the dashboard's watcher updating header, banners and the 16 gauges;
  3. the screen's update tick: layout, compositor, every dirty widget rendered;
  4. the compositor update encoded to the bytes a terminal would receive (headless Textual skips
     this step, so the benchmark does it: it is part of what a real frame costs).
"sync" is 2-4 back to back; "settled" also waits for the event loop to go idle and paints once
more (messages the frame posted, e.g. resizes), so it includes asyncio overhead.

The same is then measured on the detail chart (Enter on a gauge: one 100k-point series drawn by
plotext after min/max-per-column downsampling).

Usage: ``python3 benchmarks/bench_frame.py [--frames 60] [--points 100000] [--gauges 16]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from textual._compositor import CompositorUpdate

from rltui.model.snapshot import Alert, InstrumentReading, RunInfo, RunSnapshot, Trace
from rltui.model.store import MetricStore, SeriesView
from rltui.records import PointChunk
from rltui.ui.app import RltuiApp, UiOptions
from rltui.ui.chart_spec import spec_for_instrument
from rltui.ui.screens.dashboard import DashboardScreen
from rltui.ui.screens.detail import DetailScreen
from rltui.ui.widgets.gauge import Gauge

SIZE = (160, 50)
T0 = 1.79e9


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()}"


class BenchRun:
    """A run with ``gauges`` metrics of ``points`` points each; satisfies ``rltui.ui.runs.RunSource``."""

    def __init__(self, gauges: int, points: int, seed: int = 0) -> None:
        self.metric_names = [f"bench/metric_{i:02d}" for i in range(gauges)]
        self._info = RunInfo(name="bench-16x100k", path="/nonexistent/bench", framework="trl", trainer="dpo")
        self._store = MetricStore()
        rng = np.random.default_rng(seed)
        steps = np.arange(1, points + 1, dtype=np.int64)
        walls = (T0 + steps * 0.5).astype(np.float64)
        chunks = {}
        for i, name in enumerate(self.metric_names):
            values = np.cumsum(rng.normal(0, 1, points)) + 10 * i
            values[rng.integers(0, points, 5)] += 1e3  # spikes the downsampling must keep
            chunks[name] = PointChunk(steps, walls, values)
        self._store.add("bench", chunks)
        self.last_step = points
        self._rng = rng

    @property
    def info(self) -> RunInfo:
        return self._info

    @property
    def store(self) -> MetricStore:
        return self._store

    def poll(self) -> int:
        return 0

    def rescan(self) -> None:
        return None

    def watch_paths(self) -> list[str]:
        return []

    def view(self, name: str, at_step: int | None = None) -> SeriesView | None:
        return self._store.view(name, at_step)

    def names(self) -> list[str]:
        return self._store.names()

    def append_step(self) -> None:
        """One live log step: a new point on every metric."""
        self.last_step += 1
        step = np.array([self.last_step], dtype=np.int64)
        wall = np.array([T0 + self.last_step * 0.5])
        chunks = {n: PointChunk(step, wall, self._rng.normal(0, 1, 1)) for n in self.metric_names}
        self._store.add("bench", chunks)

    def snapshot(self, at_step: int | None = None) -> RunSnapshot:
        readings = []
        for i, name in enumerate(self.metric_names):
            view = self._store.view(name, at_step)
            assert view is not None
            readings.append(
                InstrumentReading(
                    id=f"bench{i:02d}",
                    title=f"metric {i:02d}",
                    status=("ok", "info", "warn", "critical")[i % 4],
                    value=float(view.values[-1]),
                    smoothed=float(np.mean(view.values[-20:])),
                    trend="rising" if i % 2 else "falling",
                    summary=f"last {view.values[-1]:.3g} over {len(view)} points",
                    primary=name,
                    traces=(Trace(name, view.steps, view.values),),
                    hint="bench hint",
                )
            )
        alert = Alert(
            id="margin_runaway",
            severity="critical",
            first_step=100,
            last_step=self.last_step,
            active=True,
            message="Reward margin runaway (memorising pairs) on bench/metric_00",
            cause="bench",
            action="Raise the batch size, lower the LR, raise beta.",
            evidence={"margin": 56.9, "accuracy": 1.0},
            metric=self.metric_names[0],
            instrument="bench00",
        )
        return RunSnapshot(
            info=self._info,
            step=self.last_step,
            instruments=tuple(readings),
            alerts=(alert,),
            metrics={},
            last_wall_time=T0 + self.last_step * 0.5,
            first_wall_time=T0,
        )


class PaintLog:
    """Every compositor update the app paints: encoded to terminal bytes as a real (non-headless)
    driver would, with the wall clock at which the encoding finished."""

    def __init__(self, app: RltuiApp) -> None:
        self.paints: list[tuple[float, int]] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            if isinstance(renderable, CompositorUpdate):
                data = renderable.render_segments(app.console)
                self.paints.append((time.perf_counter(), len(data)))
            original(screen, renderable)

        app._display = display  # type: ignore[method-assign]

    async def first_after(self, start: int, timeout: float = 5.0) -> float:
        deadline = time.perf_counter() + timeout
        while len(self.paints) <= start:
            if time.perf_counter() > deadline:
                raise SystemExit("a frame produced no screen update")
            await asyncio.sleep(0.0005)
        return self.paints[start][0]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


async def frame(pilot: Any, paints: PaintLog, draw: Any) -> tuple[float, float]:
    """(wall seconds until the frame is painted, CPU seconds the whole frame took)."""
    start = len(paints.paints)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    draw()
    painted = await paints.first_after(start)
    await pilot.pause(0.05)  # let anything the frame posted run (resizes, a second paint)
    return painted - t0, time.process_time() - cpu0


async def measure(run: BenchRun, frames: int, gauges: int) -> dict[str, list[float]]:
    app = RltuiApp([run], UiOptions(mode="watch", follow=False, frozen_now=T0 + 1e6))
    out: dict[str, list[float]] = {
        k: [] for k in ("dashboard painted", "dashboard CPU", "chart painted", "chart CPU")
    }
    async with app.run_test(size=SIZE) as pilot:
        paints = PaintLog(app)
        deadline = time.monotonic() + 60
        while app.snapshots[0] is None or len(app.screen.query(Gauge)) < gauges:
            await pilot.pause(0.05)
            if time.monotonic() > deadline:
                raise SystemExit(f"the dashboard never showed {gauges} gauges")
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        shown = [g for g in screen.query(Gauge) if g.region.height > 0]
        if len(shown) < gauges:
            raise SystemExit(f"only {len(shown)} of {gauges} gauges are on screen at {SIZE}")

        def live_update() -> None:
            # What the SnapshotsReady handler does: the snapshots reactive set, screens redraw.
            app.set_snapshots([run.snapshot()])

        for i in range(frames + 3):  # 3 warm-up frames
            run.append_step()
            wall, cpu = await frame(pilot, paints, live_update)
            if i >= 3:
                out["dashboard painted"].append(wall)
                out["dashboard CPU"].append(cpu)
        # The header must show the last appended step: the frames really drew the new data.
        header = str(screen.query_one("#header").render())
        if f"step {run.last_step}" not in header:
            raise SystemExit(f"header does not show step {run.last_step}: {header!r}")

        first = next(iter(screen.gauge_rows().items()))
        spec = spec_for_instrument(first[0], first[1], ())
        assert spec is not None
        app.open_chart(spec)
        await pilot.pause(0.3)
        chart = app.screen
        if not isinstance(chart, DetailScreen):
            raise SystemExit("Enter did not open the detail chart")
        for i in range(min(frames, 30) + 2):
            run.append_step()
            wall, cpu = await frame(pilot, paints, chart.show)
            if i >= 2:
                out["chart painted"].append(wall)
                out["chart CPU"].append(cpu)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--gauges", type=int, default=16)
    a = ap.parse_args()
    print(f"machine: {machine()}")
    t = time.perf_counter()
    run = BenchRun(a.gauges, a.points)
    built = time.perf_counter() - t
    print(f"run: {a.gauges} metrics x {a.points:,} points built in {built:.2f}s; screen {SIZE}")
    results = asyncio.run(measure(run, a.frames, a.gauges))
    for name, xs in results.items():
        ms = [x * 1000 for x in xs]
        print(
            f"{name:18s} n={len(ms):3d}  median {statistics.median(ms):6.1f} ms  p95 {pct(ms, 95):6.1f} ms"
            f"  max {max(ms):6.1f} ms"
        )
    p95 = pct([x * 1000 for x in results["dashboard painted"]], 95)
    verdict = "met" if p95 <= 50 else "NOT met"
    print(f"target: <= 50 ms per frame -> {verdict} (dashboard painted p95 {p95:.1f} ms)")


if __name__ == "__main__":
    main()
