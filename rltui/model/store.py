"""Every logged point of a run, kept in growable numpy columns (design.md §4).

Why this shape: a live run appends a handful of points per metric per second, a replay or a
``check --at-step`` needs "the series as of step N" instantly, and a 600k-point event file must
load in a fraction of a second. Sorted, step-unique columns give all three: appends are amortised
O(k), a view at step N is one ``searchsorted``, and nothing is ever sampled away.

Merging rules (design.md §4):

* one point per step per metric; when the same step arrives again (another source, or a
  re-read file) the newest value wins;
* a step that goes backwards *within one source* (a resumed run writing from an earlier step)
  replaces every point at and after it.

Memory: 8 (step) + 8 (wall time) + 8 (value) = 24 bytes per point plus capacity slack; the
slack is bounded by the growth factor, so the amortised cost stays under 32 bytes per point
for long series (see :meth:`Series.nbytes`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from rltui.records import FloatArray, IntArray, PointChunk

_GROWTH = 1.25
_MIN_CAPACITY = 64


class Series:
    """One metric's points, sorted by step with unique steps."""

    __slots__ = ("_n", "_steps", "_values", "_walls", "name", "nonfinite", "version")

    def __init__(self, name: str) -> None:
        self.name = name
        self._n = 0
        self._steps: IntArray = np.empty(0, dtype=np.int64)
        self._walls: FloatArray = np.empty(0, dtype=np.float64)
        self._values: FloatArray = np.empty(0, dtype=np.float64)
        self.nonfinite = 0
        #: Bumped on every change; lets consumers cache derived numbers cheaply.
        self.version = 0

    # -- reading -----------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    @property
    def steps(self) -> IntArray:
        return self._steps[: self._n]

    @property
    def wall_times(self) -> FloatArray:
        return self._walls[: self._n]

    @property
    def values(self) -> FloatArray:
        return self._values[: self._n]

    @property
    def last_step(self) -> int | None:
        return int(self._steps[self._n - 1]) if self._n else None

    @property
    def first_step(self) -> int | None:
        return int(self._steps[0]) if self._n else None

    def count_upto(self, step: int | None) -> int:
        """How many points have ``step <= step`` (all of them when ``step`` is None)."""
        if step is None:
            return self._n
        return int(np.searchsorted(self._steps[: self._n], step, side="right"))

    def nbytes(self) -> int:
        return int(self._steps.nbytes + self._walls.nbytes + self._values.nbytes)

    # -- writing -----------------------------------------------------------------
    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        cap = len(self._steps)
        if need <= cap:
            return
        new_cap = max(_MIN_CAPACITY, int(cap * _GROWTH) + 1, need)
        for attr in ("_steps", "_walls", "_values"):
            old = getattr(self, attr)
            new = np.empty(new_cap, dtype=old.dtype)
            new[: self._n] = old[: self._n]
            setattr(self, attr, new)

    def truncate_from(self, step: int) -> None:
        """Drop every point at or after ``step`` (a resumed run rewinds)."""
        keep = int(np.searchsorted(self.steps, step, side="left"))
        if keep < self._n:
            dropped = self._values[keep : self._n]
            self.nonfinite -= int(np.count_nonzero(~np.isfinite(dropped)))
            self._n = keep
            self.version += 1

    def merge(self, steps: IntArray, walls: FloatArray, values: FloatArray) -> None:
        """Add points; equal steps are replaced by the newest value (the last one given)."""
        k = len(steps)
        if k == 0:
            return
        if k > 1 and not bool(np.all(steps[1:] > steps[:-1])):
            # Sort stably and keep the last occurrence of each step (newest wins).
            order = np.argsort(steps, kind="stable")
            steps, walls, values = steps[order], walls[order], values[order]
            last_of_run = np.append(steps[1:] != steps[:-1], True)
            steps, walls, values = steps[last_of_run], walls[last_of_run], values[last_of_run]
            k = len(steps)
        self.version += 1
        if self._n == 0 or steps[0] > self._steps[self._n - 1]:
            self._reserve(k)
            sl = slice(self._n, self._n + k)
            self._steps[sl] = steps
            self._walls[sl] = walls
            self._values[sl] = values
            self._n += k
            self.nonfinite += int(np.count_nonzero(~np.isfinite(values)))
            return
        self._merge_slow(steps, walls, values)

    def _merge_slow(self, steps: IntArray, walls: FloatArray, values: FloatArray) -> None:
        old_s, old_w, old_v = self.steps, self.wall_times, self.values
        pos = np.searchsorted(old_s, steps)
        inside = pos < self._n
        hit = np.zeros(len(steps), dtype=bool)
        hit[inside] = old_s[pos[inside]] == steps[inside]
        if hit.any():
            idx = pos[hit]
            self.nonfinite -= int(np.count_nonzero(~np.isfinite(old_v[idx])))
            old_v[idx] = values[hit]
            # Keep a clock where the newer source has none (trainer_state.json).
            new_w = walls[hit]
            old_w[idx] = np.where(np.isnan(new_w), old_w[idx], new_w)
            self.nonfinite += int(np.count_nonzero(~np.isfinite(values[hit])))
        miss = ~hit
        if miss.any():
            all_s = np.concatenate([old_s, steps[miss]])
            all_w = np.concatenate([old_w, walls[miss]])
            all_v = np.concatenate([old_v, values[miss]])
            order = np.argsort(all_s, kind="stable")
            n = len(all_s)
            self._n = 0
            self._reserve(n)
            self._steps[:n] = all_s[order]
            self._walls[:n] = all_w[order]
            self._values[:n] = all_v[order]
            self._n = n
            self.nonfinite += int(np.count_nonzero(~np.isfinite(values[miss])))


