"""One spelling of numbers everywhere (issue 12 point 8): plain digits, short exponents."""

from __future__ import annotations

import math

from rltui import numfmt


def test_plain_digits_between_a_thousandth_and_a_million() -> None:
    assert numfmt.num(2763.4) == "2763"
    assert numfmt.num(36.96) == "36.96"
    assert numfmt.num(0.44731) == "0.4473"
    assert numfmt.num(5) == "5"
    assert numfmt.num(0.0) == "0"


def test_short_exponents_outside_that_range() -> None:
    assert numfmt.num(7.46e-5) == "7.46e-5"
    assert numfmt.num(1.23e7) == "1.23e7"
    assert numfmt.num(math.nan) == "NaN"
    assert numfmt.num(-math.inf) == "-Inf"


def test_python_exponents_in_texts_are_written_short() -> None:
    assert numfmt.short_exponent("loss 7.46e-05, x5e+04, 2.77e+03 steps/min") == (
        "loss 7.46e-5, x5e4, 2.77e3 steps/min"
    )
    assert numfmt.short_exponent("run e+05 v1.2e-05") == "run e+05 v1.2e-5"


def test_time_axis_unit_follows_the_span() -> None:
    assert numfmt.time_axis(1.5) == (1.0, "s")
    assert numfmt.time_axis(2400) == (60.0, "min")
    assert numfmt.time_axis(5 * 3600) == (3600.0, "h")


def test_log_ticks_are_labelled_with_plain_numbers() -> None:
    pos, labels = numfmt.log_ticks(-2.0, 2.0)
    assert pos == [-2.0, -1.0, 0.0, 1.0, 2.0]
    _, narrow = numfmt.log_ticks(-1.0, 0.35)
    assert narrow == ["0.1", "0.2", "0.5", "1", "2"]
    assert labels == ["0.01", "0.1", "1", "10", "100"]
