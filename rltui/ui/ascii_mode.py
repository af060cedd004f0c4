"""``--ascii`` everywhere, and ASCII on its own where the terminal cannot take UTF-8.

rltui's own widgets already draw ASCII in this mode (sparklines ``_.-:=+*#``, ``->``), but much of
a screen is drawn by Textual and plotext: borders, scrollbars, the footer's key glyphs, chart
braille and box lines. Rather than restyle each of those, the screen's compositor translates
every cell it hands to the terminal: one ASCII character per one-cell character (two for a wide
one), so the layout is unchanged and nothing non-ASCII can reach the terminal.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from rich.segment import Segment
from textual._compositor import Compositor
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip

#: Characters whose ASCII stand-in is not derived from their Unicode name.
_FIXED = {
    "→": ">", "←": "<", "↑": "^", "↓": "v", "⇈": "^", "⇊": "v", "⏎": "<",
    "…": ".", "·": "-", "–": "-", "—": "-", "≤": "<", "≥": ">", "×": "x", "±": "+",
    "≈": "~", "≡": "=", "β": "b", "█": "#", "▌": "|", "▐": "|", "▏": "|", "▕": "|",
    "▁": "_", "▂": ".", "▃": "-", "▄": ":", "▅": "=", "▆": "+", "▇": "*", "▔": "-",
    "\u2800": " ",
}  # fmt: skip


def wants_ascii(flag: bool, encoding: str | None) -> bool:
    """ASCII when asked for, or when the terminal's encoding is not UTF-8 (``LC_ALL=C``)."""
    if flag:
        return True
    try:
        return codecs.lookup(encoding or "ascii").name != "utf-8"
    except LookupError:
        return True


@lru_cache(maxsize=4096)
def ascii_char(ch: str) -> str:
    """The ASCII stand-in for one character, as many cells wide as the character itself."""
    if ch.isascii():
        return ch
    if ch in _FIXED:
        return _FIXED[ch]
    wide = unicodedata.east_asian_width(ch) in ("W", "F")
    name = unicodedata.name(ch, "")
    if name.startswith("BRAILLE PATTERN"):
        out = "."
    elif name.startswith("BOX DRAWINGS"):
        horizontal, vertical = "HORIZONTAL" in name, "VERTICAL" in name
        out = "-" if horizontal and not vertical else "|" if vertical and not horizontal else "+"
    elif unicodedata.combining(ch):
        return ""
    else:
        plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
        out = plain[:1] or "?"
    return out * 2 if wide else out


def to_ascii_text(text: str) -> str:
    return text if text.isascii() else "".join(ascii_char(c) for c in text)


def ascii_strip(strip: Strip) -> Strip:
    segments = list(strip)
    if all(s.text.isascii() for s in segments):
        return strip
    return Strip([Segment(to_ascii_text(s.text), s.style, s.control) for s in segments], strip.cell_length)


class AsciiCompositor(Compositor):
    """A compositor whose every rendered strip is ASCII."""

    def _get_renders(self, crop: Region | None = None) -> Iterable[tuple[Region, Region, list[Strip]]]:
        for region, clip, strips in super()._get_renders(crop):
            yield region, clip, [ascii_strip(s) for s in strips]


def install(screen: Screen[object]) -> None:
    """Draw ``screen`` in ASCII from now on (its compositor holds no state of its own to lose)."""
    if not isinstance(screen._compositor, AsciiCompositor):
        screen._compositor.__class__ = AsciiCompositor
