"""Language rules of the report text."""

import pytest

from reportgen.format import NumberStyle
from reportgen.narrative.words import (
    duration,
    hr_phrase,
    joined,
    landmark_label,
    lower_first,
    median_phrase,
    plural,
    rate_phrase,
    significant,
)

S = NumberStyle()


def test_plural():
    assert plural(1, "patient") == "1 patient"
    assert plural(0, "event") == "0 events"
    assert plural(74, "patient") == "74 patients"
    assert plural(2, "study") == "2 studies"


def test_landmark_label_is_a_singular_compound():
    assert landmark_label(6, "months") == "6-month"
    assert landmark_label(1.5, "years") == "1.5-year"


def test_duration_and_not_reached():
    assert duration(5.0999, "months", S) == "5.1 months"
    assert duration(1.0, "months", S) == "1.0 month"
    assert duration(None, "months", S) == "not reached"


def test_median_phrase_with_open_ci():
    assert (
        median_phrase({"median": None, "median_ci": [8.1, None]}, "months", 0.95, S)
        == "not reached (95% CI 8.1\u2013NR)"
    )
    assert (
        median_phrase({"median": 5.09, "median_ci": [3.2, 8.0]}, "months", 0.95, S)
        == "5.1 months (95% CI 3.2\u20138.0)"
    )


def test_rate_and_hr_phrases():
    assert rate_phrase({"survival": 0.4101, "ci": [0.23, 0.582]}, 0.95, S) == "41.0% (95% CI 23.0\u201358.2%)"
    assert rate_phrase({"survival": None, "ci": [None, None]}, 0.95, S) == "not estimable"
    row = {"hr": 0.6149, "ci": [0.3612, 1.0094], "p": 0.0571}
    assert hr_phrase(row, 0.95, S) == "HR 0.61, 95% CI 0.36\u20131.01, p = 0.057"
    assert hr_phrase({"hr": None}, 0.95, S) == "HR not estimable"


@pytest.mark.parametrize(
    ("p", "alpha", "expected"),
    [(0.049, 0.05, True), (0.05, 0.05, False), (None, 0.05, False), (float("nan"), 0.05, False)],
)
def test_significant_only_below_alpha(p, alpha, expected):
    assert significant(p, alpha) is expected


def test_joined_and_case():
    assert joined(["a"]) == "a"
    assert joined(["a", "b"]) == "a and b"
    assert joined(["a", "b", "c"], "or") == "a, b or c"
    assert lower_first("Overall survival") == "overall survival"
    assert lower_first("ECOG performance status") == "ECOG performance status"
