"""The dashboard with replay keys: the cursor, not the clock, decides which step is shown.

Each key hands the host a moved ``ReplayCursor`` (pure, rltui/ui/replay_cursor.py); the host
asks for the snapshots at the new step and the screen redraws when they arrive.
"""

from __future__ import annotations

from typing import ClassVar, cast

from textual.binding import Binding, BindingType

from rltui.ui.host import ReplayHost
from rltui.ui.replay_cursor import ReplayCursor
from rltui.ui.screens.dashboard import DashboardScreen


class ReplayDashboardScreen(DashboardScreen):
    HELP_SCOPE = "replay"  # which keys ? lists first
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_play", "Play/pause"),
        Binding("left", "step(-1)", "Step-", show=False),
        Binding("right", "step(1)", "Step+", show=False),
        Binding("left_square_bracket", "speed(-1)", "Slower"),
        Binding("right_square_bracket", "speed(1)", "Faster"),
        Binding("g", "seek_start", "Start", show=False),
        Binding("G", "seek_end", "End", show=False),
        Binding("n", "next_alert", "Next alert"),
        Binding("N", "previous_alert", "Prev alert", show=False),
    ]

    @property
    def replayer(self) -> ReplayHost:
        return cast("ReplayHost", self.host)

    def on_mount(self) -> None:
        super().on_mount()
        # Play/pause and speed show in the header even when no new snapshot follows.
        self.watch(self.app, "replay", self._replay_changed, init=False)

    def _replay_changed(self) -> None:
        self.show_header()

    def _move(self, cursor: ReplayCursor | None, none_left: str = "") -> None:
        if cursor is None:
            self.host.notify_user(none_left)
            return
        self.replayer.set_replay(cursor)

    def action_toggle_play(self) -> None:
        self._move(self.replayer.replay.toggled())

    def action_step(self, delta: int) -> None:
        self._move(self.replayer.replay.stepped(delta))

    def action_speed(self, direction: int) -> None:
        self._move(self.replayer.replay.sped(direction))

    def action_seek_start(self) -> None:
        self._move(self.replayer.replay.start())

    def action_seek_end(self) -> None:
        self._move(self.replayer.replay.end())

    def action_next_alert(self) -> None:
        if self.replayer.replay.step is not None:
            self._move(self.replayer.replay.next_alert(), "no later alert")

    def action_previous_alert(self) -> None:
        if self.replayer.replay.step is not None:
            self._move(self.replayer.replay.previous_alert(), "no earlier alert")
