"""ConsoleLogReader against the real TRL console logs and against logs written while it reads."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from rltui.records import PointChunk, ReadResult
from rltui.sources.console import ConsoleLogReader, parse_line, to_float

RUNS = Path(__file__).resolve().parents[2] / "fixtures" / "runs"
RUN_NAMES = sorted(p.name for p in RUNS.iterdir() if (p / "console.log").exists())


def _history(run: str) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = {}
    for entry in json.loads((RUNS / run / "trainer_state.json").read_text())["log_history"]:
        for key, value in entry.items():
            if key != "step":
                out.setdefault(key, []).append((entry["step"], float(value)))
    return out


def _printed(key: str, value: float) -> set[float]:
    """What transformers can print for ``value``: raw (4.x), ``.4g`` (5.x), epoch rounded to 2 dp (4.x)."""
    out = {value, float(f"{value:.4g}")}
    if key == "epoch":
        out.add(round(value, 2))
    return out


def _merge(results: list[ReadResult]) -> dict[str, PointChunk]:
    cols: dict[str, list[PointChunk]] = {}
    for r in results:
        for k, c in r.chunks.items():
            cols.setdefault(k, []).append(c)
    return {
        k: PointChunk(
            np.concatenate([c.steps for c in cs]),
            np.concatenate([c.wall_times for c in cs]),
            np.concatenate([c.values for c in cs]),
        )
        for k, cs in cols.items()
    }


@pytest.mark.parametrize("run", RUN_NAMES)
def test_real_console_matches_trainer_state(run: str) -> None:
    reader = ConsoleLogReader(str(RUNS / run / "console.log"))
    result = reader.read()
    expected = _history(run)
    # ProgressCallback drops total_flos before printing (metrics.md §4.4); it is the only key the
    # console lacks, and it only exists in the end-of-training entry.
    assert "total_flos" not in result.chunks
    assert len(expected.pop("total_flos")) == 1
    assert set(result.chunks) == set(expected)  # nothing invented from Rich tables or warnings
    for key, points in expected.items():
        chunk = result.chunks[key]
        assert chunk.steps.tolist() == [s for s, _ in points], key
        for (_, value), got in zip(points, chunk.values.tolist(), strict=True):
            assert got in _printed(key, value), (key, value, got)
        assert bool(np.isnan(chunk.wall_times).all())  # existing file: no clock
    assert result.problems == [] == reader.problems
    assert reader.points == result.points
    assert reader.read().points == 0


def test_real_console_appended_in_pieces_equals_one_read(tmp_path: Path) -> None:
    """Bytes arrive in arbitrary pieces (cutting dicts, UTF-8 bars and \\r\\n pairs)."""
    data = (RUNS / "grpo_healthy" / "console.log").read_bytes()
    whole = ConsoleLogReader(str(RUNS / "grpo_healthy" / "console.log")).read().chunks
    path = tmp_path / "console.log"
    path.write_bytes(b"")
    reader = ConsoleLogReader(str(path))
    results = [reader.read()]
    rng = np.random.default_rng(0)
    pos = 0
    while pos < len(data):
        step = int(rng.integers(1, 20000))
        with open(path, "ab") as f:
            f.write(data[pos : pos + step])
        pos += step
        results.append(reader.read())
    assert not any(r.restarted for r in results)
    got = _merge(results)
    assert set(got) == set(whole)
    for key, chunk in whole.items():
        assert got[key].steps.tolist() == chunk.steps.tolist()
        assert got[key].values.tolist() == chunk.values.tolist()
        assert bool(np.isfinite(got[key].wall_times).all())  # seen arriving: read time


def test_partial_line_waits_for_its_end(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_bytes(b"{'loss': '0.5', 'grad")
    reader = ConsoleLogReader(str(path))
    assert reader.read().points == 0
    with open(path, "ab") as f:
        f.write(b"_norm': '1.25', 'epoch': '0.1'}")
    assert reader.read().points == 0  # still no line end
    with open(path, "ab") as f:
        f.write(b"\r")
    result = reader.read()
    assert {k: c.values.tolist() for k, c in result.chunks.items()} == {
        "loss": [0.5],
        "grad_norm": [1.25],
        "epoch": [0.1],
    }
    assert result.chunks["loss"].steps.tolist() == [1]


def test_shrink_and_replace_start_over(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_text("{'loss': 1.0}\n{'loss': 2.0}\n")
    reader = ConsoleLogReader(str(path))
    assert reader.read().chunks["loss"].steps.tolist() == [1, 2]
    path.write_text("{'loss': 3.0}\n")  # truncated and rewritten: shorter than our offset
    shrunk = reader.read()
    assert shrunk.restarted
    assert shrunk.chunks["loss"].steps.tolist() == [1]
    assert shrunk.chunks["loss"].values.tolist() == [3.0]
    other = tmp_path / "other.log"
    other.write_text("{'loss': 4.0}\n{'loss': 5.0}\n{'loss': 6.0}\n")
    os.replace(other, path)  # a new file under the same name
    replaced = reader.read()
    assert replaced.restarted
    assert replaced.chunks["loss"].values.tolist() == [4.0, 5.0, 6.0]
    assert replaced.chunks["loss"].steps.tolist() == [1, 2, 3]
    assert reader.points == 3


def test_rewritten_in_place_to_a_longer_file_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_text("{'loss': 1.0}\n")
    reader = ConsoleLogReader(str(path))
    reader.read()
    with open(path, "r+") as f:  # same inode, different head, longer than before
        f.write("{'loss': 7.0}\n{'loss': 8.0}\n")
    result = reader.read()
    assert result.restarted
    assert result.chunks["loss"].values.tolist() == [7.0, 8.0]


def test_vanish_and_return(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_text("{'loss': 1.0}\n")
    reader = ConsoleLogReader(str(path))
    reader.read()
    path.unlink()
    gone = reader.read()
    assert len(gone.problems) == 1
    assert gone.problems[0].offset is None
    assert reader.read().problems == []
    path.write_text("{'loss': 9.0}\n")
    back = reader.read()
    assert back.restarted
    assert back.chunks["loss"].values.tolist() == [9.0]
    path.unlink()
    assert len(reader.read().problems) == 1  # a second vanishing is a new transition


def test_missing_from_the_start_then_created(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    reader = ConsoleLogReader(str(path))
    assert len(reader.read().problems) == 1
    path.write_text("{'loss': 1.0}\n")
    assert reader.read().chunks["loss"].values.tolist() == [1.0]


def test_hostile_text_never_leaks_escapes(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_bytes(
        b"\xff\xfe\x00 binary junk {'loss': 1.0}\n"  # not a log line: junk before the dict
        b"{'lo\xffss': 2.0, 'x\x1b[31m\x1b]0;title\x07y': 3.0, '[bold red]k[/]': 4.0}\n"
        b"\x1b[2J\x1b[A{'loss': '5.0'}\r\n"
        b"\xe2\x94\x82 \xe2\x94\x82 the cow {'loss': 6.0} \xe2\x94\x82\n"  # Rich table cell
    )
    result = ConsoleLogReader(str(path)).read()
    keys = set(result.chunks)
    assert keys == {"lo\ufffdss", "xy", "[bold red]k[/]", "loss"}
    assert result.chunks["loss"].values.tolist() == [5.0]
    for key in keys:
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in key)


def test_verl_and_openrlhf_lines_carry_their_steps(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_text(
        "(TaskRunner pid=42) step:12 - actor/pg_loss:np.float64(0.123) - critic/score/mean:0.5"
        " - timing_s/gen:1.2 - val/list:[1, 2] - actor/kl:nan\n"
        "step:13 - actor/pg_loss:-0.25 - response_length/mean:np.float64(-inf)\n"
        "[2025-01-01 INFO] ✨ Global step 3: {'policy_loss': 0.1, 'generated_samples': ['a, b: c', 0.5],"
        " 'kl': tensor(0.01, device='cuda:0')}\n"
        "✨ Evaluation completed in 3.2s, eval_metrics: {'eval_gsm8k_pass1': 0.4}\n"
    )
    chunks = ConsoleLogReader(str(path)).read().chunks
    assert chunks["actor/pg_loss"].steps.tolist() == [12, 13]
    assert chunks["actor/pg_loss"].values.tolist() == [0.123, -0.25]
    assert chunks["critic/score/mean"].values.tolist() == [0.5]
    assert chunks["timing_s/gen"].steps.tolist() == [12]
    assert math.isnan(chunks["actor/kl"].values[0])
    assert chunks["response_length/mean"].values.tolist() == [-math.inf]
    assert "val/list" not in chunks
    assert "generated_samples" not in chunks
    assert chunks["policy_loss"].steps.tolist() == [3]
    assert chunks["kl"].values.tolist() == [0.01]
    assert chunks["eval_gsm8k_pass1"].steps.tolist() == [3]


def test_step_inference_with_logging_steps(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_text(
        "{'loss': 1.0, 'epoch': 0.1}\n"
        "{'loss': 0.9, 'epoch': 0.2}\n"
        "{'eval_loss': 0.8, 'epoch': 0.2}\n"
        "{'loss': 0.7, 'epoch': 0.3}\n"
        "{'train_runtime': 5.0, 'train_loss': 0.8, 'epoch': 0.3}\n"
    )
    chunks = ConsoleLogReader(str(path), logging_steps=10).read().chunks
    assert chunks["loss"].steps.tolist() == [10, 20, 30]
    assert chunks["eval_loss"].steps.tolist() == [20]
    assert chunks["train_loss"].steps.tolist() == [30]
    assert chunks["epoch"].steps.tolist() == [10, 20, 20, 30, 30]


def test_nonfinite_and_non_numbers(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    path.write_text(
        "{'loss': nan, 'grad_norm': 'inf', 'kl': '-Infinity', 'x': None, 'y': True, 'z': 'abc'}\n"
    )
    chunks = ConsoleLogReader(str(path)).read().chunks
    assert set(chunks) == {"loss", "grad_norm", "kl"}
    assert math.isnan(chunks["loss"].values[0])
    assert chunks["grad_norm"].values.tolist() == [math.inf]
    assert chunks["kl"].values.tolist() == [-math.inf]


def test_malformed_dict_is_one_problem_at_its_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "console.log"
    first = b"{'loss': 1.0}\n"
    path.write_bytes(first + b"{'loss': (1.0, 'epoch': 2}\n{'loss': 3.0}\n")
    reader = ConsoleLogReader(str(path))
    result = reader.read()
    assert [p.offset for p in result.problems] == [len(first)]
    assert result.chunks["loss"].values.tolist() == [1.0, 3.0]
    assert reader.read().problems == []


def test_dict_glued_to_a_progress_bar() -> None:
    parsed = parse_line(" 39%|███▉      | 59/150 [00:04<00:06, 13.24it/s]   {'loss': '0.1', 'epoch': '0.2'}")
    assert parsed is not None
    assert parsed.metrics == {"loss": 0.1, "epoch": 0.2}
    assert parse_line("Map: 100%|█| 5/5 [00:00<00:00] done {'a': 1} and more") is None
    assert parse_line('  warnings.warn(f"`{old}` is deprecated")') is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.5", 0.5),
        ("'1e-05'", 1e-05),
        ("np.float64(0.123)", 0.123),
        ("numpy.float32(2)", 2.0),
        ("tensor(0.5, device='cuda:0')", 0.5),
        ("-3", -3.0),
        ("'nan'", math.nan),
        ("True", None),
        ("None", None),
        ("'1_0'", None),
        ("[1]", None),
        ("", None),
    ],
)
def test_to_float(text: str, value: float | None) -> None:
    got = to_float(text)
    if value is None:
        assert got is None
    elif math.isnan(value):
        assert got is not None
        assert math.isnan(got)
    else:
        assert got == value
