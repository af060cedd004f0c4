"""Cold load of the 600k-scalar event file: rltui's reader against TensorBoard, in one run.

Prints the time of rltui's ``TfEventsReader`` (first call in this process, and best of a few),
TensorBoard's ``EventAccumulator`` (``size_guidance={"scalars": 0}``: keep every point), their
ratio (design.md §7 asks for >= 30x), the cost of reading one record appended after the big
file was read (it must not depend on the file size), and RustBoard's load cycle when the
``tensorboard_data_server`` binary is installed.

Usage: ``python3 benchmarks/gen_tfevents.py && python3 benchmarks/bench_load.py [--file PATH]``
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from gen_tfevents import frame, scalar_event

from rltui.sources.tfevents import TfEventsReader


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def time_rltui(path: str, repeats: int) -> tuple[float, float, int]:
    times = []
    points = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        reader = TfEventsReader(path)
        result = reader.read()
        times.append(time.perf_counter() - t0)
        points = result.points
        if result.problems:
            sys.exit(f"unexpected problems: {result.problems[:3]}")
    return times[0], min(times), points


def time_event_accumulator(path: str) -> tuple[float, int]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    t0 = time.perf_counter()
    acc = EventAccumulator(path, size_guidance={"scalars": 0})
    acc.Reload()
    points = sum(len(acc.Scalars(tag)) for tag in acc.Tags()["scalars"])
    return time.perf_counter() - t0, points


def time_append(path: str, repeats: int = 200) -> tuple[float, int]:
    """Median cost of read() after one record is appended to a copy of the big file."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, os.path.basename(path))
        shutil.copyfile(path, copy)
        reader = TfEventsReader(copy)
        reader.read()
        costs = []
        with open(copy, "ab") as f:
            for i in range(repeats):
                f.write(frame(scalar_event("train/loss", 0.5, 1_000_000 + i, 1.8e9 + i)))
                f.flush()
                t0 = time.perf_counter()
                got = reader.read().points
                costs.append(time.perf_counter() - t0)
                if got != 1:
                    sys.exit(f"appended one record, read {got} points")
        costs.sort()
        return costs[len(costs) // 2], os.path.getsize(copy)


def time_rustboard(logdir: str) -> float | None:
    try:
        import tensorboard_data_server

        binary = tensorboard_data_server.server_binary()
    except (ImportError, AttributeError, OSError):
        return None
    if not binary or not os.path.exists(binary):
        return None
    cmd = [binary, "--logdir", logdir, "--reload", "once", "--samples-per-plugin", "scalars=all", "-v"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = None
    assert proc.stderr is not None
    for line in proc.stderr:
        if "Finished load cycle" in line:
            elapsed = time.perf_counter() - t0
            break
    proc.kill()
    proc.wait()
    return elapsed


def main() -> None:
    default = glob.glob(os.path.join(os.path.dirname(__file__), "data", "trl_30x*", "events.out.tfevents.*"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=default[0] if default else None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-tensorboard", action="store_true", help="skip EventAccumulator (slow)")
    args = parser.parse_args()
    if not args.file:
        sys.exit("no event file: run benchmarks/gen_tfevents.py first")
    size = os.path.getsize(args.file)
    print(f"file: {args.file} ({size / 1e6:.1f} MB)")
    print(f"machine: {os.cpu_count()} CPUs, {_cpu()}, Python {platform.python_version()}")

    first, best, points = time_rltui(args.file, args.repeats)
    print(
        f"rltui TfEventsReader: first {first:.3f} s, best of {args.repeats} {best:.3f} s, "
        f"{points} points, {points / best / 1e6:.2f} M points/s"
    )
    if not args.skip_tensorboard:
        ea, ea_points = time_event_accumulator(args.file)
        print(
            f"TensorBoard EventAccumulator: {ea:.2f} s, {ea_points} points, "
            f"{ea_points / ea / 1e3:.0f} k points/s"
        )
        print(f"speed-up: {ea / first:.1f}x (first call), {ea / best:.1f}x (best)")
    rust = time_rustboard(os.path.dirname(args.file))
    if rust is None:
        print("RustBoard: tensorboard_data_server binary not available")
    else:
        print(f"RustBoard load cycle: {rust:.3f} s")
    median, grown = time_append(args.file)
    print(f"read() of one appended record after a {grown / 1e6:.1f} MB file: median {median * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
