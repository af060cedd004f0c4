"""Live: the real tracker library writes a run while rltui reads it, as during a training.

The writer (``_live_writer.py``) runs in its own process, in an interpreter that has the library:
``RLTUI_TRACKER_PYTHON`` (wandb, mlflow-skinny, trackio) and ``RLTUI_SWANLAB_PYTHON`` (swanlab
pins protobuf < 7, so it gets an interpreter of its own), else this one if it has the library.
``.ci/run`` installs them into two virtualenvs; where none has the library the test is skipped,
saying what to install. The run is found the way ``rltui`` finds it (``logger_discovery``) while
it is being written; every point must arrive exactly once, at its step, under its canonical name,
and within the latency the tracker allows: 0.5 s (design.md §7) after ``log()`` returned for the
trackers that write at once, or after the library's own flush where it buffers (measured and
named per tracker below).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from rltui.sources import logger_discovery
from rltui.sources.base import SourceReader
from rltui.sources.mlflow import open_reader
from rltui.sources.swanlab import SwanlabReader
from rltui.sources.trackio import TrackioReader
from rltui.sources.wandb import WandbReader

HERE = Path(__file__).resolve().parent
STEPS = 40
INTERVAL_S = 0.1
POLL_S = 0.05

#: Keys per row beside the loss (SwanLab only: its buffer fills with TRL-sized rows, not one key).
EXTRA_KEYS = {"swanlab": 29}
#: kind -> (module, interpreter variable, pinned install, p95 latency bound in seconds, why).
KINDS: dict[str, tuple[str, str, str, float, str]] = {
    "wandb": (
        "wandb",
        "RLTUI_TRACKER_PYTHON",
        "wandb==0.31.0",
        0.5 + 0.25,
        "W&B flushes its log every x_transaction_log_flush_interval: 15 s by default, 0.25 s here",
    ),
    "mlflow-file": ("mlflow", "RLTUI_TRACKER_PYTHON", "mlflow-skinny==3.17.2", 0.5, "one append per log"),
    "mlflow-sqlite": (
        "mlflow",
        "RLTUI_TRACKER_PYTHON",
        "mlflow-skinny==3.17.2 sqlalchemy alembic",
        0.5,
        "one commit per log",
    ),
    "trackio": (
        "trackio",
        "RLTUI_TRACKER_PYTHON",
        "trackio==0.43.0",
        0.5 + 0.5,
        "Trackio commits its queued rows every 0.5 s (trackio.run.BATCH_SEND_INTERVAL)",
    ),
    "swanlab": (
        "swanlab",
        "RLTUI_SWANLAB_PYTHON",
        "swanlab==0.10.3",
        0.5 + 0.5,
        "SwanLab 0.10 writes through Python's 8 KiB file buffer, never flushed before finish: "
        "a TRL-sized row of 30 keys fills it every ~0.5 s here",
    ),
}


def _writer_python(module: str, variable: str) -> str | None:
    for python in (os.environ.get(variable), sys.executable):
        if not python:
            continue
        probe = subprocess.run([python, "-c", f"import {module}"], capture_output=True, timeout=120)
        if probe.returncode == 0:
            return python
    return None


def value(step: int) -> float:
    return 2.0 + step / 1024.0


def _open(kind: str, dest: Path) -> SourceReader | None:
    """The reader of the run in ``dest``, found by discovery as soon as the run exists."""
    folder = dest / "trackio" if kind == "trackio" else dest
    if not folder.is_dir():
        return None
    found = logger_discovery.runs_in(str(folder), [p.name for p in folder.iterdir()])
    # SwanLab's runs are named by their folder (run-<stamp>-<id>): there is one here.
    runs = [r for r in found if r.name == "live-run" or r.kind == "swanlab"]
    if not runs:
        return None
    run = runs[0]
    if run.kind == "wandb":
        return WandbReader(run.path)
    if run.kind == "swanlab":
        return SwanlabReader(run.path)
    if run.kind == "trackio":
        return TrackioReader(run.path, run.select)
    return open_reader(run.path, run.select)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_points_arrive_once_while_the_tracker_writes(kind: str, tmp_path: Path) -> None:
    module, variable, install, bound, why = KINDS[kind]
    extra = EXTRA_KEYS.get(kind, 0)
    python = _writer_python(module, variable)
    if python is None:
        pytest.skip(
            f"{module} is not installed for the writer: pip install {install} (.ci/run sets {variable})"
        )
    dest = tmp_path / "project"
    if kind == "trackio":
        dest = dest / "trackio"  # TRACKIO_DIR: discovery finds `trackio/` folders in a project
    proc = subprocess.Popen(
        [python, str(HERE / "_live_writer.py"), kind, str(dest), str(STEPS), str(INTERVAL_S), str(extra)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": "", "WANDB_MODE": "offline", "MLFLOW_TRACKING_URI": ""},
    )
    logged: dict[int, float] = {}
    lines: list[str] = []

    def collect() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            parts = line.split()
            if len(parts) == 3 and parts[0] == "logged":
                logged[int(parts[1])] = float(parts[2])

    reader_thread = threading.Thread(target=collect, daemon=True)
    reader_thread.start()
    seen: dict[tuple[str, int, float], float] = {}
    got: Counter[tuple[str, int, float]] = Counter()
    reader: SourceReader | None = None
    project = dest.parent if kind == "trackio" else dest
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            done = proc.poll() is not None
            if reader is None:
                reader = _open(kind, project)
            if reader is not None:
                result = reader.read()
                assert result.problems == [], result.problems
                now = time.time()
                for name, chunk in result.chunks.items():
                    for s, v in zip(chunk.steps, chunk.values, strict=True):
                        point = (name, int(s), float(v))
                        got[point] += 1
                        seen.setdefault(point, now)
            if done and len(got) >= STEPS * (1 + extra):
                break
            if done and time.monotonic() > deadline - 170 and proc.returncode != 0:
                break
            time.sleep(POLL_S)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        reader_thread.join(timeout=10)
        err = proc.stderr.read() if proc.stderr else ""
        for pipe in (proc.stdout, proc.stderr):  # both read to the end: closed, not left to GC
            if pipe is not None:
                pipe.close()
        if reader is not None:
            reader.close()
    assert proc.returncode == 0, err[-2000:]
    if reader is not None:  # the finished run read again adds nothing
        assert reader.read().points == 0
    want = Counter({("loss", s, value(s)): 1 for s in range(1, STEPS + 1)})
    want.update({(f"extra_{j}", s, value(s) + j): 1 for s in range(1, STEPS + 1) for j in range(extra)})
    assert got == want, f"extra {sorted(got - want)[:5]}, missing {sorted(want - got)[:5]}"
    latencies = sorted(seen[("loss", s, value(s))] - logged[s] for s in range(1, STEPS + 1))
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"{kind}: latency p50 {latencies[len(latencies) // 2]:.3f} s, p95 {p95:.3f} s ({why})")
    assert p95 <= bound, f"{kind}: p95 latency {p95:.2f} s > {bound} s ({why}); all: {latencies}"
