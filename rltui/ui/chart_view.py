"""Where a detail chart looks: the cursor step, the zoomed step range, and the x-axis mode.

Pure (numpy and the stdlib only) so the range arithmetic is tested without a terminal: the
screen keeps one :class:`ChartView`, replaces it on each key, and draws what it says. Steps are
the *logged* steps of the plotted series (their sorted union), so the cursor lands on points
that exist and a zoom never shows an empty window.

While the range is not zoomed (``lo``/``hi`` None) the chart keeps showing the whole run as it
grows; once zoomed or panned the range stays put. The cursor is None until a cursor key is
pressed: the readout then names the newest step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

import numpy as np

from rltui.records import FloatArray, IntArray

XMode = Literal["step", "elapsed", "clock"]
#: The order ``x`` cycles through.
X_MODES: tuple[XMode, ...] = ("step", "elapsed", "clock")
X_LABELS: dict[XMode, str] = {"step": "step", "elapsed": "wall time (min)", "clock": "clock time"}

#: A zoom never narrows below this many logged steps: fewer points is not a line.
MIN_POINTS = 4
ZOOM_FACTOR = 0.5
#: A pan moves the range by this share of its width.
PAN_SHARE = 0.5


def union_steps(step_arrays: list[IntArray]) -> IntArray:
    """The sorted logged steps of every plotted series."""
    if not step_arrays:
        return np.empty(0, dtype=np.int64)
    return np.unique(np.concatenate([np.asarray(s, dtype=np.int64) for s in step_arrays]))


def _nearest_index(steps: IntArray, step: float) -> int:
    i = int(np.searchsorted(steps, step))
    if i <= 0:
        return 0
    if i >= len(steps):
        return len(steps) - 1
    return i if steps[i] - step < step - steps[i - 1] else i - 1


@dataclass(frozen=True, slots=True)
class ChartView:
    """The cursor step and the shown step range [lo, hi]; None means "newest" / "everything"."""

    cursor: int | None = None
    lo: int | None = None
    hi: int | None = None
    x_mode: XMode = "step"

    @property
    def zoomed(self) -> bool:
        return self.lo is not None and self.hi is not None

    def bounds(self, steps: IntArray) -> tuple[int, int] | None:
        """The step range shown, clamped to the data; None when there are no steps."""
        if len(steps) == 0:
            return None
        first, last = int(steps[0]), int(steps[-1])
        if not self.zoomed:
            return first, last
        assert self.lo is not None
        assert self.hi is not None
        lo, hi = max(first, self.lo), min(last, self.hi)
        return (lo, hi) if lo <= hi else (first, last)

    def cursor_step(self, steps: IntArray) -> int | None:
        """The step the readout is about: the cursor snapped to a logged step, else the newest."""
        if len(steps) == 0:
            return None
        if self.cursor is None:
            return int(steps[-1])
        return int(steps[_nearest_index(steps, self.cursor)])

    def _with_cursor_shown(self, steps: IntArray, cursor: int) -> ChartView:
        """Cursor at ``cursor``, the range panned (not resized) so that it stays in view."""
        b = self.bounds(steps)
        if not self.zoomed or b is None:
            return replace(self, cursor=cursor)
        lo, hi = b
        width = hi - lo
        if cursor < lo:
            lo, hi = cursor, cursor + width
        elif cursor > hi:
            lo, hi = cursor - width, cursor
        return replace(self, cursor=cursor, lo=lo, hi=hi)

    def move(self, steps: IntArray, n: int) -> ChartView:
        """The cursor ``n`` logged steps on (negative: back), stopping at the ends."""
        if len(steps) == 0:
            return self
        current = self.cursor_step(steps)
        assert current is not None
        i = int(np.searchsorted(steps, current)) + n
        return self._with_cursor_shown(steps, int(steps[min(len(steps) - 1, max(0, i))]))

    def edge(self, steps: IntArray, end: bool) -> ChartView:
        """The cursor on the first (``end`` False) or newest logged step."""
        if len(steps) == 0:
            return self
        return self._with_cursor_shown(steps, int(steps[-1] if end else steps[0]))

    def jump_size(self, steps: IntArray) -> int:
        """Logged steps per shift+arrow: a tenth of those in view, at least 5."""
        b = self.bounds(steps)
        if b is None:
            return 5
        shown = int(np.count_nonzero((steps >= b[0]) & (steps <= b[1])))
        return max(5, shown // 10)

    def zoom(self, steps: IntArray, factor: float) -> ChartView:
        """The range ``factor`` times as wide, around the cursor step (the newest without one).

        Never narrower than :data:`MIN_POINTS` logged steps; a range that would cover all the
        data is no zoom at all (so the chart follows the run again).
        """
        b = self.bounds(steps)
        centre = self.cursor_step(steps)
        if b is None or centre is None:
            return self
        first, last = int(steps[0]), int(steps[-1])
        lo, hi = b
        half = (hi - lo) * factor / 2.0
        c = _nearest_index(steps, centre)
        # The narrowest allowed range around the centre: MIN_POINTS logged steps.
        k_lo = max(0, min(c - MIN_POINTS // 2, len(steps) - MIN_POINTS))
        k_hi = min(len(steps) - 1, k_lo + MIN_POINTS - 1)
        new_lo = min(math.floor(centre - half), int(steps[k_lo]))
        new_hi = max(math.ceil(centre + half), int(steps[k_hi]))
        if new_hi - new_lo >= last - first:
            return replace(self, lo=None, hi=None)
        # Keep the width, slide it inside the data.
        if new_lo < first:
            new_lo, new_hi = first, first + (new_hi - new_lo)
        if new_hi > last:
            new_lo, new_hi = last - (new_hi - new_lo), last
        return replace(self, lo=new_lo, hi=new_hi)

    def pan(self, steps: IntArray, direction: int) -> ChartView:
        """The range moved half its width back (-1) or on (+1), within the data; the cursor is
        carried along to the nearest logged step in view when it would leave."""
        b = self.bounds(steps)
        if b is None or not self.zoomed:
            return self
        first, last = int(steps[0]), int(steps[-1])
        lo, hi = b
        width = hi - lo
        shift = max(1, round(width * PAN_SHARE)) * (1 if direction > 0 else -1)
        lo = min(max(first, lo + shift), last - width)
        hi = lo + width
        out = replace(self, lo=lo, hi=hi)
        if self.cursor is not None and not lo <= self.cursor <= hi:
            inside = steps[(steps >= lo) & (steps <= hi)]
            if len(inside):
                out = replace(out, cursor=int(inside[0] if self.cursor < lo else inside[-1]))
        return out

    def reset(self) -> ChartView:
        """The whole run again (the cursor and the axis mode stay)."""
        return replace(self, lo=None, hi=None)

    def next_x_mode(self) -> ChartView:
        return replace(self, x_mode=X_MODES[(X_MODES.index(self.x_mode) + 1) % len(X_MODES)])


def in_range(steps: IntArray, lo: int, hi: int) -> np.ndarray:
    """Mask of the points to draw for the range [lo, hi]: those inside plus one either side, so
    the line runs to the chart's edges instead of stopping at the first point inside."""
    mask = (steps >= lo) & (steps <= hi)
    idx = np.flatnonzero(mask)
    if len(idx):
        if idx[0] > 0:
            mask[idx[0] - 1] = True
        if idx[-1] < len(steps) - 1:
            mask[idx[-1] + 1] = True
    return mask


