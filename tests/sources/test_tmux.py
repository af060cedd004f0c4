"""TmuxPaneReader against a real tmux server on a private socket (never the user's server).

The pane runs ``tail -f`` on a file the test appends to, so the pane shows exactly what a
terminal would show for that output (tqdm ``\\r`` redraws and cursor moves included).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rltui.records import ReadResult
from rltui.sources.tmux import TmuxPaneReader

RUNS = Path(__file__).resolve().parents[2] / "fixtures" / "runs"

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _tmux(socket: str, *args: str) -> None:
    subprocess.run(["tmux", "-L", socket, *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """(socket, target, file shown by the pane)."""
    socket = f"rltui-test-{os.getpid()}-{time.monotonic_ns()}"
    feed = tmp_path / "feed.log"
    feed.write_bytes(b"")
    try:
        _tmux(
            socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "train",
            "-x",
            "220",
            "-y",
            "40",
            "sleep 600",
        )
        _tmux(socket, "set-option", "-g", "history-limit", "20000")
        # A new window picks up the larger history limit; the pane follows our file.
        _tmux(socket, "new-window", "-t", "train:1", f"tail -n +1 -f {feed}")
        yield socket, "train:1.0", feed
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10, check=False)
        stale = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}" / socket
        stale.unlink(missing_ok=True)


def _read_until(reader: TmuxPaneReader, key: str, count: int, limit_s: float = 15.0) -> list[ReadResult]:
    """Poll the pane until ``key`` has ``count`` points in total (tmux renders asynchronously)."""
    results: list[ReadResult] = []
    deadline = time.monotonic() + limit_s
    have = 0
    while time.monotonic() < deadline:
        r = reader.read()
        results.append(r)
        if key in r.chunks:
            have += len(r.chunks[key])
        if have >= count:
            break
        time.sleep(0.1)
    return results


def _steps(results: list[ReadResult], key: str) -> list[int]:
    return [s for r in results if key in r.chunks for s in r.chunks[key].steps.tolist()]


def _values(results: list[ReadResult], key: str) -> list[float]:
    return [v for r in results if key in r.chunks for v in r.chunks[key].values.tolist()]


def test_real_console_through_a_pane_then_live_lines(pane: tuple[str, str, Path]) -> None:
    socket, target, feed = pane
    history = json.loads((RUNS / "dpo_healthy" / "trainer_state.json").read_text())["log_history"]
    loss_steps = [e["step"] for e in history if "loss" in e]
    eval_steps = [e["step"] for e in history if "eval_loss" in e]
    feed.write_bytes((RUNS / "dpo_healthy" / "console.log").read_bytes())
    reader = TmuxPaneReader(target, socket=socket)
    assert reader.kind == "tmux"
    assert reader.path == f"tmux:{target}"
    first = _read_until(reader, "loss", len(loss_steps))
    assert _steps(first, "loss") == loss_steps
    assert _steps(first, "eval_loss") == eval_steps
    margins = _values(first, "rewards/margins")
    expected = [float(f"{e['rewards/margins']:.4g}") for e in history if "rewards/margins" in e]
    assert margins == expected
    assert reader.problems == []
    # Nothing new: nothing re-read.
    assert reader.read().points == 0
    # Live output: two new train logs and a verl-style line.
    with open(feed, "ab") as f:
        f.write(
            b"{'loss': '0.25', 'epoch': '9'}\n"
            b"\r 5%| | 1/20 [00:00<?, ?it/s]\r{'loss': '0.125', 'epoch': '9.1'}\n"
        )
    live = _read_until(reader, "loss", 2)
    assert _steps(live, "loss") == [loss_steps[-1] + 1, loss_steps[-1] + 2]
    assert _values(live, "loss") == [0.25, 0.125]
    assert bool(
        np.isfinite(np.concatenate([r.chunks["loss"].wall_times for r in live if "loss" in r.chunks])).all()
    )


def test_long_wrapped_lines_are_joined(pane: tuple[str, str, Path]) -> None:
    socket, target, feed = pane
    _tmux(socket, "resize-window", "-t", target.split(".")[0], "-x", "60", "-y", "20")
    keys = [f"metric_number_{i}/mean" for i in range(12)]
    line = "{" + ", ".join(f"'{k}': '{i}.5'" for i, k in enumerate(keys)) + "}\n"
    feed.write_text(line * 3)
    reader = TmuxPaneReader(target, socket=socket)
    results = _read_until(reader, keys[-1], 3)
    assert _steps(results, keys[-1]) == [1, 2, 3]
    assert {k for r in results for k in r.chunks} == set(keys)


def test_pane_gone_is_one_problem_and_no_exception(pane: tuple[str, str, Path]) -> None:
    socket, target, feed = pane
    feed.write_text("{'loss': 1.0}\n")
    reader = TmuxPaneReader(target, socket=socket)
    assert _steps(_read_until(reader, "loss", 1), "loss") == [1]
    _tmux(socket, "kill-session", "-t", "train")
    gone = reader.read()
    assert len(gone.problems) == 1
    assert gone.problems[0].offset is None
    assert reader.read().problems == []
    assert reader.read().problems == []  # still unavailable: same transition
    assert TmuxPaneReader("nope:9.9", socket=socket).read().problems  # never existed


def test_replaced_pane_starts_over(pane: tuple[str, str, Path]) -> None:
    socket, target, feed = pane
    feed.write_text("{'loss': 1.0}\n{'loss': 2.0}\n")
    reader = TmuxPaneReader(target, socket=socket)
    assert _steps(_read_until(reader, "loss", 2), "loss") == [1, 2]
    _tmux(socket, "kill-window", "-t", "train:1")  # a new training in a new window, same target
    _tmux(socket, "new-window", "-t", "train:1", f"tail -n 1 -f {feed}")
    results = _read_until(reader, "loss", 1)
    assert results[0].restarted
    assert _steps(results, "loss") == [1]
    assert _values(results, "loss") == [2.0]


def test_cleared_history_is_reported(pane: tuple[str, str, Path]) -> None:
    socket, target, feed = pane
    feed.write_text("".join(f"{{'loss': {i}.0}}\n" for i in range(1, 60)))  # more than the 40 rows
    reader = TmuxPaneReader(target, socket=socket)
    assert len(_steps(_read_until(reader, "loss", 59), "loss")) == 59
    _tmux(socket, "clear-history", "-t", target)
    _tmux(socket, "send-keys", "-t", target, "-R")  # reset the visible screen as well
    _tmux(socket, "clear-history", "-t", target)
    with open(feed, "a") as f:
        f.write("{'loss': 100.0}\n")
    results = _read_until(reader, "loss", 1)
    assert _steps(results, "loss")[-1] >= 60
    assert all(p.offset is None for p in reader.problems)


def test_bad_line_in_a_pane_has_no_offset(pane: tuple[str, str, Path]) -> None:
    """A pane has no bytes to point at (its line index moves with every capture): offset None."""
    socket, target, feed = pane
    feed.write_text("{'loss': 1.0}\n{'loss': 0.5, 'grad\n{'loss': 2.0}\n")  # a torn log dict
    reader = TmuxPaneReader(target, socket=socket)
    results = _read_until(reader, "loss", 2)
    assert _values(results, "loss") == [1.0, 2.0]
    problems = [p for r in results for p in r.problems]
    assert problems
    assert all(p.offset is None for p in problems)


def test_tail_is_what_the_pane_shows_sanitised(pane: tuple[str, str, Path]) -> None:
    """The console screen's ``t`` over a pane: the newest lines as shown (a tqdm bar redrawn with
    \\r is its last state), escape sequences that the pane itself interpreted are not in it."""
    _socket, target, feed = pane
    bar = b"".join(b"\r 10%% step %d" % i for i in range(5))
    feed.write_bytes(b"loading model\n" + bar + b"\nOOM retry\n")
    reader = TmuxPaneReader(target, socket=_socket)
    deadline = time.monotonic() + 10
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = reader.tail(50)
        if lines and lines[-1] == "OOM retry":
            break
        time.sleep(0.1)
    assert lines[-3:] == ["loading model", " 10% step 4", "OOM retry"]
    assert all("\x1b" not in x and "\r" not in x for x in lines)
    assert reader.tail(1) == ["OOM retry"]


def test_tail_of_a_gone_pane_is_an_oserror(pane: tuple[str, str, Path]) -> None:
    socket, target, _ = pane
    _tmux(socket, "kill-window", "-t", target.split(".")[0])
    with pytest.raises(OSError, match="tmux pane unavailable"):
        TmuxPaneReader(target, socket=socket).tail(10)
