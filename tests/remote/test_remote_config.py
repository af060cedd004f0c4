"""A remote run's own ``rltui.toml`` is read through its host's (or store's) seam, as a local
run's is: applied when the user opted in, shown as ignored otherwise, bounded and never a crash.
Real sshd and real S3 server (tests/remote/_sshd.py, _s3.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from rltui.session import open_sessions, resolve_paths
from tests.e2e._tmux import REPO
from tests.remote._s3 import S3Server
from tests.remote._sshd import ALIAS, Sshd

RUN = REPO / "fixtures" / "runs" / "dpo_margin_explosion"
SWITCH_OFF = "[rules.margin_runaway]\nenabled = false\n"


def _check(url: str, home: Path, env: dict[str, str]) -> dict[str, object]:
    res = subprocess.run(
        [sys.executable, "-m", "rltui", "check", "--json", url],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "XDG_CONFIG_HOME": str(home), **env},
        timeout=90,
        cwd=home,
    )
    assert res.returncode in (0, 1), res.stderr
    run: dict[str, object] = json.loads(res.stdout)["runs"][0]
    return run


def _ids(run: dict[str, object]) -> set[str]:
    return {a["id"] for a in run["alerts"]}  # type: ignore[attr-defined]


def _trusting_home(tmp_path: Path) -> Path:
    home = tmp_path / "xdg"
    (home / "rltui").mkdir(parents=True)
    (home / "rltui" / "rltui.toml").write_text("[trust]\nrun_configs = true\n")
    return home


def test_remote_run_config_over_ssh_changes_the_verdict_when_trusted(remote: Sshd, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    env = {"RLTUI_SSH_COMMAND": remote.ssh_command}
    url = f"{ALIAS}:{run}"
    empty = tmp_path / "empty_xdg"
    empty.mkdir()
    before = _check(url, empty, env)
    assert "margin_runaway" in _ids(before)
    (run / "rltui.toml").write_text(SWITCH_OFF)
    untrusted = _check(url, empty, env)
    assert "margin_runaway" in _ids(untrusted)  # shown, not applied: not opted in
    cfg = untrusted["config"]
    assert cfg["files"] == [f"ssh://{ALIAS}{run}/rltui.toml"]  # type: ignore[index]
    assert any("margin_runaway" in i and "ignored" in i for i in cfg["ignored"])  # type: ignore[index]
    trusted = _check(url, _trusting_home(tmp_path), env)
    assert "margin_runaway" not in _ids(trusted)
    assert "likelihood_displacement" in _ids(trusted)  # only the one rule was switched off


def test_a_hostile_remote_run_config_is_a_problem_not_a_crash(
    remote: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(_trusting_home(tmp_path)))
    monkeypatch.chdir(tmp_path)
    with open(run / "rltui.toml", "wb") as fh:  # sparse, far over the bound: refused unread
        fh.truncate(1 << 30)
    (big,) = open_sessions(resolve_paths([f"ssh://{ALIAS}{run}"]))
    assert [p.message for p in big.problems if p.path.endswith("rltui.toml")] != []
    assert any("limit" in p.message for p in big.problems if p.path.endswith("rltui.toml"))
    big.load()
    assert "margin_runaway" in {a.id for a in big.snapshot().alerts}  # the user's config applies
    (run / "rltui.toml").unlink()
    os.mkfifo(run / "rltui.toml")  # a FIFO never blocks the remote read
    (fifo,) = open_sessions(resolve_paths([f"ssh://{ALIAS}{run}"]))
    assert any(p.path.endswith("rltui.toml") for p in fifo.problems)
    (run / "rltui.toml").unlink()
    (run / "rltui.toml").write_bytes(b"[rules.margin_runaway]\nenabled = \x1b[2Jyes\n")
    (bad,) = open_sessions(resolve_paths([f"ssh://{ALIAS}{run}"]))
    msgs = [p.message for p in bad.problems if p.path.endswith("rltui.toml")]
    assert msgs
    assert all("\x1b" not in m for m in msgs)  # sanitised before it reaches a terminal


def test_remote_run_config_in_s3_changes_the_verdict_when_trusted(s3: S3Server, tmp_path: Path) -> None:
    fs = s3.filesystem()
    bucket = f"cfg-{uuid.uuid4().hex[:8]}"
    fs.mkdir(bucket)
    fs.put(str(RUN), f"{bucket}/run", recursive=True)
    fs.pipe(f"{bucket}/run/rltui.toml", SWITCH_OFF.encode())
    url = f"s3://{bucket}/run"
    empty = tmp_path / "empty_xdg"
    empty.mkdir()
    untrusted = _check(url, empty, s3.env)
    assert "margin_runaway" in _ids(untrusted)
    assert untrusted["config"]["files"] == [f"{url}/rltui.toml"]  # type: ignore[index]
    trusted = _check(url, _trusting_home(tmp_path), s3.env)
    assert "margin_runaway" not in _ids(trusted)
