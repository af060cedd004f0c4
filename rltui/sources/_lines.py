"""Follow a growing text file by byte offset and hand over only its complete lines.

Console logs and JSONL files are appended to while we read them, may be truncated (``> log``),
replaced (log rotation, a rerun writing a new file under the same name), or vanish. This helper
keeps the byte offset, the pending partial line and the file's identity, so each reader only
deals with whole lines. Lines are split as bytes (a UTF-8 multi-byte sequence never contains
``\\r`` or ``\\n``), and decoding is left to the reader.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from rltui.records import Problem
from rltui.sources.fs import LOCAL, FileSystem, describe

# How many leading bytes identify "the same file": if they change, the file was rewritten in
# place (truncated and regrown past our offset between two reads) and we start over.
_HEAD_BYTES = 64
_READ_CHUNK = 8 << 20
#: A last line without its newline in a file untouched this long is complete: the writer is gone
#: (a finished run, a log pasted into a file). A live writer finishes its line within a second.
STALE_SECONDS = 30.0

_SPLIT_CR = re.compile(rb"\r|\n")
_SPLIT_LF = re.compile(rb"\n")
_SPLIT16_LE = re.compile(rb"\r\x00|\n\x00")
_SPLIT16_BE = re.compile(rb"\x00\r|\x00\n")
_LF16_LE = re.compile(rb"\n\x00")
_LF16_BE = re.compile(rb"\x00\n")
_BOM_UTF8 = b"\xef\xbb\xbf"
_BOM_LE = b"\xff\xfe"
_BOM_BE = b"\xfe\xff"


@dataclass(slots=True)
class LineBatch:
    """Complete lines read by one call, each as (byte offset of its first byte, bytes)."""

    lines: list[tuple[int, bytes]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    restarted: bool = False
    # True when the lines were already in the file when we (re)started following it, i.e. they
    # were not seen arriving; readers use it to choose between "no clock" and "read time".
    backlog: bool = False


def _utf16(head: bytes) -> str | None:
    """The UTF-16 codec a file starting with a BOM is written in, when its text says so too.

    A BOM alone is two bytes any binary junk can start with: the text after it must look like
    UTF-16 (log text is mostly ASCII, so most high bytes of its code units are zero).
    """
    le = head.startswith(_BOM_LE)
    sample = head[2:514]
    units = len(sample) // 2
    if units == 0:
        return None
    high = sample[1::2] if le else sample[0::2]
    zeros = high[:units].count(0)
    if zeros * 2 < units:
        return None
    return "utf-16-le" if le else "utf-16-be"


class LineFollower:
    """Incremental, never-raising reader of complete lines of one file.

    ``split_cr=True`` also ends a line at a lone ``\\r`` (tqdm redraws its bar with ``\\r``, and a
    log dict can follow a bar on the same physical line). Empty lines are not handed over. A line
    longer than ``max_line`` bytes is skipped with one problem, so a file without newlines cannot
    grow our memory without bound.
    """

    def __init__(
        self, path: str, *, split_cr: bool, max_line: int = 1 << 20, fs: FileSystem | None = None
    ) -> None:
        self.path = path
        self._fs: FileSystem = fs if fs is not None else LOCAL
        self._split = _SPLIT_CR if split_cr else _SPLIT_LF
        self._split_cr = split_cr
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
        self._codec: str | None = None  # "utf-16-le"/"utf-16-be" from a BOM at byte 0

    def _file_problem(self, message: str) -> list[Problem]:
        if self._state == message:
            return []
        self._state = message
        return [Problem(self.path, None, message, transient=True)]

    @property
    def healthy(self) -> bool:
        """The last read opened and read the file (its file-level problems are over)."""
        return self._state == "ok"

    def read(self) -> LineBatch:
        batch = LineBatch()
        try:
            fh = self._fs.open(self.path)
        except FileNotFoundError:
            batch.problems += self._file_problem("file not found (vanished or not created yet)")
            return batch
        except OSError as exc:
            batch.problems += self._file_problem(f"cannot read file: {describe(exc)}")
            return batch
        try:
            with fh:
                info = fh.info
                if self._ident is not None and (info.identity != self._ident or info.size < self._offset):
                    self._reset()
                    batch.restarted = True
                if self._head:
                    head = fh.read_at(0, len(self._head))
                    if head != self._head:
                        self._reset()
                        batch.restarted = True
                self._ident = info.identity
                # Up to the size seen at open: a file written faster than we read it cannot keep
                # one call going forever (the rest is read by the next call).
                end = info.size
                while self._offset < end:
                    chunk = fh.read_at(self._offset, min(_READ_CHUNK, end - self._offset))
                    if not chunk:
                        break
                    self._consume(chunk, batch)
            if self._pending and not self._skipping and time.time() - info.mtime_ns / 1e9 > STALE_SECONDS:
                self._emit(self._offset - len(self._pending), self._pending, batch)
                self._pending = b""
        except OSError as exc:
            batch.problems += self._file_problem(f"cannot read file: {describe(exc)}")
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
        start = 0
        if base == 0 and not self._pending:
            if chunk.startswith(_BOM_UTF8):
                start = len(_BOM_UTF8)  # UTF-8 with a BOM: the lines are UTF-8, the BOM is not text
            elif chunk.startswith((_BOM_LE, _BOM_BE)):
                self._codec = _utf16(chunk)
        if self._codec is not None:
            self._consume16(chunk, batch, base)
            return
        self._offset += len(chunk)
        data = self._pending + chunk if self._pending else chunk
        last = max(data.rfind(t) for t in self._terminators)
        if last >= start:
            for m in self._split.finditer(data, start, last + 1):
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

    def _consume16(self, chunk: bytes, batch: LineBatch, base: int) -> None:
        """UTF-16 (a BOM at byte 0; Windows PowerShell's ``Tee-Object``): split on 2-byte
        terminators at even offsets and hand each line over as UTF-8, at its byte offset."""
        codec = self._codec or "utf-16-le"
        self._offset += len(chunk)
        data = self._pending + chunk if self._pending else chunk
        start = 2 if base == 0 else 0  # the BOM
        pattern = _SPLIT16_LE if codec == "utf-16-le" else _SPLIT16_BE
        if not self._split_cr:
            pattern = _LF16_LE if codec == "utf-16-le" else _LF16_BE
        for m in pattern.finditer(data, start):
            if (m.start() - start) % 2:
                continue  # a terminator byte pair straddling two code units
            if self._skipping:
                self._skipping = False
            else:
                text = data[start : m.start()].decode(codec, errors="replace")
                self._emit(base + start, text.encode("utf-8"), batch)
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
