"""Which alerts are news, and what a command told about one receives (pure, no terminal).

Shared by the dashboard (bell, OSC 9, ``--on-alert``) and ``rltui check --follow`` (one line per
new alert, ``--on-alert``), so both call the same alert new at the same moment. Model layer: the
decision is a diff over snapshots, testable with hand-built ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from rltui.model.snapshot import SEVERITY_RANK, Alert, RunSnapshot
from rltui.text import sanitize

AlertKey = tuple[str, str, str, int]


def alert_key(snap: RunSnapshot, alert: Alert) -> AlertKey:
    """One alert of one run: a rule that watches every metric (``nonfinite``) raises one alert
    per metric, often at the same step (loss and grad_norm turn NaN together): each is news."""
    return (snap.info.path, alert.id, alert.metric or "", alert.first_step)


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
        self.seed(snaps)

    def seed(self, snaps: list[RunSnapshot]) -> None:
        """Count what is active in ``snaps`` as announced, keeping the rest of the history (runs
        of a sweep that finished loading after the others were already on screen)."""
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


def alert_env(snap: RunSnapshot, alert: Alert) -> dict[str, str]:
    """Environment variables an ``--on-alert`` command gets for ``alert``.

    Why variables: a command line built by pasting run text into a shell string would run
    whatever a hostile tag or run folder name holds (``$(...)``); the shell expands a variable's
    value without parsing it again. Every value is sanitised to one printable line (an
    environment cannot hold NUL anyway).
    """

    def one(value: object, limit: int = 2000) -> str:
        return sanitize(str(value), single_line=True, max_len=limit)

    return {
        "RLTUI_RUN": one(snap.info.name),
        "RLTUI_RUN_PATH": one(snap.info.path),
        "RLTUI_STEP": one(snap.step if snap.step is not None else ""),
        "RLTUI_ALERT_ID": one(alert.id),
        "RLTUI_ALERT_SEVERITY": one(alert.severity),
        "RLTUI_ALERT_FIRST_STEP": one(alert.first_step),
        "RLTUI_ALERT_MESSAGE": one(alert.message),
        "RLTUI_ALERT_ACTION": one(alert.action),
        "RLTUI_ALERT_JSON": one(alert_json(snap, alert), 20000),
    }
