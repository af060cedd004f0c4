"""Run discovery on real fixture folders and on synthetic layouts built in tmp_path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rltui.sources.discovery import classify, discover, event_file_order

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "runs"
LOG_LINE = "{'loss': '0.6931', 'grad_norm': '1.2', 'epoch': '0.1'}\n"


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def hf_output_dir(root: Path, stamp: str = "Nov23_04-10-06_vm", t: int = 1795407006) -> Path:
    touch(root / "runs" / stamp / f"events.out.tfevents.{t}.vm.1.0")
    for n in (50, 100):
        touch(root / f"checkpoint-{n}" / "trainer_state.json", "{}")
        touch(root / f"checkpoint-{n}" / "config.json", "{}")
    touch(root / "trainer_state.json", "{}")
    touch(root / "console.log", LOG_LINE)
    touch(root / "README.md", "---\ntags:\n- trl\n- dpo\n---\n")
    return root


def rel(paths: list[str], root: Path) -> list[str]:
    return [os.path.relpath(p, root) for p in paths]


def test_real_sweep_folder_gives_one_run_per_output_dir() -> None:
    d = discover(str(RUNS))
    assert not d.problems
    assert sorted(r.name for r in d.runs) == sorted(p.name for p in RUNS.iterdir() if p.is_dir())
    for run in d.runs:
        kinds = [f.kind for f in run.files]
        on_disk_states = list(Path(run.root).glob("checkpoint-*/trainer_state.json"))
        assert kinds.count("trainer_state") == len(on_disk_states) + 1
        assert kinds.count("tfevents") == len(list(Path(run.root).rglob("events.out.tfevents.*")))
        assert run.model_card == os.path.join(run.root, "README.md")
        assert "console" in kinds


def test_hf_output_dir_is_one_run_with_its_files_in_read_order(tmp_path: Path) -> None:
    root = hf_output_dir(tmp_path / "out")
    for junk in ("merges.txt", "vocab.txt", "requirements.txt", "tokenizer.json"):
        touch(root / junk, "loss step epoch")  # looks like a log, named like a tokenizer file
    touch(root / "notes.txt", "remember to buy milk\n")
    touch(root / "train.txt", LOG_LINE)
    touch(root / "metrics.jsonl", '{"step": 1, "loss": 0.5}\n')
    touch(root / "logs" / "deep.log", LOG_LINE)  # logs count only at the top of a run
    d = discover(str(root))
    assert [r.root for r in d.runs] == [str(root)]
    files = [(f.kind, os.path.relpath(f.path, root)) for f in d.runs[0].files]
    assert files == [
        ("console", "console.log"),
        ("console", "train.txt"),
        ("jsonl", "metrics.jsonl"),
        ("trainer_state", "checkpoint-50/trainer_state.json"),
        ("trainer_state", "checkpoint-100/trainer_state.json"),
        ("trainer_state", "trainer_state.json"),
        ("tfevents", "runs/Nov23_04-10-06_vm/events.out.tfevents.1795407006.vm.1.0"),
    ]


def test_resumed_run_event_files_in_creation_order(tmp_path: Path) -> None:
    root = hf_output_dir(tmp_path / "out", "Nov23_05-00-00_vm", 1795409000)
    touch(root / "runs" / "Nov23_04-00-00_vm" / "events.out.tfevents.1795405000.vm.1.0")
    (run,) = discover(str(root)).runs
    events = [f.path for f in run.files if f.kind == "tfevents"]
    assert rel(events, root) == [
        "runs/Nov23_04-00-00_vm/events.out.tfevents.1795405000.vm.1.0",
        "runs/Nov23_05-00-00_vm/events.out.tfevents.1795409000.vm.1.0",
    ]
    assert event_file_order(events[0]) < event_file_order(events[1])


def test_verl_tensorboard_log_gives_one_run_per_experiment(tmp_path: Path) -> None:
    for exp in ("exp_a", "exp_b"):
        touch(
            tmp_path
            / "tensorboard_log"
            / "proj"
            / exp
            / f"events.out.tfevents.17000000{exp[-1] == 'b':d}.h.1.0"
        )
    d = discover(str(tmp_path / "tensorboard_log"))
    assert sorted(rel([r.root for r in d.runs], tmp_path)) == [
        "tensorboard_log/proj/exp_a",
        "tensorboard_log/proj/exp_b",
    ]
    assert all(len(r.files) == 1 and r.files[0].kind == "tfevents" for r in d.runs)


def test_verl_jsonl_project_folder_gives_one_run_per_file(tmp_path: Path) -> None:
    for exp in ("grpo_a", "grpo_b"):
        touch(tmp_path / "proj" / f"{exp}.jsonl", '{"step": 1, "data": {"actor/pg_loss": 0.1}}\n')
    d = discover(str(tmp_path / "proj"))
    assert sorted(r.name for r in d.runs) == ["proj/grpo_a", "proj/grpo_b"]
    assert all([f.path for f in r.files] == [r.jsonl_only] for r in d.runs)


def test_sweep_folder_with_driver_log_and_nested_run(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    a = hf_output_dir(sweep / "beta0.1")
    b = hf_output_dir(sweep / "beta0.5")
    nested = hf_output_dir(b / "ablation", t=1795409999)
    touch(sweep / "sweep.log", LOG_LINE)  # the driver's log is not a training run
    d = discover(str(sweep))
    assert sorted(r.root for r in d.runs) == sorted(map(str, (a, b, nested)))
    outer = next(r for r in d.runs if r.root == str(b))
    assert not any(f.path.startswith(str(nested)) for f in outer.files)
    assert next(r for r in d.runs if r.root == str(nested)).name == "beta0.5/ablation"


def test_skipped_trees_depth_limit_and_symlink_loop(tmp_path: Path) -> None:
    root = hf_output_dir(tmp_path / "out")
    touch(root / "node_modules" / "x" / "events.out.tfevents.1.h.1.0")
    touch(root / ".git" / "events.out.tfevents.1.h.1.0")
    touch(root / "wandb" / "run-1" / "files" / "output.log", LOG_LINE)
    deep = tmp_path / "a" / "b" / "c" / "d" / "e" / "f" / "g" / "h"
    touch(deep / "events.out.tfevents.1.h.1.0")
    (root / "loop").symlink_to(tmp_path, target_is_directory=True)  # points back above the run
    d = discover(str(tmp_path))
    roots = [r.root for r in d.runs]
    assert roots.count(str(root)) == 1
    assert str(deep) not in roots
    (run,) = (r for r in d.runs if r.root == str(root))
    assert not any("node_modules" in f.path or ".git" in f.path or "wandb" in f.path for f in run.files)


def test_unreadable_folder_is_a_problem_and_the_rest_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = hf_output_dir(tmp_path / "good")
    bad = tmp_path / "bad"
    bad.mkdir()
    real_scandir = os.scandir

    def scandir(path: str) -> Iterator[os.DirEntry[str]]:
        if os.fspath(path) == str(bad):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    d = discover(str(tmp_path))
    assert [r.root for r in d.runs] == [str(good)]
    assert [p.path for p in d.problems] == [str(bad)]
    assert "Permission denied" in d.problems[0].message


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any folder")
def test_unreadable_folder_real_permissions(tmp_path: Path) -> None:
    hf_output_dir(tmp_path / "good")
    bad = tmp_path / "bad"
    bad.mkdir()
    bad.chmod(0)
    try:
        d = discover(str(tmp_path))
    finally:
        bad.chmod(0o755)
    assert len(d.runs) == 1
    assert any(p.path == str(bad) for p in d.problems)


def test_single_files(tmp_path: Path) -> None:
    root = hf_output_dir(tmp_path / "dpo_run")
    ev = next(root.rglob("events.out.tfevents.*"))
    for path, kind in (
        (ev, "tfevents"),
        (root / "checkpoint-50" / "trainer_state.json", "trainer_state"),
        (root / "console.log", "console"),
    ):
        (run,) = discover(str(path)).runs
        assert run.single_file
        assert [f.kind for f in run.files] == [kind]
        assert run.name == "dpo_run"
        assert run.model_card == str(root / "README.md")
    weird = touch(tmp_path / "notes.md", "x")
    d = discover(str(weird))
    assert not d.runs
    assert d.problems
    assert d.problems[0].path == str(weird)
    missing = discover(str(tmp_path / "nope"))
    assert not missing.runs
    assert "cannot read" in missing.problems[0].message


def test_classify_names(tmp_path: Path) -> None:
    assert classify("x/events.out.tfevents.1700000000.host.1.0") == "tfevents"
    assert classify("x/trainer_state.json") == "trainer_state"
    assert classify("x/metrics.jsonl") == "jsonl"
    assert classify("x/anything.log") == "console"
    empty = touch(tmp_path / "slurm-1.out")
    assert classify(str(empty)) is None  # nothing to recognise yet; a rescan looks again
    assert classify(str(empty), explicit=True) == "console"
    empty.write_text("  1%|          | 1/150 [00:00<00:24,  6.09it/s]\n")
    assert classify(str(empty)) == "console"


def test_empty_and_sourceless_folders(tmp_path: Path) -> None:
    touch(tmp_path / "config.json", "{}")
    touch(tmp_path / "sub" / "tokenizer.json", "{}")
    d = discover(str(tmp_path))
    assert d.runs == []
    assert d.problems == []


def test_pointing_at_a_checkpoint_or_a_runs_folder(tmp_path: Path) -> None:
    root = hf_output_dir(tmp_path / "out")
    (ckpt,) = discover(str(root / "checkpoint-50")).runs
    assert [f.kind for f in ckpt.files] == ["trainer_state"]
    (stamp,) = discover(str(root / "runs")).runs
    assert [f.kind for f in stamp.files] == ["tfevents"]


@pytest.mark.parametrize(
    "junk",
    [
        "build/lib/rltui/demo/run",  # a built wheel's copy of packaged demo runs
        "dist/rltui-0.1/demo/run",
        "rltui.egg-info/run",
        "lib/python3.11/site-packages/pkg/run",
        "pkg/__pycache__/run",
        ".tox/py311/run",
        ".venv/run",
        "venv/run",
        ".mypy_cache/run",
        ".ruff_cache/run",
        ".pytest_cache/run",
        ".hypothesis/run",
    ],
)
def test_build_and_tool_folders_are_not_searched_for_runs(tmp_path: Path, junk: str) -> None:
    """``rltui compare .`` from a source checkout lists the training runs, not build copies."""
    hf_output_dir(tmp_path / "outputs" / "real")
    hf_output_dir(tmp_path / junk)
    assert [r.root for r in discover(str(tmp_path)).runs] == [str(tmp_path / "outputs" / "real")]
