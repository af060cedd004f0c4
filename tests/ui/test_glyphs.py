"""Text-mode drawing helpers (rltui/ui/glyphs.py): word wrapping that never cuts a word, and the
multi-row block chart that stacks to the one-row sparkline."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rltui.ui.glyphs import block_chart, sparkline, wrap_words


@given(
    st.lists(st.from_regex(r"[a-z0-9.e\-]{1,12}", fullmatch=True), min_size=1, max_size=30),
    st.integers(14, 60),
)
def test_wrap_words_never_cuts_a_word(words: list[str], width: int) -> None:
    text = " ".join(words)
    for max_lines in (1, 2, 3):
        lines = wrap_words(text, width, max_lines)
        assert 1 <= len(lines) <= max_lines
        for line in lines:
            assert len(line) <= width
            for token in line.removesuffix("…").split():
                assert token in words
        if len(" ".join(lines).split()) < len(words):
            assert lines[-1].endswith("…")


def test_block_chart_rows_stack_to_the_one_row_sparkline() -> None:
    values = np.concatenate([np.linspace(0.0, 1.0, 30), [50.0], np.zeros(5)])
    one = block_chart(values, 36, 1)
    assert one == [sparkline(values, 36)]
    rows = block_chart(values, 36, 4)
    assert len(rows) == 4
    assert all(len(r) == 36 for r in rows)
    spike = 30
    assert all(r[spike] == "█" for r in rows)  # the spike fills every row
    assert rows[-1][0] != " "
    assert all(r[0] == " " for r in rows[:-1])
