"""``rltui check --follow``: a real rltui process following a run that a TRL-shaped writer writes.

The writer is the e2e one (tensorboard's own EventFileWriter, HF's layout); rltui runs as the user
runs it, in a subprocess, and its stdout is read line by line as it arrives.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e._tmux import REPO
from tests.e2e._writer import DPO_CONFIG, TrlEventWriter, exploding_dpo, healthy_dpo


class Follow:
    """A running ``rltui check --follow``; stdout read from the pipe itself, line by line."""

    def __init__(self, *args: str, cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rltui", "check", "--follow", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
        )
        self._buf = b""

    def line(self, timeout: float) -> str:
        """The next stdout line within ``timeout`` s (fails with stderr if none comes)."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            chunk = os.read(fd, 65536) if left > 0 and sel.select(left) else b""
            if not chunk:
                self.proc.kill()
                raise AssertionError(f"no line within {timeout} s; stderr: {self.proc.communicate()[1]!r}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def finish(self, timeout: float) -> tuple[str, str]:
        """The rest of stdout and all of stderr once it exits."""
        out, err = self.proc.communicate(timeout=timeout)
        return (self._buf + out).decode(), err.decode()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()  # reaps it and closes both pipes, also when it had exited by itself


def test_follow_prints_new_alerts_once_runs_on_alert_with_env_ends_with_the_run(tmp_path: Path) -> None:
    # A hostile run folder name: shell syntax that must never be run.
    run = tmp_path / "dpo-$(touch PWNED)-`touch PWNED2`"
    marks = tmp_path / "marks"
    marks.mkdir()
    max_steps = 45
    on_alert = (
        'printf "%s|%s|%s|%s\\n" "$RLTUI_ALERT_ID" "$RLTUI_ALERT_SEVERITY" "$RLTUI_RUN" "$RLTUI_STEP"'
        f' >> {marks}/env.txt; cat > {marks}/"$RLTUI_ALERT_ID".json'
    )
    with TrlEventWriter(run) as writer:
        writer.write_args(DPO_CONFIG | {"max_steps": max_steps})
        for step in range(1, 6):
            writer.log(step, healthy_dpo(step))
        follow = Follow(str(run), "--json", "--on-alert", on_alert, cwd=tmp_path)
        proc = follow.proc
        try:
            time.sleep(1.5)  # loaded and quiet: a healthy run prints nothing
            began = time.monotonic()
            for step in range(6, max_steps + 1):
                writer.log(step, exploding_dpo(step, since=6))
                time.sleep(0.03)
            first = json.loads(follow.line(20))
            latency = time.monotonic() - began
            rest, err = follow.finish(30)
        finally:
            follow.close()
    lines = [first, *(json.loads(x) for x in rest.splitlines() if x.strip())]
    alerts = [x for x in lines if x["event"] == "alert"]
    finished = [x for x in lines if x["event"] == "finished"]
    assert proc.returncode == 1, err  # a critical alert is active at the end (--fail-on critical)
    assert latency < 15
    ids = [a["id"] for a in alerts]
    assert "margin_runaway" in ids
    assert len(ids) == len({(a["id"], a["first_step"], a["severity"]) for a in alerts})  # once each
    assert all(a["new"] is True and a["severity"] in ("warn", "critical") for a in alerts)
    assert len(finished) == 1
    assert finished[0]["step"] == max_steps
    assert finished[0]["status"] == "critical"
    # --on-alert ran once per printed alert, with the alert in its environment and on stdin ...
    deadline = time.monotonic() + 10
    env_lines: list[str] = []
    while time.monotonic() < deadline:
        env_lines = (marks / "env.txt").read_text().splitlines() if (marks / "env.txt").exists() else []
        if len(env_lines) >= len(alerts):
            break
        time.sleep(0.1)
    assert sorted(line.split("|")[0] for line in env_lines) == sorted(ids)
    # The alert may first be seen at warn and escalate (how far the writer got between two reads
    # depends on the machine's load): each severity is announced once, critical among them (the
    # commands run concurrently, so their lines may land in any order).
    margins = [line.split("|") for line in env_lines if line.startswith("margin_runaway|")]
    assert "critical" in [m[1] for m in margins]
    assert len({m[1] for m in margins}) == len(margins)
    for _, _, name, at in margins:
        assert name == run.name  # the run text arrived as data ...
        assert int(at) <= max_steps
    assert json.loads((marks / "margin_runaway.json").read_text())["id"] == "margin_runaway"
    # ... and was never run as code.
    assert not list(tmp_path.rglob("PWNED*"))


def test_follow_text_mode_baseline_and_ctrl_c(tmp_path: Path) -> None:
    """Alerts already active at the start are printed as such (no --on-alert); Ctrl+C ends it
    with check's exit code."""
    run = tmp_path / "dpo-old-trouble"
    with TrlEventWriter(run) as writer:
        writer.write_args(DPO_CONFIG | {"max_steps": 500})
        for step in range(1, 41):
            writer.log(step, exploding_dpo(step, since=5) if step >= 5 else healthy_dpo(step))
    follow = Follow(str(run), cwd=tmp_path)
    proc = follow.proc
    try:
        line = follow.line(20)
        assert "CRITICAL dpo-old-trouble" in line
        assert "margin_runaway" in line
        assert "already active at start" in line
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = follow.finish(15)
    finally:
        follow.close()
    assert proc.returncode == 1, err
    assert "FINISHED" not in out  # stopped, not finished
    assert "Traceback" not in err


def test_follow_quiet_healthy_run_sigterm_exits_0(tmp_path: Path) -> None:
    run = tmp_path / "dpo-fine"
    with TrlEventWriter(run) as writer:
        writer.write_args(DPO_CONFIG | {"max_steps": 500})
        for step in range(1, 11):
            writer.log(step, healthy_dpo(step))
    follow = Follow(str(run), "--json", cwd=tmp_path)
    proc = follow.proc
    try:
        time.sleep(1.5)
        proc.send_signal(signal.SIGTERM)
        out, err = follow.finish(15)
    finally:
        follow.close()
    assert proc.returncode == 0, err
    assert out == ""  # nothing to say about a healthy run


def test_follow_usage_errors(tmp_path: Path) -> None:
    follow = Follow(str(tmp_path), "--at-step", "3", cwd=tmp_path)
    _, err = follow.finish(20)
    assert follow.proc.returncode == 2
    assert "--at-step and --follow" in err
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run(
        [sys.executable, "-m", "rltui", "check", str(tmp_path), "--on-alert", "true"],
        capture_output=True,
        text=True,
        env=env,
        timeout=20,
    )
    assert res.returncode == 2
    assert "--on-alert needs --follow" in res.stderr
