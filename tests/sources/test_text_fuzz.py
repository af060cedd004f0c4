"""Hypothesis fuzzing of the text readers: hostile input never raises, hangs or invents points."""

from __future__ import annotations

import contextlib
import json
import math
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rltui.records import ChunkBuilder, ReadResult
from rltui.sources.console import ConsoleLogReader, ConsoleParser, LineError, parse_line
from rltui.sources.jsonl import JsonlReader
from rltui.sources.trainer_state import TrainerStateReader

RUNS = Path(__file__).resolve().parents[2] / "fixtures" / "runs"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _real_dict_lines() -> list[str]:
    out: list[str] = []
    for run in ("sft_healthy", "dpo_healthy_tf4", "grpo_healthy"):
        text = (RUNS / run / "console.log").read_text(encoding="utf-8", errors="replace")
        lines = [seg.strip() for seg in re.split(r"[\r\n]", text) if seg.strip().startswith("{'")]
        out += lines[:3] + lines[-2:]
    return out


DICT_LINES = _real_dict_lines()
VERL_LINE = "step:7 - actor/pg_loss:np.float64(-0.5) - critic/score/mean:0.25 - timing_s/gen:1.5"
LINES = [*DICT_LINES, VERL_LINE]
# Characters that can break structure but cannot form a key or a number on their own.
NOISE = " \t\r\x1b[](){},:|%#!?@~^&*=<>\\/\x00\x7f\u2588\ufffd"


def _original(line: str) -> dict[str, float]:
    parsed = parse_line(line)
    assert parsed is not None
    return parsed.metrics


def _check_result(result: ReadResult) -> None:
    for key, chunk in result.chunks.items():
        assert key
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in key)
        assert len(chunk.steps) == len(chunk.values) == len(chunk.wall_times)


def _feed(line: str) -> dict[str, float]:
    parser = ConsoleParser("fuzz")
    builder = ChunkBuilder()
    parser.feed(0, line, math.nan, builder)
    return {k: float(c.values[0]) for k, c in builder.build().items()}


@FUZZ
@given(st.text(max_size=300))
def test_parse_line_never_raises_on_text(text: str) -> None:
    with contextlib.suppress(LineError):
        parse_line(text)
    _feed(text)


@FUZZ
@given(st.binary(max_size=2000).filter(lambda b: b"{" not in b and b":" not in b))
def test_random_bytes_without_braces_or_colons_yield_nothing(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "console.log"
    path.write_bytes(data)
    reader = ConsoleLogReader(str(path))
    result = reader.read()
    assert result.points == 0
    assert reader.points == 0
    jl = tmp_path / "m.jsonl"
    jl.write_bytes(data)
    assert JsonlReader(str(jl)).read().points == 0


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes_never_raise_in_any_reader(tmp_path: Path, data: bytes) -> None:
    for name, reader_type in (
        ("c.log", ConsoleLogReader),
        ("m.jsonl", JsonlReader),
        ("t.json", TrainerStateReader),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        reader = reader_type(str(path))
        results = [reader.read(), reader.read()]
        for result in results:
            _check_result(result)
        if not _could_hold_points(name, data):
            assert sum(r.points for r in results) == 0, name  # nothing invented from noise


def _could_hold_points(name: str, data: bytes) -> bool:
    """Whether ``data`` could hold a metric at all for that reader, decided without the reader.

    JSONL: only a complete line holding both braces can be an object. trainer_state.json: only a
    file the stdlib parses (as the reader decodes it) into an object with a log_history list.
    Console: only a line with a log dict brace or verl's ``step:`` can hold metrics.
    """
    if name.endswith(".jsonl"):
        complete = data.split(b"\n")[:-1]
        return any(b"{" in line and b"}" in line for line in complete)
    if name.endswith(".json"):
        try:
            state = json.loads(data.decode("utf-8", errors="replace"))
        except (ValueError, RecursionError):
            return False
        return isinstance(state, dict) and isinstance(state.get("log_history"), list)
    return b"{" in data or b"step:" in data


@FUZZ
@given(st.sampled_from(LINES), st.data())
def test_truncated_real_lines_yield_nothing_new(line: str, data: st.DataObject) -> None:
    original = _original(line)
    cut = data.draw(st.integers(0, len(line)))
    got = _feed(line[:cut])
    for key, value in got.items():
        # verl lines parse item by item: a cut item may lose digits, never gain a key.
        assert key in original or any(k.startswith(key) for k in original)
        if key in original and cut == len(line):
            assert value == original[key] or (math.isnan(value) and math.isnan(original[key]))
    if line.startswith("{") and cut < len(line):
        assert got == {}  # an unclosed dict is never half-used


@FUZZ
@given(st.sampled_from(LINES), st.data())
def test_noise_inserted_into_real_lines_invents_no_key_or_value(line: str, data: st.DataObject) -> None:
    original = _original(line)
    mutated = line
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(mutated)))
        noise = data.draw(st.text(alphabet=NOISE, min_size=1, max_size=3))
        mutated = mutated[:pos] + noise + mutated[pos:]
    got = _feed(mutated)
    table = str.maketrans("", "", NOISE)
    for key, value in got.items():
        base = key.translate(table)
        sources = [k for k in original if k.translate(table) == base]
        if not sources and "\x1b" in mutated:
            # ESC '[' then a letter is a complete control sequence (a terminal would not show the
            # letter): a key may lose characters that way, never gain one.
            sources = [k for k in original if _subsequence(base, k.translate(table))]
        assert sources, (mutated, key)
        assert any(value == original[k] or (math.isnan(value) and math.isnan(original[k])) for k in sources)


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(c in it for c in short)


