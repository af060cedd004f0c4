"""What a screen needs from the application, and nothing more.

Screens are handed a ``Host`` when they are made (``DashboardScreen(host)``) instead of casting
``self.app`` to the concrete app and reaching into its members: the contract between them is this
page, and a test can drive a screen with any object that has these few members.

Data reaches a screen the other way round: the host's ``snapshots`` (and, in replay, ``replay``)
are Textual reactives on the app, and a screen subscribes to them (``self.watch(app, ...)``) and
redraws from what it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from rltui.model.snapshot import RunSnapshot
from rltui.ui.chart_spec import ChartSpec
from rltui.ui.prefs import UiPrefs
from rltui.ui.replay_cursor import ReplayCursor
from rltui.ui.runs import RunSource


class Host(Protocol):
    """The app as the screens see it."""

    @property
    def runs(self) -> list[RunSource]: ...

    @property
    def snapshots(self) -> Sequence[RunSnapshot | None]: ...

    @property
    def ascii_only(self) -> bool: ...

    @property
    def pump_error(self) -> str | None:
        """Why the reader stopped (sanitised), or None while it runs."""
        ...

    #: The file the last export or screenshot wrote.
    last_export: Path | None

    def now(self) -> float: ...

    def out_dir(self) -> Path:
        """Where exports go (never into a run folder)."""
        ...

    def view_step(self, run_index: int) -> int | None:
        """The step shown for a run: the replay cursor, or None (everything) when live."""
        ...

    def mode_label(self) -> str | None: ...

    def open_chart(self, spec: ChartSpec) -> None: ...

    def export_csv(self, series: list[tuple[int, str]], stem: str) -> Path | None: ...

    def notify_user(self, message: str, severity: str = "information") -> None:
        """A toast (never markup: the text may name run files)."""
        ...

    #: Theme, smoothing, pinned and hidden gauges (``rltui.ui.prefs``).
    prefs: UiPrefs

    def set_prefs(self, prefs: UiPrefs) -> None:
        """Apply and remember changed settings (the screens redraw with them)."""
        ...


class ReplayHost(Host, Protocol):
    """A host that replays: the replay screen reads the cursor and hands back a moved one."""

    @property
    def replay(self) -> ReplayCursor: ...

    def set_replay(self, cursor: ReplayCursor) -> None: ...
