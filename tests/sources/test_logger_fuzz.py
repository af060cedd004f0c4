"""Hypothesis fuzzing of the tracker parsers: hostile bytes never raise, hang or invent points.

The binary logs (W&B ``.wandb``, SwanLab ``.swanlab``) start from the real files their libraries
wrote (``fixtures/loggers/``), cut to a prefix that crosses a 32 KiB block boundary, so split
records are exercised. The oracle of "invented" is the clean prefix's own points, which the
fixture tests tie to the replayed ``log_history``. The text and database formats (MLflow metric
lines, Trackio/MLflow SQLite files, Trackio's metrics JSON) get random and mutated input too.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rltui.records import ReadResult
from rltui.sources import _protowire as pw
from rltui.sources.mlflow import MlflowDbReader, MlflowRunReader, parse_metric_line
from rltui.sources.swanlab import SwanlabReader, decode_scalar
from rltui.sources.trackio import TrackioReader, parse_row
from rltui.sources.wandb import WandbReader, decode_config, decode_history, decode_run
from tests.sources._loggers import LOGGERS, expected_points, points_of

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PREFIX = 40_000  # past the first 32 KiB block: split records cross it


def _prefix(pattern: str) -> bytes:
    (path,) = LOGGERS.glob(pattern)
    return path.read_bytes()[:PREFIX]


WANDB = _prefix("wandb_project/wandb/offline-run-*/run-*.wandb")
SWANLAB = _prefix("swanlab_project/swanlog/run-*/run-*.swanlab")
Reader = Callable[[str], WandbReader | SwanlabReader]
LOGS: dict[str, tuple[bytes, Reader, str]] = {
    "wandb": (WANDB, WandbReader, "run-x.wandb"),
    "swanlab": (SWANLAB, SwanlabReader, "run-x.swanlab"),
}


def _read_in_pieces(kind: str, data: bytes, cuts: list[int]) -> list[ReadResult]:
    """Append ``data`` in pieces, as the tracker's writer does, reading after each piece."""
    _, make, name = LOGS[kind]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name)
        reader = make(path)
        results = []
        prev = 0
        with open(path, "wb") as fh:
            for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
                if cut > prev:
                    fh.write(data[prev:cut])
                    prev = cut
                fh.flush()
                results.append(reader.read())
        results.append(reader.read())
        reader.close()
    assert not any(r.restarted for r in results)  # the file only grew
    return results


CLEAN = {kind: Counter(points_of(_read_in_pieces(kind, data, []))) for kind, (data, _, _) in LOGS.items()}


def test_the_clean_prefixes_hold_real_points() -> None:
    """The oracle itself: hundreds of points, all of them the replayed run's."""
    assert sum(CLEAN["wandb"].values()) > 300
    assert sum(CLEAN["swanlab"].values()) > 300
    assert not CLEAN["wandb"] - expected_points("dpo_margin_explosion")
    assert not CLEAN["swanlab"] - expected_points("dpo_healthy", finite_only=True, first_per_step=True)


_MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, PREFIX - 1), st.integers(0, 7)),
    st.tuples(st.just("insert"), st.integers(0, PREFIX), st.binary(min_size=1, max_size=40)),
    st.tuples(st.just("delete"), st.integers(0, PREFIX - 1), st.integers(1, 40)),
    st.tuples(st.just("truncate"), st.integers(0, PREFIX)),
    st.tuples(st.just("set"), st.integers(0, PREFIX - 1), st.integers(0, 255)),
)


def _mutate(data: bytes, mutations: list[tuple[Any, ...]]) -> bytes:
    buf = bytearray(data)
    for m in mutations:
        if not buf:
            break
        if m[0] == "flip":
            buf[m[1] % len(buf)] ^= 1 << m[2]
        elif m[0] == "set":
            buf[m[1] % len(buf)] = m[2]
        elif m[0] == "insert":
            pos = m[1] % (len(buf) + 1)
            buf[pos:pos] = m[2]
        elif m[0] == "delete":
            del buf[m[1] % len(buf) : m[1] % len(buf) + m[2]]
        else:
            del buf[m[1] % (len(buf) + 1) :]
    return bytes(buf)


