"""Follow a W&B run's transaction log ``run-<id>.wandb``, the file W&B writes as the run trains.

The log is what the W&B SDK hands its service process (offline runs keep only it): a LevelDB-style
record log (``_leveldb_log``) of protobuf ``Record`` messages (``wandb/proto/wandb_internal.proto``).
rltui decodes three of them with a small wire decoder (``_protowire``), which needs neither the
``wandb`` package nor its protobuf runtime:

* ``history`` (Record field 2): one ``log()`` row; items are ``key``/``nested_key`` +
  ``value_json``. The row's step is its ``train/global_step`` (or another field of
  ``_logger_values.STEP_KEYS``), else W&B's ``_step``; ``_timestamp`` is its wall time;
  other ``_``-prefixed items are W&B's own.
* ``config`` (field 5) and the ``run`` record's config (field 17.4): the run's config, handed to
  the session as ``texts["args"]`` for trainer detection, ``max_steps`` and ``logging_steps``.
* everything else (summary, console output, system stats, telemetry) is skipped: the summary
  repeats the last history row, the console is ``files/output.log``.

A record that is not a well-formed message is a problem at its offset; its neighbours are read.
"""

from __future__ import annotations

import json
import math
from typing import Any

from rltui.records import ChunkBuilder, Problem, ReadResult, SourceKind
from rltui.sources import _protowire as pw
from rltui.sources._logfollow import LogFollower, read_span
from rltui.sources._logger_values import (
    STEP_KEYS,
    as_step,
    config_text,
    flat_numbers,
    metric_name,
    parse_json_value,
    run_settings,
)
from rltui.sources.fs import LOCAL, FileSystem

MAGIC = b":W&B\xe1\xbe"
_MAX_PROBLEMS = 1000
_STEP_SET = frozenset(STEP_KEYS)
_MAX_NAMES = 100_000
_NUMBER_START = frozenset(b"-0123456789NI")  # JSON numbers and W&B's NaN, Infinity
_UNSEEN = ""  # not a name metric_name can return (it returns None for an empty one)


def _item(buf: bytes, a: int, b: int) -> tuple[str, object]:
    """(key, value) of a HistoryItem/ConfigItem: value is JSON text, a float, or None."""
    key = ""
    nested: list[str] = []
    value: object = None
    sub = buf[a:b]
    for num, wt, x, y in pw.fields(sub):
        if wt == pw.LEN:
            if num == 16 or num == 8:  # value_json, json
                value = pw.text(sub, x, y)
            elif num == 1:
                key = pw.text(sub, x, y)
            elif num == 2:
                nested.append(pw.text(sub, x, y))
        elif num == 6 and wt == pw.FIXED64:  # number
            value = pw.double(sub, x)
        elif num == 5 and wt == pw.VARINT:  # integer (sint64)
            value = float(pw.zigzag(x))
    return (key or "/".join(nested)), value


def _json_number(raw: bytes) -> object:
    """A value_json's number (``float`` reads JSON numbers and W&B's NaN/Infinity) or object."""
    if raw and raw[0] in _NUMBER_START:
        try:
            return float(raw)
        except ValueError:
            pass
    return parse_json_value(raw.decode("utf-8", errors="replace"))


