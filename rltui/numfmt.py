"""One way to write a number, for every place rltui shows one (gauges, banners, charts, ``check``).

Why one module: the dashboard once said "2.77e+03 steps/min" in the header beside "2763 steps/min"
on the gauge, and "7.46e-05" in a banner beside "7.46e-5" in a summary. A reader compares those
numbers, so they must be spelled alike: plain digits from 0.001 up to a million, short exponents
("7.46e-5", "1.2e7") outside, NaN/Inf spelled out. Pure stdlib: the model, ``check`` and the UI
all import it.
"""

from __future__ import annotations

import math
import re

#: Below this magnitude (and from ``BIG`` up) a number is written with an exponent.
SMALL = 1e-3
BIG = 1e6

_EXPONENT = re.compile(r"(?<![\d.])(\d(?:\.\d+)?)e([+-])0*(\d+)\b")


def short_exponent(s: str) -> str:
    """``7.46e-05`` -> ``7.46e-5``, ``2.77e+03`` -> ``2.77e3``: Python's two-digit, signed exponent
    written the short way, wherever it sits in a text (texts made before this module existed)."""
    return _EXPONENT.sub(lambda m: f"{m[1]}e{'-' if m[2] == '-' else ''}{m[3]}", s)


def num(x: float | int | None, digits: int = 4) -> str:
    """A number in at most ``digits`` significant digits: ``2763``, ``0.4473``, ``7.46e-5``."""
    if x is None:
        return "–"
    if isinstance(x, int) and not isinstance(x, bool) and abs(x) < BIG:
        return str(x)
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "0"
    a = abs(x)
    if a < SMALL or a >= BIG:
        mant, exp = f"{x:.{max(0, digits - 2)}e}".split("e")
        if "." in mant:
            mant = mant.rstrip("0").rstrip(".")
        return f"{mant}e{int(exp)}"
    if a >= 10 ** (digits - 1):
        return f"{x:.0f}"
    return short_exponent(f"{x:.{digits}g}")


def with_unit(x: float | int | None, unit: str = "", digits: int = 4) -> str:
    """``2763 steps/min``: the number, then its unit after a space (none when ``unit`` is empty)."""
    return f"{num(x, digits)} {unit}" if unit else num(x, digits)


def time_axis(span_seconds: float) -> tuple[float, str]:
    """The unit for a wall-time axis spanning ``span_seconds``: (seconds per unit, its name).

    A 1.5 s span in decimal minutes ("0.025") reads as nothing; seconds up to two minutes, minutes
    up to two hours, then hours.
    """
    if not math.isfinite(span_seconds) or span_seconds < 120:
        return 1.0, "s"
    if span_seconds < 7200:
        return 60.0, "min"
    return 3600.0, "h"


def log_ticks(lo: float, hi: float, count: int = 7) -> tuple[list[float], list[str]]:
    """Ticks for a log10 axis between ``lo`` and ``hi`` (both log10 values): the positions, and
    their labels as the plain numbers they stand for ("0.01", "1", "100"), not as exponents.

    Whole decades where the range spans three or more (every second... one past ``count``); a
    narrower range also gets the 2s and 5s of each decade, so it shows more than one tick.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return [], []
    first, last = math.floor(lo), math.ceil(hi)
    stride = max(1, math.ceil((last - first + 1) / count))
    mantissas = (1.0,) if last - first >= 3 else (1.0, 2.0, 5.0)
    values = [m * 10.0**d for d in range(first, last + 1, stride) for m in mantissas]
    inside = [v for v in values if lo - 1e-9 <= math.log10(v) <= hi + 1e-9]
    return [math.log10(v) for v in inside], [num(v, 3) for v in inside]