@FUZZ
@given(
    st.sampled_from(sorted(LOGS)),
    st.binary(max_size=4096),
    st.booleans(),
    st.lists(st.integers(0, 5000), max_size=4),
)
def test_random_bytes_give_no_points(kind: str, data: bytes, with_header: bool, cuts: list[int]) -> None:
    header = LOGS[kind][0][:7]
    results = _read_in_pieces(kind, (header if with_header else b"") + data, cuts)
    assert points_of(results) == []
    offsets = [p.offset for r in results for p in r.problems if p.offset is not None]
    assert len(offsets) == len(set(offsets))  # a problem is told once


@FUZZ
@given(
    st.sampled_from(sorted(LOGS)),
    st.lists(_MUTATION, min_size=1, max_size=4),
    st.lists(st.integers(0, PREFIX), max_size=3),
)
def test_mutated_logs_never_invent_or_double_points(
    kind: str, mutations: list[tuple[Any, ...]], cuts: list[int]
) -> None:
    got = Counter(points_of(_read_in_pieces(kind, _mutate(LOGS[kind][0], mutations), cuts)))
    assert not got - CLEAN[kind]


@FUZZ
@given(st.sampled_from(sorted(LOGS)), st.lists(st.integers(0, PREFIX), max_size=6))
def test_clean_log_in_any_pieces_is_every_point_once(kind: str, cuts: list[int]) -> None:
    results = _read_in_pieces(kind, LOGS[kind][0], cuts)
    assert Counter(points_of(results)) == CLEAN[kind]
    assert all(r.problems == [] for r in results)


@FUZZ
@given(st.binary(max_size=600))
def test_protobuf_decoders_never_raise_anything_but_proto_errors(buf: bytes) -> None:
    for decode in (
        decode_history,
        decode_scalar,
        lambda b: decode_config(b, {}),
        lambda b: decode_run(b, {}),
    ):
        with contextlib.suppress(pw.ProtoError):
            decode(buf)


# -- MLflow metric files ----------------------------------------------------------------------------

_LINES = [
    b"1733130000000 0.5 1",
    b"1733130000123 -1.25e-05 2",
    b"1733130000456 nan 3",
    b"1733130000789 inf 4",
]


@FUZZ
@given(
    st.lists(st.sampled_from([*_LINES, b"", b"garbage", b"1 2 3 4", b"\xff\xfe", b"1e400 1 1"]), max_size=30),
    st.lists(st.integers(0, 2000), max_size=5),
)
def test_mlflow_metric_file_in_pieces_equals_whole(lines: list[bytes], cuts: list[int]) -> None:
    """Any mix of good and bad lines, appended in any pieces: the same points as one read, and
    no point from a line without its newline yet."""
    data = b"\n".join(lines) + (b"\n" if lines else b"")
    whole = _mlflow_pieces(data, [])
    assert _mlflow_pieces(data, cuts) == whole
    good = [parse_metric_line(line) for line in lines]
    assert len(whole) == sum(p is not None for p in good)
    if data.endswith(b"\n") and len(data) > 1:
        assert _mlflow_pieces(data[:-1], []) == whole[: len(whole) - (good[-1] is not None)]


def _mlflow_pieces(data: bytes, cuts: list[int]) -> list[tuple[str, int, float | str]]:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        (run / "metrics").mkdir(parents=True)
        metric = run / "metrics" / "loss"
        reader = MlflowRunReader(str(run))
        results = []
        prev = 0
        with metric.open("wb") as fh:
            for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
                if cut > prev:
                    fh.write(data[prev:cut])
                    prev = cut
                fh.flush()
                results.append(reader.read())
        results.append(reader.read())
    return points_of(results)


@FUZZ
@given(st.binary(max_size=200))
def test_mlflow_line_parser_never_raises(line: bytes) -> None:
    point = parse_metric_line(line)
    if point is not None:
        step, wall, _value = point
        assert isinstance(step, int)
        assert math.isfinite(wall)


