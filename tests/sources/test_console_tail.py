"""The console tail (the dashboard's ``t``): the newest lines as a terminal shows them, read
through the file-system seam, bounded, sanitised; hostile files refused, never hanging."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rltui.sources.console_tail import MAX_LINE, TAIL_BYTES, tail_file, tail_text
from rltui.sources.fs import LOCAL, OutsideRoot


def test_progress_bars_show_their_last_state_and_escapes_are_gone() -> None:
    data = b"start\n 1%\r 50%\r100%|done\n\x1b[31mred\x1b[0m \x1b]0;title\x07text\n\xff bad utf8\n"
    assert tail_text(data, False, 10) == ["start", "100%|done", "red text", "\ufffd bad utf8"]


def test_a_window_that_starts_mid_file_drops_its_partial_first_line() -> None:
    assert tail_text(b"tial line\nwhole 1\nwhole 2\n", True, 10) == ["whole 1", "whole 2"]
    assert tail_text(b"no newline at all", True, 10) == ["no newline at all"]  # one line: kept
    assert tail_text(b"a\nb\nc\n", False, 2) == ["b", "c"]
    assert tail_text(b"a\nb\n", False, 0) == []


def test_tail_file_reads_only_the_end_of_a_big_log(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    line = b"{'loss': 0.5, 'grad_norm': 1.0}\n"
    with log.open("wb") as f:
        for i in range(40_000):  # ~1.3 MB
            f.write(b"%d " % i + line)
        f.write(b"x" * (MAX_LINE * 3) + b"\nlast line\n")
    got = tail_file(LOCAL, str(log), max_lines=3)
    assert got[-1] == "last line"
    assert len(got[-2]) == MAX_LINE  # capped, with its ellipsis
    assert got[-2].endswith("…")
    assert got[0].startswith("39999 ")
    assert len(tail_file(LOCAL, str(log), max_lines=10_000)) < TAIL_BYTES // len(line) + 3


def test_a_fifo_or_a_symlink_out_of_the_run_is_refused_not_waited_on(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    fifo = run / "console.log"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="FIFO"):
        tail_file(LOCAL.confined(str(run)), str(fifo))  # returns at once: no writer is waited for
    outside = tmp_path / "secret.log"
    outside.write_text("secret\n")
    (run / "link.log").symlink_to(outside)
    with pytest.raises(OutsideRoot):
        tail_file(LOCAL.confined(str(run)), str(run / "link.log"))
