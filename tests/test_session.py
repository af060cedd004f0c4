"""The session on real files written while it polls: live growth, resumes, sweeps, bad files.

Event files for synthetic cases are written with tensorboard's own protobufs and record writer,
so the bytes are what a real writer produces; expectations come from what the test wrote.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from rltui.model.engine import summarize_metrics
from rltui.model.store import MetricStore
from rltui.session import (
    NoRunError,
    RunSession,
    find_sweep,
    open_new_sessions,
    open_sessions,
)

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "runs"
LOG_LINE = "{{'loss': '{v}', 'grad_norm': '1.0', 'learning_rate': '1e-05', 'epoch': '0.1'}}\n"


def write_events(path: Path, points: list[tuple[int, dict[str, float]]], wall0: float = 1.7e9) -> None:
    """An event file as torch's SummaryWriter writes it: a file_version event, then scalars."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.record_writer import RecordWriter

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        w = RecordWriter(fh)
        if fh.tell() == 0:
            w.write(Event(wall_time=wall0, file_version="brain.Event:2").SerializeToString())
        for step, values in points:
            summary = Summary(value=[Summary.Value(tag=k, simple_value=v) for k, v in values.items()])
            w.write(Event(wall_time=wall0 + step, step=step, summary=summary).SerializeToString())


def series_dict(store: MetricStore) -> dict[str, tuple[list[int], list[float], list[float]]]:
    out = {}
    for name in store.names():
        s = store[name]
        out[name] = (s.steps.tolist(), s.values.tolist(), s.wall_times.tolist())
    return out


def trainer_of(s: RunSession) -> str:
    """The trainer as detected now (a call, so mypy does not keep an earlier narrowing across ``poll()``)."""
    return s.info.trainer


def one_shot(path: str) -> RunSession:
    (session,) = open_sessions([path])
    session.load()
    return session


# -- live growth ------------------------------------------------------------------------------


@pytest.mark.parametrize("run", ["dpo_healthy", "grpo_healthy"])
def test_event_file_copied_progressively_equals_one_shot_load(run: str, tmp_path: Path) -> None:
    src = next((RUNS / run).rglob("events.out.tfevents.*"))
    data = src.read_bytes()
    dst = tmp_path / run / "runs" / "stamp" / src.name
    dst.parent.mkdir(parents=True)
    dst.write_bytes(b"")
    live = RunSession(open_sessions([str(dst)])[0].run)  # follow the file while it grows
    rng = random.Random(7)
    cuts = sorted({1, 5, 11, 12, 13, *(rng.randrange(len(data)) for _ in range(60))})
    given = 0
    done = 0
    with open(dst, "ab") as fh:
        for cut in [*cuts, len(data)]:
            fh.write(data[done:cut])
            fh.flush()
            done = cut
            given += live.poll()
    reference = one_shot(str(src))
    assert series_dict(live.store) == series_dict(reference.store)
    tb_points = sum(s.points for s in reference.sources())
    assert given == tb_points  # every record handed over exactly once: nothing lost, nothing doubled
    assert not live.sources()[0].problems


def test_poll_returns_only_new_points_and_detection_follows_evidence(tmp_path: Path) -> None:
    run = tmp_path / "out"
    ev = run / "runs" / "stamp" / "events.out.tfevents.1700000000.h.1.0"
    write_events(ev, [(1, {"train/loss": 0.7})])
    (s,) = open_sessions([str(run)])
    assert s.poll() == 1
    assert s.info.trainer == "sft"  # a supervised loss alone reads as a fine-tune until more arrives
    assert s.poll() == 0
    write_events(ev, [(2, {"train/loss": 0.6, "train/rewards/chosen": 0.1, "train/rewards/accuracies": 0.5})])
    assert s.poll() == 3
    assert (s.info.framework, s.info.trainer) == ("trl", "dpo")  # key signature
    (run / "README.md").write_text("---\ntags:\n- trl\n- cpo\n---\n")  # the card appears at the first save
    s.poll()
    assert trainer_of(s) == "cpo"
    assert s.detection.evidence == "model card"


# -- resumes, new files, sweeps ---------------------------------------------------------------


