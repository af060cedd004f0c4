"""The trackers at the command line: ``--trackio [PROJECT]``, and the one-line install message
of an optional extra that is missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rltui.sources import swanlab, trackio

ROOT = Path(__file__).resolve().parents[1]
LOGGERS = ROOT / "fixtures" / "loggers"


def _rltui(*args: str, trackio_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRACKIO_DIR": str(trackio_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "rltui", *args], capture_output=True, text=True, timeout=60, env=env, cwd=ROOT
    )


@pytest.fixture
def trackio_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "trackio"
    shutil.copytree(LOGGERS / "trackio", folder)
    return folder


@pytest.mark.parametrize(
    "args", [("--trackio", "rltui-fixtures"), ("--trackio", "rltui-fixtures!"), ("--trackio",)]
)
def test_check_a_trackio_project_by_name(trackio_dir: Path, args: tuple[str, ...]) -> None:
    """By name (``rltui-fixtures!`` is the same project to Trackio: its canonical file name), or
    every project of the folder when no name is given."""
    proc = _rltui("check", *args, "--json", "--no-samples", trackio_dir=trackio_dir)
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout)["runs"]
    assert [(r["name"], r["trainer"], r["last_step"]) for r in runs] == [("sft_healthy", "sft", 150)]
    assert runs[0]["sources"][0]["kind"] == "trackio"
    assert runs[0]["sources"][0]["path"] == str(trackio_dir / "rltui-fixtures.db")


def test_a_missing_project_is_one_line_naming_the_projects_there(trackio_dir: Path) -> None:
    proc = _rltui("check", "--trackio", "nope", trackio_dir=trackio_dir)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"rltui: error: no Trackio project 'nope' in {trackio_dir} (projects there: rltui-fixtures); "
        "TRACKIO_DIR sets the folder"
    ]


def test_watch_with_a_missing_project_says_so_before_any_terminal(tmp_path: Path) -> None:
    proc = _rltui("--trackio", "nope", trackio_dir=tmp_path / "none")
    assert proc.returncode == 2
    assert "no Trackio project 'nope'" in proc.stderr
    assert "(no projects there)" in proc.stderr


def test_check_needs_a_path_or_a_project(tmp_path: Path) -> None:
    proc = _rltui("check", trackio_dir=tmp_path)
    assert proc.returncode == 2
    assert "give a PATH or --trackio PROJECT" in proc.stderr


def test_default_folder_follows_trackio(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Trackio's own rule (trackio.utils._get_trackio_dir): TRACKIO_DIR, else $HF_HOME/trackio,
    HF_HOME defaulting to $XDG_CACHE_HOME/huggingface, then ~/.cache/huggingface."""
    monkeypatch.delenv("TRACKIO_DIR", raising=False)
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert trackio.default_dir() == str(tmp_path / "xdg" / "huggingface" / "trackio")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert trackio.default_dir() == str(tmp_path / "hf" / "trackio")
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "t"))
    assert trackio.default_dir() == str(tmp_path / "t")
    assert trackio.canonical_project_name("my.model/v2") == "mymodelv2"
    assert trackio.canonical_project_name("...") == "default"


def test_swanlab_without_pyyaml_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The points are read without PyYAML; only the config needs it, and the problem says how to
    get it in one line."""
    project = tmp_path / "swanlab_project"
    shutil.copytree(LOGGERS / "swanlab_project", project)
    (log,) = project.glob("swanlog/run-*/run-*.swanlab")
    monkeypatch.setitem(sys.modules, "yaml", None)  # import yaml -> ImportError
    result = swanlab.SwanlabReader(str(log)).read()
    assert result.points > 2000
    assert "args" not in result.texts
    messages = [p.message for p in result.problems]
    assert messages == ["config.yaml not read: install PyYAML (pip install 'rltui[swanlab]')"]


def test_tensorboard_and_wandb_of_one_training_are_one_run_and_wandb_wins(tmp_path: Path) -> None:
    """A project folder holding the HF output_dir and the ``wandb/`` folder its training wrote
    (the run's config names ``output_dir`` relative to the project): one run, both sources, and
    ``won`` says the tracker's float64 values hold every step they share (design.md §4)."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "fixtures" / "runs" / "dpo_margin_explosion", project / "dpo_margin_explosion")
    shutil.copytree(LOGGERS / "wandb_project" / "wandb", project / "wandb", symlinks=True)
    proc = _rltui("check", str(project), "--json", "--no-samples", trackio_dir=tmp_path / "none")
    out = json.loads(proc.stdout)
    (run,) = out["runs"]
    assert (run["name"], run["trainer"], run["last_step"]) == ("dpo_margin_explosion", "dpo", 800)
    by_kind: dict[str, list[dict[str, object]]] = {}
    for s in run["sources"]:
        by_kind.setdefault(s["kind"], []).append(s)
    stored = sum(m["points"] for m in run["metrics"].values())
    (wandb,) = by_kind["wandb"]
    assert wandb["won"] == stored
    assert all(s["won"] == 0 for k in ("tfevents", "trainer_state") for s in by_kind[k])
    assert sum(int(s["won"]) for s in run["sources"] if "won" in s) == stored
