"""``strip_escapes`` returns a text without an escape start unchanged after one scan; whatever the
text, it equals the full substitution (the fast path changes speed, never the result)."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given, settings

from rltui.text import _ESCAPES, sanitize, strip_escapes

_PIECES = st.sampled_from(
    [
        *("a", " ", "█", "loss", "P", "é", "\t", "\n", "\\", "[", "31m", "]0;"),
        *("\x1b", "\x07", "\x9b", "\x85", "\u202e"),
    ]
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PIECES, max_size=20).map("".join))
def test_strip_escapes_equals_the_substitution(text: str) -> None:
    assert strip_escapes(text) == _ESCAPES.sub("", text)


def test_plain_text_comes_back_as_the_same_object_and_escapes_go() -> None:
    plain = "  3%|█▍        | 25/800 [00:01<00:30, 25.3it/s]"
    assert strip_escapes(plain) is plain
    assert strip_escapes("\x1b[31mred\x1b[0m \x9bx") == "red x"
    assert sanitize("\x1b]0;title\x07ok\u202e") == "ok"