@FUZZ
@given(st.sampled_from(LINES), st.data())
def test_deleted_slices_never_raise(line: str, data: st.DataObject) -> None:
    a = data.draw(st.integers(0, len(line)))
    b = data.draw(st.integers(a, len(line)))
    got = _feed(line[:a] + line[b:])
    assert all(isinstance(v, float) for v in got.values())


VERL_JSON = json.dumps(
    {"step": 3, "data": {"actor/pg_loss": 0.5, "critic": {"score": {"mean": 0.25}}, "x": "y"}}
)
JSON_NOISE = " \t\r[]{},:\\/\x00\x7f"


@FUZZ
@given(st.data())
def test_jsonl_mutations_invent_no_key_or_value(tmp_path: Path, data: st.DataObject) -> None:
    original = {"actor/pg_loss": 0.5, "critic/score/mean": 0.25}
    line = VERL_JSON
    for _ in range(data.draw(st.integers(0, 3))):
        pos = data.draw(st.integers(0, len(line)))
        line = line[:pos] + data.draw(st.text(alphabet=JSON_NOISE, min_size=1, max_size=2)) + line[pos:]
    cut = data.draw(st.integers(0, len(line)))
    path = tmp_path / "m.jsonl"
    path.write_text(line[:cut] + "\n" + line + "\n")
    result = JsonlReader(str(path)).read()
    _check_result(result)
    table = str.maketrans("", "", JSON_NOISE + "/")
    known = {k.translate(table): v for k, v in original.items()}
    for key, chunk in result.chunks.items():
        for value in chunk.values.tolist():
            base = key.translate(table)
            if base in known:
                assert value == known[base]
            else:
                # Only a mutation that turned structure into a key path (e.g. a '/' or a split
                # object) can rename a metric; the value must still be one that was written.
                assert value in (0.5, 0.25, 3.0), (line, key, value)


@FUZZ
@given(st.data())
def test_trainer_state_mutations_never_raise(tmp_path: Path, data: st.DataObject) -> None:
    text = json.dumps(
        {"log_history": [{"loss": 0.5, "step": 1}, {"eval_loss": math.nan, "step": 1}], "max_steps": 3}
    )
    pos = data.draw(st.integers(0, len(text)))
    mutated = text[:pos] + data.draw(st.text(max_size=4)) + text[pos:]
    path = tmp_path / "trainer_state.json"
    path.write_text(mutated, encoding="utf-8", errors="replace")
    reader = TrainerStateReader(str(path))
    first = reader.read()
    second = reader.read()
    _check_result(first)
    _check_result(second)
    for result in (first, second):
        for chunk in result.chunks.values():
            assert chunk.steps.tolist()
            assert all(isinstance(s, int) for s in chunk.steps.tolist())
