"""Telling the user about a new alert outside the dashboard: bell, OSC 9, ``--on-alert CMD``.

Which alerts are *new* is decided in ``rltui.model.alert_news`` (a pure diff over snapshots, shared
with ``rltui check --follow``); what to do about each is decided here by the ``Announcer`` (pure:
it returns ``Announcement`` values), so that the app only performs them (rings, writes the OSC 9
sequence, starts the ``--on-alert`` command) and the decision is tested without a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rltui.model.alert_news import AlertKey, AlertTracker, alert_env, alert_json, alert_key
from rltui.model.snapshot import Alert, RunSnapshot
from rltui.ui.glyphs import safe

__all__ = [
    "AlertKey",
    "AlertTracker",
    "Announcement",
    "Announcer",
    "alert_env",
    "alert_json",
    "alert_key",
    "notification_text",
    "osc9",
    "tmux_passthrough",
]


@dataclass(frozen=True, slots=True)
class Announcement:
    """What to do about one new alert (or escalation) outside the screen."""

    snap: RunSnapshot
    alert: Alert
    bell: bool
    #: The OSC 9 sequence to write, or None.
    notification: str | None
    #: (JSON on stdin, environment) for ``--on-alert``, or None.
    on_alert: tuple[str, dict[str, str]] | None


@dataclass(slots=True)
class Announcer:
    """Turns successive snapshots into announcements: critical alerts ring and notify, warn and
    critical ones go to ``--on-alert``; what is active when the run is opened (or where replay
    jumped back to) is the baseline, not news."""

    bell: bool = True
    notify: bool = True
    on_alert: bool = False
    tmux: bool = False
    tracker: AlertTracker = field(default_factory=AlertTracker)
    _rebaseline: bool = False
    #: Live, while a sweep loads (until the pump's baseline batch): each run's first snapshot is
    #: its baseline, as the runs are published one by one. After that a run that appears (one
    #: the training just created in a watched folder) is news like any other.
    loading: bool = False
    _runs: set[str] = field(default_factory=set)

    def rebaseline(self) -> None:
        """The next snapshots are the baseline: what they show active is not announced."""
        self._rebaseline = True

    def observe(self, snaps: Sequence[RunSnapshot | None]) -> list[Announcement]:
        ready = [s for s in snaps if s is not None]
        if self._rebaseline:
            self._rebaseline = False
            self.loading = False
            self.tracker.reset_to(ready)
        elif self.loading:
            fresh = [s for s in ready if s.info.path not in self._runs]
            if fresh:
                self.tracker.seed(fresh)
                self._runs.update(s.info.path for s in fresh)
        out = []
        for snap, alert in self.tracker.new_alerts(ready):
            critical = alert.severity == "critical"
            out.append(
                Announcement(
                    snap,
                    alert,
                    bell=critical and self.bell,
                    notification=osc9(snap, alert, tmux=self.tmux) if critical and self.notify else None,
                    on_alert=(alert_json(snap, alert), alert_env(snap, alert))
                    if self.on_alert and alert.severity != "info"
                    else None,
                )
            )
        return out


def notification_text(snap: RunSnapshot, alert: Alert) -> str:
    """``rltui NAME: CRITICAL id at step NOW (since ONSET)``: the run's current step, which is
    where the user will look, and the onset as context (issue 12: the text named only the onset,
    "at step 14" while the run was at step 90)."""
    now = snap.step if snap.step is not None else alert.last_step
    since = f" (since {alert.first_step})" if alert.first_step != now else ""
    return f"rltui {snap.info.name}: {alert.severity.upper()} {alert.id} at step {now}{since}"


def osc9(snap: RunSnapshot, alert: Alert, *, tmux: bool = False) -> str:
    """An OSC 9 desktop notification; the text is sanitised so it cannot end the sequence early.

    Inside tmux (``tmux=True``) the sequence is wrapped for passthrough: tmux drops a plain OSC 9
    (and forwards the wrapped one only with ``set -g allow-passthrough on``).
    """
    text = safe(notification_text(snap, alert), 200)
    seq = f"\x1b]9;{text.replace(';', ',')}\x07"
    return tmux_passthrough(seq) if tmux else seq


def tmux_passthrough(seq: str) -> str:
    """``seq`` in tmux's DCS passthrough: ``ESC P tmux;`` + the sequence with every ESC doubled
    + ``ESC \\``, which tmux unwraps and hands to the outer terminal."""
    return "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
