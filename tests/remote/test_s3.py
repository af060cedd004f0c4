"""Runs in object storage through fsspec, against a real S3 API server (moto, server mode) on
127.0.0.1: a run uploaded while rltui watches it, and check on a synced run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rltui.session import NoRunError, open_sessions, resolve_paths
from tests.e2e._tmux import EXIT_MARK, REPO, Tmux, header_step, rltui
from tests.e2e._writer import DPO_CONFIG, TrlEventWriter, healthy_dpo
from tests.remote._s3 import S3Server

FIXTURES = REPO / "fixtures" / "runs"


def _bucket(s3: S3Server) -> tuple[Any, str]:
    fs = s3.filesystem()
    name = f"runs-{uuid.uuid4().hex[:8]}"
    fs.mkdir(name)
    return fs, name


def test_a_run_uploaded_while_rltui_watches_it(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs, bucket = _bucket(s3)
    steps = 24
    local = tmp_path / "dpo-synced"
    with TrlEventWriter(local) as writer:
        writer.write_args(DPO_CONFIG | {"max_steps": steps})
        for step in range(1, steps + 1):
            writer.log(step, healthy_dpo(step))
    data = writer.path.read_bytes()
    key = f"{bucket}/dpo-synced/runs/Jan01_00-00-00_e2e/{writer.path.name}"
    # The sync uploads the growing event file again and again (objects are never appended to).
    fs.pipe(key, data[: len(data) // 3])
    # Count the bytes fetched from the store: appended ranges (and 64-byte head checks) only.
    from rltui.sources import objstore

    fetched: list[tuple[int, int]] = []
    real_read = objstore.StoreFile.read_at

    def counting_read(self: objstore.StoreFile, offset: int, size: int) -> bytes:
        out = real_read(self, offset, size)
        fetched.append((offset, len(out)))
        return out

    monkeypatch.setattr(objstore.StoreFile, "read_at", counting_read)
    (path,) = resolve_paths([f"s3://{bucket}/dpo-synced"])
    (session,) = open_sessions([path])
    session.load()
    first = session.store.get("loss")
    assert first is not None
    assert 0 < int(first.steps[-1]) < steps
    fs.pipe(key, data[: 2 * len(data) // 3] + data[2 * len(data) // 3 : 2 * len(data) // 3 + 7])
    session.poll()  # a torn record at the end: waits
    fs.pipe(key, data)
    session.poll()
    for name in ("loss", "rewards/margins"):
        s = session.store.get(name)
        assert s is not None
        assert list(s.steps) == list(range(1, steps + 1)), name  # every point, once
        want = np.array([healthy_dpo(k)[name] for k in range(1, steps + 1)], dtype=np.float32)
        assert np.array_equal(s.values.astype(np.float32), want)
    assert session.info.max_steps == steps
    assert session.info.trainer == "dpo"
    # Each byte once, but for the torn record at the end of an upload: the reader waits for it and
    # reads it again from its start (a few dozen bytes), never the file from 0.
    ranges = [(off, n) for off, n in fetched if not (off == 0 and n <= 64)]
    assert [off for off, _ in ranges] == sorted(off for off, _ in ranges), fetched
    assert 0 <= sum(n for _, n in ranges) - len(data) < 200, fetched
    problems = [p for src in session.sources() for p in src.problems]
    assert problems == []
    # A checkpoint's trainer_state.json synced later is discovered on the next rescan.
    fs.put(str(FIXTURES / "dpo_healthy" / "trainer_state.json"), f"{bucket}/dpo-synced/trainer_state.json")
    session.rescan()
    session.poll()
    assert any(src.kind == "trainer_state" for src in session.sources())


def test_check_on_a_synced_run_in_s3_matches_the_local_verdict(s3: S3Server) -> None:
    fs, bucket = _bucket(s3)
    fs.put(str(FIXTURES / "dpo_margin_explosion"), f"{bucket}/dpo_margin_explosion", recursive=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), **s3.env}
    res = subprocess.run(
        [sys.executable, "-m", "rltui", "check", "--json", f"s3://{bucket}/dpo_margin_explosion"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=REPO,
    )
    assert res.returncode == 1, res.stderr
    far = json.loads(res.stdout)["runs"][0]
    local = subprocess.run(
        [sys.executable, "-m", "rltui", "check", "--json", str(FIXTURES / "dpo_margin_explosion")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=REPO,
    )
    near = json.loads(local.stdout)["runs"][0]
    assert far["path"] == f"s3://{bucket}/dpo_margin_explosion"
    assert far["metrics"] == near["metrics"]
    assert [(a["id"], a["first_step"]) for a in far["alerts"]] == [
        (a["id"], a["first_step"]) for a in near["alerts"]
    ]


def test_a_missing_backend_is_one_line_with_the_install_command(tmp_path: Path) -> None:
    """gs:// without gcsfs (not a test dependency): the message names the extra to install."""
    pytest.importorskip("fsspec")
    try:
        import gcsfs  # noqa: F401

        pytest.skip("gcsfs is installed here")
    except ImportError:
        pass
    with pytest.raises(NoRunError, match=r"pip install 'rltui\[gcs\]'"):
        resolve_paths(["gs://bucket/run"])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run(
        [sys.executable, "-m", "rltui", "check", "gs://bucket/run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1
    assert "pip install 'rltui[gcs]'" in res.stderr


@pytest.mark.tmux
def test_watch_an_s3_run_in_a_terminal_while_it_is_uploaded(s3: S3Server, tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    fs, bucket = _bucket(s3)
    local = tmp_path / "grpo-sync"
    with TrlEventWriter(local) as writer:
        writer.write_args(DPO_CONFIG | {"max_steps": 50})
        for step in range(1, 4):
            writer.log(step, healthy_dpo(step))
        key = f"{bucket}/grpo-sync/runs/Jan01_00-00-00_e2e/{writer.path.name}"
        fs.pipe(key, writer.path.read_bytes())
        with Tmux() as term:
            envs = [f"{k}={v}" for k, v in s3.env.items()]
            term.start(["env", *envs, *rltui("watch", f"s3://{bucket}/grpo-sync")])
            term.wait_for(lambda s: header_step(s) == 3, "the s3 run at step 3")
            for step in range(4, 7):
                writer.log(step, healthy_dpo(step))
            fs.pipe(key, writer.path.read_bytes())
            began = time.monotonic()
            term.wait_for(lambda s: header_step(s) == 6, "step 6 after the upload", timeout=15)
            assert time.monotonic() - began < 10
            term.send("q")
            assert f"{EXIT_MARK} rc=0" in term.wait_text(EXIT_MARK, timeout=10)
