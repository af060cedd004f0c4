"""The numpy stand-ins written for speed (issue 11) give numpy's answers bit for bit."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from rltui.arrays import union, unique, unique_inverse
from rltui.model.patterns.context import finite, finite_tail
from rltui.model.stats import median, rows_nanmedian


@pytest.mark.parametrize("width", [1, 2, 3, 5, 20, 21, 50])
def test_rows_nanmedian_is_numpys(width: int) -> None:
    rng = np.random.default_rng(width)
    for trial in range(200):
        a = rng.normal(size=(30, width)) * 10.0 ** rng.integers(-5, 5)
        a[rng.random((30, width)) < rng.random()] = np.nan
        if trial % 7 == 0:
            a = np.round(a)  # ties
        if trial % 11 == 0:
            a = np.where(np.isnan(a), a, 0.0 * a)  # signed zeros
        if trial % 13 == 0:
            a = np.where(np.isnan(a), a, 1.7e308 * np.sign(a))  # x + x overflows
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            want = np.nanmedian(a, axis=1)
            got = rows_nanmedian(a)
        assert np.array_equal(got, want, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(want))


def test_median_is_numpys_on_finite_values() -> None:
    rng = np.random.default_rng(0)
    for n in range(1, 60):
        a = np.round(rng.normal(size=n), int(rng.integers(0, 4)))
        assert median(a) == float(np.median(a))


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_unique_union_inverse_are_numpys(dtype: type[np.integer[Any]]) -> None:
    rng = np.random.default_rng(3)
    for n in (0, 1, 2, 5, 100, 5000):
        a = rng.integers(0, 50, n).astype(dtype)
        b = rng.integers(0, 80, n // 2 + 1).astype(dtype)
        u, inv = np.unique(a, return_inverse=True)
        u2, inv2 = unique_inverse(a)
        assert u2.dtype == u.dtype
        assert np.array_equal(u2, u)
        assert np.array_equal(inv2, inv)
        assert np.array_equal(unique(a), np.unique(a))
        assert np.array_equal(union(a, b), np.union1d(a, b))


def test_finite_tail_is_the_tail_of_finite() -> None:
    rng = np.random.default_rng(4)
    for n in (0, 1, 5, 63, 64, 65, 300, 5000):
        a = rng.normal(size=n)
        a[rng.random(n) < 0.7] = np.nan
        a[rng.random(n) < 0.05] = np.inf
        for k in (1, 3, 6, 20, 100):
            assert np.array_equal(finite_tail(a, k), finite(a)[-k:])
