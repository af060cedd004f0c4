"""Where a replay is and how it moves: a pure value, no Textual, no clock.

The app holds one ``ReplayCursor`` and replaces it on every key or tick (``space``, ``←/→``,
``[ ]``, ``g G``, ``n N``, the play timer); the screens only read it. Being immutable and free of
the UI, every rule of playback (wrap to the start on play at the end, stop at the end, several
steps per tick at high speed, the next alert after the cursor) is tested without Pilot
(tests/ui/test_replay_cursor.py).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, replace

#: Replay never ticks faster than this; higher speeds advance several steps per tick.
MIN_TICK_S = 0.1
SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 100.0, 250.0, 1000.0)


@dataclass(frozen=True, slots=True)
class ReplayCursor:
    """The logged steps of the replayed runs, the one shown, and whether it plays and how fast."""

    steps: tuple[int, ...] = ()
    #: Where each alert is raised (its banner shows): ``n`` / ``N`` jump there.
    alert_steps: tuple[int, ...] = ()
    index: int = 0
    playing: bool = False
    speed: float = 10.0
    #: False until the runs are read (the header says "REPLAY loading").
    loaded: bool = False

    @classmethod
    def over(cls, steps: Iterable[int], alert_steps: Iterable[int], speed: float = 10.0) -> ReplayCursor:
        """A loaded cursor at the first step, paused."""
        return cls(tuple(sorted(set(steps))), tuple(sorted(set(alert_steps))), 0, False, speed, True)

    # -- reading ---------------------------------------------------------------------------------
    @property
    def step(self) -> int | None:
        """The step shown, or None when there are no steps (yet)."""
        return self.steps[self.index] if self.steps else None

    @property
    def last(self) -> int:
        return max(0, len(self.steps) - 1)

    @property
    def at_end(self) -> bool:
        return self.index >= self.last

    @property
    def tick_s(self) -> float:
        """Seconds between two play ticks."""
        return max(MIN_TICK_S, 1.0 / self.speed)

    @property
    def per_tick(self) -> int:
        """Steps one tick advances (more than one above ``1 / MIN_TICK_S`` steps per second)."""
        return max(1, round(self.speed * self.tick_s))

    def label(self) -> str:
        """The header's mode label: ``REPLAY playing 10 steps/s``."""
        if not self.loaded:
            return "REPLAY loading"
        state = "end" if self.at_end and not self.playing else ("playing" if self.playing else "paused")
        return f"REPLAY {state} {self.speed:g} steps/s"

    # -- moving (each returns a new cursor) --------------------------------------------------------
    def moved_to(self, index: int) -> ReplayCursor:
        return replace(self, index=max(0, min(self.last, index)))

    def stepped(self, delta: int) -> ReplayCursor:
        """One logged step back or forward; a manual step pauses."""
        return replace(self.moved_to(self.index + delta), playing=False)

    def seek(self, step: int) -> ReplayCursor:
        """The first logged step at or after ``step`` (the last one when ``step`` is beyond)."""
        return self.moved_to(bisect.bisect_left(self.steps, step))

    def start(self) -> ReplayCursor:
        return replace(self.moved_to(0), playing=False)

    def end(self) -> ReplayCursor:
        return replace(self.moved_to(self.last), playing=False)

    def set_playing(self, playing: bool) -> ReplayCursor:
        return replace(self, playing=playing and bool(self.steps))

    def toggled(self) -> ReplayCursor:
        """Play/pause; play at the end starts again from the first step."""
        if not self.playing and self.at_end:
            return self.moved_to(0).set_playing(True)
        return self.set_playing(not self.playing)

    def ticked(self) -> ReplayCursor:
        """One play tick: ``per_tick`` steps on, stopping at the end."""
        moved = self.moved_to(self.index + self.per_tick)
        return moved.set_playing(False) if moved.at_end else moved

    def sped(self, direction: int) -> ReplayCursor:
        """The next speed up (``direction > 0``) or down; unchanged at either end of SPEEDS."""
        faster = [s for s in SPEEDS if s > self.speed]
        slower = [s for s in SPEEDS if s < self.speed]
        if direction > 0 and faster:
            return replace(self, speed=faster[0])
        if direction < 0 and slower:
            return replace(self, speed=slower[-1])
        return self

    def next_alert(self) -> ReplayCursor | None:
        """Paused where the next alert after the shown step is raised; None when there is none."""
        if self.step is None:
            return None
        i = bisect.bisect_right(self.alert_steps, self.step)
        if i >= len(self.alert_steps):
            return None
        return self.seek(self.alert_steps[i]).set_playing(False)

    def previous_alert(self) -> ReplayCursor | None:
        """Paused where the last alert before the shown step is raised; None when there is none."""
        if self.step is None:
            return None
        # An alert raised between two logged steps shows at the later one: skip those that
        # would land here again (N must never be stuck on the step it is on).
        for step in reversed(self.alert_steps[: bisect.bisect_left(self.alert_steps, self.step)]):
            target = self.seek(step)
            if target.index < self.index:
                return target.set_playing(False)
        return None
