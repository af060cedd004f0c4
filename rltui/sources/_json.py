"""JSON from a run, parsed without the limits of ``json.loads`` turning valid files into "corrupt".

Two things in a valid file make Python's parser give up on all of it: an integer longer than
``sys.get_int_max_str_digits()`` (4300 digits: ``ValueError``) and nesting deeper than the
recursion limit (``RecursionError``). :func:`loads` parses long integers as floats (a metric that
large is ``inf`` anyway, and no step is that long); :func:`parse_shallow` takes a top-level
object apart member by member (and the elements of its arrays one by one), so a single entry
nested too deep is skipped and named instead of losing every other entry.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Integers with more digits than this are parsed as floats (inf beyond float range).
MAX_INT_DIGITS = 400


def _parse_int(text: str) -> int | float:
    digits = len(text) - (text[0] in "+-")
    if digits <= MAX_INT_DIGITS:
        return int(text)
    return -math.inf if text.startswith("-") else math.inf


_DECODER = json.JSONDecoder(parse_int=_parse_int)


def loads(text: str) -> Any:
    """``json.loads`` with long integers as floats; ``NaN``/``Infinity`` accepted as Python does."""
    return _DECODER.decode(text)


_WS = " \t\r\n"


def _skip_ws(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in _WS:
        i += 1
    return i


def _value_end(text: str, i: int) -> int:
    """Index just past the JSON value starting at ``text[i]``, found without recursion."""
    n = len(text)
    depth = 0
    j = i
    while j < n:
        c = text[j]
        if c == '"':
            j += 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            if depth == 0:
                return j
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            if depth == 0:
                return j  # the end of the enclosing container
            depth -= 1
            if depth == 0:
                return j + 1
        elif depth == 0 and c in ",:" + _WS:
            return j
        j += 1
    if depth:
        raise ValueError("unterminated JSON value")
    return j


def _parse_piece(text: str) -> Any:
    return _DECODER.decode(text)


def _array(text: str, i: int, name: str, deep: list[str]) -> tuple[list[Any], int]:
    out: list[Any] = []
    i = _skip_ws(text, i + 1)
    if i < len(text) and text[i] == "]":
        return out, i + 1
    index = 0
    while i < len(text):
        end = _value_end(text, i)
        try:
            out.append(_parse_piece(text[i:end]))
        except RecursionError:
            deep.append(f"{name}[{index}]")
        index += 1
        i = _skip_ws(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip_ws(text, i + 1)
            continue
        if i < len(text) and text[i] == "]":
            return out, i + 1
        raise ValueError(f"expected ',' or ']' in {name} at character {i}")
    raise ValueError(f"unterminated array {name}")


def parse_shallow(text: str) -> tuple[dict[str, Any], list[str]]:
    """A top-level object parsed member by member; also the names of the parts skipped as too deep.

    Arrays directly under the top level (``log_history``) are parsed element by element. Raises
    ``ValueError`` for text that is not a JSON object.
    """
    deep: list[str] = []
    out: dict[str, Any] = {}
    i = _skip_ws(text, 0)
    if i >= len(text) or text[i] != "{":
        raise ValueError("top level is not a JSON object")
    i = _skip_ws(text, i + 1)
    while i < len(text) and text[i] != "}":
        end = _value_end(text, i)
        key = _parse_piece(text[i:end])
        if not isinstance(key, str):
            raise ValueError(f"expected a key at character {i}")
        i = _skip_ws(text, end)
        if i >= len(text) or text[i] != ":":
            raise ValueError(f"expected ':' at character {i}")
        i = _skip_ws(text, i + 1)
        if i < len(text) and text[i] == "[":
            value, i = _array(text, i, key, deep)
            out[key] = value
        else:
            end = _value_end(text, i)
            try:
                out[key] = _parse_piece(text[i:end])
            except RecursionError:
                deep.append(key)
            i = end
        i = _skip_ws(text, i)
        if i < len(text) and text[i] == ",":
            i = _skip_ws(text, i + 1)
    if i >= len(text):
        raise ValueError("unterminated top-level object")
    return out, deep
