"""Live latency: a log step appended to the event file -> its step number on the terminal screen.

design.md §7 target: p95 <= 0.5 s (TensorBoard: 5 s backend reload + 30 s browser refresh minimum).

A real terminal end to end: ``rltui watch`` runs in a private tmux server (120x40 pane) on a run
folder laid out like HF's TensorBoardCallback leaves it (``runs/<stamp>/events.out.tfevents.*``,
no trainer_state.json), already holding ``--history`` steps. Then, ``--appends`` times, at a
random 0.5-1.5 s interval (so appends do not phase-lock with any timer), one DPO log step is
written and flushed exactly as HF does (one ``add_scalar`` event per metric, then ``flush()``),
and ``tmux capture-pane`` is polled every few milliseconds until the header shows that step.
The figure is the wall time from the start of the write to the first capture showing it, so it
includes the flush, the OS file event, watchfiles' debounce, the read, the model, Textual's
redraw and tmux itself (each capture costs ~3-5 ms, the measurement's resolution).

Usage: ``python3 benchmarks/bench_latency.py [--appends 30] [--history 300] [--poll] [--tmux] [--ssh]``
(``--poll``: the dashboard's ``--poll`` mode, 1 s interval, for NFS-like setups. ``--tmux``: the
training prints HF log dicts in a pane of a second tmux session and the dashboard follows that
pane with ``--tmux train:0.0``, in the default mode; the figure is then print -> on screen.)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_frame import machine
from tests.e2e._tmux import Tmux, header_step, rltui
from tests.e2e._writer import DPO_CONFIG, TrlEventWriter, healthy_dpo

#: Inside the dashboard's pane: wait for the training's session, then start rltui.
WAIT_FOR_TRAIN = 'until tmux has-session -t train 2>/dev/null; do sleep 0.05; done; exec "$@"'


def start_pane_training(term: Tmux, out: Path) -> None:
    """A second session ``train`` whose pane prints what is appended to ``out`` (``tail -f``)."""
    term._run(
        "new-session", "-d", "-x", "120", "-y", "40", "-s", "train", "-n", "log", f"tail -n +1 -f {out}"
    )


def log_dict(step: int) -> str:
    """One HF Trainer log line (DPO keys)."""
    return (
        f"{{'loss': {0.6931 - step * 1e-4:.4f}, 'grad_norm': 1.25, 'learning_rate': 5e-06, "
        f"'rewards/margins': {0.002 * step:.4f}, 'rewards/accuracies': 0.6, 'epoch': {step / 1e4:.4f}}}\n"
    )


def wait_step(term: Tmux, step: int, timeout: float, poll_s: float = 0.003) -> float:
    """perf_counter() at the first capture whose header shows ``step``."""
    deadline = time.perf_counter() + timeout
    while True:
        screen = term.capture()
        now = time.perf_counter()
        if header_step(screen) == step:
            return now
        if now > deadline:
            raise SystemExit(f"step {step} never reached the screen within {timeout:.0f}s; screen:\n{screen}")
        time.sleep(poll_s)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--appends", type=int, default=30)
    ap.add_argument("--history", type=int, default=300)
    ap.add_argument("--poll", action="store_true", help="run the dashboard with --poll")
    ap.add_argument("--tmux", action="store_true", help="follow a tmux pane instead of files")
    ap.add_argument("--ssh", action="store_true", help="watch the run as ssh://HOST/path via a local sshd")
    a = ap.parse_args()
    print(f"machine: {machine()}")
    rng = random.Random(0)
    latencies = pane_latencies(a, rng) if a.tmux else file_latencies(a, rng)
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    mode = "--poll (1 s)" if a.poll else "file events (watchfiles)"
    if a.ssh:
        mode = "over ssh (a real sshd on 127.0.0.1, one round trip per 0.25 s poll)"
    if a.tmux:
        mode = "--tmux pane" + (" --poll (1 s)" if a.poll else ", default mode")
    print(f"rltui watch, {mode}: {len(ms)} appends after {a.history} steps of history")
    print(
        f"append -> on screen: p50 {statistics.median(ms):.0f} ms  p95 {p95:.0f} ms  "
        f"min {ms[0]:.0f} ms  max {ms[-1]:.0f} ms"
    )
    print(f"target p95 <= 500 ms -> {'met' if p95 <= 500 else 'NOT met'}")


_SSHD: list[object] = []


def watch_argv(a: argparse.Namespace, run: Path, tmp: str) -> list[str]:
    """``rltui watch RUN``, or with ``--ssh`` the same run as ``ssh://rltui-test/RUN`` through a
    throw-away sshd on 127.0.0.1 (tests/remote/_sshd.py; the ssh client counts as rltui's child)."""
    poll = ["--poll"] if a.poll else []
    if not a.ssh:
        return rltui("watch", *poll, str(run))
    from tests.remote._sshd import ALIAS, Sshd

    server = Sshd(Path(tmp) / "sshd")
    _SSHD.append(server)
    return ["env", f"RLTUI_SSH_COMMAND={server.ssh_command}", *rltui("watch", *poll, f"ssh://{ALIAS}{run}")]


def stop_sshd() -> None:
    while _SSHD:
        _SSHD.pop().close()  # type: ignore[attr-defined]


def pane_latencies(a: argparse.Namespace, rng: random.Random) -> list[float]:
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Tmux() as term:
        out = Path(tmp) / "train.out"
        out.write_text("".join(log_dict(s) for s in range(1, a.history + 1)))
        argv = rltui("watch", *(["--poll"] if a.poll else []), "--tmux", "train:0.0")
        term.start(["sh", "-c", WAIT_FOR_TRAIN, "sh", *argv])
        start_pane_training(term, out)
        wait_step(term, a.history, timeout=60)
        time.sleep(1.0)
        for step in range(a.history + 1, a.history + a.appends + 1):
            time.sleep(rng.uniform(0.5, 1.5))
            t0 = time.perf_counter()
            with out.open("a") as f:
                f.write(log_dict(step))
            latencies.append(wait_step(term, step, timeout=15) - t0)
    return latencies


def file_latencies(a: argparse.Namespace, rng: random.Random) -> list[float]:
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Tmux() as term:
        run = Path(tmp) / "dpo-latency"
        total = a.history + a.appends
        with TrlEventWriter(run) as writer:
            writer.write_args(DPO_CONFIG | {"max_steps": total})
            for step in range(1, a.history + 1):
                writer.log(step, healthy_dpo(step))
            term.start(watch_argv(a, run, tmp))
            wait_step(term, a.history, timeout=60)
            time.sleep(1.0)
            for step in range(a.history + 1, total + 1):
                time.sleep(rng.uniform(0.5, 1.5))
                t0 = time.perf_counter()
                writer.log(step, healthy_dpo(step))
                latencies.append(wait_step(term, step, timeout=15) - t0)
    stop_sshd()
    return latencies


if __name__ == "__main__":
    main()