def decode_history(buf: bytes) -> tuple[int | None, float, dict[str, float]]:
    """(step, wall time or NaN, metrics) of one HistoryRecord message.

    The loop is the loader's hot path (30 items a row, 600k in a long run): an item W&B writes
    for a plain key (one ``key`` or ``nested_key``, then ``value_json``, each under 128 bytes;
    what W&B 0.2x-0.3x write) is taken apart inline; anything else goes to the general decoder.
    """
    own_step: int | None = None
    steps: dict[str, int] = {}
    wall = math.nan
    metrics: dict[str, float] = {}
    n = len(buf)
    i = 0
    while i < n:
        if buf[i] == 0x0A and i + 1 < n and buf[i + 1] < 0x80:  # an item with a one-byte length
            a = i + 2
            b = a + buf[i + 1]
            if b > n:
                raise pw.ProtoError("length past the end of the message")
            i = b
            if b - a >= 5 and buf[a] in (0x0A, 0x12) and buf[a + 1] < 0x80:
                j = a + 2 + buf[a + 1]
                if j + 3 <= b and buf[j] == 0x82 and buf[j + 1] == 0x01 and j + 3 + buf[j + 2] == b:
                    key = buf[a + 2 : j].decode("utf-8", errors="replace")
                    raw = buf[j + 3 : b]
                    if key[:1] != "_" and key not in _STEP_SET and raw and raw[0] in _NUMBER_START:
                        try:
                            metrics[key] = float(raw)
                            continue
                        except ValueError:
                            pass
                    own_step, wall = _other_item(key, _json_number(raw), own_step, wall, steps, metrics)
                    continue
            key, value = _item(buf, a, b)
            value = parse_json_value(value) if isinstance(value, str) else value
            own_step, wall = _other_item(key, value, own_step, wall, steps, metrics)
            continue
        for num, wt, a, b in pw.fields(buf[i:]):  # anything else: the general decoder, to the end
            if wt != pw.LEN:
                continue
            if num == 2:  # HistoryStep {num}
                for n2, w2, v2, _ in pw.fields(buf[i + a : i + b]):
                    if n2 == 1 and w2 == pw.VARINT and own_step is None:
                        own_step = pw.signed(v2)
            elif num == 1:
                key, value = _item(buf, i + a, i + b)
                value = parse_json_value(value) if isinstance(value, str) else value
                own_step, wall = _other_item(key, value, own_step, wall, steps, metrics)
        break
    for key in STEP_KEYS:
        if key in steps:
            return steps[key], wall, metrics
    return own_step, wall, metrics


def _other_item(
    key: str,
    value: object,
    own_step: int | None,
    wall: float,
    steps: dict[str, int],
    metrics: dict[str, float],
) -> tuple[int | None, float]:
    """One history item that is not a plain number: W&B's own ``_step``/``_timestamp``, a step
    field, or a nested dict of numbers."""
    if key.startswith("_"):
        if key == "_step":
            s = as_step(value)
            own_step = s if s is not None else own_step
        elif key == "_timestamp" and isinstance(value, float) and math.isfinite(value):
            wall = value
        return own_step, wall
    if key in _STEP_SET:
        s = as_step(value)
        if s is not None:
            steps[key] = s
        return own_step, wall
    flat_numbers(key, value, metrics)
    return own_step, wall


def _set_nested(config: dict[str, Any], key: str, nested: list[str], value: Any) -> None:
    path = [key] if key else nested
    if not path:
        return
    node = config
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def decode_config(buf: bytes, config: dict[str, Any]) -> None:
    """Apply one ConfigRecord's updates (field 1) and removals (field 2) to ``config``."""
    for num, wt, a, b in pw.fields(buf):
        if wt != pw.LEN or num not in (1, 2):
            continue
        sub = buf[a:b]
        key = ""
        nested: list[str] = []
        raw = ""
        for n2, w2, x, y in pw.fields(sub):
            if w2 != pw.LEN:
                continue
            if n2 == 1:
                key = pw.text(sub, x, y)
            elif n2 == 2:
                nested.append(pw.text(sub, x, y))
            elif n2 == 16:
                raw = pw.text(sub, x, y)
        top = key or (nested[0] if nested else "")
        if not top or top == "_wandb":
            continue
        if num == 2:
            config.pop(top, None) if key or len(nested) == 1 else None
            continue
        try:
            value = json.loads(raw) if raw and len(raw) <= 1 << 20 else None
        except (ValueError, RecursionError):
            value = raw
        _set_nested(config, key, nested, value)


