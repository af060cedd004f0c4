"""Telling the user about a new alert outside the dashboard: bell, OSC 9, ``--on-alert CMD``.

Which alerts are *new* is decided in ``rltui.model.alert_news`` (a pure diff over snapshots, shared
with ``rltui check --follow``) so that the app only has to act on the result.
"""

from __future__ import annotations

from rltui.model.alert_news import AlertKey, AlertTracker, alert_env, alert_json, alert_key
from rltui.model.snapshot import Alert, RunSnapshot
from rltui.ui.glyphs import safe

__all__ = ["AlertKey", "AlertTracker", "alert_env", "alert_json", "alert_key", "osc9", "tmux_passthrough"]


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
