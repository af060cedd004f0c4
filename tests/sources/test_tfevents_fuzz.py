"""Hostile bytes never raise, never hang, and never invent points."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import event_pb2

from rltui.records import ReadResult
from rltui.sources import _event_decode
from rltui.sources.tfevents import TfEventsReader
from tests.sources._tfwriter import record, scalar_event, text_event, version_event

_RECORDS = (
    [record(version_event()), record(text_event("args/text_summary", '{"max_steps": 9}'))]
    + [record(scalar_event(f"train/m{i % 3}", i * 0.5 - 3.0, i, 1.7e9 + i)) for i in range(1, 25)]
    + [record(scalar_event("eval/loss", 0.25, 0))]
)
ORIGINAL = b"".join(_RECORDS)
ORIGINAL_POINTS = {
    *((f"m{i % 3}", i, i * 0.5 - 3.0) for i in range(1, 25)),
    ("eval_loss", 0, 0.25),
}

_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _read_in_pieces(data: bytes, cuts: list[int]) -> list[ReadResult]:
    """Write ``data`` in pieces (as a live writer would) and read after each piece."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "events.out.tfevents.0.fuzz")
        reader = TfEventsReader(path)
        results = []
        prev = 0
        with open(path, "wb") as f:
            for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
                f.write(data[prev:cut] if cut > prev else b"")
                prev = max(prev, cut)
                f.flush()
                results.append(reader.read())
        results.append(reader.read())
        reader.close()
        return results


def _emitted(results: list[ReadResult]) -> list[tuple[str, int, float]]:
    out: list[tuple[str, int, float]] = []
    for r in results:
        assert not r.restarted  # the file only grew
        for key, chunk in r.chunks.items():
            assert len(chunk.steps) == len(chunk.values) == len(chunk.wall_times)
            out.extend((key, int(s), float(v)) for s, v in zip(chunk.steps, chunk.values, strict=False))
    return out


@_SETTINGS
@given(st.binary(max_size=4096), st.lists(st.integers(0, 5000), max_size=4))
def test_random_bytes(data: bytes, cuts: list[int]) -> None:
    results = _read_in_pieces(data, cuts)
    assert _emitted(results) == []
    # Problems are never repeated for the same offset.
    offsets = [p.offset for r in results for p in r.problems if p.offset is not None]
    assert len(offsets) == len(set(offsets))


_MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, len(ORIGINAL) - 1), st.integers(0, 7)),
    st.tuples(st.just("insert"), st.integers(0, len(ORIGINAL)), st.binary(min_size=1, max_size=40)),
    st.tuples(st.just("delete"), st.integers(0, len(ORIGINAL) - 1), st.integers(1, 40)),
    st.tuples(st.just("truncate"), st.integers(0, len(ORIGINAL))),
    st.tuples(st.just("set"), st.integers(0, len(ORIGINAL) - 1), st.integers(0, 255)),
)


def _mutate(data: bytes, mutations: list[tuple[Any, ...]]) -> bytes:
    buf = bytearray(data)
    for m in mutations:
        if not buf:
            break
        kind = m[0]
        if kind == "flip":
            buf[m[1] % len(buf)] ^= 1 << m[2]
        elif kind == "set":
            buf[m[1] % len(buf)] = m[2]
        elif kind == "insert":
            pos = m[1] % (len(buf) + 1)
            buf[pos:pos] = m[2]
        elif kind == "delete":
            pos = m[1] % len(buf)
            del buf[pos : pos + m[2]]
        else:
            del buf[m[1] % (len(buf) + 1) :]
    return bytes(buf)


@_SETTINGS
@given(st.lists(_MUTATION, min_size=1, max_size=4), st.lists(st.integers(0, 5000), max_size=3))
def test_mutated_records_never_invent_points(mutations: list[tuple[Any, ...]], cuts: list[int]) -> None:
    data = _mutate(ORIGINAL, mutations)
    emitted = _emitted(_read_in_pieces(data, cuts))
    assert set(emitted) <= ORIGINAL_POINTS
    assert len(emitted) == len(set(emitted))  # nothing doubled


@_SETTINGS
@given(st.integers(0, len(ORIGINAL)), st.lists(st.integers(0, 5000), max_size=5))
def test_clean_file_read_in_any_pieces_loses_nothing(truncate_at: int, cuts: list[int]) -> None:
    """Reading a valid file in arbitrary pieces yields every point exactly once, no problems."""
    results = _read_in_pieces(ORIGINAL, cuts)
    assert all(r.problems == [] for r in results)
    emitted = _emitted(results)
    assert sorted(emitted) == sorted(ORIGINAL_POINTS)
    assert len(emitted) == len(ORIGINAL_POINTS)
    assert any(r.texts.get("args/text_summary") == '{"max_steps": 9}' for r in results)
    # A prefix holds exactly the points of the records it fully contains.
    prefix = ORIGINAL[:truncate_at]
    complete, size = 0, 0
    for rec in _RECORDS:
        size += len(rec)
        if size <= truncate_at:
            complete += 1
    expected_points = max(0, complete - 2)  # the version and text records are not points
    got = _emitted(_read_in_pieces(prefix, []))
    assert len(got) == expected_points


_VERSION = event_pb2.Event(
    wall_time=1.7e9,
    file_version="brain.Event:2",
    source_metadata=event_pb2.SourceMetadata(writer="tensorboard.summary.writer.event_file_writer"),
).SerializeToString()


@_SETTINGS
@given(st.lists(_MUTATION, min_size=0, max_size=3), st.booleans())
def test_version_event_shortcut_agrees_with_protobuf(mutations: list[tuple[Any, ...]], bare: bool) -> None:
    """Records skipped without protobuf must parse, with protobuf, to an event without points."""
    base = version_event() if bare else _VERSION
    data = _mutate(base, mutations) if mutations else base
    buf = b"\x00" * 12 + data + b"\x00" * 4  # the decoder sees data inside a framed buffer
    if not _event_decode._is_version_event(buf, 12, len(data)):
        return
    event = event_pb2.Event.FromString(data)  # must not raise
    assert not event.HasField("summary")
    assert event.WhichOneof("what") == "file_version"