def decode_run(buf: bytes, config: dict[str, Any]) -> dict[str, str]:
    """The RunRecord's config (field 4) into ``config``; its run id, project and display name."""
    names: dict[str, str] = {}
    for num, wt, a, b in pw.fields(buf):
        if wt != pw.LEN:
            continue
        if num == 4:
            decode_config(buf[a:b], config)
        elif num in (1, 3, 8):
            names[{1: "run_id", 3: "project", 8: "display_name"}[num]] = pw.text(buf, a, b)
    return names


def record_kind(payload: bytes) -> tuple[int, int, int]:
    """(field number, start, end) of the Record's payload field that rltui reads, or (0, 0, 0)."""
    for num, wt, a, b in pw.fields(payload):
        if wt == pw.LEN and num in (2, 5, 17):
            return num, a, b
    return 0, 0, 0


class WandbReader:
    """Incremental reader of one ``run-<id>.wandb`` file (see ``SourceReader``)."""

    kind: SourceKind = "wandb"

    def __init__(self, path: str, *, fs: FileSystem | None = None) -> None:
        self.path = path
        self._log = LogFollower(path, MAGIC, "W&B transaction log", fs)
        self.points = 0
        self.problems: list[Problem] = []
        self.names: dict[str, str] = {}
        self._config: dict[str, Any] = {}
        self._last_step = -1
        #: Logged key -> canonical name (None: unusable), so each key is mapped once.
        self._names: dict[str, str | None] = {}

    def read(self) -> ReadResult:
        batch = self._log.read()
        result = ReadResult(restarted=batch.restarted)
        if batch.restarted:
            self.points = 0
            self._config = {}
            self._last_step = -1
        for p in batch.problems:
            self._problem(result, p)
        builder = ChunkBuilder()
        config_changed = False
        for offset, payload in batch.records:
            try:
                config_changed |= self._record(payload, builder)
            except pw.ProtoError as exc:
                self._problem(result, Problem(self.path, offset, f"undecodable record: {exc}"))
        result.chunks = builder.build()
        self.points += result.points
        if config_changed and self._config:
            result.texts["args"] = config_text(self._config)
            result.max_steps, result.logging_steps = run_settings(self._config)
        return result

    def _record(self, payload: bytes, builder: ChunkBuilder) -> bool:
        num, a, b = record_kind(payload)
        if num == 2:
            step, wall, metrics = decode_history(payload[a:b])
            if step is None:
                step = self._last_step + 1
            self._last_step = step
            names = self._names
            for key, value in metrics.items():
                name = names.get(key, _UNSEEN)
                if name is _UNSEEN:
                    name = metric_name(key)
                    if len(names) < _MAX_NAMES:
                        names[key] = name
                if name is not None:
                    builder.add(name, step, wall, value)
            return False
        if num == 5:
            decode_config(payload[a:b], self._config)
            return True
        if num == 17:
            self.names.update(decode_run(payload[a:b], self._config))
            return True
        return False

    def _problem(self, result: ReadResult, problem: Problem) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(problem)
            result.problems.append(problem)

    def close(self) -> None:
        """Nothing is held open between calls."""


def scan_head(
    path: str, limit: int = 1 << 20, fs: FileSystem | None = None
) -> tuple[dict[str, str], dict[str, Any]]:
    """Run names and config from the first ``limit`` bytes (for discovery); never raises."""
    from rltui.sources import _leveldb_log

    names: dict[str, str] = {}
    config: dict[str, Any] = {}
    try:
        span = read_span(fs if fs is not None else LOCAL, path, _leveldb_log.HEADER, limit)
    except (OSError, ValueError):
        return names, config
    if span.head[:6] != MAGIC:
        return names, config
    for _off, payload in _leveldb_log.frame(span.data, _leveldb_log.HEADER).records:
        try:
            num, a, b = record_kind(payload)
            if num == 17:
                names.update(decode_run(payload[a:b], config))
            elif num == 5:
                decode_config(payload[a:b], config)
        except pw.ProtoError:
            continue
    return names, config
