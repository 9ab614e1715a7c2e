"""Number formatting: half-up rounding, p-values, CIs, missing values."""

import pytest

from reportgen.format import NumberStyle, ci, count_percent, num, p_text, percent, pvalue


@pytest.mark.parametrize(
    ("x", "digits", "expected"),
    [
        (2.675, 2, "2.68"),  # binary 2.67499999... but a reader rounds the decimal 2.675 up
        (0.125, 2, "0.13"),
        (2.5, 0, "3"),
        (3.5, 0, "4"),
        (-0.04, 1, "0.0"),  # no negative zero
        (1234.5678, 1, "1234.6"),
    ],
)
def test_num_rounds_half_up(x, digits, expected):
    assert num(x, digits) == expected


def test_num_missing_and_decimal_mark():
    assert num(None, 2) == "NE"
    assert num(float("nan"), 2, missing="NR") == "NR"
    assert num(3.14159, 2, NumberStyle(decimal_mark="\u00b7")) == "3\u00b714"


@pytest.mark.parametrize(
    ("p", "table", "text"),
    [
        (0.0004, "<0.001", "p < 0.001"),
        (0.0325, "0.033", "p = 0.033"),
        (0.05, "0.050", "p = 0.050"),
        (0.9996, ">0.99", "p > 0.99"),
        (None, "NE", "p = NE"),
    ],
)
def test_pvalues(p, table, text):
    assert pvalue(p) == table
    assert p_text(p) == text


def test_ci_separator_and_not_reached():
    assert ci(4.21, 6.04, 1) == "4.2\u20136.0"
    assert ci(8.1, None, 1) == "8.1\u2013NR"
    assert ci(-1.0, 2.0, 1) == "-1.0 to 2.0"


def test_percent_and_counts():
    assert percent(0.45215) == "45.2"
    assert count_percent(3, 8) == "3 (37.5%)"
    assert count_percent(0, 0) == "0"