@dataclass(frozen=True, slots=True)
class SeriesView:
    """A read-only look at a series as of some step (replay, ``--at-step``)."""

    name: str
    steps: IntArray
    wall_times: FloatArray
    values: FloatArray

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def last_step(self) -> int | None:
        return int(self.steps[-1]) if len(self.steps) else None

    @property
    def last(self) -> float | None:
        return float(self.values[-1]) if len(self.values) else None


class MetricStore:
    """All series of one run, plus the per-source bookkeeping that decides rewinds."""

    def __init__(self) -> None:
        self._series: dict[str, Series] = {}
        # (source id, metric) -> last step that source gave for that metric
        self._source_last: dict[tuple[str, str], int] = {}
        self.version = 0

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._series and len(self._series[name]) > 0

    def __getitem__(self, name: str) -> Series:
        return self._series[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._series)

    def names(self) -> list[str]:
        return sorted(n for n, s in self._series.items() if len(s))

    def get(self, name: str) -> Series | None:
        s = self._series.get(name)
        return s if s is not None and len(s) else None

    @property
    def points(self) -> int:
        return sum(len(s) for s in self._series.values())

    def nbytes(self) -> int:
        return sum(s.nbytes() for s in self._series.values())

    @property
    def last_step(self) -> int | None:
        steps = [s.last_step for s in self._series.values() if len(s)]
        return max(steps) if steps else None  # type: ignore[type-var]

    def add(self, source: str, chunks: Mapping[str, PointChunk], *, restarted: bool = False) -> int:
        """Merge one reader result's chunks from ``source``; return how many points were given.

        ``restarted`` forgets the source's own history: its points re-state earlier steps and
        are merged by step (replacing, not doubling).
        """
        if restarted:
            for key in [k for k in self._source_last if k[0] == source]:
                del self._source_last[key]
        total = 0
        for name, chunk in chunks.items():
            k = len(chunk)
            if k == 0:
                continue
            total += k
            series = self._series.get(name)
            if series is None:
                series = self._series[name] = Series(name)
            steps = chunk.steps
            key = (source, name)
            prev = self._source_last.get(key)
            # A chunk starting below this source's previous step is a rewind, whatever follows.
            if prev is not None and steps[0] < prev:
                series.truncate_from(int(steps[0]))
            # A step going backwards within this source's own stream is a rewind: the points at
            # and after the rewind step are replaced. Check each backward jump in order.
            if k > 1 and not bool(np.all(steps[1:] >= steps[:-1])):
                back = np.flatnonzero(steps[1:] < steps[:-1]) + 1
                start = 0
                for b in back:
                    self._merge_one(series, key, chunk, start, int(b))
                    series.truncate_from(int(steps[b]))
                    self._source_last[key] = int(steps[b]) - 1
                    start = int(b)
                self._merge_one(series, key, chunk, start, k)
                continue
            self._merge_one(series, key, chunk, 0, k)
        if total:
            self.version += 1
        return total

    def _merge_one(self, series: Series, key: tuple[str, str], chunk: PointChunk, a: int, b: int) -> None:
        if b <= a:
            return
        series.merge(chunk.steps[a:b], chunk.wall_times[a:b], chunk.values[a:b])
        self._source_last[key] = int(chunk.steps[b - 1])

    def view(self, name: str, at_step: int | None = None) -> SeriesView | None:
        """The series ``name`` as of ``at_step`` (inclusive), or None if it has no point yet."""
        s = self._series.get(name)
        if s is None:
            return None
        n = s.count_upto(at_step)
        if n == 0:
            return None
        return SeriesView(name, s.steps[:n], s.wall_times[:n], s.values[:n])