#: Round tick intervals for a clock axis, in seconds.
CLOCK_INTERVALS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def clock_ticks(lo: float, hi: float, count: int = 6) -> tuple[list[float], list[str]]:
    """Ticks for an axis of epoch seconds [lo, hi], labelled as local clock time: ``08:40``, with
    seconds (``08:40:30``) when ticks are under a minute apart, with the date when over a day.
    Positions are whole multiples of a round interval of local time."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return [], []
    span = hi - lo
    interval = next((i for i in CLOCK_INTERVALS if span / i <= count - 1), CLOCK_INTERVALS[-1])
    while span / interval > count - 1:
        interval *= 2
    offset = datetime.fromtimestamp(lo).astimezone().utcoffset()
    off = offset.total_seconds() if offset is not None else 0.0
    first = math.ceil((lo + off) / interval) * interval - off
    positions = [first + k * interval for k in range(int((hi - first) // interval) + 1)]
    if span >= 86400:
        pattern = "%m-%d %H:%M"
    elif interval < 60:
        pattern = "%H:%M:%S"
    else:
        pattern = "%H:%M"
    return positions, [datetime.fromtimestamp(p).strftime(pattern) for p in positions]


def clock_text(wall_time: float | None) -> str:
    """``2026-12-03 08:41:07`` (local time), ``–`` when the point has no wall time."""
    if wall_time is None or not math.isfinite(wall_time):
        return "–"
    return datetime.fromtimestamp(wall_time).strftime("%Y-%m-%d %H:%M:%S")


def value_at(steps: IntArray, values: FloatArray, step: int) -> tuple[float, int] | None:
    """The value logged at ``step``, else at the last step before it (with that step); None when
    the series starts after ``step``."""
    i = int(np.searchsorted(steps, step, side="right")) - 1
    if i < 0:
        return None
    return float(values[i]), int(steps[i])
