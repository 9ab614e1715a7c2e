"""Risk adjustment of units: follow-up, events and a case-mix design -> expected events, O/E and funnel limits.

- ``expected_events``: a Cox model of the case-mix covariates (``coxph.fit_cox``, units not in the
  model) gives each patient's expected number of events over their own follow-up, the cumulative
  baseline hazard at their time times exp(linear predictor). This is R's
  ``predict(coxph(...), type = "expected")`` (= status - martingale residual; Breslow hazard, or
  Efron's for tied deaths as R's ``coxmart``). Summed over a unit it is the unit's expected
  number of deaths had its patients had the institution's hazard for their case mix (indirect
  standardisation); over everyone it equals the observed number.
- ``funnel_limits``: control limits of O/E at a given expected count E, from the exact Poisson
  distribution with Spiegelhalter's interpolation (Spiegelhalter 2005, Stat Med 24:1185): y_p is
  the smallest integer with P(Y <= y_p) >= p for Y ~ Poisson(E), a = (P(Y <= y_p) - p) /
  (P(Y <= y_p) - P(Y <= y_p - 1)), and the limit is (y_p - a) / E (never below 0). 95% limits use
  p = 0.025 and 0.975, 99.8% limits p = 0.001 and 0.999.
- ``ratio_ci``: the exact (Garwood) interval of O/E: chi2(a/2, 2O)/2E to chi2(1 - a/2, 2O + 2)/2E.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from ..analysis.coxph import fit_cox

LIMITS = ((0.95, 0.025, 0.975), (0.998, 0.001, 0.999))  # (coverage, lower p, upper p)


def cumulative_hazard_expected(
    time: ArrayLike, event: ArrayLike, lp: ArrayLike, ties: str = "efron"
) -> NDArray[np.float64]:
    """Each patient's expected events: cumulative baseline hazard at their time x exp(lp), as R's coxmart."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    eta = np.asarray(lp, dtype=float)
    score = np.exp(eta - eta.mean()) if eta.size else eta
    uniq, inv = np.unique(t, return_inverse=True)
    m = uniq.size
    risk = np.cumsum(np.bincount(inv, weights=score, minlength=m)[::-1])[::-1]
    deaths = np.bincount(inv, weights=e, minlength=m)
    if ties == "efron":
        e_denom = np.bincount(inv, weights=score * e, minlength=m)
        d_int = deaths.astype(np.int64)
        group = np.repeat(np.arange(m), d_int)
        first = np.repeat(np.cumsum(d_int) - d_int, d_int)
        frac = (np.arange(group.size) - first) / np.maximum(d_int[group], 1)
        terms = 1.0 / (risk[group] - frac * e_denom[group])
        hazard = np.bincount(group, weights=terms, minlength=m)
        own = np.bincount(group, weights=(1.0 - frac) * terms, minlength=m)
    elif ties == "breslow":
        hazard = np.where(deaths > 0, deaths / risk, 0.0)
        own = hazard
    else:
        raise ValueError(f"ties must be 'efron' or 'breslow', not {ties!r}")
    cum = np.cumsum(hazard)
    before = cum - hazard
    return score * np.where(e > 0, before[inv] + own[inv], cum[inv])


def expected_events(
    time: ArrayLike, event: ArrayLike, X: ArrayLike, ties: str = "efron"
) -> tuple[NDArray[np.float64], dict[str, Any]]:
    """Expected events per patient from a Cox model of ``X`` (no covariates: the Nelson-Aalen hazard)."""
    X = np.asarray(X, dtype=float)
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    info: dict[str, Any] = {"model": "Cox proportional hazards", "ties": ties, "n": int(t.size), "columns": X.shape[1]}
    if X.shape[1] == 0 or not e.any():
        return cumulative_hazard_expected(t, e, np.zeros(t.size), ties), {**info, "converged": True}
    fit = fit_cox(t, e, X, ties=ties, concordance=True)
    coef = np.where(np.isfinite(fit.coef), fit.coef, 0.0)
    info.update(
        {
            "converged": bool(fit.converged),
            "coefficients": [float(c) if math.isfinite(c) else None for c in fit.coef],
            "not_estimable": {str(k): v for k, v in fit.not_estimable.items()},
            "concordance": float(fit.concordance) if math.isfinite(fit.concordance) else None,
        }
    )
    return cumulative_hazard_expected(t, e, X @ coef, ties), info


def funnel_limit(expected: ArrayLike, p: float) -> NDArray[np.float64]:
    """The p-th control limit of O/E at expected count E (exact Poisson, interpolated); NaN for E <= 0."""
    E = np.atleast_1d(np.asarray(expected, dtype=float))
    out = np.full(E.shape, np.nan)
    ok = E > 0
    mu = E[ok]
    y = stats.poisson.ppf(p, mu)
    f_y = stats.poisson.cdf(y, mu)
    f_prev = stats.poisson.cdf(y - 1, mu)
    a = (f_y - p) / (f_y - f_prev)
    out[ok] = np.maximum((y - a) / mu, 0.0)
    return out


def ratio_ci(observed: int, expected: float, level: float = 0.95) -> tuple[float | None, float | None]:
    """Exact Poisson interval of O/E (Garwood)."""
    if not expected > 0:
        return None, None
    a = 1.0 - level
    lo = 0.0 if observed == 0 else float(stats.chi2.ppf(a / 2, 2 * observed) / 2 / expected)
    hi = float(stats.chi2.ppf(1 - a / 2, 2 * observed + 2) / 2 / expected)
    return lo, hi


def position(observed: int, expected: float) -> str:
    """Where O/E lies against the funnel's limits at E: within, above95/below95, above99.8/below99.8."""
    ratio = observed / expected
    lo95, hi95 = funnel_limit(expected, 0.025)[0], funnel_limit(expected, 0.975)[0]
    lo998, hi998 = funnel_limit(expected, 0.001)[0], funnel_limit(expected, 0.999)[0]
    if ratio > hi998:
        return "above_99.8"
    if ratio > hi95:
        return "above_95"
    if ratio < lo998:
        return "below_99.8"
    if ratio < lo95:
        return "below_95"
    return "within"


def funnel_curve(e_min: float, e_max: float, n: int = 200) -> dict[str, list[float]]:
    """The four control limits on a grid of expected counts (for the plot and results.json)."""
    grid = np.geomspace(max(e_min, 0.5), max(e_max, e_min * 1.01, 1.0), n)
    out: dict[str, list[float]] = {"expected": [float(x) for x in grid]}
    for coverage, lo, hi in LIMITS:
        tag = f"{coverage * 100:g}"
        out[f"lower_{tag}"] = [float(x) for x in funnel_limit(grid, lo)]
        out[f"upper_{tag}"] = [float(x) for x in funnel_limit(grid, hi)]
    return out
