"""Text pieces of the dashboard: sparklines, trend arrows, status labels, number formatting.

Everything returns plain ``str`` or ``rich.text.Text`` built from sanitised strings, never markup,
so a metric named ``[bold]x`` shows literally. Status is always spelled out (``WARN``, ``CRIT``)
as well as coloured, so it survives NO_COLOR, 16-colour terminals and colour blindness.
"""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from rltui.records import FloatArray
from rltui.text import sanitize
from rltui.ui.downsample import column_extremes

UNICODE_LEVELS = "▁▂▃▄▅▆▇█"
ASCII_LEVELS = "_.-:=+*#"

STATUS_LABEL: dict[str, str] = {
    "ok": "OK",
    "info": "INFO",
    "warn": "WARN",
    "critical": "CRIT",
    "unavailable": "N/A",
}
#: Rich styles per status; colour names from the 16-colour palette so they degrade cleanly.
STATUS_STYLE: dict[str, str] = {
    "ok": "green",
    "info": "cyan",
    "warn": "yellow",
    "critical": "bold red",
    "unavailable": "dim",
}


def safe(text: object, max_len: int | None = None) -> str:
    """Sanitise anything that came from a run for one-line display."""
    return sanitize(str(text), max_len=max_len, single_line=True)


def status_label(status: str) -> Text:
    return Text(STATUS_LABEL.get(status, status.upper()), style=STATUS_STYLE.get(status, ""))


def sparkline(values: FloatArray, width: int, *, ascii_only: bool = False) -> str:
    """The last values squeezed into ``width`` cells, spikes preserved (min/max per column)."""
    cols = column_extremes(values, width)
    if len(cols) == 0:
        return ""
    levels = ASCII_LEVELS if ascii_only else UNICODE_LEVELS
    lo, hi = float(np.min(cols)), float(np.max(cols))
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        return levels[len(levels) // 2 - 1] * len(cols)
    idx = np.clip(((cols - lo) / (hi - lo) * (len(levels) - 1)).round().astype(int), 0, len(levels) - 1)
    return "".join(levels[i] for i in idx)


def trend_glyph(trend: str, accelerating: bool = False, *, ascii_only: bool = False) -> str:
    if trend == "rising":
        if accelerating:
            return "^^" if ascii_only else "⇈"
        return "^" if ascii_only else "↑"
    if trend == "falling":
        if accelerating:
            return "vv" if ascii_only else "⇊"
        return "v" if ascii_only else "↓"
    if trend == "flat":
        return "-" if ascii_only else "→"
    return " "


def fmt_value(value: float | None, unit: str = "") -> str:
    """Compact number: 4 significant digits, scientific for tiny/huge, NaN/Inf spelled out."""
    if value is None:
        return "–"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    a = abs(value)
    if a != 0 and (a < 1e-3 or a >= 1e6):
        s = f"{value:.3g}"
    elif a >= 1000:
        s = f"{value:,.0f}"
    else:
        s = f"{value:.4g}"
    return f"{s}{(' ' + safe(unit)) if unit else ''}"


def fmt_duration(seconds: float | None) -> str:
    """``45s``, ``12m05s``, ``3h07m``, ``2d04h`` — short enough for a header."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"
