"""Runs on another host, through a real sshd on 127.0.0.1 (tests/remote/_sshd.py) and the real
``ssh`` client, as a user would point rltui at a GPU box: ``rltui-test:/path`` (an alias from the
ssh config named by ``RLTUI_SSH_COMMAND``) or ``ssh://rltui-test/path``.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rltui.session import open_sessions, resolve_paths
from rltui.sources import ssh
from tests.e2e._tmux import REPO
from tests.e2e._writer import DPO_CONFIG, TrlEventWriter, healthy_dpo
from tests.remote._sshd import ALIAS, ALIAS_BAD_KEY, ALIAS_UNKNOWN_KEY, Sshd, training_pane

FIXTURES = REPO / "fixtures" / "runs"


def _rltui(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rltui", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        timeout=timeout,
        cwd=REPO,
    )


def test_check_reads_remote_runs_like_local_ones_mixed_on_one_command_line(remote: Sshd) -> None:
    env = {"RLTUI_SSH_COMMAND": remote.ssh_command}
    explode = FIXTURES / "dpo_margin_explosion"
    res = _rltui(
        "check", "--json", f"{ALIAS}:{explode}", f"ssh://{ALIAS}{FIXTURES / 'sft_healthy'}",
        str(FIXTURES / "dpo_healthy"), env=env,
    )  # fmt: skip
    assert res.returncode == 1, res.stderr  # the exploding run is critical
    doc = json.loads(res.stdout)
    paths = [r["path"] for r in doc["runs"]]
    assert paths == [
        f"ssh://{ALIAS}{explode}",
        f"ssh://{ALIAS}{FIXTURES / 'sft_healthy'}",
        str(FIXTURES / "dpo_healthy"),
    ]
    local = json.loads(_rltui("check", "--json", str(explode), env={}).stdout)["runs"][0]
    far = doc["runs"][0]
    assert far["metrics"] == local["metrics"]
    assert [(a["id"], a["first_step"], a["severity"]) for a in far["alerts"]] == [
        (a["id"], a["first_step"], a["severity"]) for a in local["alerts"]
    ]
    assert far["status"] == "critical"
    assert far["trainer"] == local["trainer"] == "dpo"
    assert all(s["path"].startswith(f"ssh://{ALIAS}/") for s in far["sources"])


def _records(data: bytes) -> list[int]:
    """End offsets of the TFRecords in an event file's bytes."""
    ends, pos = [], 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack("<Q", data[pos : pos + 8])
        pos += 12 + length + 4
        ends.append(pos)
    return ends


