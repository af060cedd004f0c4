"""Telling the user about a new alert outside the dashboard: bell, OSC 9, ``--on-alert CMD``.

Which alerts are *new* is decided here (a pure diff over snapshots) so that the app only has to
act on the result, and tests can check the decision without a terminal.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from rltui.model.snapshot import SEVERITY_RANK, Alert, RunSnapshot
from rltui.ui.glyphs import safe

AlertKey = tuple[str, str, int]


def alert_key(snap: RunSnapshot, alert: Alert) -> AlertKey:
    return (snap.info.path, alert.id, alert.first_step)


@dataclass(slots=True)
class AlertTracker:
    """Remembers the active alerts already announced, per run, with the worst severity each was
    announced at (so an escalation, warn -> critical, is news again)."""

    seen: dict[AlertKey, int] = field(default_factory=dict)

    def new_alerts(self, snaps: list[RunSnapshot]) -> list[tuple[RunSnapshot, Alert]]:
        fresh = []
        for snap in snaps:
            for alert in snap.alerts:
                key = alert_key(snap, alert)
                rank = SEVERITY_RANK.get(alert.severity, 0)
                if alert.active and rank > self.seen.get(key, -1):
                    self.seen[key] = rank
                    fresh.append((snap, alert))
        return fresh

    def reset_to(self, snaps: list[RunSnapshot]) -> None:
        """Forget history: what is active now counts as announced (the alerts a run already has
        when it is opened, or those active where replay jumped back to)."""
        self.seen = {}
        for s in snaps:
            for a in s.alerts:
                if a.active:
                    key = alert_key(s, a)
                    self.seen[key] = max(self.seen.get(key, -1), SEVERITY_RANK.get(a.severity, 0))


def _json_number(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def alert_json(snap: RunSnapshot, alert: Alert) -> str:
    """The object ``--on-alert`` receives on stdin (the ``check --json`` alert plus the run)."""
    return json.dumps(
        {
            "run": snap.info.name,
            "path": snap.info.path,
            "step": snap.step,
            "id": alert.id,
            "severity": alert.severity,
            "first_step": alert.first_step,
            "last_step": alert.last_step,
            "active": alert.active,
            "message": alert.message,
            "cause": alert.cause,
            "action": alert.action,
            "evidence": {k: _json_number(v) for k, v in alert.evidence.items()},
            "metric": alert.metric,
        },
        allow_nan=False,
    )


def osc9(snap: RunSnapshot, alert: Alert, *, tmux: bool = False) -> str:
    """An OSC 9 desktop notification; the text is sanitised so it cannot end the sequence early.

    Inside tmux (``tmux=True``) the sequence is wrapped for passthrough: tmux drops a plain OSC 9
    (and forwards the wrapped one only with ``set -g allow-passthrough on``).
    """
    text = safe(
        f"rltui {snap.info.name}: {alert.severity.upper()} {alert.id} at step {alert.first_step}", 200
    )
    seq = f"\x1b]9;{text.replace(';', ',')}\x07"
    return tmux_passthrough(seq) if tmux else seq


def tmux_passthrough(seq: str) -> str:
    """``seq`` in tmux's DCS passthrough: ``ESC P tmux;`` + the sequence with every ESC doubled
    + ``ESC \\``, which tmux unwraps and hands to the outer terminal."""
    return "\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
