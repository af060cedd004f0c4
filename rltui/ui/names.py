"""Run names told apart: what compare prints is the part that differs between runs.

``fixtures/runs/dpo_healthy`` and ``fixtures/runs/dpo_margin_explosion`` cut to 18 cells read
"fixtures/runs/dpo…" twice; stripping what every name shares (a common head up to a ``_ - . /``
boundary, a common tail of whole path components) leaves ``healthy`` and ``margin_explosion``.
"""

from __future__ import annotations

import os

SEPARATORS = "_-./ "


def _common_prefix_at_boundary(names: list[str], separators: str = SEPARATORS) -> int:
    """Length of the longest common head of ``names`` that ends just after a separator."""
    # Character by character on purpose: the cut then backs up to a separator.
    head = os.path.commonprefix(names)  # noqa: RUF071
    if all(len(n) > len(head) and n[len(head)] in separators for n in names):
        return len(head)  # the head ends right at a separator in every name
    cut = max((head.rfind(c) for c in separators), default=-1)
    return cut + 1


def distinct_names(names: list[str]) -> list[str]:
    """Each name without the head and tail every name shares; unchanged for one name, or where
    stripping would leave a name empty."""
    if len(names) < 2 or len(set(names)) < 2:
        return list(names)
    head = _common_prefix_at_boundary(names)
    rev = [n[::-1] for n in names]
    # A shared tail goes only as whole path components ("…/seed0"): inside a component the tail
    # is usually part of a value ("lr1e-4", "lr3e-4").
    tail = _common_prefix_at_boundary(rev, "/")
    out = []
    for n in names:
        part = n[head : len(n) - tail] if len(n) - tail > head else n[head:]
        out.append(part.strip(SEPARATORS) or n)
    return out
