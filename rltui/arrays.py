"""``np.unique`` for integer arrays, without its first-call import of ``numpy.ma`` (~17 ms).

numpy's ``unique`` asks ``np.ma.is_masked`` about its input, which imports the whole masked-array
package the first time: a sixth of what ``rltui check`` on a tiny run costs beyond numpy itself.
The readers and the engine only ever take unique values of integer arrays (record lengths, tag
hashes, step numbers), where a sort and a comparison of neighbours give exactly numpy's answer.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

A = TypeVar("A", bound=np.ndarray)


def unique(a: A) -> A:
    """The sorted distinct values of an integer array (``np.unique(a)``)."""
    s = np.sort(a.ravel())
    if len(s) <= 1:
        return s  # type: ignore[return-value]
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]  # type: ignore[return-value]


def unique_inverse(a: A) -> tuple[A, np.ndarray]:
    """``np.unique(a, return_inverse=True)`` for a 1-D integer array."""
    order = np.argsort(a, kind="stable")
    s = a[order]
    keep = np.empty(len(s), dtype=bool)
    if len(s):
        keep[0] = True
        np.not_equal(s[1:], s[:-1], out=keep[1:])
    inv = np.empty(len(s), dtype=np.intp)
    inv[order] = np.cumsum(keep) - 1
    return s[keep], inv  # type: ignore[return-value]


def union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.union1d(a, b)`` for integer arrays."""
    return unique(np.concatenate([a, b]))
