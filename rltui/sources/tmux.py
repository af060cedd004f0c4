"""Metrics from a tmux pane, for trainings started without ``tee`` (``--tmux SESSION:WIN.PANE``).

Each read asks tmux for the pane's cursor row and captures the scrollback down to it
(``capture-pane -p -J -S - -E cursor_y``), dropping the last logical line: the lines above it are
complete, the cursor's line (with the rows it wrapped over, joined by ``-J``) may still be written
(a tqdm bar, a half-flushed dict). The lines are parsed with the console
parser (:mod:`rltui.sources.console`), so steps are inferred the same way.

Finding what is new. tmux keeps no counter of lines that scrolled out of a full history, and
``-J`` joins wrapped rows, so row numbers cannot be trusted across reads. Instead the reader
remembers the last few *candidate* lines (those containing ``{`` or ``step:``: log dicts,
verl lines; printed once and never redrawn, unlike progress bars) and looks for that sequence in
the next capture; the candidates after its last occurrence are new. Matching shrinks to fewer
anchor lines before giving up. If none is found (history cleared with ``clear-history``, or more
output than the history limit since the last read) every candidate line in the capture is taken as
new and a problem says so. If the pane itself changed (another ``pane_id`` under the same target)
the reader starts over with ``restarted=True``. A capture is O(scrollback) (2000 lines by default):
fine at the rate the session polls.

Problem offsets are always ``None``: a pane has no byte offsets, and a line's index in the capture
moves with every capture (a bad line is identified by its message). Wall time: NaN for the
scrollback found at the first read, ``time.time()`` for lines seen arriving later. ``kind`` is
"tmux", ``path`` is ``tmux:TARGET``.

A remote pane (``--tmux ssh://host/SESSION:WIN.PANE``) is read the same way, its two tmux
commands run on that host through its ssh connection (``runner``, ``rltui.sources.ssh``).
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Callable

from rltui.records import ChunkBuilder, Problem, ReadResult, SourceKind
from rltui.sources.console import ConsoleParser
from rltui.sources.console_tail import tail_lines
from rltui.text import decode

_ANCHOR_LINES = 8
#: Runs ``tmux ARGS`` elsewhere (a remote host): (exit code, stdout, stderr).
Runner = Callable[[list[str]], tuple[int, bytes, str]]
_TIMEOUT_S = 5.0


def _is_candidate(line: str) -> bool:
    return "{" in line or "step:" in line


class TmuxPaneReader:
    """Follows a tmux pane's output (see the module docstring for how new lines are found).

    ``socket`` is tmux's ``-L`` socket name (None: the user's default server). ``points`` counts
    points emitted since the last (re)start.
    """

    kind: SourceKind = "tmux"

    def __init__(
        self,
        target: str,
        socket: str | None = None,
        logging_steps: int = 1,
        runner: Runner | None = None,
    ) -> None:
        self.path = f"tmux:{target}"
        self._runner = runner
        if runner is not None and target.startswith("ssh://"):
            # ssh://[user@]host[:port]/SESSION:WIN.PANE: the pane's name on that host's tmux
            target = target.split("://", 1)[1].split("/", 1)[1] if "/" in target[6:] else ""
        self.target = target
        self.socket = socket
        self._parser = ConsoleParser(self.path, logging_steps)
        self._anchor: list[str] = []
        self._pane_id: str | None = None
        self._state = "ok"
        self._first = True

    @property
    def points(self) -> int:
        return self._parser.points

    @property
    def problems(self) -> list[Problem]:
        return self._parser.problems

    def _tmux(self, *args: str) -> tuple[str | None, str]:
        """Run tmux; (stdout, "") on success, (None, why) on any failure."""
        if self._runner is not None:
            try:
                rc, out, err = self._runner(list(args))
            except OSError as exc:  # the host's connection is lost or refused
                return None, str(exc.strerror or exc)[:300]
            if rc != 0:
                lines = err.strip().splitlines()
                return None, (lines[0][:200] if lines else f"tmux exited with {rc}")
            return decode(out), ""
        cmd = ["tmux"]
        if self.socket:
            cmd += ["-L", self.socket]
        cmd += list(args)
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=_TIMEOUT_S, check=False)
        except FileNotFoundError:
            return None, "tmux is not installed"
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"tmux failed: {type(exc).__name__}"
        if proc.returncode != 0:
            why = decode(proc.stderr).strip().splitlines()
            return None, (why[0][:200] if why else f"tmux exited with {proc.returncode}")
        return decode(proc.stdout), ""

    def _pane_problem(self, result: ReadResult, message: str) -> None:
        # One problem per transition to "unavailable", whatever tmux says while it stays so (a
        # killed session first says "can't find session", then "no server running").
        if self._state != "unavailable":
            self._state = "unavailable"
            self._parser.report(Problem(self.path, None, message), result.problems, dedupe=False)

    def tail(self, max_lines: int = 200) -> list[str]:
        """The pane's newest ``max_lines`` lines as it shows them (wrapped rows joined, blank
        rows under the cursor dropped), sanitised; OSError when tmux cannot give them."""
        text, why = self._tmux("capture-pane", "-p", "-J", "-S", f"-{max(1, max_lines)}", "-t", self.target)
        if text is None:
            raise OSError(f"tmux pane unavailable: {why}")
        lines = tail_lines(text, False, max_lines + 200)  # + the blank rows under the cursor
        while lines and not lines[-1]:
            lines.pop()
        return lines[-max_lines:]

    def read(self) -> ReadResult:
        result = ReadResult()
        info, why = self._tmux(
            "display-message", "-p", "-t", self.target, "#{pane_id} #{cursor_y} #{history_size}"
        )
        fields = info.split() if info is not None else []
        if info is None or len(fields) != 3 or not fields[1].isdigit() or not fields[2].isdigit():
            self._pane_problem(result, f"tmux pane unavailable: {why or 'unexpected reply'}")
            return result
        pane_id, cursor_y, history = fields[0], int(fields[1]), int(fields[2])
        if self._pane_id is not None and pane_id != self._pane_id:
            result.restarted = True
            self._parser.reset()
            self._anchor = []
            self._first = True
        self._pane_id = pane_id
        if cursor_y == 0 and history == 0:
            lines: list[str] = []  # only the cursor line exists: nothing complete yet
        else:
            # Capture down to the cursor row and drop the last *logical* line: with -J a long
            # line being written wraps over several rows and is joined into that last line, so
            # this drops exactly what may still be incomplete.
            text, why = self._tmux(
                "capture-pane", "-p", "-J", "-S", "-", "-E", str(cursor_y), "-t", self.target
            )
            if text is None:
                self._pane_problem(result, f"tmux pane unavailable: {why}")
                return result
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()  # the newline after the last captured line
            if lines:
                lines.pop()  # the cursor's line
        self._state = "ok"
        candidates = [(i, line) for i, line in enumerate(lines) if _is_candidate(line)]
        new = self._new_candidates(candidates, result)
        wall = math.nan if self._first else time.time()
        self._first = False
        builder = ChunkBuilder()
        for _index, line in new:
            # No offset: a pane has no bytes to point at, and a line's index in the capture
            # changes with every capture (records.Problem: offsets are byte offsets or None).
            result.problems += self._parser.feed(None, line, wall, builder)
        result.chunks = builder.build()
        return result

    def _new_candidates(self, candidates: list[tuple[int, str]], result: ReadResult) -> list[tuple[int, str]]:
        texts = [line for _, line in candidates]
        anchor = self._anchor
        new = candidates
        if anchor:
            end = self._match_end(texts, anchor)
            found = end is not None
            if end is not None:
                new = candidates[end:]
            if not found:
                self._parser.report(
                    Problem(
                        self.path,
                        None,
                        "pane history no longer holds the lines read last time (cleared, or more "
                        "output than the history limit); inferred steps may be off",
                    ),
                    result.problems,
                    dedupe=False,
                )
        self._anchor = texts[-_ANCHOR_LINES:]
        return new

    @staticmethod
    def _match_end(texts: list[str], anchor: list[str]) -> int | None:
        """Index in ``texts`` just past the last occurrence of the remembered lines, or None.

        Tries the whole anchor, then shorter suffixes, then each remembered line alone from the
        newest back (a remembered line may have been redrawn since, e.g. by a cursor-up).
        """
        for k in range(len(anchor), 0, -1):
            tail = anchor[-k:]
            for end in range(len(texts), k - 1, -1):
                if texts[end - k : end] == tail:
                    return end
        for line in reversed(anchor[:-1]):
            for end in range(len(texts), 0, -1):
                if texts[end - 1] == line:
                    return end
        return None

    def close(self) -> None:
        """Nothing to release: each read runs tmux once and waits for it."""
