"""Every logged point of a run, kept in growable numpy columns (design.md §4).

Why this shape: a live run appends a handful of points per metric per second, a replay or a
``check --at-step`` needs "the series as of step N" instantly, and a 600k-point event file must
load in a fraction of a second. Sorted, step-unique columns give all three: appends are amortised
O(k), a view at step N is one ``searchsorted``, and nothing is ever sampled away.

Merging rules (design.md §4):

* one point per step per metric; when the same step arrives again (another source, or a
  re-read file) the newest value wins;
* a step that goes backwards *within one source* (a resumed run writing from an earlier step)
  replaces every point at and after it;
* a source that *restarted* (its file was truncated or replaced and is read again from byte 0:
  tfevents, console logs, JSONL, tmux panes) is a run restarted from its new first step: every
  series that source fed loses its points at and after that step, then takes the new points. A
  restart read empty (truncated to 0 bytes) applies at the source's next non-empty read, since
  nothing says before then where the new run starts;
* a source that *re-states* its whole history (``trainer_state.json``, rewritten whole at every
  checkpoint) is merged by step and cuts nothing: a checkpoint ending at step 150 must not delete
  the steps 151-160 an event file already gave.

Copy-on-write: the dashboard reads series from another thread. Appends only write cells past the
point count; any change among existing points (replacement, insertion, truncation) builds new
buffers and swaps them in, buffers first and the count last, so a slice a reader took earlier is
never modified.

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

    __slots__ = ("_n", "_steps", "_values", "_walls", "name", "nonfinite", "rewrites", "version")

    def __init__(self, name: str) -> None:
        self.name = name
        self._n = 0
        self._steps: IntArray = np.empty(0, dtype=np.int64)
        self._walls: FloatArray = np.empty(0, dtype=np.float64)
        self._values: FloatArray = np.empty(0, dtype=np.float64)
        self.nonfinite = 0
        #: Bumped on every change; lets consumers cache derived numbers cheaply.
        self.version = 0
        #: Bumped when existing points change (truncation, replacement, insertion), never by an
        #: append: a number derived from the first n points stays valid while this is unchanged,
        #: so live consumers extend it with the new points instead of recomputing the series.
        self.rewrites = 0

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

    def _capacity_for(self, n: int) -> int:
        cap = len(self._steps)
        return cap if n <= cap else max(_MIN_CAPACITY, int(cap * _GROWTH) + 1, n)

    def _fresh(self, old: np.ndarray, n: int) -> np.ndarray:
        """A new buffer holding a copy of ``old[:n]`` (the old buffer is left as readers saw it)."""
        new = np.empty(self._capacity_for(n), dtype=old.dtype)
        new[:n] = old[:n]
        return new

    def truncate_from(self, step: int) -> None:
        """Drop every point at or after ``step`` (a resumed run rewinds).

        Copy-on-write: the kept points move to new buffers, so later appends never overwrite
        what a reader's earlier slice of the old buffers shows.
        """
        n = self._n
        keep = int(np.searchsorted(self._steps[:n], step, side="left"))
        if keep < n:
            dropped = self._values[keep:n]
            self.nonfinite -= int(np.count_nonzero(~np.isfinite(dropped)))
            # Whole copies first (old data intact at [keep:n]), so that every (buffers, _n) pair a
            # reader can observe is consistent; the count goes down last.
            self._steps = self._fresh(self._steps, n)
            self._walls = self._fresh(self._walls, n)
            self._values = self._fresh(self._values, n)
            self._n = keep
            self.version += 1
            self.rewrites += 1

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
            # Appends write past ``_n`` only: no reader's slice covers those cells.
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
        """Merge points that land among the existing ones, copy-on-write.

        The merged columns are built complete in new buffers and swapped in (buffers first, the
        count last): the old buffers are never written again, so a reader thread holding a slice
        keeps a consistent old series instead of a half-written or empty one.
        """
        n = self._n
        self.rewrites += 1
        old_s, old_w, old_v = self._steps[:n], self._walls[:n], self._values[:n]
        pos = np.searchsorted(old_s, steps)
        inside = pos < n
        hit = np.zeros(len(steps), dtype=bool)
        hit[inside] = old_s[pos[inside]] == steps[inside]
        miss = ~hit
        if not miss.any():
            # Only replacements: the steps column is unchanged; new value and clock columns.
            idx = pos[hit]
            new_v = self._fresh(self._values, n)
            new_w = self._fresh(self._walls, n)
            self.nonfinite -= int(np.count_nonzero(~np.isfinite(old_v[idx])))
            new_v[idx] = values
            # Keep a clock where the newer source has none (trainer_state.json).
            new_w[idx] = np.where(np.isnan(walls), old_w[idx], walls)
            self.nonfinite += int(np.count_nonzero(~np.isfinite(values)))
            self._walls = new_w
            self._values = new_v
            return
        # Replacements and insertions: rebuild the columns sorted, newest value per step.
        keep_w = old_w.copy()
        keep_v = old_v.copy()
        if hit.any():
            idx = pos[hit]
            self.nonfinite -= int(np.count_nonzero(~np.isfinite(old_v[idx])))
            keep_v[idx] = values[hit]
            keep_w[idx] = np.where(np.isnan(walls[hit]), old_w[idx], walls[hit])
            self.nonfinite += int(np.count_nonzero(~np.isfinite(values[hit])))
        all_s = np.concatenate([old_s, steps[miss]])
        order = np.argsort(all_s, kind="stable")
        total = len(all_s)
        cap = self._capacity_for(total)
        new_s = np.empty(cap, dtype=np.int64)
        new_w2 = np.empty(cap, dtype=np.float64)
        new_v2 = np.empty(cap, dtype=np.float64)
        new_s[:total] = all_s[order]
        new_w2[:total] = np.concatenate([keep_w, walls[miss]])[order]
        new_v2[:total] = np.concatenate([keep_v, values[miss]])[order]
        self.nonfinite += int(np.count_nonzero(~np.isfinite(values[miss])))
        self._steps = new_s
        self._walls = new_w2
        self._values = new_v2
        self._n = total


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


@dataclass(frozen=True, slots=True)
class OrderNote:
    """A step that went backwards within one source, and how it was read.

    ``kind``: "resume" (later points replaced), "stray" (kept by step, nothing cut) or "pending"
    (kept; the next point decides).
    """

    source: str
    metric: str
    kind: str
    step: int
    high: int
    offset: int | None


class MetricStore:
    """All series of one run, plus the per-source bookkeeping that decides rewinds."""

    def __init__(self, *, track_sources: bool = False) -> None:
        self._series: dict[str, Series] = {}
        # (source id, metric) -> last step that source gave for that metric
        self._source_last: dict[tuple[str, str], int] = {}
        # Sources that restarted (see ``add``) and have not given a point since.
        self._pending_restart: set[str] = set()
        # (source, metric) -> a backward point awaiting the next one: (step, wall, value, offset, high)
        self._pending_back: dict[tuple[str, str], tuple[int, float, float, int | None, int]] = {}
        #: Resume/stray decisions for the session to report (:meth:`take_order_notes`).
        self.order_notes: list[OrderNote] = []
        self.version = 0
        # Which source's value each point holds (``points_by_source``), when asked for (``check``;
        # a live dashboard does not show it and does not pay for it): a series fed by one source
        # so far is just that source's name; only a series a second source feeds (TensorBoard and
        # W&B of one run) gets a step -> source map. Steps a rewind removed may linger in the map;
        # they are filtered out against the series when counted.
        self.track_sources = track_sources
        self._only_source: dict[str, str] = {}
        self._owners: dict[str, dict[int, str]] = {}

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

    def add(
        self,
        source: str,
        chunks: Mapping[str, PointChunk],
        *,
        restarted: bool = False,
        restates: bool = False,
    ) -> int:
        """Merge one reader result's chunks from ``source``; return how many points were given.

        ``restarted`` alone: the source started over from its beginning (its file was truncated or
        replaced), so every point it gave at or after its new first step is void (see the module
        docstring). With ``restates`` too (a file rewritten whole, like ``trainer_state.json``): the
        points re-state the source's history and are merged by step, nothing else is cut.
        """
        if restarted:
            for key in [k for k in self._pending_back if k[0] == source]:
                del self._pending_back[key]
        if restarted and restates:
            self._pending_restart.discard(source)
            for key in [k for k in self._source_last if k[0] == source]:
                del self._source_last[key]
        elif restarted:
            self._pending_restart.add(source)
        if source in self._pending_restart:
            firsts = [int(c.steps[0]) for c in chunks.values() if len(c)]
            if firsts:  # a restart read empty (file truncated to 0) waits for the first points
                self._pending_restart.discard(source)
                self._void_from(source, min(firsts))
        total = 0
        for name, chunk in chunks.items():
            k = len(chunk)
            if k == 0:
                continue
            total += k
            series = self._series.get(name)
            if series is None:
                series = self._series[name] = Series(name)
            self._own(source, name, series, chunk)
            self._merge_ordered(source, name, series, chunk)
        if total:
            self.version += 1
        return total

    def _merge_ordered(self, source: str, name: str, series: Series, chunk: PointChunk) -> None:
        """Merge one source's chunk of one metric, telling a resume from a stray point.

        A step lower than the source's highest so far is a *resume* when the next point stays at
        or below that high mark (the writer went on from the earlier step): the points at and
        after it are replaced. It is a *stray* when the next point continues above the high mark
        (one misplaced line or event): it is merged by step and nothing is cut. A backward point
        with no next point yet (the end of what is written) is kept and decided by the next read.
        Each decision is a note (:attr:`order_notes`) for the session to report with its offset.
        """
        key = (source, name)
        steps = chunk.steps
        k = len(steps)
        start = 0
        pend = self._pending_back.pop(key, None)
        if pend is not None:
            p_step, p_wall, p_value, p_offset, p_high = pend
            if steps[0] <= p_high:
                series.truncate_from(p_step)
                series.merge(np.array([p_step], np.int64), np.array([p_wall]), np.array([p_value]))
                self._source_last[key] = p_step
                self._note(source, name, "resume", p_step, p_high, p_offset)
            else:
                self._note(source, name, "stray", p_step, p_high, p_offset)
        high = self._source_last.get(key)
        back = np.flatnonzero(steps[1:] < steps[:-1]) + 1 if k > 1 else np.zeros(0, np.int64)
        candidates = ([0] if high is not None and steps[0] < high else []) + back.tolist()
        for b in candidates:
            before = [int(steps[start:b].max())] if b > start else []
            marks = before + ([high] if high is not None else [])
            if not marks:
                continue
            running = max(marks)
            step = int(steps[b])
            if step >= running:
                continue  # not below the high mark after all (an earlier resume lowered it)
            if b == k - 1:
                self._merge_one(series, key, chunk, start, k)
                self._source_last[key] = running
                self._pending_back[key] = (
                    step,
                    float(chunk.wall_times[b]),
                    float(chunk.values[b]),
                    chunk.offset(b),
                    running,
                )
                self._note(source, name, "pending", step, running, chunk.offset(b))
                return
            if int(steps[b + 1]) > running:
                self._merge_one(series, key, chunk, start, b + 1)
                self._source_last[key] = running
                self._note(source, name, "stray", step, running, chunk.offset(b))
                start = b + 1
                high = running
                continue
            self._merge_one(series, key, chunk, start, b)
            series.truncate_from(step)
            self._source_last[key] = step - 1
            self._note(source, name, "resume", step, running, chunk.offset(b))
            start = b
            high = None  # the stream goes on from ``step``: the old high mark no longer applies
        self._merge_one(series, key, chunk, start, k)
        last = self._source_last.get(key)
        if high is not None and last is not None and last < high:
            self._source_last[key] = high

    def _note(self, source: str, name: str, kind: str, step: int, high: int, offset: int | None) -> None:
        if len(self.order_notes) < 10000:
            self.order_notes.append(OrderNote(source, name, kind, step, high, offset))

    def take_order_notes(self) -> list[OrderNote]:
        """The resume/stray decisions made since the last call (the session reports them)."""
        notes, self.order_notes = self.order_notes, []
        return notes

    def _own(self, source: str, name: str, series: Series, chunk: PointChunk) -> None:
        """Record that ``source`` gave the values at ``chunk``'s steps (newest wins, as in merge)."""
        if not self.track_sources:
            return
        owners = self._owners.get(name)
        if owners is None:
            only = self._only_source.setdefault(name, source)
            if only == source:
                return
            owners = self._owners[name] = dict.fromkeys(series.steps.tolist(), only)
        owners.update(dict.fromkeys(chunk.steps.tolist(), source))

    def points_by_source(self) -> dict[str, int]:
        """How many stored points hold each source's value: which source won the steps that
        several gave (``check --json`` sources' ``won``). Empty unless ``track_sources``."""
        out: dict[str, int] = {}
        for name, series in self._series.items():
            if not len(series):
                continue
            owners = self._owners.get(name)
            if owners is None:
                only = self._only_source.get(name)
                if only is not None:
                    out[only] = out.get(only, 0) + len(series)
                continue
            for step in series.steps.tolist():
                src = owners.get(step)
                if src is not None:
                    out[src] = out.get(src, 0) + 1
        return out

    def _void_from(self, source: str, step: int) -> None:
        """``source`` started over at ``step``: cut what it fed at and after it, forget its past."""
        for key in [k for k in self._source_last if k[0] == source]:
            series = self._series.get(key[1])
            if series is not None:
                series.truncate_from(step)
            del self._source_last[key]
        self.version += 1

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
