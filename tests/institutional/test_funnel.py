"""Funnel-plot control limits (exact Poisson, Spiegelhalter's interpolation) against a hand calculation,
exact O/E intervals, and expected deaths against R's predict(coxph, type = "expected")."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from numpy.testing import assert_allclose

from reportgen.institutional.riskadjust import expected_events, funnel_limit, ratio_ci

FIXTURES = Path(__file__).parent / "fixtures"


def _cdf(y: int, mu: float) -> float:
    """P(Y <= y) for Y ~ Poisson(mu), summed term by term."""
    return sum(math.exp(-mu + k * math.log(mu) - math.lgamma(k + 1)) for k in range(y + 1)) if y >= 0 else 0.0


def _hand_limit(mu: float, p: float) -> float:
    y = 0
    while _cdf(y, mu) < p:
        y += 1
    a = (_cdf(y, mu) - p) / (_cdf(y, mu) - _cdf(y - 1, mu))
    return max((y - a) / mu, 0.0)


def test_limits_match_hand_calculation() -> None:
    for mu in (0.8, 3.0, 10.0, 47.5, 200.0):
        for p in (0.001, 0.025, 0.975, 0.999):
            assert_allclose(funnel_limit([mu], p)[0], _hand_limit(mu, p), rtol=1e-10)


def test_limit_at_ten_expected_written_out() -> None:
    """E = 10, p = 0.975: y = 17 (P(Y<=16) = 0.97301, P(Y<=17) = 0.98572), a = 0.8419, limit 1.6158."""
    f16, f17 = _cdf(16, 10.0), _cdf(17, 10.0)
    assert f16 < 0.975 <= f17
    assert_allclose(funnel_limit([10.0], 0.975)[0], (17 - (f17 - 0.975) / (f17 - f16)) / 10, rtol=1e-12)
    assert_allclose(funnel_limit([10.0], 0.975)[0], 1.615995, rtol=1e-6)


def test_limits_narrow_as_expected_grows() -> None:
    e = np.array([5.0, 20.0, 100.0, 1000.0])
    hi, lo = funnel_limit(e, 0.999), funnel_limit(e, 0.001)
    assert np.all(np.diff(hi) < 0) and np.all(np.diff(lo) > 0)
    assert np.all(lo >= 0)


def test_exact_ratio_interval() -> None:
    """Garwood: O = 10, E = 8 -> chi2(0.025, 20)/2/8 and chi2(0.975, 22)/2/8 = 0.5995, 2.2988."""
    lo, hi = ratio_ci(10, 8.0)
    assert_allclose([lo, hi], [9.590777 / 2 / 8, 36.78071 / 2 / 8], rtol=1e-6)
    assert ratio_ci(0, 5.0)[0] == 0.0


def test_expected_deaths_match_r() -> None:
    """R: fit <- coxph(Surv(time, status) ~ age + I(sex == 2) + ph.ecog, data = lung, ties = ...);
    tapply(predict(fit, type = "expected"), lung$inst, sum) (complete cases, inst as the unit)."""
    fixture = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
    rows = fixture["data"]
    time = np.array([r["time"] for r in rows], dtype=float)
    status = np.array([r["status"] for r in rows], dtype=float)
    X = np.array([[r["age"], r["sex"] == 2, r["ph.ecog"]] for r in rows], dtype=float)
    inst = np.array([r["inst"] for r in rows])
    for ties in ("efron", "breslow"):
        exp, _ = expected_events(time, status, X, ties)
        ref = fixture[ties]
        assert_allclose(exp[:10], ref["first10"], rtol=1e-6)
        units = sorted(ref["by_inst"], key=float)
        assert_allclose([exp[inst == float(u)].sum() for u in units], [ref["by_inst"][u] for u in units], rtol=1e-6)
        assert_allclose(exp.sum(), status.sum(), rtol=1e-9)
