"""Idle CPU: what ``rltui watch`` costs while the watched run is quiet (design.md §7: < 1 % of one core).

``rltui watch`` runs in a real terminal (a private tmux server, 120x40 pane) on a finished-looking
HF/TRL run folder (``runs/<stamp>/events.out.tfevents.*`` with ``--history`` DPO steps); once
the header shows the last step and a settling pause has passed, nothing is written for
``--seconds`` and the rltui process's own CPU time (``utime + stime`` from ``/proc/<pid>/stat``,
all its threads) is read at both ends. CPU% = CPU seconds / wall seconds x 100 (of one core).
What remains while idle is the watcher sleeping in the OS file-event wait and the header's 1 Hz
"stale for ..." clock.

With ``--tmux`` the dashboard follows a quiet tmux pane (``--tmux train:0.0``, default mode) and
the CPU of its children (the tmux control-mode client that wakes it) is counted too.

With ``--ssh`` the run is watched as ``ssh://rltui-test/RUN`` through a throw-away sshd on
127.0.0.1; the ssh client (rltui's child) is counted, the sshd and the remote helper are not (on
a real setup they run on the GPU box).

Usage: ``python3 benchmarks/bench_idle_cpu.py [--seconds 20] [--history 300] [--poll] [--tmux] [--ssh]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_frame import machine
from benchmarks.bench_latency import (
    WAIT_FOR_TRAIN,
    log_dict,
    start_pane_training,
    stop_sshd,
    wait_step,
    watch_argv,
)
from tests.e2e._tmux import Tmux, rltui
from tests.e2e._writer import DPO_CONFIG, TrlEventWriter, healthy_dpo

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (every thread), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of proc(5)


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _cpu_or_zero(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except OSError:
        return 0.0


def rltui_pid(term: Tmux) -> int:
    """The Python process running ``-m rltui`` under the pane's shell."""
    res = term._run("display-message", "-p", "-t", "t", "#{pane_pid}")
    todo = [int(res.stdout.strip())]
    while todo:
        pid = todo.pop()
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        # ``env`` execs Python in place, so the match is the interpreter running ``-m rltui``.
        if os.path.basename(cmdline[0]).startswith(b"python") and b"rltui" in cmdline:
            return pid
        todo += children(pid)
    raise SystemExit("cannot find the rltui process under the tmux pane")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--history", type=int, default=300)
    ap.add_argument("--settle", type=float, default=3.0, help="seconds to wait after the load")
    ap.add_argument("--poll", action="store_true", help="run the dashboard with --poll (1 s)")
    ap.add_argument("--tmux", action="store_true", help="follow a quiet tmux pane instead of files")
    ap.add_argument("--ssh", action="store_true", help="watch the run as ssh://HOST/path via a local sshd")
    a = ap.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp, Tmux() as term:
        poll = ["--poll"] if a.poll else []
        if a.tmux:
            out = Path(tmp) / "train.out"
            out.write_text("".join(log_dict(s) for s in range(1, a.history + 1)))
            term.start(["sh", "-c", WAIT_FOR_TRAIN, "sh", *rltui("watch", *poll, "--tmux", "train:0.0")])
            start_pane_training(term, out)
        else:
            run = Path(tmp) / "dpo-quiet"
            with TrlEventWriter(run) as writer:
                writer.write_args(DPO_CONFIG | {"max_steps": a.history * 2})
                for step in range(1, a.history + 1):
                    writer.log(step, healthy_dpo(step))
            term.start(watch_argv(a, run, tmp))
        wait_step(term, a.history, timeout=60)
        pid = rltui_pid(term)

        def cpu() -> float:
            return cpu_seconds(pid) + sum(_cpu_or_zero(c) for c in children(pid))

        startup = cpu()
        time.sleep(a.settle)
        c0, t0 = cpu(), time.monotonic()
        time.sleep(a.seconds)
        c1, t1 = cpu(), time.monotonic()
        still = term.capture()
        stop_sshd()
    if "step" not in still:
        raise SystemExit(f"the dashboard is gone:\n{still}")
    pct = (c1 - c0) / (t1 - t0) * 100
    mode = "--poll (1 s)" if a.poll else "file events (watchfiles)"
    if a.ssh:
        mode = "over ssh (rltui + its ssh client; the remote helper's CPU is the host's)"
    if a.tmux:
        mode = "--tmux pane" + (" --poll (1 s)" if a.poll else ", default mode (control-mode wake-up)")
    print(f"rltui watch, {mode}, pid {pid}: startup + load {startup:.2f} CPU s")
    print(
        f"idle {t1 - t0:.1f} s: {c1 - c0:.2f} CPU s = {pct:.2f} % of one core "
        f"(resolution {100 / CLK_TCK / (t1 - t0):.2f} %)"
    )
    print(f"target < 1 % -> {'met' if pct < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
