"""The verdict in one word and one line: what a person reads first about a run.

``status`` is the worst *active* severity ("ok" when nothing is active): the contract's one-word
verdict. ``verdict`` is one sentence: the most severe active alert (ties: the one raised first,
since it is the one that started the trouble), with its step and numbers, and how many others are
active. A run without metrics says so instead of "ok": an empty folder is not a healthy run.
"""

from __future__ import annotations

from rltui.model.instruments.base import trainer_name
from rltui.model.snapshot import SEVERITY_RANK, Alert, RunSnapshot, Severity

Status = Severity | str


def status_of(snap: RunSnapshot) -> str:
    """ "ok", "info", "warn" or "critical": the worst active alert."""
    return snap.worst


def top_alert(snap: RunSnapshot) -> Alert | None:
    """The alert a verdict names: most severe, then raised first, then by id (stable)."""
    active = [a for a in snap.alerts if a.active]
    if not active:
        return None
    return min(
        active,
        key=lambda a: (-SEVERITY_RANK[a.severity], a.raised_step or a.first_step, a.id, a.metric or ""),
    )


def verdict_of(snap: RunSnapshot) -> str:
    """One line a person reads (see the module docstring)."""
    info = snap.info
    who = trainer_name(info) if info.trainer != "unknown" else "trainer unknown"
    if not snap.metrics:
        return "no metrics read yet: nothing to judge"
    steps = f"step {snap.step}" + (f" of {info.max_steps}" if info.max_steps else "")
    top = top_alert(snap)
    if top is None or top.severity == "info":
        cleared = sum(1 for a in snap.alerts if a.severity != "info" and not a.active)
        notes = sum(1 for a in snap.alerts if a.active and a.severity == "info")
        tail = [f"{notes} note{'s' if notes != 1 else ''}"] if notes else []
        if cleared:
            tail.append(f"{cleared} earlier warning{'s' if cleared != 1 else ''} cleared")
        return f"OK at {steps} ({who}): no active warning" + (f" ({', '.join(tail)})" if tail else "")
    others = [a for a in snap.alerts if a.active and a is not top]
    worse = sum(1 for a in others if a.severity != "info")
    more = f"; {worse} more active warning{'s' if worse != 1 else ''}" if worse else ""
    since = f"since step {top.first_step}"
    return f"{top.severity.upper()} at {steps} ({who}): {top.message}, {since}{more}"
