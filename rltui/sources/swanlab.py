"""Follow a SwanLab run's local log ``swanlog/run-<stamp>-<id>/run-<id>.swanlab``.

SwanLab (0.7+) records every ``swanlab.log()`` scalar in a LevelDB-style log that its own
dashboard (``swanlab watch``) reads back: the same framing as W&B's (``_leveldb_log``; header
``:SWL`` + magic ``0xE1D6``) around protobuf ``swanlab.record.v1.Record`` messages. rltui reads
field 13 (``ScalarRecord``: ``key`` 1, ``step`` 2, ``timestamp`` 4, ``value.number`` 5.1) with its
own wire decoder; no SwanLab server or package is needed. SwanLab's HF callback renames keys like
W&B's (``train/loss``), so names go through the same canonical mapping.

The run's config is ``files/config.yaml`` (``{key: {value: ..., desc, sort}}``), read with PyYAML's
``safe_load`` when it is installed (``pip install 'rltui[swanlab]'``), else named as a problem.

SwanLab buffers its writes (it does not flush after each record), so points arrive when its
buffer fills or the run ends: live, but in bursts of a few KiB.
"""

from __future__ import annotations

import math
import os
from typing import Any

from rltui.records import ChunkBuilder, Problem, ReadResult, SourceKind
from rltui.sources import _protowire as pw
from rltui.sources._logfollow import LogFollower
from rltui.sources._logger_values import STEP_KEYS, as_step, config_text, metric_name, run_settings
from rltui.sources.fs import LOCAL, FileSystem, TooLarge

MAGIC = b":SWL\xd6\xe1"
_MAX_PROBLEMS = 1000
_CONFIG_BYTES = 4 << 20


def decode_scalar(buf: bytes) -> tuple[str, int | None, float, float | None]:
    """(key, step, wall time or NaN, value) of one ScalarRecord.

    proto3 leaves out fields at their default: a record without ``step`` is step 0, and a
    ``value`` message without ``number`` is 0.0 (SwanLab logs ``learning_rate 0.0`` at warm-up
    start that way). A record without a ``value`` message at all has no value (None).
    """
    key = ""
    step = 0
    wall = math.nan
    value: float | None = None
    for num, wt, a, b in pw.fields(buf):
        if num == 1 and wt == pw.LEN:
            key = pw.text(buf, a, b)
        elif num == 2 and wt == pw.VARINT:
            step = pw.signed(a)
        elif num == 4 and wt == pw.LEN:
            wall = pw.timestamp(buf, a, b)
        elif num == 5 and wt == pw.LEN:
            sub = buf[a:b]
            value = 0.0
            for n2, w2, x, _ in pw.fields(sub):
                if n2 == 1 and w2 == pw.FIXED64:
                    value = pw.double(sub, x)
    return key, step, wall, value


def read_config_yaml(path: str, fs: FileSystem | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """(config, problem): SwanLab's and W&B's ``config.yaml`` (``{key: {value: v}}``) as ``{key: v}``."""
    try:
        import yaml
    except ImportError:
        return None, "config.yaml not read: install PyYAML (pip install 'rltui[swanlab]')"
    try:
        raw = (fs if fs is not None else LOCAL).read_small(path, _CONFIG_BYTES)
    except TooLarge:
        return None, "config.yaml larger than 4 MiB: not read"
    except (OSError, ValueError):
        return None, None  # not written yet (or not a regular file: nothing to read)
    try:
        data = yaml.safe_load(raw.decode("utf-8", errors="replace"))
    except Exception as exc:  # yaml.YAMLError and recursion on hostile input
        return None, f"config.yaml is not valid YAML: {type(exc).__name__}"
    if not isinstance(data, dict):
        return None, None
    out: dict[str, Any] = {}
    for key, entry in data.items():
        if not isinstance(key, str) or key.startswith("_"):
            continue
        out[key] = entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
    return out, None


class SwanlabReader:
    """Incremental reader of one ``run-<id>.swanlab`` file (see ``SourceReader``)."""

    kind: SourceKind = "swanlab"

    def __init__(self, path: str, *, fs: FileSystem | None = None) -> None:
        self.path = path
        self._fs: FileSystem = fs if fs is not None else LOCAL
        self._log = LogFollower(path, MAGIC, "SwanLab log", self._fs)
        self.points = 0
        self.problems: list[Problem] = []
        self._config_path = os.path.join(os.path.dirname(path), "files", "config.yaml")
        self._config_sig: tuple[int, int] | None = None

    def read(self) -> ReadResult:
        batch = self._log.read()
        result = ReadResult(restarted=batch.restarted)
        if batch.restarted:
            self.points = 0
        for p in batch.problems:
            self._problem(result, p)
        builder = ChunkBuilder()
        for offset, payload in batch.records:
            try:
                self._record(payload, builder)
            except pw.ProtoError as exc:
                self._problem(result, Problem(self.path, offset, f"undecodable record: {exc}"))
        result.chunks = builder.build()
        self.points += result.points
        self._read_config(result)
        return result

    def _record(self, payload: bytes, builder: ChunkBuilder) -> None:
        for num, wt, a, b in pw.fields(payload):
            if num == 13 and wt == pw.LEN:
                key, step, wall, value = decode_scalar(payload[a:b])
                if value is None or step is None or key in STEP_KEYS:
                    return
                name = metric_name(key)
                if name is not None and as_step(step) is not None:
                    builder.add(name, step, wall, value)
                return

    def _read_config(self, result: ReadResult) -> None:
        try:
            st = self._fs.stat(self._config_path)
        except (OSError, ValueError):
            return
        sig = (st.mtime_ns, st.size)
        if sig == self._config_sig:
            return
        self._config_sig = sig
        config, problem = read_config_yaml(self._config_path, self._fs)
        if problem:
            self._problem(result, Problem(self._config_path, None, problem))
        if config:
            result.texts["args"] = config_text(config)
            result.max_steps, result.logging_steps = run_settings(config)

    def _problem(self, result: ReadResult, problem: Problem) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(problem)
            result.problems.append(problem)

    def close(self) -> None:
        """Nothing is held open between calls."""
