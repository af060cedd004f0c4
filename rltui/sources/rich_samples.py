"""The sample tables TRL prints to the console (``log_completions=True``), read back from a log.

TRL's ``print_prompt_completions_sample`` draws a Rich panel per logged step::

    ╭──────────── Step 1 ────────────╮
    │ ┏━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━━━━┓ │
    │ ┃ Prompt ┃ Completion ┃ length_reward ┃ Advantage ┃ │
    │ ┡━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━━━━┩ │
    │ │ a cat  │  sleeps .  │          1.00 │     -0.26 │ │
    │ ├────────┼────────────┼───────────────┼───────────┤ │
    │ └────────┴────────────┴───────────────┴───────────┘ │
    ╰────────────────────────────────╯

Rich wraps long cells over several lines of one row; they are joined with a space. Numbers are
printed with two decimals, so these samples are a fallback for runs without the parquet files.
The panel may follow a tqdm bar on the same line (tqdm redraws with ``\\r``, not a newline).
The log is read from a byte offset; an unclosed panel at the end waits for the next read.
"""

from __future__ import annotations

import re

from rltui.records import Problem, Sample
from rltui.sources.completions import StepRead, clean, number
from rltui.sources.fs import LOCAL, FileSystem, describe
from rltui.text import decode, strip_escapes

_TITLE = re.compile(r"╭─+ Step (\d{1,12}) ─+╮")
#: Read at most this much of a log per call (a huge log is read over several polls).
CHUNK = 64 * 1024 * 1024


def _inner(line: str) -> str:
    """A panel line without the panel's own ``│`` borders."""
    s = line.strip()
    if s.startswith("│"):
        s = s[1:]
    if s.endswith("│"):
        s = s[:-1]
    return s.strip()


def parse_panel(lines: list[str], step: int, path: str, problems: list[Problem]) -> list[Sample]:
    """The samples of one panel (its lines between the title and the bottom border)."""
    header: list[str] = []
    rows: list[list[str]] = []
    current: list[list[str]] | None = None

    def flush() -> None:
        if current:
            rows.append([" ".join(p for p in parts if p) for parts in current])

    for line in lines:
        s = _inner(line)
        if s.startswith("┃"):
            header = [c.strip() for c in s.strip("┃").split("┃")]
        elif s.startswith(("├", "└")):
            flush()
            current = None
        elif s.startswith("│") and header:
            cells = s.strip().strip("│").split("│")
            if len(cells) != len(header):
                continue  # a cell with a "│" of its own: the row cannot be split reliably
            if current is None:
                current = [[] for _ in header]
            for parts, cell in zip(current, cells, strict=True):
                parts.append(cell.strip())
    flush()
    lower = [h.casefold() for h in header]
    if "completion" not in lower:
        return []
    out = []
    for row in rows:
        by_name = dict(zip(lower, row, strict=True))
        rewards = tuple(
            (name, x)
            for name, key, cell in zip(header, lower, row, strict=True)
            if key not in ("prompt", "completion", "advantage", "step", "image")
            and (x := number(cell)) is not None
        )
        out.append(
            Sample(
                step=step,
                prompt=clean(by_name.get("prompt", ""), problems, path, "prompt"),
                completion=clean(by_name["completion"], problems, path, "completion"),
                reward=sum(x for _, x in rewards) if rewards else None,
                advantage=number(by_name.get("advantage")),
                rewards=rewards,
            )
        )
    return out


class RichTableLog:
    """The sample panels in one console log, followed from a byte offset."""

    kind = "console"

    def __init__(self, path: str, fs: FileSystem = LOCAL) -> None:
        self.path = path
        self._fs = fs
        self._offset = 0
        self._steps: dict[int, list[Sample]] = {}
        self._problems: list[Problem] = []
        self._sig: tuple[int, int] | None = None

    def _follow(self) -> None:
        try:
            with self._fs.open(self.path) as fh:  # a FIFO or a symlink out of the run is refused
                size = fh.info.size
                if size < self._offset:  # truncated or replaced: start again
                    self._offset = 0
                    self._steps.clear()
                if size == self._offset:
                    return
                data = fh.read_at(self._offset, CHUNK)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            message = describe(exc) if isinstance(exc, OSError) else str(exc)
            self._problems.append(Problem(self.path, None, f"cannot read: {message}"))
            return
        end = data.rfind(b"\n") + 1
        if end == 0:
            return
        consumed = end
        raw_lines = data[:end].split(b"\n")
        lines = [decode(b) for b in raw_lines]
        i = 0
        pos = 0  # byte position of line i within data
        while i < len(lines):
            line = lines[i]
            m = _TITLE.search(strip_escapes(line))
            if m is None:
                pos += len(raw_lines[i]) + 1
                i += 1
                continue
            start_pos = pos
            body: list[str] = []
            j = i + 1
            closed = False
            while j < len(lines):
                s = strip_escapes(lines[j]).strip()
                if s.startswith("╰"):
                    closed = True
                    break
                body.append(strip_escapes(lines[j]))
                j += 1
            if not closed:
                consumed = start_pos  # wait for the rest of the panel
                break
            step = int(m.group(1))
            self._steps[step] = parse_panel(body, step, self.path, self._problems)
            for k in range(i, j + 1):
                pos += len(raw_lines[k]) + 1
            i = j + 1
        self._offset += consumed

    def listing(self) -> dict[int, str]:
        self._follow()
        return dict.fromkeys(self._steps, self.path)

    def read(self, step: int) -> StepRead:
        self._follow()
        problems, self._problems = self._problems, []
        return StepRead(list(self._steps.get(step, ())), problems)
