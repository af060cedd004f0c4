"""The flat-dict fast path of the console reader splits exactly as the character walk does."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given, settings

from rltui.sources.console import _dict_metrics, _dict_metrics_each, _key_plan, _split_flat, _walk_dict

_PIECES = st.sampled_from(
    [
        "'",
        '"',
        ":",
        ",",
        " ",
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        "\\",
        "a",
        "loss",
        "1e-05",
        "-0.5",
        "nan",
        "\t",
        "\u3000",
        "\x1f",
    ]
)


def _walk(s: str) -> object:
    try:
        return _walk_dict(s, 0)
    except Exception as e:
        return type(e).__name__


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_flat_split_equals_the_walk(body: str) -> None:
    s = "{" + body
    flat = _split_flat(s, 0)
    if flat is not None:
        assert flat == _walk(s)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ab:,} '\"\\", max_size=6), st.text(alphabet="0123456789.e-+naif :", max_size=8)
        ),
        min_size=1,
        max_size=6,
    )
)
def test_log_dicts_split_equally(items: list[tuple[str, str]]) -> None:
    s = "{" + ", ".join(f"'{k}': {v}" for k, v in items) + "} tail"
    flat = _split_flat(s, 0)
    if flat is not None:
        assert flat == _walk(s)


def test_a_trl_log_line_takes_the_fast_path() -> None:
    s = "{'loss': 0.1234, 'grad_norm': 1.5, 'learning_rate': 1e-05, 'epoch': 0.01}"
    assert _split_flat(s, 0) == (
        [("'loss'", "0.1234"), ("'grad_norm'", "1.5"), ("'learning_rate'", "1e-05"), ("'epoch'", "0.01")],
        len(s),
    )


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ab:,} '\"\\", max_size=6),
            st.text(alphabet="0123456789.e-+naif :,'\"}\\ ", max_size=8),
            st.sampled_from(["'", "", " '", "' "]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_quoted_values_split_as_the_walk_splits_them(items: list[tuple[str, str, str]]) -> None:
    """transformers 5 prints every value as a string ('2.214e-20'): the fast path takes them,
    with quotes, commas, braces or backslashes inside the value left to the walk."""
    s = "{" + ", ".join(f"'{k}': {q}{v}{q.strip()}" for k, v, q in items) + "}"
    flat = _split_flat(s, 0)
    if flat is not None:
        assert flat == _walk(s)


def test_a_transformers5_log_line_takes_the_fast_path() -> None:
    s = "{'loss': '2.214e-20', 'grad_norm': '8.16e-15', 'epoch': '1.266'}"
    assert _split_flat(s, 0) == (
        [("'loss'", "'2.214e-20'"), ("'grad_norm'", "'8.16e-15'"), ("'epoch'", "'1.266'")],
        len(s),
    )


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["'loss'", "'grad_norm'", "'epoch'", "'percentage'", "bad", "'a\x1bb'"]),
            st.text(alphabet="0123456789.eE-+naif '\x00", min_size=1, max_size=70),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_dict_metrics_fast_path_equals_value_by_value(pairs: list[tuple[str, str]]) -> None:
    """Every value a plain number: converted in one pass; the result (values, order, repeated
    keys: the last wins) is what converting them one by one gives, whatever the values."""
    got = _dict_metrics(pairs)
    want = _dict_metrics_each(_key_plan(tuple(k for k, _ in pairs)), pairs)
    assert repr(got) == repr(want)
    assert list(got[0]) == list(want[0])
