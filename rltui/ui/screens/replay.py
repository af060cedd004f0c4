"""The dashboard with replay keys: the cursor, not the clock, decides which step is shown."""

from __future__ import annotations

import bisect
from typing import ClassVar

from textual.binding import Binding, BindingType

from rltui.ui.screens.dashboard import DashboardScreen


class ReplayDashboardScreen(DashboardScreen):
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

    def action_toggle_play(self) -> None:
        app = self.rltui
        if not app.playing and app.cursor_index >= len(app.replay_steps) - 1:
            app.move_cursor_to(0)
        app.set_playing(not app.playing)

    def action_step(self, delta: int) -> None:
        app = self.rltui
        app.set_playing(False)
        app.move_cursor_to(app.cursor_index + delta)

    def action_speed(self, direction: int) -> None:
        self.rltui.set_speed(direction)

    def action_seek_start(self) -> None:
        self.rltui.set_playing(False)
        self.rltui.move_cursor_to(0)

    def action_seek_end(self) -> None:
        app = self.rltui
        app.set_playing(False)
        app.move_cursor_to(len(app.replay_steps) - 1)

    def action_next_alert(self) -> None:
        app = self.rltui
        cur = app.cursor
        if cur is None:
            return
        i = bisect.bisect_right(app.alert_steps, cur)
        if i >= len(app.alert_steps):
            app.notify("no later alert", severity="information", markup=False)
            return
        app.set_playing(False)
        app.seek_step(app.alert_steps[i])

    def action_previous_alert(self) -> None:
        app = self.rltui
        cur = app.cursor
        if cur is None:
            return
        i = bisect.bisect_left(app.alert_steps, cur) - 1
        if i < 0:
            app.notify("no earlier alert", severity="information", markup=False)
            return
        app.set_playing(False)
        app.seek_step(app.alert_steps[i])
