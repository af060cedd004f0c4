"""Hostile files in a run folder: special files, symlinks out, huge steps, huge and deep JSON,
BOMs, UTF-16, stray points vs real resumes, walk budgets. Headless: ``rltui check`` and sessions."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from rltui.session import open_sessions
from rltui.sources.fs import LOCAL, NotRegularFile, OutsideRoot, TooLarge
from tests.hostile.conftest import check, check_json, events_file


def _jsonl(path: Path, steps: list[int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"step": s, "loss": 1.0 + s / 1000}) + "\n" for s in steps))
    return path


# -- the seam itself ------------------------------------------------------------------------------


def test_seam_refuses_a_fifo_without_blocking_and_bounds_reads(tmp_path: Path) -> None:
    fifo = tmp_path / "events.out.tfevents.1.h"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(NotRegularFile):
        LOCAL.open(str(fifo))
    assert time.monotonic() - t0 < 1
    big = tmp_path / "rltui.toml"
    with big.open("wb") as fh:
        fh.truncate(1 << 30)  # sparse: 1 GiB on paper, nothing on disk
    with pytest.raises(TooLarge):
        LOCAL.read_small(str(big), 1 << 20)
    outside = tmp_path / "elsewhere.log"
    outside.write_text("x\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "train.log").symlink_to(outside)
    with pytest.raises(OutsideRoot):
        LOCAL.confined(str(run)).open(str(run / "train.log"))
    with LOCAL.open(str(outside)) as fh:
        assert fh.read_at(1, 10) == b"\n"


# -- hangs ----------------------------------------------------------------------------------------


def test_fifo_model_card_does_not_hang_check(tmp_path: Path, isolated: dict[str, str]) -> None:
    run = tmp_path / "run"
    _jsonl(run / "metrics.jsonl", list(range(1, 21)))
    os.mkfifo(run / "README.md")
    proc = check(str(run), "--json", env=isolated, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["runs"][0]["metrics"]["loss"]["points"] == 20


@pytest.mark.parametrize("name", ["events.out.tfevents.2.h", "trainer_state.json", "train.log", "m.jsonl"])
def test_followed_file_replaced_by_a_fifo_is_a_problem_not_a_hang(tmp_path: Path, name: str) -> None:
    run = tmp_path / "run"
    events_file(
        run / "runs" / "x" / "events.out.tfevents.1.h", [(s, {"train/loss": 1.0}) for s in range(1, 11)]
    )
    target = run / name
    target.write_text('{"log_history": []}' if name.endswith(".json") else "")
    (s,) = open_sessions([str(run)])
    s.load()
    target.unlink()
    os.mkfifo(target)
    t0 = time.monotonic()
    s.rescan()
    s.poll()
    snap = s.snapshot()
    assert time.monotonic() - t0 < 5
    assert snap.metrics["loss"].points == 10
    problems = [p.message for src in snap.sources for p in src.problems if src.path == str(target)]
    if name != "train.log":  # a console log is not read at all once event files give points
        assert any("not a regular file" in m for m in problems), problems


def test_at_step_far_past_the_end_costs_what_the_points_cost(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _jsonl(run / "m.jsonl", [*range(1, 151), 2**40])
    (s,) = open_sessions([str(run)])
    s.load()
    t0 = time.monotonic()
    snap = s.snapshot(at_step=10**15)
    assert snap.step == 2**40
    model = s._get_model()
    # one checkpoint per 50 logged steps: 151 points -> 3, whatever the step numbers are
    assert len(model._checkpoints) <= 4
    assert time.monotonic() - t0 < 30


# -- silent data loss -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    ["step:99999999999999999999999 - loss:1.0", "Global step 99999999999999999999999: {'loss': 1.0}"],
)
def test_one_oversized_console_step_is_one_skipped_line(tmp_path: Path, line: str) -> None:
    log = tmp_path / "run" / "train.log"
    log.parent.mkdir()
    good = [f"step:{s} - loss:{1.0 / s}" for s in range(1, 41)]
    log.write_text("\n".join([*good[:20], line, *good[20:]]) + "\n")
    code, doc = check_json(str(log.parent))
    run = doc["runs"][0]
    assert run["metrics"]["loss"]["points"] == 40
    problems = [p for src in run["sources"] for p in src["problems"]]
    assert len(problems) == 1
    assert problems[0]["offset"] == len("\n".join(good[:20])) + 1
    assert code == 0


def test_a_stray_jsonl_point_keeps_every_point_and_is_reported(tmp_path: Path) -> None:
    steps = [*range(1, 251), 0, *range(251, 501)]
    path = _jsonl(tmp_path / "run" / "m.jsonl", steps)
    _, doc = check_json(str(path.parent))
    run = doc["runs"][0]
    assert run["metrics"]["loss"]["points"] == 501
    (problem,) = run["sources"][0]["problems"]
    assert "step 0" in problem["message"]
    assert "after step 250" in problem["message"]
    lines = path.read_bytes().split(b"\n")
    assert problem["offset"] == sum(len(x) + 1 for x in lines[:250])


def test_a_stray_event_keeps_every_point_like_tensorboard(tmp_path: Path) -> None:
    points = [(s, {"train/loss": 1.0}) for s in range(1, 251)]
    points += [(1, {"train/loss": 5.0})] + [(s, {"train/loss": 1.0}) for s in range(251, 501)]
    events_file(tmp_path / "run" / "events.out.tfevents.1700000000.h", points)
    _, doc = check_json(str(tmp_path / "run"))
    run = doc["runs"][0]
    assert run["metrics"]["loss"]["points"] == 500  # steps 1..500, step 1 re-stated by the stray
    (problem,) = run["sources"][0]["problems"]
    assert "step 1 after step 250" in problem["message"]
    assert isinstance(problem["offset"], int)
    assert problem["offset"] > 0


def test_a_real_resume_still_rewinds_and_says_so(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "run" / "m.jsonl", [*range(1, 301), *range(200, 251)])
    _, doc = check_json(str(path.parent))
    run = doc["runs"][0]
    assert run["metrics"]["loss"]["last_step"] == 250
    assert run["metrics"]["loss"]["points"] == 250
    (problem,) = run["sources"][0]["problems"]
    assert "resumed" in problem["message"]
    assert "200" in problem["message"]


def _state(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def _history(n: int) -> list[dict[str, float]]:
    return [{"step": s, "loss": 1.0 / s} for s in range(1, n + 1)]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("huge_int", None),
        ("deep", "nested deeper"),
        ("bom", None),
    ],
)
def test_valid_trainer_state_is_parsed(tmp_path: Path, case: str, reason: str | None) -> None:
    history: list[object] = list(_history(30))
    body = json.dumps({"max_steps": 30, "log_history": history})
    if case == "huge_int":
        body = body.replace('"max_steps": 30', '"max_steps": 30, "total_flos": ' + "9" * 5000)
    if case == "deep":
        deep = "[" * 100000 + "]" * 100000
        body = body.replace('"log_history": [', '"log_history": [' + deep + ", ")
    text = ("\ufeff" if case == "bom" else "") + body
    state = _state(tmp_path / "out" / "trainer_state.json", text)
    _, doc = check_json(str(state.parent))
    run = doc["runs"][0]
    assert run["metrics"]["loss"]["points"] == 30
    assert run["max_steps"] == 30
    messages = [p["message"] for src in run["sources"] for p in src["problems"]]
    assert not any("mid-write" in m for m in messages), messages
    if reason:
        assert any(reason in m for m in messages), messages


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_console_log_is_decoded(tmp_path: Path, codec: str) -> None:
    log = tmp_path / "run" / "train.log"
    log.parent.mkdir()
    text = "".join(f"{{'loss': {1.0 / s:.4f}, 'epoch': {s / 100}}}\r\n" for s in range(1, 26))
    bom = b"\xff\xfe" if codec == "utf-16-le" else b"\xfe\xff"
    log.write_bytes(bom + text.encode(codec))
    _, doc = check_json(str(log.parent))
    assert doc["runs"][0]["metrics"]["loss"]["points"] == 25


def test_empty_checkpoints_do_not_hide_the_event_file(tmp_path: Path) -> None:
    run = tmp_path / "out"
    for n in range(6000):  # more than the walk's folder budget
        (run / f"checkpoint-{n}").mkdir(parents=True)
    events_file(
        run / "runs" / "Nov01_00-00-00_h" / "events.out.tfevents.1.h",
        [(s, {"train/loss": 1.0}) for s in range(1, 11)],
    )
    _, doc = check_json(str(run), timeout=120)
    run_doc = doc["runs"][0]
    assert run_doc["metrics"]["loss"]["points"] == 10


# -- trust ----------------------------------------------------------------------------------------


def test_symlink_to_another_runs_events_is_not_merged(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    healthy = sweep / "a"
    _jsonl(healthy / "m.jsonl", list(range(1, 11)))
    other = sweep / "b" / "runs" / "x"
    events_file(
        other / "events.out.tfevents.1.h", [(s, {"train/rewards/margins": 50.0 * s}) for s in range(1, 11)]
    )
    (healthy / "runs").symlink_to(sweep / "b" / "runs")
    _, doc = check_json(str(healthy))
    run = doc["runs"][0]
    assert "rewards/margins" not in run["metrics"]
    assert any("symlink leaves" in p["message"] for p in doc["problems"])
    # named by the user, the target is read
    _, named = check_json(str(sweep / "b"))
    assert "rewards/margins" in named["runs"][0]["metrics"]


def test_recovered_trainer_state_clears_its_problem(tmp_path: Path) -> None:
    state = _state(tmp_path / "out" / "trainer_state.json", '{"log_history": [{"step": 1, "lo')
    (s,) = open_sessions([str(state.parent)])
    s.load()
    assert any(src.problems for src in s.sources())
    _state(state, json.dumps({"log_history": _history(5)}))
    s.poll()
    assert [p for src in s.sources() for p in src.problems] == []
    assert s.store["loss"].last_step == 5
