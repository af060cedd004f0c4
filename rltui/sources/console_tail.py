"""The newest lines of a console log, as a person reads them (the dashboard's ``t``).

A training log is mostly progress bars: tqdm rewrites its line with ``\\r`` hundreds of times, so
a line is what its last ``\\r`` segment says, as a terminal would show it. Only the file's last
``max_bytes`` are read (through the file-system seam: a FIFO, a symlink out of the run or a file
on another host are handled there), a first line cut by that window is dropped, and every line is
sanitised (escape sequences, control and bidi characters) and capped: the text is someone
else's and goes to a terminal.
"""

from __future__ import annotations

from rltui.sources.fs import FileSystem
from rltui.text import sanitize

#: Enough for a screenful of long lines; the rest of the file is never read for the tail.
TAIL_BYTES = 64 * 1024
MAX_LINE = 400


def _shown(line: str) -> str:
    """What a terminal shows of one line: the text after its last carriage return."""
    line = line.rstrip("\r")
    if "\r" in line:
        line = line.rsplit("\r", 1)[1]
    return sanitize(line, single_line=True, max_len=MAX_LINE).rstrip()


def tail_text(data: bytes, cut: bool, max_lines: int) -> list[str]:
    """The last ``max_lines`` lines of ``data`` (``cut``: it starts mid-file, so its first line
    is partial and dropped). Blank lines are kept: they are part of how a log reads."""
    return tail_lines(data.decode("utf-8", "replace"), cut, max_lines)


def tail_lines(text: str, cut: bool, max_lines: int) -> list[str]:
    """:func:`tail_text` of text already decoded (a tmux capture)."""
    lines = text.split("\n")
    if cut and len(lines) > 1:
        lines = lines[1:]
    if lines and lines[-1] == "":
        lines.pop()
    return [_shown(x) for x in lines[-max_lines:]] if max_lines > 0 else []


def tail_file(fs: FileSystem, path: str, max_lines: int = 200, max_bytes: int = TAIL_BYTES) -> list[str]:
    """The newest ``max_lines`` lines of the file at ``path``; OSError when it cannot be read."""
    with fs.open(path) as f:
        size = f.info.size
        start = max(0, size - max_bytes)
        data = f.read_at(start, size - start)
    return tail_text(data, start > 0, max_lines)
