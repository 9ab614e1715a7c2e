"""Table 1 statistics against R (values computed with R 4.2.2; the call is quoted with each)."""

import numpy as np
import pytest

from reportgen.analysis.descriptive import (
    _smd_categorical,
    _smd_continuous,
    _test_categorical,
    _test_continuous,
    fisher_exact_rxc,
    table1,
)
from reportgen.build import validate

X = np.array([60, 55, 70, 52, 48, 66, 71.0])
Y = np.array([65, 58, 63, 80, 77, 69.0])


def test_wilcoxon_exact_without_ties():
    """wilcox.test(c(60,55,70,52,48,66,71), c(65,58,63,80,77,69))$p.value"""
    res = _test_continuous([X, Y])
    assert res["method"] == "Wilcoxon rank-sum test"
    assert res["p"] == pytest.approx(0.2342657343, rel=1e-8)


def test_wilcoxon_normal_approximation_with_ties():
    """wilcox.test(c(60,55,70,55,48,66,71), y)$p.value  (ties: normal approximation, continuity correction)"""
    x2 = X.copy()
    x2[3] = 55
    assert _test_continuous([x2, Y])["p"] == pytest.approx(0.2240012518, rel=1e-8)


def test_kruskal_wallis():
    """kruskal.test(list(x, y, c(50, 51, 90)))$p.value"""
    res = _test_continuous([X, Y, np.array([50, 51, 90.0])])
    assert res["method"] == "Kruskal-Wallis test" and res["df"] == 2
    assert res["p"] == pytest.approx(0.4250420274, rel=1e-8)


def test_chisq_without_correction():
    """chisq.test(matrix(c(20,10,12,25), 2), correct = FALSE)$p.value"""
    res = _test_categorical(np.array([[20, 12], [10, 25]]))
    assert res["method"] == "Pearson's chi-squared test"
    assert res["p"] == pytest.approx(0.00527642329, rel=1e-8)


def test_fisher_when_expected_below_5():
    """fisher.test(matrix(c(8,5,3,2,6,9), nrow = 2, byrow = TRUE))$p.value"""
    res = _test_categorical(np.array([[8, 5, 3], [2, 6, 9]]).T)
    assert res["method"] == "Fisher's exact test"
    assert res["p"] == pytest.approx(0.03728475321, rel=1e-8)


def test_fisher_rxc_is_deterministic_and_matches_2x2():
    t = np.array([[3, 1], [1, 3]])
    assert fisher_exact_rxc(t) == pytest.approx(0.4857142857142857)
    assert fisher_exact_rxc(np.array([[20, 13], [15, 9], [12, 7]])) == pytest.approx(1.0)


def test_smd():
    a, b = np.array([1.0, 2, 3, 4]), np.array([2.0, 3, 4, 5])
    assert _smd_continuous(a, b) == pytest.approx(1 / np.sqrt(np.var(a, ddof=1)))
    # binary: |p1 - p2| / sqrt((p1(1-p1) + p2(1-p2)) / 2)
    p1, p2 = 0.3, 0.5
    expected = abs(p1 - p2) / np.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    assert _smd_categorical(np.array([1 - p1, p1]), np.array([1 - p2, p2])) == pytest.approx(expected)


def test_table1_on_small_cohort(make_study):
    study, cohort = validate(make_study())
    t1 = table1(study, cohort)
    assert t1["n"] == {"A": 3, "B": 3}
    age = t1["variables"][0]
    assert age["missing"] == {"A": 0, "B": 1}
    assert age["summary"]["A"]["median"] == 60 and age["summary"]["B"]["median"] == 61.5
    # quantile(c(60, 55, 70, 65, 58)) -> 25% 58, 75% 65 (type 7)
    assert (age["overall"]["q1"], age["overall"]["q3"]) == (58, 65)
    sex = t1["variables"][1]
    assert [lvl["level"] for lvl in sex["levels"]] == ["M", "F"]
    assert sex["levels"][0]["counts"] == {"A": 2, "B": 1}


def test_wilcoxon_follows_r_choice_of_exact_test():
    """a <- c(1.1, 2.3, 3.5, 4.2, 5.9, 6.1, 7.7, 8.4, 9.0, 10.2)
    b <- c(2.0, 4.9, 6.6, 8.8, 9.9, 11.5, 12.1, 13.3, 14.0, 15.7); wilcox.test(a, b)$p.value  # exact: n < 50
    (SciPy's automatic choice would use the normal approximation here and give 0.03764.)"""
    a = np.array([1.1, 2.3, 3.5, 4.2, 5.9, 6.1, 7.7, 8.4, 9.0, 10.2])
    b = np.array([2.0, 4.9, 6.6, 8.8, 9.9, 11.5, 12.1, 13.3, 14.0, 15.7])
    assert _test_continuous([a, b])["p"] == pytest.approx(0.03546298902, rel=1e-8)
