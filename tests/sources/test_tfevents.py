"""TfEventsReader against TensorBoard's own reader on real TRL files, and on hostile files."""

from __future__ import annotations

import glob
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import tensor_pb2, types_pb2

from rltui.records import ReadResult
from rltui.sources.names import canonical_tb_tag
from rltui.sources.tfevents import TfEventsReader
from tests.sources._tfwriter import (
    image_event,
    record,
    scalar_event,
    scalar_file,
    tensor_scalar_event,
    text_event,
    version_event,
)

ROOT = Path(__file__).resolve().parents[2]
EVENT_FILES = sorted(
    glob.glob(str(ROOT / "fixtures" / "runs" / "**" / "events.out.tfevents.*"), recursive=True)
)


def _points(result: ReadResult) -> list[tuple[str, int, float]]:
    out: list[tuple[str, int, float]] = []
    for key, chunk in result.chunks.items():
        out.extend((key, int(s), float(v)) for s, v in zip(chunk.steps, chunk.values, strict=False))
    return sorted(out)


def _expected(points: list[tuple[str, int, float]]) -> list[tuple[str, int, float]]:
    return sorted((canonical_tb_tag(t), s, v) for t, s, v in points)


def test_fixtures_exist() -> None:
    assert len(EVENT_FILES) >= 6


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: Path(p).parts[-4])
def test_matches_event_accumulator(path: str) -> None:
    acc = EventAccumulator(path, size_guidance={"scalars": 0})
    acc.Reload()
    reader = TfEventsReader(path)
    result = reader.read()
    assert result.problems == []
    tags = acc.Tags()["scalars"]
    assert sorted(result.chunks) == sorted({canonical_tb_tag(t) for t in tags})
    for tag in tags:
        events = acc.Scalars(tag)
        chunk = result.chunks[canonical_tb_tag(tag)]
        assert len(chunk) == len(events), tag
        assert chunk.steps.tolist() == [e.step for e in events]
        assert chunk.values.tolist() == [e.value for e in events]
        assert chunk.wall_times.tolist() == [e.wall_time for e in events]
    assert reader.points == sum(len(acc.Scalars(t)) for t in tags) == result.points
    # Texts: transformers' TrainingArguments JSON, parseable, with the run's settings.
    args = json.loads(result.texts["args/text_summary"])
    assert result.max_steps == args["max_steps"]
    assert result.logging_steps == args["logging_steps"]
    assert "model_config/text_summary" in result.texts
    # Nothing new on a second read.
    again = reader.read()
    assert again.points == 0
    assert not again.problems
    assert not again.restarted


def test_epoch_keeps_duplicate_steps() -> None:
    path = next(p for p in EVENT_FILES if "/sft_healthy/" in p)
    chunk = TfEventsReader(path).read().chunks["epoch"]
    assert len(chunk) > len(set(chunk.steps.tolist()))


