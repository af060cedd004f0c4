"""Text pieces of the dashboard: sparklines, trend arrows, status labels, number formatting.

Everything returns plain ``str`` or ``rich.text.Text`` built from sanitised strings, never markup,
so a metric named ``[bold]x`` shows literally. Status is always spelled out (``WARN``, ``CRIT``)
as well as coloured, so it survives NO_COLOR, 16-colour terminals and colour blindness.
"""

from __future__ import annotations

import math
import textwrap

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


#: What ``--ascii`` puts in place of the non-ASCII characters rltui and the engine's texts use.
ASCII_FALLBACK = str.maketrans(
    {
        "→": "->",
        "↑": "^",
        "↓": "v",
        "⇈": "^^",
        "⇊": "vv",
        "…": "...",
        "·": "-",
        "–": "-",
        "—": "-",
        "≤": "<=",
        "≥": ">=",
        "×": "x",
        "≡": "==",
        "β": "beta",
        "│": "|",
    }
)


def to_ascii(text: str) -> str:
    """``--ascii``: arrows and typography spelled with ASCII (terminals without those glyphs)."""
    return text.translate(ASCII_FALLBACK)


def safe(text: object, max_len: int | None = None) -> str:
    """Sanitise anything that came from a run for one-line display."""
    return sanitize(str(text), max_len=max_len, single_line=True)


def status_label(status: str) -> Text:
    return Text(STATUS_LABEL.get(status, status.upper()), style=STATUS_STYLE.get(status, ""))


Scale = tuple[float, float]


def spark_range(cols: FloatArray) -> Scale | None:
    """The (min, max) a sparkline of these column values spans; None when there are none."""
    if len(cols) == 0:
        return None
    return float(np.min(cols)), float(np.max(cols))


def sparkline(values: FloatArray, width: int, *, ascii_only: bool = False, scale: Scale | None = None) -> str:
    """The values squeezed into ``width`` cells, spikes preserved (min/max per column).

    ``scale`` is the (lo, hi) the levels span; by default the values' own range. Compare mode
    passes one scale to every run so that 0.7 and 37 do not draw alike."""
    cols = column_extremes(values, width)
    return spark_rows(cols, 1, scale, ascii_only=ascii_only)[0]


def block_chart(
    values: FloatArray, width: int, rows: int = 1, *, ascii_only: bool = False, scale: Scale | None = None
) -> list[str]:
    """A sparkline ``rows`` cells tall (top row first): 8 sub-levels per cell, spikes preserved.

    The lowest column still shows one sub-level, so a flat or bottomed-out series reads as a line
    and not as an empty box. ``rows == 1`` is exactly :func:`sparkline`.
    """
    return spark_rows(column_extremes(values, width), rows, scale, ascii_only=ascii_only)


def spark_rows(
    cols: FloatArray, rows: int, scale: Scale | None = None, *, ascii_only: bool = False
) -> list[str]:
    """Draw one value per column (:func:`column_extremes`) ``rows`` cells tall, top row first."""
    rows = max(1, rows)
    if len(cols) == 0:
        return [""] * rows
    levels = ASCII_LEVELS if ascii_only else UNICODE_LEVELS
    lo, hi = scale if scale is not None else (float(np.min(cols)), float(np.max(cols)))
    flat = not (hi - lo > 1e-12 * max(1.0, abs(hi)))
    if rows == 1:
        if flat:
            return [levels[len(levels) // 2 - 1] * len(cols)]
        idx = np.clip(((cols - lo) / (hi - lo) * (len(levels) - 1)).round().astype(int), 0, len(levels) - 1)
        return ["".join(levels[i] for i in idx)]
    full = "#" if ascii_only else "█"
    top = rows * len(levels)
    if flat:
        height = np.full(len(cols), top // 2)
    else:
        height = np.clip(1 + ((cols - lo) / (hi - lo) * (top - 1)).round().astype(int), 1, top)
    # One lookup table for all rows: index 0 is an empty cell, n is "n sub-levels filled".
    table = np.array([" ", *levels[:-1], full])
    n = len(levels)
    return [
        "".join(table[np.clip(height - row * n, 0, n)].tolist())
        for row in range(rows - 1, -1, -1)  # top row first
    ]


def wrap_words(text: str, width: int, max_lines: int) -> list[str]:
    """Word-wrap ``text`` into at most ``max_lines`` lines of ``width`` cells; what does not fit is
    cut at a word boundary and marked with an ellipsis, so a number is never cut in half."""
    if max_lines <= 0 or width <= 1 or not text:
        return []
    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    if len(lines) <= max_lines:
        return [line if len(line) <= width else line[: width - 1] + "…" for line in lines]
    kept = lines[:max_lines]
    last = kept[-1]
    while last and len(last) + 1 > width:
        last = last.rsplit(" ", 1)[0] if " " in last else ""
    # Drop the trailing word if the ellipsis would not fit after it.
    kept[-1] = (last + "…") if last else "…"
    return [line if len(line) <= width else line[: width - 1] + "…" for line in kept]


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