def test_resumed_run_replaces_the_abandoned_steps(tmp_path: Path) -> None:
    run = tmp_path / "out"
    first = run / "runs" / "Nov01_00-00-00_h" / "events.out.tfevents.1700000000.h.1.0"
    write_events(first, [(s, {"train/loss": 1.0, "train/epoch": s / 10}) for s in range(1, 121)])
    (s,) = open_sessions([str(run)])
    s.load()
    assert s.store["loss"].last_step == 120
    # resumed from checkpoint-100: a new event file in a new stamp folder, steps from 101 again
    second = run / "runs" / "Nov01_01-00-00_h" / "events.out.tfevents.1700003600.h.2.0"
    write_events(second, [(st, {"train/loss": 2.0}) for st in range(101, 111)], wall0=1.8e9)
    s.rescan()
    s.poll()
    loss = s.store["loss"]
    assert loss.steps.tolist() == list(range(1, 111))
    assert loss.values[:100].tolist() == [1.0] * 100
    assert loss.values[100:].tolist() == [2.0] * 10
    assert s.store["epoch"].last_step == 120  # the resumed file has not re-logged epoch yet
    # a fresh session reading both files at once comes to the same store
    (again,) = open_sessions([str(run)])
    again.load()
    assert series_dict(again.store)["loss"] == series_dict(s.store)["loss"]
    assert [src.path for src in again.sources()] == [str(first), str(second)]


@pytest.mark.parametrize("how", ["replace", "truncate"])
def test_event_file_started_over_drops_the_dead_runs_later_steps(tmp_path: Path, how: str) -> None:
    """design.md §4: a run restarted from an earlier step replaces the points at and after it."""
    run = tmp_path / "out"
    ev = run / "runs" / "Nov01_00-00-00_h" / "events.out.tfevents.1700000000.h.1.0"
    write_events(ev, [(st, {"train/loss": 1.0, "train/grad_norm": 5.0}) for st in range(1, 12)])
    (s,) = open_sessions([str(run)])
    s.load()
    assert s.store["loss"].steps.tolist() == list(range(1, 12))
    if how == "replace":  # a new file under the same name (a new inode)
        tmp = ev.with_name("tmp")
        write_events(tmp, [(st, {"train/loss": 2.0}) for st in range(1, 4)], wall0=1.8e9)
        os.replace(tmp, ev)
    else:  # truncated in place, polled while empty, then written again
        with open(ev, "r+b") as fh:
            fh.truncate(0)
        s.poll()
        write_events(ev, [(st, {"train/loss": 2.0}) for st in range(1, 4)], wall0=1.8e9)
    s.poll()
    assert s.store["loss"].steps.tolist() == [1, 2, 3]
    assert s.store["loss"].values.tolist() == [2.0, 2.0, 2.0]
    assert "grad_norm" not in s.store  # the new run has not logged it yet


def test_rewritten_trainer_state_keeps_the_event_files_later_steps(tmp_path: Path) -> None:
    run = tmp_path / "out"
    write_events(
        run / "runs" / "a" / "events.out.tfevents.1700000000.h.1.0",
        [(st, {"train/loss": 1.0}) for st in range(1, 161)],
    )
    state = {
        "max_steps": 200,
        "logging_steps": 1,
        "log_history": [{"loss": 0.5, "step": st} for st in range(1, 141)],
    }
    (run / "trainer_state.json").write_text(json.dumps(state))
    (s,) = open_sessions([str(run)])
    s.load()
    state["log_history"] = [{"loss": 0.5, "step": st} for st in range(1, 151)]
    (run / "trainer_state.json").write_text(json.dumps(state) + " ")  # a checkpoint rewrites it
    s.poll()
    assert s.store["loss"].steps.tolist() == list(range(1, 161))


def test_checkpoint_appearing_later_is_picked_up_by_rescan(tmp_path: Path) -> None:
    run = tmp_path / "out"
    write_events(run / "runs" / "stamp" / "events.out.tfevents.1700000000.h.1.0", [(1, {"train/loss": 0.5})])
    (s,) = open_sessions([str(run)])
    s.load()
    assert s.info.max_steps is None
    state = {
        "max_steps": 300,
        "logging_steps": 5,
        "global_step": 5,
        "log_history": [{"loss": 0.25, "step": 5}],
    }
    ckpt = run / "checkpoint-5" / "trainer_state.json"
    ckpt.parent.mkdir()
    ckpt.write_text(json.dumps(state))
    s.rescan()
    s.poll()
    assert s.info.max_steps == 300
    assert s.info.logging_steps == 5
    assert s.store["loss"].steps.tolist() == [1, 5]
    assert str(ckpt) in [src.path for src in s.sources()]