def test_follows_a_growing_file(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1.host.1.0"
    _body, points = scalar_file(["train/loss", "eval/loss", "train/rewards/margins"], 40)
    recs = [record(version_event())] + [record(scalar_event(t, v, s, 1.7e9 + s)) for t, s, v in points]
    reader = TfEventsReader(str(path))
    seen: list[tuple[str, int, float]] = []
    with open(path, "wb") as f:
        for i, rec in enumerate(recs):
            half = len(rec) // 2 if i % 3 else 5  # sometimes a short header, sometimes a short body
            f.write(rec[:half])
            f.flush()
            partial = reader.read()
            assert partial.points == 0
            assert partial.problems == []
            f.write(rec[half:])
            f.flush()
            done = reader.read()
            assert done.problems == []
            assert done.points == (0 if i == 0 else 1)
            seen.extend(_points(done))
    assert sorted(seen) == _expected(points)
    assert reader.points == len(points)
    assert reader.problems == []


def test_bulk_read_then_appends(tmp_path: Path) -> None:
    """A large first read (bulk CRC path) followed by single appended records."""
    path = tmp_path / "events"
    body, points = scalar_file([f"train/m{i}" for i in range(10)], 600)
    path.write_bytes(body)
    reader = TfEventsReader(str(path))
    first = reader.read()
    assert _points(first) == _expected(points)
    with open(path, "ab") as f:
        f.write(record(scalar_event("train/m3", 2.5, 601)))
    assert _points(reader.read()) == [("m3", 601, 2.5)]


def _corrupt_file(tmp_path: Path) -> tuple[Path, list[bytes], list[int]]:
    recs = [record(version_event())] + [record(scalar_event("train/loss", float(i), i)) for i in range(1, 9)]
    offsets = list(np.cumsum([0] + [len(r) for r in recs[:-1]]))
    return tmp_path / "events", recs, [int(o) for o in offsets]


def test_bad_data_crc_is_reported_and_skipped(tmp_path: Path) -> None:
    path, recs, offsets = _corrupt_file(tmp_path)
    bad = bytearray(recs[4])
    bad[20] ^= 0x01  # inside the data
    path.write_bytes(b"".join(recs[:4]) + bytes(bad) + b"".join(recs[5:]))
    reader = TfEventsReader(str(path))
    result = reader.read()
    assert [(p.offset, "data checksum" in p.message) for p in result.problems] == [(offsets[4], True)]
    assert [s for _, s, _ in _points(result)] == [1, 2, 3, 5, 6, 7, 8]
    assert reader.read().problems == []  # not reported again
    with open(path, "ab") as f:
        f.write(record(scalar_event("train/loss", 9.0, 9)))
    later = reader.read()
    assert later.problems == []
    assert _points(later) == [("loss", 9, 9.0)]


def test_bad_length_crc_resyncs(tmp_path: Path) -> None:
    path, recs, offsets = _corrupt_file(tmp_path)
    bad = bytearray(recs[3])
    bad[0] ^= 0x40  # the length itself: cannot be trusted
    path.write_bytes(b"".join(recs[:3]) + bytes(bad) + b"".join(recs[4:]))
    result = TfEventsReader(str(path)).read()
    assert len(result.problems) == 1
    assert result.problems[0].offset == offsets[3]
    assert "length checksum" in result.problems[0].message
    assert [s for _, s, _ in _points(result)] == [1, 2, 4, 5, 6, 7, 8]


def test_garbage_between_records_resyncs(tmp_path: Path) -> None:
    path, recs, offsets = _corrupt_file(tmp_path)
    garbage = bytes(range(7, 200))
    path.write_bytes(b"".join(recs[:2]) + garbage + b"".join(recs[2:]))
    result = TfEventsReader(str(path)).read()
    assert [p.offset for p in result.problems] == [offsets[2]]
    assert [s for _, s, _ in _points(result)] == list(range(1, 9))


def test_resync_across_reads(tmp_path: Path) -> None:
    """Garbage at the end is reported once; a record appended after it is found."""
    path, recs, _ = _corrupt_file(tmp_path)
    path.write_bytes(b"".join(recs[:3]) + b"\xff" * 50)
    reader = TfEventsReader(str(path))
    first = reader.read()
    assert len(first.problems) == 1
    assert reader.read().problems == []
    with open(path, "ab") as f:
        f.write(b"\xfe" * 30)
    assert reader.read().problems == []
    with open(path, "ab") as f:
        f.write(recs[5])
    later = reader.read()
    assert later.problems == []
    assert [s for _, s, _ in _points(later)] == [5]


def test_huge_length_is_a_problem_not_a_memory_error(tmp_path: Path) -> None:
    path, recs, offsets = _corrupt_file(tmp_path)
    header = struct.pack("<Q", 1 << 40)
    from rltui.sources._crc_bulk import masked_crc

    huge = header + struct.pack("<I", masked_crc(header)) + b"\x00" * 20
    path.write_bytes(b"".join(recs[:2]) + huge + b"".join(recs[2:]))
    result = TfEventsReader(str(path)).read()
    assert [p.offset for p in result.problems] == [offsets[2]]
    assert "impossible" in result.problems[0].message
    assert [s for _, s, _ in _points(result)] == list(range(1, 9))


def test_truncated_file_restarts(tmp_path: Path) -> None:
    path = tmp_path / "events"
    body, _ = scalar_file(["train/loss"], 20)
    path.write_bytes(body)
    reader = TfEventsReader(str(path))
    assert reader.read().points == 20
    small, small_points = scalar_file(["train/loss"], 5, seed=1)
    path.write_bytes(small)  # same inode, shorter
    result = reader.read()
    assert result.restarted
    assert _points(result) == _expected(small_points)


def test_replaced_file_restarts(tmp_path: Path) -> None:
    path = tmp_path / "events"
    body, _ = scalar_file(["train/loss"], 20)
    path.write_bytes(body)
    reader = TfEventsReader(str(path))
    reader.read()
    other = b"".join(
        [record(version_event(1.8e9))] + [record(scalar_event("train/kl", 0.5, s)) for s in range(1, 40)]
    )
    tmp = tmp_path / "new"
    tmp.write_bytes(other)
    os.replace(tmp, path)  # a new inode, and a longer file
    result = reader.read()
    assert result.restarted
    assert sorted(result.chunks) == ["kl"]
    assert result.points == 39


def test_rewritten_in_place_restarts(tmp_path: Path) -> None:
    """Same inode, not shorter, but different first bytes: another run's file."""
    path = tmp_path / "events"
    path.write_bytes(record(version_event(1.7e9)) + record(scalar_event("train/loss", 1.0, 1)))
    reader = TfEventsReader(str(path))
    reader.read()
    with open(path, "r+b") as f:
        f.write(record(version_event(1.9e9)) + record(scalar_event("train/loss", 2.0, 1)) * 2)
    result = reader.read()
    assert result.restarted
    assert result.points == 2


def test_vanished_file_is_one_problem_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "events"
    body, _ = scalar_file(["train/loss"], 3)
    path.write_bytes(body)
    reader = TfEventsReader(str(path))
    assert reader.read().points == 3
    hidden = tmp_path / "elsewhere"
    os.rename(path, hidden)
    gone = reader.read()
    assert len(gone.problems) == 1
    assert gone.problems[0].offset is None
    assert reader.read().problems == []  # once per transition
    os.rename(hidden, path)
    with open(path, "ab") as f:
        f.write(record(scalar_event("train/loss", 4.0, 4)))
    back = reader.read()
    assert not back.restarted
    assert back.problems == []
    assert _points(back) == [("loss", 4, 4.0)]


def test_missing_from_the_start(tmp_path: Path) -> None:
    reader = TfEventsReader(str(tmp_path / "not-yet"))
    assert len(reader.read().problems) == 1
    assert reader.read().problems == []
    body, points = scalar_file(["train/loss"], 2)
    (tmp_path / "not-yet").write_bytes(body)
    assert _points(reader.read()) == _expected(points)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_unreadable_file_is_one_problem_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "events"
    body, _ = scalar_file(["train/loss"], 3)
    path.write_bytes(body)
    reader = TfEventsReader(str(path))
    reader.read()
    path.chmod(0)
    try:
        denied = reader.read()
        assert len(denied.problems) == 1
        assert "permission" in denied.problems[0].message
        assert reader.read().problems == []
    finally:
        path.chmod(0o644)
    with open(path, "ab") as f:
        f.write(record(scalar_event("train/loss", 4.0, 4)))
    assert _points(reader.read()) == [("loss", 4, 4.0)]


def _tensor(dtype: int, **fields: object) -> tensor_pb2.TensorProto:
    return tensor_pb2.TensorProto(dtype=dtype, **fields)


@pytest.mark.parametrize(
    ("tensor", "expected"),
    [
        (_tensor(types_pb2.DT_FLOAT, float_val=[0.25]), 0.25),
        (_tensor(types_pb2.DT_DOUBLE, double_val=[1e-300]), 1e-300),
        (_tensor(types_pb2.DT_INT32, int_val=[-7]), -7.0),
        (_tensor(types_pb2.DT_INT64, int64_val=[1 << 40]), float(1 << 40)),
        (_tensor(types_pb2.DT_FLOAT, tensor_content=np.float32(3.5).tobytes()), 3.5),
        (_tensor(types_pb2.DT_DOUBLE, tensor_content=np.float64(-2.125).tobytes()), -2.125),
        (_tensor(types_pb2.DT_HALF, half_val=[int(np.float16(1.5).view(np.uint16))]), 1.5),
    ],
)
def test_tensor_scalars(tmp_path: Path, tensor: tensor_pb2.TensorProto, expected: float) -> None:
    from tensorboard.util import tensor_util

    assert float(tensor_util.make_ndarray(tensor)) == expected  # the reference agrees
    path = tmp_path / "events"
    path.write_bytes(record(version_event()) + record(tensor_scalar_event("eval/reward", tensor, 12)))
    result = TfEventsReader(str(path)).read()
    assert result.problems == []
    assert _points(result) == [("eval_reward", 12, expected)]


def test_non_scalars_ignored_and_mixed_order_kept(tmp_path: Path) -> None:
    path = tmp_path / "events"
    t = _tensor(types_pb2.DT_FLOAT, float_val=[9.0])
    recs = [
        record(version_event()),
        record(text_event("args/text_summary", '{"max_steps": 7, "logging_steps": 2}\x1b[31m')),
        record(scalar_event("train/loss", 1.0, 1)),
        record(image_event("samples", 1)),
        record(tensor_scalar_event("train/loss", t, 2)),
        record(scalar_event("train/loss", 3.0, 0)),  # step 0: omitted from the wire
        record(scalar_event("train/loss", 4.0, 3)),
    ]
    path.write_bytes(b"".join(recs))
    result = TfEventsReader(str(path)).read()
    assert result.problems == []
    assert sorted(result.chunks) == ["loss"]
    assert result.chunks["loss"].steps.tolist() == [1, 2, 0, 3]
    assert result.chunks["loss"].values.tolist() == [1.0, 9.0, 3.0, 4.0]
    assert "\x1b" not in result.texts["args/text_summary"]
    assert (result.max_steps, result.logging_steps) == (7, 2)


def test_close_is_harmless(tmp_path: Path) -> None:
    reader = TfEventsReader(str(tmp_path / "x"))
    reader.close()
    assert reader.kind == "tfevents"
    assert reader.path == str(tmp_path / "x")


def test_permission_error_even_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The chmod test is skipped under root; simulate the error the OS would raise."""
    path = tmp_path / "events"
    body, _ = scalar_file(["train/loss"], 3)
    path.write_bytes(body)
    reader = TfEventsReader(str(path))
    reader.read()
    real_open = os.open

    def denied(p: str, *a: object, **k: object) -> int:
        if p == str(path):
            raise PermissionError(13, "Permission denied", p)
        return real_open(p, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    first = reader.read()
    assert len(first.problems) == 1
    assert "permission" in first.problems[0].message
    assert reader.read().problems == []
    monkeypatch.setattr(os, "open", real_open)
    with open(path, "ab") as f:
        f.write(record(scalar_event("train/loss", 4.0, 4)))
    assert _points(reader.read()) == [("loss", 4, 4.0)]


# Tag lengths around the vectorised decoder's 8-byte word boundaries and its one-byte-length limit
# (longer tags take the protobuf path), tags that differ only in their first or last byte, and
# steps at every varint length boundary (1..4 bytes are decoded with numpy, longer ones are not).
_EDGE_TAGS = [
    "a",
    "ab",
    "bb",
    *("t" * n for n in (6, 7, 8, 9, 15, 16, 17, 23, 24, 25, 64, 100, 112, 113, 114, 115, 116, 117, 130)),
    "train/loss",
    "xrain/loss",
    "train/losz",
    "eval/loss",
    "train/lößé",
    "métrique",
]
_EDGE_STEPS = [0, 1, 127, 128, 16383, 16384, 2**21 - 1, 2**21, 2**28 - 1, 2**28, 2**35, 2**62]


def test_decoder_edge_layouts_match_event_accumulator(tmp_path: Path) -> None:
    path = tmp_path / "events.out.tfevents.1.host.1.0"
    rng = np.random.default_rng(7)
    parts = [record(version_event())]
    for step in _EDGE_STEPS:
        for tag in _EDGE_TAGS:
            value = float(np.float32(rng.normal() * 10.0 ** rng.integers(-30, 30)))
            parts.append(record(scalar_event(tag, value, step, float(rng.uniform(1e9, 2e9)))))
    path.write_bytes(b"".join(parts))
    acc = EventAccumulator(str(path), size_guidance={"scalars": 0}, purge_orphaned_data=False)
    acc.Reload()
    expected = sorted(
        (canonical_tb_tag(tag), e.step, e.wall_time, e.value)
        for tag in acc.Tags()["scalars"]
        for e in acc.Scalars(tag)
    )
    result = TfEventsReader(str(path)).read()
    assert result.problems == []
    got = sorted(
        (key, int(s), float(w), float(v))
        for key, c in result.chunks.items()
        for s, w, v in zip(c.steps, c.wall_times, c.values, strict=True)
    )
    assert len(expected) == len(_EDGE_TAGS) * len(_EDGE_STEPS)
    assert got == expected


def test_tag_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    """protobuf rejects such a record; the vectorised decoder must not read a tag into it."""
    good = [record(scalar_event("train/loss", float(i), i)) for i in range(1, 40)]
    raw = scalar_event("train/loXXss", 1.0, 20).replace(b"XX", b"\xff\xfe")  # framed with valid CRCs
    bad = record(raw)
    path = tmp_path / "events"
    path.write_bytes(b"".join(good[:19]) + bad + b"".join(good[19:]))
    result = TfEventsReader(str(path)).read()
    assert [("undecodable" in p.message) for p in result.problems] == [True]
    assert result.problems[0].offset == sum(len(r) for r in good[:19])
    assert [s for _, s, _ in _points(result)] == list(range(1, 40))


def test_many_bad_data_crcs_in_a_large_read(tmp_path: Path) -> None:
    """Bad records in several CRC blocks, two of them in one block, and corrupt stored CRCs."""
    recs = [record(scalar_event(f"train/m{i % 7}", float(i), i + 1)) for i in range(5000)]
    bad_at = {3, 1500, 1501, 2100, 4999}
    body = bytearray()
    offsets = []
    for i, framed in enumerate(recs):
        offsets.append(len(body))
        rec = bytearray(framed)
        if i in bad_at:
            pos = 20 + i % 9 if i % 2 else len(rec) - 1 - i % 4  # data byte, or a stored-CRC byte
            rec[pos] ^= 1 << (i % 8)
        body += rec
    path = tmp_path / "events"
    path.write_bytes(bytes(body))
    result = TfEventsReader(str(path)).read()
    assert [p.offset for p in result.problems] == [offsets[i] for i in sorted(bad_at)]
    assert all("data checksum" in p.message for p in result.problems)
    want = sorted(i + 1 for i in range(5000) if i not in bad_at)
    assert sorted(s for _, s, _ in _points(result)) == want
