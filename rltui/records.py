"""The vocabulary shared by every layer: what a reader hands over and what can go wrong.

Readers (``rltui.sources``) produce :class:`ReadResult`; the metric store (``rltui.model``)
consumes it. Keeping these types here, free of any I/O or UI import, is what lets the model be
tested with hand-built records and lets the layers depend on each other in one direction only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

SourceKind = Literal[
    "tfevents", "trainer_state", "console", "jsonl", "tmux", "wandb", "mlflow", "trackio", "swanlab"
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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

    def __post_init__(self) -> None:
        if not (len(self.steps) == len(self.wall_times) == len(self.values)):
            raise ValueError("PointChunk columns must have the same length")

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def from_lists(cls, steps: list[int], wall_times: list[float], values: list[float]) -> PointChunk:
        return cls(
            np.asarray(steps, dtype=np.int64),
            np.asarray(wall_times, dtype=np.float64),
            np.asarray(values, dtype=np.float64),
        )


class ChunkBuilder:
    """Collects points one at a time (line-based readers) and hands them over as chunks."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data: dict[str, tuple[list[int], list[float], list[float]]] = {}

    def add(self, key: str, step: int, wall_time: float, value: float) -> None:
        cols = self._data.get(key)
        if cols is None:
            cols = self._data[key] = ([], [], [])
        cols[0].append(step)
        cols[1].append(wall_time)
        cols[2].append(value)

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
    of escape sequences).
    """

    chunks: dict[str, PointChunk] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    restarted: bool = False
    max_steps: int | None = None
    logging_steps: int | None = None

    @property
    def points(self) -> int:
        return sum(len(c) for c in self.chunks.values())
