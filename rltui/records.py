"""The vocabulary shared by every layer: what a reader hands over and what can go wrong.

Readers (``rltui.sources``) produce :class:`ReadResult`; the metric store (``rltui.model``)
consumes it. Keeping these types here, free of any I/O or UI import, is what lets the model be
tested with hand-built records and lets the layers depend on each other in one direction only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

SourceKind = Literal[
    "tfevents",
    "trainer_state",
    "console",
    "jsonl",
    "tmux",
    "completions",
    "wandb",
    "mlflow",
    "trackio",
    "swanlab",
]

#: What detection (``rltui.sources.detect``) names and the model's rules key on: here, below both.
Framework = Literal["trl", "verl", "openrlhf", "llamafactory", "swift", "unsloth", "mlx", "unknown"]
Trainer = Literal[
    "sft", "dpo", "kto", "orpo", "cpo", "online_dpo", "reward", "ppo", "rloo", "grpo", "unknown"
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


#: How the run-level problem of a watched folder with no run yet begins: the session says so
#: (with what it waits for) and the dashboard shows it as a state to wait out, not a failure.
NO_RUN_YET = "no run files here yet"


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with the input that was reported and stepped over, never raised.

    ``offset`` is always a **byte offset** into the file (for line-based sources: of the start of
    the offending line), so that a user can find the bad bytes with any tool (``tail -c +N``,
    ``dd skip=N``); it is ``None`` when there is no byte position to give: a problem with the file
    as a whole (vanished, unreadable, not valid JSON), a ``trainer_state.json`` entry (parsed
    whole; the entry is named in the message), or a line of a tmux pane.
    """

    path: str
    offset: int | None
    message: str
    #: A state of the file (vanished, unreadable, torn mid-write) rather than bad bytes in it:
    #: dropped from the run's problems once the file reads fine again.
    transient: bool = field(default=False, compare=False)

    def to_json(self) -> dict[str, object]:
        return {"path": self.path, "offset": self.offset, "message": self.message}


@dataclass(slots=True)
class PointChunk:
    """Points of one metric, in the order they were read (steps need not be sorted).

    Columnar numpy arrays rather than a list of tuples: a 600k-point event file turns into a few
    dozen chunks, and the store appends them with one ``np.concatenate`` each.
    ``wall_times`` is NaN where the source has no clock (``trainer_state.json``).
    """

    steps: IntArray
    wall_times: FloatArray
    values: FloatArray
    #: Byte offset in the file of each point's record or line (-1: unknown), so that a problem
    #: found while merging (an out-of-order step) can name where it is. None: not known at all.
    offsets: IntArray | None = None

    def __post_init__(self) -> None:
        if not (len(self.steps) == len(self.wall_times) == len(self.values)):
            raise ValueError("PointChunk columns must have the same length")
        if self.offsets is not None and len(self.offsets) != len(self.steps):
            raise ValueError("PointChunk offsets must have one entry per point")

    def offset(self, i: int) -> int | None:
        """The byte offset of point ``i``, or None when unknown."""
        if self.offsets is None:
            return None
        value = int(self.offsets[i])
        return value if value >= 0 else None

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def from_lists(
        cls,
        steps: list[int],
        wall_times: list[float],
        values: list[float],
        offsets: list[int] | None = None,
    ) -> PointChunk:
        return cls(
            np.asarray(steps, dtype=np.int64),
            np.asarray(wall_times, dtype=np.float64),
            np.asarray(values, dtype=np.float64),
            None if offsets is None else np.asarray(offsets, dtype=np.int64),
        )


def concat_chunks(chunks: list[PointChunk]) -> PointChunk:
    """One chunk holding the points of ``chunks`` in order (the same object when there is one)."""
    if len(chunks) == 1:
        return chunks[0]
    offsets = [c.offsets for c in chunks]
    return PointChunk(
        np.concatenate([c.steps for c in chunks]),
        np.concatenate([c.wall_times for c in chunks]),
        np.concatenate([c.values for c in chunks]),
        None if any(o is None for o in offsets) else np.concatenate(offsets),  # type: ignore[arg-type]
    )


class ChunkBuilder:
    """Collects points one at a time (line-based readers) and hands them over as chunks."""

    __slots__ = ("_data", "offset")

    def __init__(self) -> None:
        self._data: dict[str, tuple[list[int], list[float], list[float], list[int]]] = {}
        #: Byte offset of the line being parsed; every point added is tagged with it (-1: unknown).
        self.offset = -1

    def add(self, key: str, step: int, wall_time: float, value: float) -> None:
        cols = self._data.get(key)
        if cols is None:
            cols = self._data[key] = ([], [], [], [])
        cols[0].append(step)
        cols[1].append(wall_time)
        cols[2].append(value)
        cols[3].append(self.offset)

    def add_line(self, step: int, wall_time: float, metrics: Mapping[str, float]) -> None:
        """:meth:`add` for every item of one parsed line (one call per line, not per value)."""
        data, offset = self._data, self.offset
        for key, value in metrics.items():
            cols = data.get(key)
            if cols is None:
                cols = data[key] = ([], [], [], [])
            cols[0].append(step)
            cols[1].append(wall_time)
            cols[2].append(value)
            cols[3].append(offset)

    def build(self) -> dict[str, PointChunk]:
        out = {k: PointChunk.from_lists(*cols) for k, cols in self._data.items()}
        self._data = {}
        return out


@dataclass(slots=True)
class ReadResult:
    """What one call of a reader's ``read()`` found since the previous call.

    ``restarted`` means the file shrank or was replaced, so the reader started again from byte 0.
    For a file that is appended to (event file, console log, JSONL, tmux pane) the run restarted:
    the store voids what that source gave from its new first step on. A ``trainer_state.json``
    rewrite re-states the whole history instead, so the session merges it by step and cuts
    nothing (see :meth:`rltui.model.store.MetricStore.add`).

    ``texts`` carries run metadata such as TensorBoard's ``args/text_summary`` (already sanitised
    of escape sequences). ``samples`` carries generations a log holds inline (verl's
    ``val/generations`` text summaries), for the run's sample book rather than its metric store.
    """

    chunks: dict[str, PointChunk] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    restarted: bool = False
    max_steps: int | None = None
    logging_steps: int | None = None
    samples: list[Sample] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(len(c) for c in self.chunks.values())


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled completion as a run logged it (TRL ``completions/*.parquet``, verl rollout dumps,
    the Rich tables TRL prints).

    Text is already stripped of escape sequences and control bytes by the reader (newlines and
    tabs kept) and is otherwise whole: the screen cuts it, exports keep it. ``rewards`` holds one
    entry per reward function; ``reward`` is the total (their sum when the source gives no total).
    ``truncated`` is what the source says about the completion hitting the length cap; None when
    it says nothing (TRL decodes without special tokens, so EOS is not visible in its text).
    """

    step: int
    prompt: str
    completion: str
    reward: float | None = None
    advantage: float | None = None
    rewards: tuple[tuple[str, float], ...] = ()
    truncated: bool | None = None