# -- SQLite stores and Trackio's JSON ---------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(
    st.one_of(_JSON.map(json.dumps), st.binary(max_size=300), st.text(max_size=300)),
    st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=5)),
)
def test_trackio_row_parser_never_raises(metrics_json: object, step: object) -> None:
    parsed = parse_row(step, metrics_json)
    if parsed is not None:
        s, metrics = parsed
        assert s is None or isinstance(s, int)
        assert all(isinstance(v, float) for v in metrics.values())


def _db_copy(tmp: str, name: str) -> str:
    src = {
        "trackio": LOGGERS / "trackio" / "rltui-fixtures.db",
        "mlflow": LOGGERS / "mlflow_db" / "mlflow.db",
    }[name]
    dst = os.path.join(tmp, src.name)
    shutil.copyfile(src, dst)
    return dst


def _db_reader(name: str, path: str) -> TrackioReader | MlflowDbReader:
    if name == "trackio":
        return TrackioReader(path, "sft_healthy")
    with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as conn:
        (uuid,) = conn.execute("SELECT run_uuid FROM runs WHERE name = 'grpo_healthy'").fetchone()
    return MlflowDbReader(path, uuid)


_DB_CLEAN: dict[str, Counter[tuple[str, int, float | str]]] = {}


def _db_points(name: str, data: bytes | None) -> Counter[tuple[str, int, float | str]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = _db_copy(tmp, name)
        reader = _db_reader(name, path)  # opened on the clean file: the mutation replaces it
        if data is not None:
            Path(path).write_bytes(data)
        try:
            results = [reader.read(), reader.read()]
        finally:
            reader.close()
        leftovers = sorted(set(os.listdir(tmp)) - {os.path.basename(path)})
        assert leftovers == []  # never a -journal, -wal or -shm of ours
    return Counter(points_of(results))


@FUZZ
@given(st.sampled_from(["trackio", "mlflow"]), st.lists(_MUTATION, min_size=1, max_size=3))
def test_mutated_databases_never_raise_or_invent(name: str, mutations: list[tuple[Any, ...]]) -> None:
    if name not in _DB_CLEAN:
        _DB_CLEAN[name] = _db_points(name, None)
    clean = (
        LOGGERS / ("trackio/rltui-fixtures.db" if name == "trackio" else "mlflow_db/mlflow.db")
    ).read_bytes()
    # Mutations land in the first 40 KB: the header, the schema and the first data pages.
    got = _db_points(name, _mutate(clean, mutations))
    # A flipped bit inside a stored REAL changes that value, as it would for any reader of the
    # file; what must hold is that no step or metric appears that the file never had.
    clean_keys = {(n, s) for n, s, _ in _DB_CLEAN[name]}
    assert {(n, s) for n, s, _ in got} <= clean_keys
    assert sum(got.values()) <= sum(_DB_CLEAN[name].values())


@FUZZ
@given(st.binary(max_size=5000))
def test_random_bytes_as_a_database(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.db")
        Path(path).write_bytes(data)
        for reader in (TrackioReader(path, "r"), MlflowDbReader(path, "u")):
            try:
                assert [reader.read().points, reader.read().points] == [0, 0]
            finally:
                reader.close()
        assert os.listdir(tmp) == ["x.db"]


def test_a_damaged_write_version_byte_does_not_leave_wal_files() -> None:
    """Found by the mutation fuzz in CI: byte 18 of a WAL database flipped, byte 19 still 2."""
    clean = (LOGGERS / "trackio" / "rltui-fixtures.db").read_bytes()
    assert clean[18] == clean[19] == 2  # the fixture is a WAL-mode database, as Trackio writes it
    want = _db_points("trackio", None)
    for byte18 in (0, 1, 3, 0x82):
        damaged = clean[:18] + bytes([byte18]) + clean[19:]
        got = _db_points("trackio", damaged)  # asserts no -wal/-shm is left in the folder
        assert set(got) <= set(want)
