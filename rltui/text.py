"""Make text from a run safe to show: no escape sequences, no control bytes, no markup.

Everything a run writes (tags, console lines, completions, config values) is hostile input to a
terminal. Rich markup is not interpreted because the UI renders sanitised text through
``rich.text.Text`` (never as markup strings); this module removes what would still reach the
terminal as bytes.
"""

from __future__ import annotations

import re

# CSI, OSC (terminated by BEL or ST), other two-byte ESC sequences, and C1 controls.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS/SOS/PM/APC ... ST
    r"|\x1b[@-Z\\-_]?"  # lone ESC or two-byte sequence
    r"|[\x80-\x9f]"  # C1 controls
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Bidirectional overrides, embeddings and isolates (U+202A-202E, U+2066-2069) reorder what
# follows them on screen (a tag can then read as another one); LRM/RLM/ALM are kept harmless.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u061c\u200e\u200f]")


#: Every escape sequence _ESCAPES removes starts with one of these: a text without them is
#: returned as it is, after one scan (most log lines; the substitution cost several times that).
_ESCAPE_START = re.compile(r"[\x1b\x80-\x9f]")


def strip_escapes(text: str) -> str:
    """Remove terminal escape sequences; keep newlines and tabs."""
    if _ESCAPE_START.search(text) is None:
        return text
    return _ESCAPES.sub("", text)


def sanitize(text: str, *, max_len: int | None = None, single_line: bool = False) -> str:
    """Return ``text`` without escapes or control characters, optionally on one line and capped."""
    out = _CONTROLS.sub("", strip_escapes(text).replace("\r", "\n" if not single_line else " "))
    out = _BIDI.sub("", out)
    if single_line:
        out = out.replace("\n", " ").replace("\t", " ")
    if max_len is not None and len(out) > max_len:
        out = out[: max(0, max_len - 1)] + "…"
    return out


def decode(data: bytes) -> str:
    """Decode bytes from a log: UTF-8 where it is UTF-8, replacement characters elsewhere."""
    return data.decode("utf-8", errors="replace")