def test_live_remote_run_survives_a_killed_connection_mid_record_every_point_once(
    remote: Sshd, tmp_path: Path
) -> None:
    # The whole run as HF writes it, then fed into the watched file a piece at a time.
    source = tmp_path / "source"
    steps = 30
    with TrlEventWriter(source) as writer:
        writer.write_args(DPO_CONFIG | {"max_steps": steps})
        for step in range(1, steps + 1):
            writer.log(step, healthy_dpo(step))
    data = writer.path.read_bytes()
    ends = _records(data)
    run = tmp_path / "dpo-remote"
    events = run / "runs" / "Jan01_00-00-00_e2e" / writer.path.name
    events.parent.mkdir(parents=True)
    first = ends[len(ends) // 3]
    events.write_bytes(data[:first])

    (path,) = resolve_paths([f"{ALIAS}:{run}"])
    assert path == f"ssh://{ALIAS}{run}"
    (session,) = open_sessions([path])
    session.load()
    host = ssh.host_for(ssh.Target(ALIAS))
    assert host.connects == 1
    before = session.store.get("loss")
    assert before is not None
    seen_step = int(before.steps[-1])

    # Half of the next record is written, read (a partial record waits), then the link drops.
    middle = ends[len(ends) // 3 + 5]
    half = middle + (ends[len(ends) // 3 + 6] - middle) // 2
    with events.open("ab") as f:
        f.write(data[first:half])
    session.poll()
    remote.kill_connections()
    with events.open("ab") as f:
        f.write(data[half : ends[-1] - 40])  # the rest but the tail of the last record
    deadline = time.monotonic() + 10
    while host.status() is None and time.monotonic() < deadline:
        session.poll()
        time.sleep(0.05)
    status = host.status()
    assert status is not None
    assert f"ssh connection to {ALIAS} lost since" in status  # which host, since when
    # Shown as the run's problem while it lasts ...
    assert any(p.message == status for p in session.snapshot().problems)
    with events.open("ab") as f:
        f.write(data[ends[-1] - 40 :])
    # ... and resumed from the saved offsets after the backoff.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        session.poll()
        loss = session.store.get("loss")
        if loss is not None and int(loss.steps[-1]) == steps and host.status() is None:
            break
        time.sleep(0.1)
    assert host.connects >= 2
    assert host.status() is None
    assert not any("ssh connection" in p.message for p in session.snapshot().problems)
    for name in ("loss", "rewards/margins", "grad_norm"):
        s = session.store.get(name)
        assert s is not None
        assert list(s.steps) == list(range(1, steps + 1)), name  # every point, once
        expected = [np.float32(healthy_dpo(k)[name]) for k in range(1, steps + 1)]
        assert np.array_equal(s.values.astype(np.float32), np.array(expected, dtype=np.float32)), name
    assert seen_step < steps
    problems = [p for src in session.sources() for p in src.problems if not p.transient]
    assert problems == []


@pytest.mark.parametrize(
    ("alias", "expect"),
    [
        (ALIAS_BAD_KEY, ("BatchMode", "ssh-add")),
        (ALIAS_UNKNOWN_KEY, ("host key", f"ssh {ALIAS_UNKNOWN_KEY}")),
    ],
)
def test_a_refusing_host_is_one_clear_line_never_a_prompt(
    remote: Sshd, alias: str, expect: tuple[str, ...]
) -> None:
    began = time.monotonic()
    res = _rltui(
        "check",
        f"{alias}:{FIXTURES / 'dpo_healthy'}",
        env={"RLTUI_SSH_COMMAND": remote.ssh_command},
        timeout=30,
    )
    assert time.monotonic() - began < 25
    assert res.returncode == 2
    err = res.stderr.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    for word in expect:
        assert word in err, err


def test_remote_paths_are_parsed_as_scp_and_ssh_urls(tmp_path: Path) -> None:
    from rltui.sources.locations import BadLocation, parse_ssh

    loc = parse_ssh("ssh://me@gpu1:2222/data/run")
    assert (loc.user, loc.host, loc.port, loc.path) == ("me", "gpu1", 2222, "/data/run")  # type: ignore[union-attr]
    loc = parse_ssh("gpu1:runs/x")
    assert (loc.user, loc.host, loc.port, loc.path) == (None, "gpu1", None, "runs/x")  # type: ignore[union-attr]
    assert parse_ssh("ssh://gpu1/~/runs").path == "~/runs"  # type: ignore[union-attr]
    assert parse_ssh("./a:b") is None  # a slash before the colon: a local path
    assert parse_ssh("s3://bucket/run") is None
    here = tmp_path / "odd:name"
    here.mkdir()
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert parse_ssh("odd:name") is None  # a local folder of that name wins, as in scp
    finally:
        os.chdir(old)
    with pytest.raises(BadLocation):
        parse_ssh("ssh://gpu1:99999/x")
    from rltui.sources.locations import canonical

    with pytest.raises(ValueError, match="bad host"):
        canonical("ssh://-oProxyCommand=x/run")


def test_ssh_command_override_is_split_like_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLTUI_SSH_COMMAND", "ssh -F '/a b/config' -o Foo=bar")
    argv = ssh.SshHost(ssh.Target("gpu1", "me", 2222)).argv()
    assert argv[:5] == ["ssh", "-F", "/a b/config", "-o", "Foo=bar"]
    assert "BatchMode=yes" in argv
    assert argv[argv.index("--") + 1] == "gpu1"  # after --: never read as an option
    assert argv[argv.index("-p") : argv.index("-p") + 2] == ["-p", "2222"]
    monkeypatch.delenv("RLTUI_SSH_COMMAND")
    assert ssh.ssh_command() == ["ssh"]


def test_remote_discovery_finds_runs_in_a_sweep_folder_and_new_files(remote: Sshd, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    for name in ("beta0.1", "beta0.5"):
        shutil.copytree(FIXTURES / "dpo_healthy", sweep / name)
    (path,) = resolve_paths([f"ssh://{ALIAS}{sweep}"])
    sessions = open_sessions([path])
    assert sorted(s.info.name for s in sessions) == ["beta0.1", "beta0.5"]
    assert all(s.info.path.startswith(f"ssh://{ALIAS}{sweep}/") for s in sessions)
    s = sessions[0]
    s.load()
    (Path(s.info.path.split(ALIAS, 1)[1]) / "train.log").write_text(
        "{'loss': 0.5, 'grad_norm': 1.0, 'learning_rate': 1e-05, 'epoch': 0.01}\n"
    )
    s.rescan()
    assert any(src.path.endswith("/train.log") for src in s.sources()) or any(
        f.path.endswith("/train.log") for f in s._followed
    )


def test_check_follow_a_remote_run_to_its_end(remote: Sshd, tmp_path: Path) -> None:
    from tests.e2e._writer import exploding_dpo
    from tests.test_check_follow import Follow

    run = tmp_path / "dpo-far-follow"
    max_steps = 40
    with TrlEventWriter(run) as writer:
        writer.write_args(DPO_CONFIG | {"max_steps": max_steps})
        for step in range(1, 6):
            writer.log(step, healthy_dpo(step))
        follow = Follow(f"{ALIAS}:{run}", "--json", cwd=tmp_path)  # RLTUI_SSH_COMMAND from the fixture
        try:
            time.sleep(1.0)
            for step in range(6, max_steps + 1):
                writer.log(step, exploding_dpo(step, since=6))
                time.sleep(0.02)
            first = json.loads(follow.line(30))
            rest, err = follow.finish(30)
        finally:
            follow.close()
    lines = [first, *(json.loads(x) for x in rest.splitlines() if x.strip())]
    assert follow.proc.returncode == 1, err
    assert any(x["event"] == "alert" and x["id"] == "margin_runaway" for x in lines)
    (done,) = [x for x in lines if x["event"] == "finished"]
    assert done["step"] == max_steps
    assert done["path"] == f"ssh://{ALIAS}{run}"


def test_the_host_wakes_a_quiet_remote_run_on_a_change_and_a_new_file(remote: Sshd, tmp_path: Path) -> None:
    """No polling: one outstanding wait, answered by the host when a file or folder changes."""
    run = tmp_path / "dpo-wake"
    with TrlEventWriter(run) as writer:
        writer.write_args(DPO_CONFIG | {"max_steps": 50})
        for step in range(1, 4):
            writer.log(step, healthy_dpo(step))
        (path,) = resolve_paths([f"{ALIAS}:{run}"])
        (session,) = open_sessions([path])
        session.load()
        waker = session.waker()
        assert isinstance(waker, ssh.SshWaker)
        began = time.monotonic()
        assert waker.wait(0.6) is False  # quiet: the wait runs out, nothing changed
        assert time.monotonic() - began >= 0.5
        writer.log(4, healthy_dpo(4))
        began = time.monotonic()
        assert waker.wait(10) is True
        assert time.monotonic() - began < 2
        assert session.poll() > 0
        # A console log appears in the run folder: the folder changed, so the next poll rescans.
        (run / "train.log").write_text(
            "{'loss': 0.5, 'grad_norm': 1.0, 'learning_rate': 1e-05, 'epoch': 0.01}\n"
        )
        assert waker.wait(10) is True
        session.poll()
        assert any(f.path.endswith("/train.log") for f in session._followed)
        waker.close()


def test_completion_samples_of_a_remote_run_read_like_local_ones(remote: Sshd, tmp_path: Path) -> None:
    """The samples screen and the alerts' evidence read a GPU box's ``completions/`` parquet files
    through the same seam as its logs (they used local paths and found nothing remote)."""
    pytest.importorskip("pyarrow")
    run = tmp_path / "grpo"
    shutil.copytree(FIXTURES / "grpo_length_hacking", run)
    (path,) = resolve_paths([f"{ALIAS}:{run}"])
    (far,) = open_sessions([path])
    (near,) = open_sessions([str(run)])
    for s in (far, near):
        s.load()
    assert far.sample_steps() == near.sample_steps()
    assert len(near.sample_steps()) > 3
    assert far.read_samples() == near.read_samples() > 0
    for step in (None, near.sample_steps()[0]):
        got_step, got = far.sample_step(step)
        want_step, want = near.sample_step(step)
        assert got_step == want_step
        assert [(x.prompt, x.completion, x.reward) for x in got] == [
            (x.prompt, x.completion, x.reward) for x in want
        ]
        assert got
    assert far.sample_counts() == near.sample_counts()


def test_console_tail_of_a_remote_run_reads_like_a_local_one(remote: Sshd, tmp_path: Path) -> None:
    """The dashboard's ``t`` on a GPU box's run: the log's newest lines over the same ssh seam."""
    run = tmp_path / "dpo"
    shutil.copytree(FIXTURES / "dpo_margin_explosion", run)
    with (run / "console.log").open("ab") as f:
        f.write(b"\x1b[33mwarning\x1b[0m: remote line\n")
    (path,) = resolve_paths([f"{ALIAS}:{run}"])
    (far,) = open_sessions([path])
    (near,) = open_sessions([str(run)])
    for s in (far, near):
        s.load()
    got, want = far.console_tail(20), near.console_tail(20)
    assert got is not None
    assert want is not None
    assert got[1] == want[1]
    assert got[1][-1] == "warning: remote line"
    assert got[0].endswith("console.log")


def _control_clients() -> set[str]:
    """The tmux control-mode clients running (``pid args``), as rltui's wakers start them."""
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=False)
    return {line.strip() for line in ps.stdout.splitlines() if "attach-session -r -f ignore-size" in line}


def test_a_remote_pane_wakes_through_a_control_mode_client_on_its_host(remote: Sshd, tmp_path: Path) -> None:
    """``--tmux ssh://host/S:W.P`` was captured 4 times a second however quiet the pane; now a
    tmux control-mode client on the host (through the user's ssh) says when the pane prints."""
    from rltui.sources.wake import TmuxPaneWaker
    from tests.e2e.test_tmux_pane import log_dict

    before = _control_clients()
    out = tmp_path / "train.out"
    out.write_text("".join(log_dict(s) for s in range(1, 4)))
    with training_pane(remote, out):
        (session,) = open_sessions([], tmux=f"ssh://{ALIAS}/train:0.0")
        session.load()
        assert session.snapshot().step == 3
        waker = session.waker()
        assert isinstance(waker, TmuxPaneWaker)
        assert waker.wait(10) is True  # attaching: what printed before is read once
        assert waker.mode == "control"
        session.poll()
        # ... and once more when the client on the host is attached (a second or so over ssh).
        assert waker.wait(10) is True
        session.poll()
        began = time.monotonic()
        assert waker.wait(0.8) is False  # a quiet pane: no wake-up, no capture on the host
        assert time.monotonic() - began >= 0.7
        with out.open("a") as f:
            f.write(log_dict(4))
        began = time.monotonic()
        assert waker.wait(10) is True
        assert time.monotonic() - began < 2
        deadline = time.monotonic() + 5
        while session.snapshot().step != 4 and time.monotonic() < deadline:
            session.poll()
            time.sleep(0.05)
        assert session.snapshot().step == 4
        waker.close()
        # The control client (and the ssh carrying it) ends with the waker: none is left behind.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _control_clients() - before:
            time.sleep(0.1)
        assert _control_clients() - before == set()
