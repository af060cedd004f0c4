"""Problem de-duplication: what a run and each of its sources tell the user, each thing once.

Why: a reader re-reports the same torn line on every poll, and a discovery re-finds the same
unreadable folder on every rescan; shown as they come, one bad byte would fill the problems pane.
Run-level problems are keyed by (path, offset, message); a source's by (offset, message), and a
source keeps at most :data:`MAX_PROBLEMS_PER_SOURCE` (this bounds a pathological file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from rltui.model.store import OrderNote
from rltui.records import Problem

#: Problems kept per source (readers dedupe; this bounds a pathological file).
MAX_PROBLEMS_PER_SOURCE = 200

PENDING = "step went back from {high} to {step} at the end of what is written"
#: How a step that went backwards was read (``MetricStore`` order notes), as told to the user.
ORDER_MESSAGES = {
    "resume": "step went back from {high} to {step} and went on from there: read as a resumed run, "
    "the earlier points after step {step} replaced",
    "stray": "out-of-order point at step {step} after step {high}: kept, not read as a resume",
    "pending": PENDING + " so far: kept; a resume if the next points go on from it",
}


class SourceProblems:
    """One source's problems, de-duplicated and bounded."""

    __slots__ = ("items", "seen")

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.seen: set[tuple[int | None, str]] = set()

    def report(self, problems: Iterable[Problem]) -> None:
        for p in problems:
            key = (p.offset, p.message)
            if key in self.seen or len(self.items) >= MAX_PROBLEMS_PER_SOURCE:
                continue
            self.seen.add(key)
            self.items.append(p)

    def drop(self, gone: Callable[[Problem], bool]) -> None:
        """Forget the problems ``gone`` says are over (a recovered file, a decided resume)."""
        self.items = [p for p in self.items if not gone(p)]
        self.seen = {(p.offset, p.message) for p in self.items}

    def __bool__(self) -> bool:
        return bool(self.items)


class RunProblems:
    """The run-level problems (discovery, config, a host that cannot be reached), each once."""

    __slots__ = ("_keys", "items")

    def __init__(self, problems: Sequence[Problem] = ()) -> None:
        self.items: list[Problem] = list(problems)
        self._keys: set[tuple[str, int | None, str]] = set()

    def add(self, problems: Iterable[Problem]) -> None:
        for p in problems:
            key = (p.path, p.offset, p.message)
            if key not in self._keys:
                self._keys.add(key)
                self.items.append(p)

    def drop(self, gone: Callable[[Problem], bool]) -> None:
        kept = [p for p in self.items if not gone(p)]
        for p in self.items:
            if gone(p):
                self._keys.discard((p.path, p.offset, p.message))
        self.items = kept


def order_problems(notes: Sequence[OrderNote], path: str) -> tuple[list[str], list[Problem]]:
    """The problems telling how each step that went backwards was read (grouped per decision,
    with the count of metrics), and the prefixes of "not decided yet" problems now decided."""
    grouped: dict[tuple[str, int, int, int | None], int] = {}
    for note in notes:
        key = (note.kind, note.step, note.high, note.offset)
        grouped[key] = grouped.get(key, 0) + 1
    decided: list[str] = []
    out: list[Problem] = []
    for (kind, step, high, offset), count in grouped.items():
        if kind != "pending":  # decided: the "not decided yet" problem has done its job
            decided.append(PENDING.format(high=high, step=step))
        what = f" ({count} metrics)" if count > 1 else ""
        out.append(Problem(path, offset, ORDER_MESSAGES[kind].format(high=high, step=step) + what))
    return decided, out
