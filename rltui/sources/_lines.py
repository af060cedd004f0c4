"""Follow a growing text file by byte offset and hand over only its complete lines.

Console logs and JSONL files are appended to while we read them, may be truncated (``> log``),
replaced (log rotation, a rerun writing a new file under the same name), or vanish. This helper
keeps the byte offset, the pending partial line and the file's identity, so each reader only
deals with whole lines. Lines are split as bytes (a UTF-8 multi-byte sequence never contains
``\\r`` or ``\\n``), and decoding is left to the reader.
"""

from __future__ import annotations

import os
import re
import stat
import time
from dataclasses import dataclass, field

from rltui.records import Problem

# How many leading bytes identify "the same file": if they change, the file was rewritten in
# place (truncated and regrown past our offset between two reads) and we start over.
_HEAD_BYTES = 64
_READ_CHUNK = 8 << 20
#: A last line without its newline in a file untouched this long is complete: the writer is gone
#: (a finished run, a log pasted into a file). A live writer finishes its line within a second.
STALE_SECONDS = 30.0

_SPLIT_CR = re.compile(rb"\r|\n")
_SPLIT_LF = re.compile(rb"\n")


@dataclass(slots=True)
class LineBatch:
    """Complete lines read by one call, each as (byte offset of its first byte, bytes)."""

    lines: list[tuple[int, bytes]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    restarted: bool = False
    # True when the lines were already in the file when we (re)started following it, i.e. they
    # were not seen arriving; readers use it to choose between "no clock" and "read time".
    backlog: bool = False


class LineFollower:
    """Incremental, never-raising reader of complete lines of one file.

    ``split_cr=True`` also ends a line at a lone ``\\r`` (tqdm redraws its bar with ``\\r``, and a
    log dict can follow a bar on the same physical line). Empty lines are not handed over. A line
    longer than ``max_line`` bytes is skipped with one problem, so a file without newlines cannot
    grow our memory without bound.
    """

    def __init__(self, path: str, *, split_cr: bool, max_line: int = 1 << 20) -> None:
        self.path = path
        self._split = _SPLIT_CR if split_cr else _SPLIT_LF
        self._terminators = (b"\r", b"\n") if split_cr else (b"\n",)
        self._max_line = max_line
        self._reset()
        self._state = "ok"  # "ok" or the message of the last file-level problem (one per transition)
        self._ever_read = False

    def _reset(self) -> None:
        self._offset = 0  # bytes of the file consumed (complete lines + pending)
        self._pending = b""
        self._pending_start = 0
        self._skipping = False  # inside an over-long line: drop bytes until its end
        self._head = b""
        self._ident: tuple[int, int] | None = None
        self._backlog = True

    def _file_problem(self, message: str) -> list[Problem]:
        if self._state == message:
            return []
        self._state = message
        return [Problem(self.path, None, message)]

    def read(self) -> LineBatch:
        batch = LineBatch()
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            batch.problems += self._file_problem("file not found (vanished or not created yet)")
            return batch
        except OSError as exc:
            batch.problems += self._file_problem(f"cannot stat file: {exc.strerror or exc}")
            return batch
        if not stat.S_ISREG(st.st_mode):
            batch.problems += self._file_problem("not a regular file")
            return batch
        ident = (st.st_dev, st.st_ino)
        if self._ident is not None and (ident != self._ident or st.st_size < self._offset):
            self._reset()
            batch.restarted = True
        try:
            with open(self.path, "rb") as f:
                if self._head:
                    head = f.read(len(self._head))
                    if head != self._head:
                        self._reset()
                        batch.restarted = True
                self._ident = ident
                f.seek(self._offset)
                while True:
                    chunk = f.read(_READ_CHUNK)
                    if not chunk:
                        break
                    self._consume(chunk, batch)
            if self._pending and not self._skipping and time.time() - st.st_mtime > STALE_SECONDS:
                self._emit(self._offset - len(self._pending), self._pending, batch)
                self._pending = b""
        except OSError as exc:
            batch.problems += self._file_problem(f"cannot read file: {exc.strerror or exc}")
            return batch
        self._state = "ok"
        batch.backlog = self._backlog
        self._backlog = False
        if not self._ever_read:
            self._ever_read = True
            batch.restarted = False  # the first successful read is a start, not a restart
        return batch

    def _consume(self, chunk: bytes, batch: LineBatch) -> None:
        if len(self._head) < _HEAD_BYTES:
            self._head += chunk[: _HEAD_BYTES - len(self._head)]
        base = self._offset - len(self._pending)
        self._offset += len(chunk)
        data = self._pending + chunk if self._pending else chunk
        last = max(data.rfind(t) for t in self._terminators)
        start = 0
        if last >= 0:
            for m in self._split.finditer(data, 0, last + 1):
                if self._skipping:
                    self._skipping = False
                else:
                    self._emit(base + start, data[start : m.start()], batch)
                start = m.end()
        rest = data[start:]
        if self._skipping:
            self._pending = b""
        elif len(rest) > self._max_line:
            batch.problems.append(
                Problem(self.path, base + start, f"line longer than {self._max_line} bytes skipped")
            )
            self._skipping = True
            self._pending = b""
        else:
            self._pending = rest

    def _emit(self, offset: int, line: bytes, batch: LineBatch) -> None:
        if not line:
            return
        if len(line) > self._max_line:
            batch.problems.append(
                Problem(self.path, offset, f"line longer than {self._max_line} bytes skipped")
            )
            return
        batch.lines.append((offset, line))
