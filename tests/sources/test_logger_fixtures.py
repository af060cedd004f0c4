"""Each tracker reader on files its own library wrote (``fixtures/loggers/``), against the
``log_history`` of the TRL run that was replayed through it: right steps, canonical names
(design.md §4), every point exactly once, nothing written to the store, and the logged config
telling the trainer and framework apart (``detect.trainer_from_config``)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rltui.records import ReadResult
from rltui.sources import logger_discovery
from rltui.sources.detect import parse_config, trainer_from_config
from rltui.sources.mlflow import MlflowDbReader, MlflowRunReader, open_reader
from rltui.sources.swanlab import SwanlabReader
from rltui.sources.trackio import TrackioReader
from rltui.sources.wandb import WandbReader
from tests.sources._loggers import copy_fixture, expected_points, points_of, read_all, snapshot_tree


def _assert_exactly(results: list[ReadResult], run: str, **truth: bool) -> None:
    got = Counter(points_of(results))
    want = expected_points(run, **truth)
    extra, lost = got - want, want - got
    assert not extra, f"invented or doubled: {sorted(extra, key=str)[:5]}"
    assert not lost, f"lost: {sorted(lost, key=str)[:5]}"
    assert all(r.points == 0 for r in results[1:]), "a finished file gave points again"
    assert all(r.problems == [] for r in results)


def _config(results: list[ReadResult]) -> dict[str, object]:
    texts = [r.texts["args"] for r in results if "args" in r.texts]
    assert texts, "no config handed over"
    config = parse_config(texts[-1])
    assert config is not None
    return config


def _the_run(folder: Path, kind: str) -> logger_discovery.TrackerRun:
    runs = [
        r for r in logger_discovery.runs_in(str(folder), [p.name for p in folder.iterdir()]) if r.kind == kind
    ]
    assert len(runs) == 1, runs
    return runs[0]


def test_wandb_offline_run(tmp_path: Path) -> None:
    project = copy_fixture("wandb_project", tmp_path)
    before = snapshot_tree(project)
    found = _the_run(project / "wandb", "wandb")
    assert found.name == "dpo_margin_explosion"  # W&B's display name, from the run record
    reader = WandbReader(found.path)
    results = read_all(reader)
    _assert_exactly(results, "dpo_margin_explosion")
    config = _config(results)
    assert trainer_from_config(config) == "dpo"
    assert config["output_dir"] == "dpo_margin_explosion"
    assert (results[0].max_steps, results[0].logging_steps) == (config["max_steps"], config["logging_steps"])
    # `train/global_step` is the step, never a metric; W&B's own `_step`, `_runtime` are not metrics.
    names = {p[0] for p in points_of(results)}
    assert not {n for n in names if n.startswith("_") or "global_step" in n}
    assert snapshot_tree(project) == before


def test_mlflow_file_store(tmp_path: Path) -> None:
    store = copy_fixture("mlflow_file", tmp_path)
    before = snapshot_tree(store)
    found = _the_run(store / "mlruns", "mlflow")
    assert found.name == "dpo_healthy"  # the run name of meta.yaml
    reader = open_reader(found.path)
    assert isinstance(reader, MlflowRunReader)
    results = read_all(reader)
    _assert_exactly(results, "dpo_healthy")
    config = _config(results)
    assert trainer_from_config(config) == "dpo"
    assert config["beta"] == 0.1  # params typed back from strings
    assert config["max_steps"] == 150
    assert snapshot_tree(store) == before


@pytest.mark.parametrize(("run", "trainer"), [("grpo_healthy", "grpo"), ("grpo_length_hacking", "grpo")])
def test_mlflow_sqlite_store_one_reader_per_run(tmp_path: Path, run: str, trainer: str) -> None:
    store = copy_fixture("mlflow_db", tmp_path)
    before = snapshot_tree(store)
    runs = {r.name: r for r in logger_discovery.file_runs(str(store / "mlflow.db")) or []}
    assert set(runs) == {"grpo_healthy", "grpo_length_hacking"}
    reader = open_reader(runs[run].path, runs[run].select)
    assert isinstance(reader, MlflowDbReader)
    try:
        results = read_all(reader)
    finally:
        reader.close()
    _assert_exactly(results, run)  # the other run's rows never leak in
    assert trainer_from_config(_config(results)) == trainer
    assert snapshot_tree(store) == before  # no -journal, -wal or -shm left behind either


def test_trackio_project(tmp_path: Path) -> None:
    folder = copy_fixture("trackio", tmp_path)
    before = snapshot_tree(folder)
    found = _the_run(folder, "trackio")
    assert (found.name, found.select) == ("sft_healthy", "sft_healthy")
    reader = TrackioReader(found.path, found.select)
    try:
        results = read_all(reader)
    finally:
        reader.close()
    _assert_exactly(results, "sft_healthy")
    config = _config(results)
    assert trainer_from_config(config) == "sft"
    assert snapshot_tree(folder) == before


def test_swanlab_local_run(tmp_path: Path) -> None:
    project = copy_fixture("swanlab_project", tmp_path)
    before = snapshot_tree(project)
    found = _the_run(project / "swanlog", "swanlab")
    reader = SwanlabReader(found.path)
    results = read_all(reader)
    # SwanLab refuses non-finite values at log time (the script drops them before logging) and
    # keeps the first value of a key at a step (`epoch` of the eval row repeats the train row's).
    _assert_exactly(results, "dpo_healthy", finite_only=True, first_per_step=True)
    config = _config(results)
    assert trainer_from_config(config) == "dpo"
    assert snapshot_tree(project) == before


def test_every_fixture_is_one_detected_run_through_check(tmp_path: Path) -> None:
    """The whole path: discovery, session and ``check --json`` over each tracker folder."""
    from tests.hostile.conftest import check_json

    cases = {
        "wandb_project": {("dpo_margin_explosion", "dpo")},
        "mlflow_file": {("dpo_healthy", "dpo")},
        "mlflow_db": {("grpo_healthy", "grpo"), ("grpo_length_hacking", "grpo")},
        "trackio": {("sft_healthy", "sft")},
    }
    for name, want in cases.items():
        folder = copy_fixture(name, tmp_path)
        _rc, out = check_json(str(folder), "--no-samples")
        runs = out["runs"]
        assert isinstance(runs, list)
        assert {(r["name"], r["trainer"]) for r in runs} == want, name
        for r in runs:
            assert r["framework"] == "trl"
            assert r["last_step"] == r["max_steps"] == 150 or name == "wandb_project"
            assert [s["kind"] for s in r["sources"]] == [name.split("_")[0]]
            assert all(s["problems"] == [] for s in r["sources"])
    json.dumps(out)
