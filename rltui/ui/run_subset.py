"""Some of the app's runs, seen by a screen as if they were all of them.

The sweep overview opens one run's dashboard (Enter) or a few selected runs overlaid; the
dashboard draws whatever runs its :class:`~rltui.ui.host.Host` has. ``RunSubset`` is that host:
it hands over the chosen runs and their snapshots in the chosen order and maps run indexes back
to the app's when the screen asks for a chart, a CSV or the replay step, so the dashboard itself
does not know it is looking at part of a sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rltui.model.snapshot import RunSnapshot
from rltui.ui.chart_spec import ChartSpec
from rltui.ui.host import Host
from rltui.ui.prefs import UiPrefs
from rltui.ui.runs import RunSource


class RunSubset:
    """A :class:`Host` over ``indexes`` of ``base``'s runs (see the module docstring)."""

    def __init__(self, base: Host, indexes: Sequence[int]) -> None:
        self.base = base
        self.indexes = tuple(indexes)

    def global_index(self, run_index: int) -> int:
        """The app's index of this subset's run ``run_index``."""
        return self.indexes[run_index]

    @property
    def runs(self) -> list[RunSource]:
        runs = self.base.runs
        return [runs[i] for i in self.indexes]

    @property
    def snapshots(self) -> Sequence[RunSnapshot | None]:
        snaps = self.base.snapshots
        return [snaps[i] if i < len(snaps) else None for i in self.indexes]

    @property
    def ascii_only(self) -> bool:
        return self.base.ascii_only

    @property
    def pump_error(self) -> str | None:
        return self.base.pump_error

    @property
    def last_export(self) -> Path | None:
        return self.base.last_export

    @last_export.setter
    def last_export(self, path: Path | None) -> None:
        self.base.last_export = path

    def now(self) -> float:
        return self.base.now()

    def out_dir(self) -> Path:
        return self.base.out_dir()

    def view_step(self, run_index: int) -> int | None:
        return self.base.view_step(self.global_index(run_index))

    def mode_label(self) -> str | None:
        return self.base.mode_label()

    def open_chart(self, spec: ChartSpec) -> None:
        series = tuple(replace(s, run_index=self.global_index(s.run_index)) for s in spec.series)
        self.base.open_chart(replace(spec, series=series))

    def export_csv(self, series: list[tuple[int, str]], stem: str) -> Path | None:
        return self.base.export_csv([(self.global_index(i), name) for i, name in series], stem)

    def notify_user(self, message: str, severity: str = "information") -> None:
        self.base.notify_user(message, severity)

    @property
    def prefs(self) -> UiPrefs:
        return self.base.prefs

    @prefs.setter
    def prefs(self, prefs: UiPrefs) -> None:
        self.base.prefs = prefs

    def set_prefs(self, prefs: UiPrefs) -> None:
        self.base.set_prefs(prefs)
