"""Hostile run folders, built by the tests themselves (issue 13): every fixture here is data a
stranger could hand rltui. The attacks are driven headless (``rltui check`` in a subprocess with a
timeout, so a hang fails instead of stalling the suite) and through the session API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sources._tfwriter import record, scalar_event, version_event

REPO = Path(__file__).resolve().parents[2]
EXPLOSION = REPO / "fixtures" / "runs" / "dpo_margin_explosion"


def events_file(path: Path, points: list[tuple[int, dict[str, float]]], wall0: float = 1.7e9) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = record(version_event(wall0))
    for i, (step, values) in enumerate(points):
        for tag, value in values.items():
            data += record(scalar_event(tag, value, step, wall0 + i))
    path.write_bytes(data)
    return path


def check(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``rltui check`` in a fresh interpreter; a hang is a failed test, not a stuck suite."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "rltui", "check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=str(cwd) if cwd else None,
        stdin=subprocess.DEVNULL,
    )


def check_json(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> tuple[int, dict[str, Any]]:
    """``check --json``: the exit code and the parsed document (JSON, so its values are Any)."""
    proc = check(*args, "--json", env=env, cwd=cwd, timeout=timeout)
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture
def explosion(tmp_path: Path) -> Path:
    """A copy of the real margin-explosion run (critical margin_runaway, exit 1)."""
    dst = tmp_path / "explosion"
    shutil.copytree(EXPLOSION, dst)
    return dst


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No user config of the machine leaks in: an empty XDG config home and working directory."""
    xdg = tmp_path / "xdg"
    xdg.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.chdir(work)
    return {"XDG_CONFIG_HOME": str(xdg)}