def test_run_appearing_in_a_sweep_folder_is_picked_up(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    write_events(
        sweep / "lr1e-5" / "runs" / "a" / "events.out.tfevents.1700000000.h.1.0", [(1, {"train/loss": 1.0})]
    )
    sessions = open_sessions([str(sweep)])
    assert [s.info.name for s in sessions] == ["lr1e-5"]
    assert open_new_sessions([str(sweep)], sessions) == []
    write_events(
        sweep / "lr1e-4" / "runs" / "b" / "events.out.tfevents.1700000001.h.1.0", [(1, {"train/loss": 2.0})]
    )
    new = open_new_sessions([str(sweep)], sessions)
    assert [s.info.name for s in new] == ["lr1e-4"]
    new[0].poll()
    assert new[0].store["loss"].values.tolist() == [2.0]
    assert find_sweep(str(sweep)) == sorted([str(sweep / "lr1e-4"), str(sweep / "lr1e-5")])


def test_waiting_for_a_run_that_has_not_started(tmp_path: Path) -> None:
    with pytest.raises(
        NoRunError, match=r"no run found under .*events\.out\.tfevents\.\*, trainer_state\.json"
    ):
        open_sessions([str(tmp_path)])
    (s,) = open_sessions([str(tmp_path)], wait=True)
    assert s.poll() == 0
    assert s.snapshot().metrics == {}
    write_events(tmp_path / "runs" / "x" / "events.out.tfevents.1700000000.h.1.0", [(3, {"train/loss": 0.1})])
    s.rescan()
    assert s.poll() == 1
    assert s.watch_paths() == [str(tmp_path)]


# -- bad files --------------------------------------------------------------------------------


def test_vanished_and_corrupt_files_are_problems_and_the_rest_keeps_working(tmp_path: Path) -> None:
    run = tmp_path / "out"
    shutil.copytree(RUNS / "sft_healthy", run)
    for p in run.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    (s,) = open_sessions([str(run)])
    s.load()
    ev = next(run.rglob("events.out.tfevents.*"))
    ckpt = run / "checkpoint-50" / "trainer_state.json"
    ckpt.unlink()  # save_total_limit rotates old checkpoints away
    write_events(ev, [(151, {"train/loss": 0.25})])
    with open(ev, "ab") as fh:  # a torn write: a record header whose checksum is garbage
        fh.write(b"\x10\x00\x00\x00\x00\x00\x00\x00GARBAGE!" + b"x" * 20)
    write_events(ev, [(152, {"train/loss": 0.2})])
    s.poll()
    s.poll()
    assert s.store["loss"].steps.tolist()[-2:] == [151, 152]
    by_path = {src.path: src for src in s.sources()}
    assert by_path[str(ckpt)].problems, "vanished checkpoint reported"
    assert by_path[str(ev)].problems
    assert by_path[str(ev)].problems[0].offset is not None
    assert not by_path[str(run / "trainer_state.json")].problems


def test_a_reader_that_raises_is_contained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "out"
    write_events(run / "runs" / "a" / "events.out.tfevents.1700000000.h.1.0", [(1, {"train/loss": 1.0})])
    (run / "metrics.jsonl").write_text('{"step": 1, "custom": 3.0}\n')
    import rltui.sources.jsonl as jsonl

    def boom(self: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(jsonl.JsonlReader, "read", boom)
    (s,) = open_sessions([str(run)])
    s.load()
    assert s.store["loss"].values.tolist() == [1.0]
    (bad,) = (src for src in s.sources() if src.kind == "jsonl")
    assert "RuntimeError" in bad.problems[0].message


# -- console logs -----------------------------------------------------------------------------


def test_console_only_run_gets_its_step_scale_from_trainer_state(tmp_path: Path) -> None:
    run = tmp_path / "out"
    run.mkdir()
    (run / "console.log").write_text("".join(LOG_LINE.format(v=v) for v in ("0.7", "0.6", "0.5")))
    (s,) = open_sessions([str(run)])
    s.load()
    assert s.store["loss"].steps.tolist() == [1, 2, 3]  # logging_steps unknown: a guess of 1
    state = {"max_steps": 100, "logging_steps": 10, "log_history": [{"loss": 0.7001, "step": 10}]}
    (run / "checkpoint-10").mkdir()
    (run / "checkpoint-10" / "trainer_state.json").write_text(json.dumps(state))
    s.rescan()
    s.poll()
    assert s.store["loss"].steps.tolist() == [10, 20, 30]
    assert s.store["loss"].values.tolist() == [0.7001, 0.6, 0.5]  # the checkpoint's full precision wins
    assert s.info.logging_steps == 10
    with open(run / "console.log", "a") as fh:
        fh.write(LOG_LINE.format(v="0.4"))
    s.poll()
    assert s.store["loss"].steps.tolist() == [10, 20, 30, 40]


def test_console_is_not_read_when_the_run_has_an_event_file() -> None:
    s = one_shot(str(RUNS / "dpo_healthy"))
    kinds = [src.kind for src in s.sources()]
    assert "console" not in kinds
    assert "tfevents" in kinds
    only_console = one_shot(str(RUNS / "dpo_healthy" / "console.log"))
    assert [src.kind for src in only_console.sources()] == ["console"]
    assert only_console.store["loss"].last_step == 150
    assert only_console.info.trainer == "dpo"  # the model card next to the log


def test_run_with_only_corrupt_event_files_falls_back_to_its_console_log(tmp_path: Path) -> None:
    run = tmp_path / "out"
    ev = run / "runs" / "a" / "events.out.tfevents.1700000000.h.1.0"
    ev.parent.mkdir(parents=True)
    ev.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00GARBAGE!" + b"x" * 40)
    (run / "console.log").write_text("".join(LOG_LINE.format(v=v) for v in ("0.7", "0.6", "0.5")))
    (s,) = open_sessions([str(run)])
    s.load()
    assert s.store["loss"].values.tolist() == [0.7, 0.6, 0.5]
    kinds = {src.kind: src for src in s.sources()}
    assert kinds["console"].points == 3 * 4  # loss, grad_norm, learning_rate, epoch per line
    assert kinds["tfevents"].points == 0
    with open(run / "console.log", "a") as fh:
        fh.write(LOG_LINE.format(v="0.4"))
    s.poll()
    assert s.store["loss"].values.tolist() == [0.7, 0.6, 0.5, 0.4]


# -- load progress and snapshots --------------------------------------------------------------


def test_load_reports_byte_progress() -> None:
    (s,) = open_sessions([str(RUNS / "grpo_healthy")])
    calls: list[tuple[int, int]] = []
    s.load(lambda done, total: calls.append((done, total)))
    totals = {t for _, t in calls}
    assert len(totals) == 1
    total = totals.pop()
    assert total == sum(os.path.getsize(src.path) for src in s.sources())
    dones = [d for d, _ in calls]
    assert dones == sorted(dones)
    assert dones[0] == 0
    assert dones[-1] == total
    assert len(calls) >= len(s.sources())


def test_snapshot_metrics_at_a_step_match_trainer_state() -> None:
    run = RUNS / "dpo_healthy"
    history = json.loads((run / "trainer_state.json").read_text())["log_history"]
    loss = [(e["step"], e["loss"]) for e in history if "loss" in e]
    s = one_shot(str(run))
    snap = s.snapshot(at_step=50)
    m = snap.metrics["loss"]
    upto = [v for st, v in loss if st <= 50]
    assert (m.points, m.first_step, m.last_step) == (len(upto), loss[0][0], 50)
    assert m.last is not None
    assert m.min is not None
    assert m.max is not None
    assert math.isclose(m.last, upto[-1], rel_tol=1e-6)
    assert math.isclose(m.min, min(upto), rel_tol=1e-6)
    assert math.isclose(m.max, max(upto), rel_tol=1e-6)
    assert m.nonfinite == 0
    assert snap.step == 50
    assert snap.info.trainer == "dpo"
    full = s.snapshot()
    assert full.metrics["loss"].last_step == 150
    assert full.step == 150
    assert full.first_wall_time is not None
    assert full.last_wall_time is not None
    assert full.first_wall_time < full.last_wall_time


def test_summarize_metrics_counts_nonfinite() -> None:
    from rltui.records import PointChunk

    store = MetricStore()
    store.add("a", {"g": PointChunk.from_lists([1, 2, 3], [0.0] * 3, [1.0, math.nan, math.inf])})
    m = summarize_metrics(store)["g"]
    assert (m.points, m.nonfinite, m.min, m.max) == (3, 2, 1.0, 1.0)
    assert math.isinf(m.last)
    assert summarize_metrics(store, at_step=1)["g"].nonfinite == 0
    assert np.isfinite(summarize_metrics(store, at_step=1)["g"].last)


def test_tmux_pane_alone_is_its_own_run_and_never_raises() -> None:
    (s,) = open_sessions([], tmux="rltui_test_no_such_session:0.0", tmux_socket="/nonexistent/rltui.sock")
    assert s.poll() == 0
    assert s.watch_paths() == []
    (pane,) = s.sources()
    assert pane.kind == "tmux"
    assert pane.problems  # no server on that socket: a problem, not an exception
    assert s.snapshot().metrics == {}
