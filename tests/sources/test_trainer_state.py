"""TrainerStateReader against the real TRL runs and against files rewritten while it reads."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from rltui.sources.trainer_state import TrainerStateReader

RUNS = Path(__file__).resolve().parents[2] / "fixtures" / "runs"
STATES = sorted(RUNS.glob("*/trainer_state.json")) + sorted(RUNS.glob("*/checkpoint-*/trainer_state.json"))


def _expected(path: Path) -> dict[str, list[tuple[int, float]]]:
    """The log_history as (step, value) per key, parsed with the stdlib alone."""
    out: dict[str, list[tuple[int, float]]] = {}
    for entry in json.loads(path.read_text())["log_history"]:
        for key, value in entry.items():
            if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                out.setdefault(key, []).append((entry["step"], float(value)))
    return out


@pytest.mark.parametrize("path", STATES, ids=lambda p: str(p.relative_to(RUNS)))
def test_real_trainer_state_matches_stdlib_json(path: Path) -> None:
    reader = TrainerStateReader(str(path))
    result = reader.read()
    state = json.loads(path.read_text())
    expected = _expected(path)
    assert set(result.chunks) == set(expected)
    for key, points in expected.items():
        chunk = result.chunks[key]
        assert chunk.steps.tolist() == [s for s, _ in points], key
        assert chunk.values.tolist() == [v for _, v in points], key
        assert bool(all(math.isnan(w) for w in chunk.wall_times))
    assert result.max_steps == state["max_steps"]
    assert result.logging_steps == state["logging_steps"]
    assert not result.restarted
    assert result.problems == [] == reader.problems
    assert reader.points == sum(len(v) for v in expected.values()) == result.points
    # Unchanged file: nothing new, nothing re-parsed.
    again = reader.read()
    assert again.points == 0
    assert not again.restarted


def _write(path: Path, state: object) -> None:
    path.write_text(json.dumps(state))  # json.dumps writes NaN/Infinity literals, as HF does


def test_nonfinite_literals_kept_and_non_numbers_skipped(tmp_path: Path) -> None:
    path = tmp_path / "trainer_state.json"
    history = [
        {"loss": math.nan, "grad_norm": math.inf, "kl": -math.inf, "step": 1},
        {"loss": None, "reward": "0.5", "flag": True, "name": "abc", "lst": [1], "step": 2},
    ]
    _write(path, {"log_history": history, "max_steps": 10, "logging_steps": 2})
    assert "NaN" in path.read_text()
    assert "-Infinity" in path.read_text()
    result = TrainerStateReader(str(path)).read()
    assert math.isnan(result.chunks["loss"].values[0])
    assert result.chunks["loss"].steps.tolist() == [1]  # None at step 2 skipped
    assert result.chunks["grad_norm"].values.tolist() == [math.inf]
    assert result.chunks["kl"].values.tolist() == [-math.inf]
    assert result.chunks["reward"].values.tolist() == [0.5]
    assert result.chunks["reward"].steps.tolist() == [2]
    assert set(result.chunks) == {"loss", "grad_norm", "kl", "reward"}
    assert (result.max_steps, result.logging_steps) == (10, 2)


def test_rewrite_reemits_everything_with_restarted(tmp_path: Path) -> None:
    path = tmp_path / "trainer_state.json"
    _write(path, {"log_history": [{"loss": 1.0, "step": 1}]})
    reader = TrainerStateReader(str(path))
    assert reader.read().chunks["loss"].steps.tolist() == [1]
    _write(path, {"log_history": [{"loss": 1.0, "step": 1}, {"loss": 0.5, "step": 2}]})
    second = reader.read()
    assert second.restarted
    assert second.chunks["loss"].steps.tolist() == [1, 2]
    assert reader.points == 2


def test_half_written_file_is_reported_on_the_first_read_and_cleared_once_it_parses(tmp_path: Path) -> None:
    """``check`` reads once: a broken file must be named then, not only on a second read."""
    path = tmp_path / "trainer_state.json"
    full = json.dumps({"log_history": [{"loss": 1.0, "step": 1}, {"loss": 0.9, "step": 2}]})
    path.write_text(full[: len(full) // 2])
    reader = TrainerStateReader(str(path))
    first = reader.read()
    assert first.points == 0
    assert len(first.problems) == 1
    assert first.problems[0].path == str(path)
    assert first.problems[0].offset is None  # the file as a whole
    assert "not valid JSON" in first.problems[0].message
    assert "will retry" in first.problems[0].message
    (stuck,) = reader.read().problems  # unchanged and still broken: corrupt, with the detail
    assert stuck.message.startswith("still not valid JSON")
    assert reader.read().problems == []  # and not repeated
    path.write_text(full[: len(full) // 2 + 3])  # another torn write: still the same episode
    assert reader.read().problems == []
    path.write_text(full)
    done = reader.read()
    assert done.problems == []
    assert done.chunks["loss"].values.tolist() == [1.0, 0.9]
    assert reader.problems == []  # parsed: no longer a problem of this file
    path.write_text(full[:10])  # the next checkpoint caught mid-write is a new episode
    assert len(reader.read().problems) == 1


def test_vanish_and_return_one_problem_per_transition(tmp_path: Path) -> None:
    path = tmp_path / "trainer_state.json"
    _write(path, {"log_history": [{"loss": 1.0, "step": 1}]})
    reader = TrainerStateReader(str(path))
    assert reader.read().points == 1
    path.unlink()
    gone = reader.read()
    assert len(gone.problems) == 1
    assert gone.problems[0].offset is None
    assert reader.read().problems == []
    _write(path, {"log_history": [{"loss": 2.0, "step": 1}]})
    back = reader.read()
    assert back.chunks["loss"].values.tolist() == [2.0]
    assert back.restarted
    path.unlink()
    assert len(reader.read().problems) == 1
    assert len(reader.problems) == 2


def test_bad_entries_are_problems_with_their_index(tmp_path: Path) -> None:
    path = tmp_path / "trainer_state.json"
    history = [
        {"loss": 1.0, "step": 1},
        5,
        {"loss": 2.0},
        {"loss": 3.0, "step": 3},
        {"loss": 4.0, "step": 1e300},
    ]
    _write(path, {"log_history": history})
    result = TrainerStateReader(str(path)).read()
    assert result.chunks["loss"].steps.tolist() == [1, 3]  # 1e300 is no step counter (int64)
    # Offsets are byte offsets everywhere; an entry's position is not one, so it is named instead.
    assert [p.offset for p in result.problems] == [None, None, None]
    assert [p.message.split(":")[0] for p in result.problems] == [
        "log_history[1]",
        "log_history[2]",
        "log_history[4]",
    ]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"[]",
        b"null",
        b'{"log_history": 3}',
        b"\xff\xfe\x00garbage",
        b'{"log_history": [{"\xff": 1, "step": 1}]}',
    ],
)
def test_hostile_content_never_raises(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "trainer_state.json"
    path.write_bytes(content)
    reader = TrainerStateReader(str(path))
    for _ in range(3):
        reader.read()
    for chunk_key in reader.read().chunks:
        assert "\x1b" not in chunk_key


def test_replaced_checkpoint_copy_is_reparsed(tmp_path: Path) -> None:
    """A save replaces the file (new inode): the reader notices even at an equal size."""
    src = RUNS / "dpo_healthy"
    path = tmp_path / "trainer_state.json"
    shutil.copy(src / "checkpoint-50" / "trainer_state.json", path)
    reader = TrainerStateReader(str(path))
    assert reader.read().chunks["loss"].steps.max() == 50
    tmp = tmp_path / "new.json"
    shutil.copy(src / "checkpoint-100" / "trainer_state.json", tmp)
    os.replace(tmp, path)
    second = reader.read()
    assert second.restarted
    assert second.chunks["loss"].steps.max() == 100


def _row_by_row(history: list[object]) -> dict[str, tuple[list[int], list[float]]]:
    """The reference the columnar reader must match: every row, every key, in order."""
    from rltui.sources.console import clean_key
    from rltui.sources.trainer_state import _int_step, _number

    cols: dict[str, tuple[list[int], list[float]]] = {}
    for entry in history:
        if not isinstance(entry, dict):
            continue
        step = _int_step(entry.get("step"))
        if step is None:
            continue
        for key, value in entry.items():
            if key == "step":
                continue
            number = _number(value)
            name = clean_key(key)
            if number is None or name is None:
                continue
            c = cols.setdefault(name, ([], []))
            c[0].append(step)
            c[1].append(number)
    return cols


def test_columnar_read_equals_a_row_by_row_walk_on_mixed_hostile_rows(tmp_path: Path) -> None:
    """Issue 11 read ``log_history`` per shape of row and per column (1.55x -> 1.27x of
    ``json.load`` + a loop); every point, its order and the metrics' order must be as before."""
    import random

    rnd = random.Random(7)
    values: list[object] = [1.5, 2, -3, True, None, "nan", "1e3", "x", 10**30, 10**400, 0.0, -0.0, [], "7"]
    keys = ["loss", "grad_norm", "train/loss", "eval_loss", "learning_rate", "", "a/b", "\x1b[31mx", "epoch"]
    for trial in range(150):
        history: list[object] = []
        for i in range(rnd.randint(0, 40)):
            if rnd.random() < 0.05:
                history.append(rnd.choice([1, "x", None, []]))
                continue
            entry: dict[str, object] = {"step": rnd.choice([i, i, i, 2.0, 1.5, "3", None])}
            for k in rnd.sample(keys, rnd.randint(0, 5)):
                entry[k] = rnd.choice(values)
            history.append(dict(reversed(list(entry.items()))) if rnd.random() < 0.5 else entry)
        path = tmp_path / f"trainer_state_{trial}.json"
        path.write_text(json.dumps({"log_history": history}, default=str))
        got = TrainerStateReader(str(path)).read()
        want = _row_by_row(json.loads(path.read_text())["log_history"])
        assert list(got.chunks) == list(want)
        for name, (steps, vals) in want.items():
            assert got.chunks[name].steps.tolist() == steps
            assert np.array_equal(got.chunks[name].values, np.asarray(vals, dtype=np.float64), equal_nan=True)
