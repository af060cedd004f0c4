"""JsonlReader on files written while it reads: verl's format, step fields, bad lines."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rltui.sources.jsonl import JsonlReader


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def test_verl_file_logger_lines(tmp_path: Path) -> None:
    path = tmp_path / "exp.jsonl"
    rows = [
        {"step": 1, "data": {"actor/pg_loss": 0.5, "critic/score/mean": 0.1, "timing_s/gen": 2}},
        {"step": 2, "data": {"actor/pg_loss": math.nan, "critic/score/mean": 0.2, "note": "x"}},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    reader = JsonlReader(str(path))
    result = reader.read()
    assert set(result.chunks) == {"actor/pg_loss", "critic/score/mean", "timing_s/gen"}
    assert result.chunks["critic/score/mean"].steps.tolist() == [1, 2]
    assert result.chunks["critic/score/mean"].values.tolist() == [0.1, 0.2]
    assert math.isnan(result.chunks["actor/pg_loss"].values[1])
    assert result.chunks["timing_s/gen"].values.tolist() == [2.0]
    assert reader.points == 5 == result.points
    assert reader.kind == "jsonl"
    assert reader.path == str(path)


def test_step_fields_nesting_and_wall_time(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    lines = [
        {"global_step": 10, "train": {"loss": 1.0, "reward": {"mean": 0.5}}, "_timestamp": 1700000000.5},
        {"_step": 20, "loss": 2.0, "flag": True, "none": None, "lst": [1, 2]},
        {"training/global_step": 30, "loss": "3.5"},
        {"loss": 4.0},  # no step: previous + 1
        {"step": "40", "loss": 5.0},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    chunks = JsonlReader(str(path)).read().chunks
    assert chunks["train/loss"].steps.tolist() == [10]
    assert chunks["train/reward/mean"].values.tolist() == [0.5]
    assert chunks["train/loss"].wall_times.tolist() == [1700000000.5]
    assert chunks["loss"].steps.tolist() == [20, 30, 31, 40]
    assert chunks["loss"].values.tolist() == [2.0, 3.5, 4.0, 5.0]
    assert math.isnan(chunks["loss"].wall_times[0])
    assert set(chunks) == {"train/loss", "train/reward/mean", "loss"}


def test_first_line_without_step_is_step_one(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n')
    assert JsonlReader(str(path)).read().chunks["a"].steps.tolist() == [1, 2]


def test_partial_line_waits_and_corrupt_line_is_reported_at_its_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"step": 1, "loss": 1.0}\n\n{"step": 2, "lo')
    reader = JsonlReader(str(path))
    first = reader.read()
    assert first.chunks["loss"].steps.tolist() == [1]
    assert first.problems == []
    _append(path, b'ss": 2.0}\n{"step": 3, "loss": }\n[1, 2]\n{"step": 4, "loss": NaN}\n')
    second = reader.read()
    assert second.chunks["loss"].steps.tolist() == [2, 4]
    assert math.isnan(second.chunks["loss"].values[1])
    data = path.read_bytes()
    # Offsets are byte offsets of the start of the offending line, as for every other reader.
    assert [p.offset for p in second.problems] == [data.index(b'{"step": 3'), data.index(b"[1, 2]")]
    assert reader.read().problems == []


def test_invalid_step_is_a_problem_and_never_a_metric(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    lines = [
        b'{"step": 1, "a": 1}',
        b'{"step": 1e309, "a": 2}',  # Infinity once parsed
        b'{"step": {"x": 1}, "a": 3}',
        b'{"step": 2.5, "a": 4}',
        b'{"step": true, "a": 5}',
        b'{"step": NaN, "a": 6}',
        b'{"step": 3.0, "a": 7, "global_step": 30}',  # an integral float is a step
        b'{"global_step": null, "a": 8}',
        b'{"step": 1e300, "a": 9}',  # integral, but beyond any step counter (int64)
        b'{"step": 100000000000000000000000, "a": 10}',
        b'{"step": "--5", "a": 11}',
        b'{"step": "\xc2\xb2", "a": 12}',  # a superscript two: str.isdigit() says yes, int() raises
    ]
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(data)
    result = JsonlReader(str(path)).read()
    assert set(result.chunks) == {"a"}  # no "step", "step/x" or "global_step" metric
    assert result.chunks["a"].steps.tolist() == [1, 3]
    assert result.chunks["a"].values.tolist() == [1.0, 7.0]
    bad = [data.index(line) for line in lines[1:6] + lines[7:]]
    assert [p.offset for p in result.problems] == bad
    assert all("step" in p.message for p in result.problems)


def test_shrink_replace_vanish(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"step": 1, "x": 1}\n{"step": 2, "x": 2}\n')
    reader = JsonlReader(str(path))
    reader.read()
    path.write_text('{"step": 1, "x": 7}\n')
    shrunk = reader.read()
    assert shrunk.restarted
    assert shrunk.chunks["x"].values.tolist() == [7.0]
    path.unlink()
    gone = reader.read()
    assert len(gone.problems) == 1
    assert gone.problems[0].offset is None
    assert reader.read().problems == []
    path.write_text('{"step": 5, "x": 8}\n')
    back = reader.read()
    assert back.restarted
    assert back.chunks["x"].steps.tolist() == [5]


def test_non_utf8_and_escapes(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'\xff\xfe{"step": 1}\n{"step": 2, "a\\u001b[31mb": 1.0, "c\xffd": 2.0}\n')
    result = JsonlReader(str(path)).read()
    assert len(result.problems) == 1
    assert result.problems[0].offset == 0
    assert set(result.chunks) == {"ab", "c\ufffdd"}
