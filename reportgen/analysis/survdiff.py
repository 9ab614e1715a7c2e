"""Tests between survival curves (analysis stage): times, events and groups in, test results out.

Takes in per-patient follow-up times, 0/1 event indicators, a group label per row (int or
string) and optionally a stratum label per row. Gives out a ``SurvdiffResult`` (chi-square
statistic, df, p, observed and expected counts per group and their variance matrix) for the
log-rank family (``survdiff``), the log-rank test for trend (``logrank_trend``) and pairwise
log-rank tests with multiplicity adjustment (``pairwise_survdiff``, ``p_adjust``). ``survdiff_from_counts``
gives the same test from counts of events and censorings per (time, group, stratum) cell, e.g.
aggregated over the partitions of data too large for one machine; it shares ``survdiff``'s code path.

Numbers follow R's ``survival::survdiff`` (3.5): the weight at an event time t is
S(t-)^rho from the Kaplan-Meier curve of all groups pooled (within stratum), observed and
expected counts are weighted the same way, groups whose expected count is 0 are left out of
the statistic, and a stratified test sums O - E and the variance over strata. ``gamma``
extends the weight to Fleming-Harrington G(rho, gamma): S(t-)^rho (1 - S(t-))^gamma, which R's
``survdiff`` does not offer. As with ``survdiff``'s ``timefix``, nothing merges nearly equal
times here: equal times must be exactly equal.

Group levels are sorted as R sorts factor levels (numbers numerically, strings by code point,
i.e. R in the C locale) unless an explicit ``levels`` order is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.stats import chi2

PAdjust = Literal["holm", "bonferroni", "BH", "none"]


@dataclass(frozen=True, eq=False)
class SurvdiffResult:
    """A test of equal survival across groups, as R's ``survdiff`` object.

    ``observed``, ``expected`` and ``n`` are per group in the order of ``groups``;
    ``variance`` is the variance matrix of O - E. ``observed`` and ``expected`` are weighted
    when rho or gamma is not 0 (as R's ``obs`` and ``exp``). ``df`` counts the groups with a
    positive expected count, minus one; when that is 0 the statistic is 0 (as R) and p is
    NaN (no test).
    """

    statistic: float
    df: int
    p: float
    observed: NDArray[np.float64]
    expected: NDArray[np.float64]
    variance: NDArray[np.float64]
    groups: tuple[Any, ...]
    n: NDArray[np.int64]
    method: str
    rho: float
    gamma: float
    n_strata: int


def _distinct(arr: NDArray) -> tuple[list[Any], NDArray[np.intp]]:
    """Distinct values, sorted, and each item's index among them; ValueError on missing values.

    Text (object arrays) is hashed (``pandas.factorize``) rather than sorted item by item: with
    10^6 rows that is the difference between milliseconds and a second."""
    if arr.dtype.kind == "f" and np.any(np.isnan(arr)):
        raise ValueError("group has missing values; drop or fix those rows first")
    if arr.dtype.kind == "O":
        codes, uniq = pd.factorize(arr.ravel(), use_na_sentinel=True)
        if codes.size and codes.min() < 0:
            raise ValueError("group has missing values; drop or fix those rows first")
        rank = np.argsort(np.asarray(uniq, dtype=object), kind="stable")
        position = np.empty(rank.size, dtype=np.intp)
        position[rank] = np.arange(rank.size)
        return np.asarray(uniq, dtype=object)[rank].tolist(), position[codes]
    present, inverse = np.unique(arr, return_inverse=True)
    return present.tolist(), inverse.ravel().astype(np.intp)


def factor_levels(values: ArrayLike, levels: Sequence[Any] | None = None) -> tuple[Any, ...]:
    """Distinct values in R's factor-level order (sorted), or ``levels`` checked against the data."""
    present, _ = _distinct(np.asarray(values))
    if levels is None:
        return tuple(present)
    wanted = tuple(levels)
    missing = set(present) - set(wanted)
    if missing:
        raise ValueError(f"group values not among the levels given: {sorted(map(str, missing))}")
    if len(set(wanted)) != len(wanted):
        raise ValueError("levels has duplicates")
    return wanted


def _codes(values: ArrayLike, levels: tuple[Any, ...]) -> NDArray[np.intp]:
    """Integer code (position in ``levels``) of each value."""
    lookup = {v: i for i, v in enumerate(levels)}
    uniq, inv = _distinct(np.asarray(values))
    return np.asarray([lookup[v] for v in uniq], dtype=np.intp)[inv]


def _check(time: ArrayLike, event: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    t = np.asarray(time, dtype=float)
    e = np.asarray(event).astype(float)
    if t.ndim != 1 or t.shape != e.shape:
        raise ValueError("time and event must be 1-D arrays of the same length")
    if not np.all(np.isfinite(t)):
        raise ValueError("time has missing or infinite values; drop or fix those rows first")
    if not np.all((e == 0) | (e == 1)):
        raise ValueError("event must be 0 (censored) or 1 (event) on every row")
    return t, e


def _one_stratum(
    t: NDArray[np.float64],
    e: NDArray[np.float64],
    g: NDArray[np.intp],
    k: int,
    rho: float,
    gamma: float,
    n: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Weighted observed, expected and variance matrix within one stratum (R's survdiff2).

    Each entry is one row (``n`` None) or a count of ``n`` rows with ``e`` events among them."""
    times, inv = np.unique(t, return_inverse=True)
    m = times.size
    cell = inv * k + g
    d_tg = np.bincount(cell, weights=e, minlength=m * k).reshape(m, k)
    if n is None:
        n_tg = np.bincount(cell, minlength=m * k).reshape(m, k).astype(float)
    else:
        n_tg = np.bincount(cell, weights=n, minlength=m * k).reshape(m, k)
    r_tg = np.cumsum(n_tg[::-1], axis=0)[::-1]  # at risk: time >= t
    d = d_tg.sum(axis=1)
    r = r_tg.sum(axis=1)
    s_after = np.cumprod(1.0 - d / r)
    s_before = np.concatenate([[1.0], s_after[:-1]])  # pooled KM at t-
    w = s_before**rho * (1.0 - s_before) ** gamma
    observed = (w[:, None] * d_tg).sum(axis=0)
    expected = ((w * d / r)[:, None] * r_tg).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where((d > 0) & (r > 1), w**2 * d * (r - d) / (r * (r - 1.0)), 0.0)
    variance = np.diag((c[:, None] * r_tg).sum(axis=0)) - (r_tg * (c / r)[:, None]).T @ r_tg
    return observed, expected, variance


def _method(rho: float, gamma: float, stratified: bool) -> str:
    if rho == 0 and gamma == 0:
        name = "log-rank"
    elif rho == 1 and gamma == 0:
        name = "Peto-Peto (rho=1)"
    else:
        name = f"Fleming-Harrington (rho={rho:g}, gamma={gamma:g})"
    return f"stratified {name}" if stratified else name


def _chisq(o_minus_e: NDArray[np.float64], variance: NDArray[np.float64], use: NDArray[np.bool_]) -> tuple[float, int]:
    """R's survdiff statistic: drop groups with expected 0, then the first remaining group."""
    df = int(use.sum()) - 1
    if df < 1:
        return 0.0, max(df, 0)
    x = o_minus_e[use][1:]
    v = variance[np.ix_(use, use)][1:, 1:]
    try:
        return float(x @ np.linalg.solve(v, x)), df
    except np.linalg.LinAlgError:  # no variance (e.g. everyone at risk has the event): not testable
        return float("nan"), df


def survdiff(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
    levels: Sequence[Any] | None = None,
) -> SurvdiffResult:
    """G(rho, gamma) test of equal survival across groups, as R's ``survdiff(Surv(t, e) ~ g, rho = rho)``.

    rho = gamma = 0 is the log-rank test, rho = 1 the Peto-Peto modification of the Gehan-
    Wilcoxon test. With ``strata`` the O - E and variances are summed over strata, as
    ``survdiff(Surv(t, e) ~ g + strata(s))``.
    """
    t, e = _check(time, event)
    return _survdiff(t, e, None, group, strata, rho, gamma, levels)


def survdiff_from_counts(
    time: ArrayLike,
    group: ArrayLike,
    n_event: ArrayLike,
    n_censor: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    rho: float = 0.0,
    gamma: float = 0.0,
    levels: Sequence[Any] | None = None,
) -> SurvdiffResult:
    """``survdiff`` from counts instead of rows: each entry is a (time, group, stratum) cell with its
    numbers of events and censorings (a cell may appear several times, e.g. once per data partition:
    the entries are added). With whole-number counts the result equals ``survdiff`` on the rows the
    counts describe; both share one code path."""
    t = np.asarray(time, dtype=float)
    d = np.asarray(n_event, dtype=float)
    c = np.asarray(n_censor, dtype=float)
    if t.ndim != 1 or d.shape != t.shape or c.shape != t.shape:
        raise ValueError("time, n_event and n_censor must be 1-D arrays of the same length")
    if not np.all(np.isfinite(t)):
        raise ValueError("time has missing or infinite values; drop or fix those rows first")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(c))) or np.any(d < 0) or np.any(c < 0):
        raise ValueError("n_event and n_censor must be finite and >= 0")
    keep = (d + c) > 0
    grp = np.asarray(group)
    if grp.shape != t.shape:
        raise ValueError("group must have the same length as time")
    st = None if strata is None else np.asarray(strata)[keep]
    return _survdiff(t[keep], d[keep], (d + c)[keep], grp[keep], st, rho, gamma, levels)


def _survdiff(
    t: NDArray[np.float64],
    e: NDArray[np.float64],
    n: NDArray[np.float64] | None,
    group: ArrayLike,
    strata: ArrayLike | None,
    rho: float,
    gamma: float,
    levels: Sequence[Any] | None,
) -> SurvdiffResult:
    """The test from rows (``n`` None) or from cells of ``n`` rows with ``e`` events each."""
    grp = np.asarray(group)
    if grp.shape != t.shape:
        raise ValueError("group must have the same length as time")
    if rho < 0 or gamma < 0:
        raise ValueError("rho and gamma must be >= 0")
    lv = factor_levels(grp, levels)
    if len(lv) < 2:
        raise ValueError("survdiff needs at least two groups; the data have one")
    k = len(lv)
    g = _codes(grp, lv)
    if strata is None:
        s_codes = np.zeros(t.size, dtype=np.intp)
        n_strata = 1
    else:
        s_arr = np.asarray(strata)
        if s_arr.shape != t.shape:
            raise ValueError("strata must have the same length as time")
        s_lv = factor_levels(s_arr)
        s_codes = _codes(s_arr, s_lv)
        n_strata = len(s_lv)

    observed = np.zeros(k)
    expected = np.zeros(k)
    variance = np.zeros((k, k))
    order = np.argsort(s_codes, kind="stable")
    bounds = np.searchsorted(s_codes[order], np.arange(n_strata + 1))
    for j in range(n_strata):  # one pass per stratum, vectorised within
        rows = order[bounds[j] : bounds[j + 1]]
        o, x, v = _one_stratum(t[rows], e[rows], g[rows], k, rho, gamma, None if n is None else n[rows])
        observed += o
        expected += x
        variance += v

    stat, df = _chisq(observed - expected, variance, expected > 0)
    counts = np.bincount(g, minlength=k) if n is None else np.bincount(g, weights=n, minlength=k)
    return SurvdiffResult(
        statistic=stat,
        df=df,
        p=float(chi2.sf(stat, df)) if df > 0 else float("nan"),
        observed=observed,
        expected=expected,
        variance=variance,
        groups=lv,
        n=np.round(counts).astype(np.int64),
        method=_method(rho, gamma, strata is not None),
        rho=float(rho),
        gamma=float(gamma),
        n_strata=n_strata,
    )


def logrank_trend(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    scores: Sequence[float] | Mapping[Any, float],
    *,
    strata: ArrayLike | None = None,
    levels: Sequence[Any] | None = None,
) -> tuple[float, int, float]:
    """Log-rank test for trend: (statistic, df = 1, p) with statistic (w'(O-E))^2 / (w'Vw).

    ``scores`` is a mapping level -> score, or a sequence aligned with the sorted group levels
    (or with ``levels`` when given). O, E and V are the log-rank ones (summed over strata).
    """
    res = survdiff(time, event, group, strata=strata, levels=levels)
    if isinstance(scores, Mapping):
        w = np.asarray([float(scores[lv]) for lv in res.groups])
    else:
        w = np.asarray(scores, dtype=float)
        if w.shape != (len(res.groups),):
            raise ValueError(f"scores needs one value per group level {list(res.groups)}")
    num = float(w @ (res.observed - res.expected))
    den = float(w @ res.variance @ w)
    stat = num * num / den
    return stat, 1, float(chi2.sf(stat, 1))


def p_adjust(p: ArrayLike, method: PAdjust = "holm") -> NDArray[np.float64]:
    """Adjusted p-values, as R's ``p.adjust(p, method)`` for "holm", "bonferroni", "BH", "none".

    Missing p-values (NaN) stay missing and, as in R, do not count among the tests."""
    pv = np.asarray(p, dtype=float)
    known = ~np.isnan(pv)
    if not known.all():
        out = np.full(pv.shape, np.nan)
        out[known] = p_adjust(pv[known], method)
        return out
    n = pv.size
    if method == "none" or n == 0:
        return pv.copy()
    if method == "bonferroni":
        return np.minimum(n * pv, 1.0)
    if method == "holm":
        order = np.argsort(pv, kind="stable")
        adj = np.minimum(np.maximum.accumulate((n - np.arange(n)) * pv[order]), 1.0)
    elif method == "BH":
        order = np.argsort(pv, kind="stable")[::-1]
        i = np.arange(n, 0, -1)
        adj = np.minimum(np.minimum.accumulate(n / i * pv[order]), 1.0)
    else:
        raise ValueError(f"adjust must be 'holm', 'bonferroni', 'BH' or 'none', not {method!r}")
    out = np.empty(n)
    out[order] = adj
    return out


def pairwise_survdiff(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    adjust: PAdjust = "holm",
    rho: float = 0.0,
    gamma: float = 0.0,
    strata: ArrayLike | None = None,
    levels: Sequence[Any] | None = None,
) -> list[tuple[Any, Any, float, float, float]]:
    """Each pair of groups tested on its own rows: [(level_a, level_b, statistic, p_raw, p_adjusted)].

    Pairs come in level order (a before b). Each test is ``survdiff`` on the rows of the two
    groups; the p-values are then adjusted together, as R's ``p.adjust(p, adjust)``.
    """
    t, e = _check(time, event)
    grp = np.asarray(group)
    lv = factor_levels(grp, levels)
    s_arr = None if strata is None else np.asarray(strata)
    stats: list[tuple[Any, Any, float, float]] = []
    for a, b in combinations(lv, 2):
        rows = (grp == a) | (grp == b)
        res = survdiff(
            t[rows],
            e[rows],
            grp[rows],
            strata=None if s_arr is None else s_arr[rows],
            rho=rho,
            gamma=gamma,
            levels=[a, b],
        )
        stats.append((a, b, res.statistic, res.p))
    adjusted = p_adjust([s[3] for s in stats], adjust)
    return [(a, b, st, p, float(pa)) for (a, b, st, p), pa in zip(stats, adjusted, strict=True)]
