"""Baseline characteristics (Table 1): ``Cohort`` -> a JSON-ready summary per covariate and group.

Categorical: counts per level and group, percentages of the non-missing, missing
counts; Pearson's chi-squared test (no continuity correction) when every expected
count is at least 5, otherwise Fisher's exact test (as gtsummary does). Continuous:
median, quartiles (R's default type-7 definition), mean, SD, range; Wilcoxon
rank-sum (Mann-Whitney) test for two groups, Kruskal-Wallis for more.
Standardised mean differences (SMD) for two groups: Cohen's d with pooled SD for
continuous; for categorical the multi-level SMD of Yang and Dalton (2012).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..data.cohort import Cohort
from ..spec.model import Study

_MAX_TABLES = 200_000  # about 2 s; beyond it the chi-squared test is used and said so


def fisher_exact_rxc(table: np.ndarray) -> float | None:
    """Two-sided Fisher exact p for an r x c table by full enumeration of the tables with the same
    margins (as R's fisher.test: tables no more probable than the observed, relative tolerance 1e-7).
    Returns None when there are more than _MAX_TABLES such tables."""
    table = np.asarray(table, dtype=int)
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    n = int(table.sum())
    lf = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])  # log k!
    const = lf[rows].sum() + lf[cols].sum() - lf[n]
    observed = const - lf[table].sum()
    limit = observed + 1e-7 * abs(observed) if observed != 0 else 1e-7
    total = 0.0
    count = 0
    r, c = table.shape

    def fill(i: int, col_left: np.ndarray, acc: float) -> None:
        nonlocal total, count
        if i == r - 1:  # the last row is fixed by the column margins
            logp = acc - lf[col_left].sum()
            count += 1
            if count > _MAX_TABLES:
                raise OverflowError
            if logp <= limit:
                total += math.exp(logp)
            return
        for row_cells in _compositions(int(rows[i]), col_left):
            fill(i + 1, col_left - row_cells, acc - lf[row_cells].sum())

    try:
        fill(0, cols.copy(), const)
    except OverflowError:
        return None
    return min(1.0, total)


def _compositions(total: int, caps: np.ndarray):  # type: ignore[no-untyped-def]
    """Every vector of non-negative ints below ``caps`` that sums to ``total``."""
    if len(caps) == 1:
        if total <= caps[0]:
            yield np.array([total])
        return
    rest = int(caps[1:].sum())
    for k in range(max(0, total - rest), min(int(caps[0]), total) + 1):
        for tail in _compositions(total - k, caps[1:]):
            yield np.concatenate([[k], tail])


def _test_categorical(table: np.ndarray) -> dict[str, Any]:
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        return {
            "method": None,
            "statistic": None,
            "df": None,
            "p": None,
            "reason": "fewer than two levels with data",
        }
    chi2, p_chi, df, expected = stats.chi2_contingency(table, correction=False)
    if (expected >= 5).all():
        return {"method": "Pearson's chi-squared test", "statistic": float(chi2), "df": int(df), "p": float(p_chi)}
    p = float(stats.fisher_exact(table).pvalue) if table.shape == (2, 2) else fisher_exact_rxc(table)
    if p is None:  # too many tables to enumerate: the chi-squared test, said so
        return {
            "method": "Pearson's chi-squared test (expected counts below 5; too large for Fisher's exact test)",
            "statistic": float(chi2),
            "df": int(df),
            "p": float(p_chi),
        }
    return {"method": "Fisher's exact test", "statistic": None, "df": None, "p": p}


def _test_continuous(samples: list[np.ndarray]) -> dict[str, Any]:
    samples = [s for s in samples if len(s)]
    if len(samples) < 2 or np.ptp(np.concatenate(samples)) == 0:
        return {
            "method": None,
            "statistic": None,
            "df": None,
            "p": None,
            "reason": "fewer than two groups with data, or no variation",
        }
    if len(samples) == 2:
        # R's wilcox.test: the exact distribution when both samples have fewer than 50 values and there
        # are no ties, else the normal approximation with continuity correction (SciPy's "auto" differs).
        a, b = samples
        ties = len(np.unique(np.concatenate(samples))) < len(a) + len(b)
        exact = len(a) < 50 and len(b) < 50 and not ties
        res = stats.mannwhitneyu(
            a, b, alternative="two-sided", method="exact" if exact else "asymptotic", use_continuity=True
        )
        return {
            "method": "Wilcoxon rank-sum test",
            "statistic": float(res.statistic),
            "df": None,
            "p": float(res.pvalue),
        }
    res = stats.kruskal(*samples)
    return {
        "method": "Kruskal-Wallis test",
        "statistic": float(res.statistic),
        "df": len(samples) - 1,
        "p": float(res.pvalue),
    }


def _smd_continuous(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 2 or len(b) < 2:
        return None
    pooled = math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)
    return None if pooled == 0 else float(abs(np.mean(a) - np.mean(b)) / pooled)


def _smd_categorical(pa: np.ndarray, pb: np.ndarray) -> float | None:
    """Yang & Dalton multi-level SMD from two vectors of level proportions."""
    t, c = pa[1:], pb[1:]
    k = len(t)
    if k == 0:
        return None
    s = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            if i == j:
                s[i, j] = (t[i] * (1 - t[i]) + c[i] * (1 - c[i])) / 2
            else:
                s[i, j] = (-t[i] * t[j] - c[i] * c[j]) / 2
    diff = t - c
    try:
        value = float(diff @ np.linalg.pinv(s) @ diff)
    except np.linalg.LinAlgError:
        return None
    return math.sqrt(max(value, 0.0))


def _continuous_summary(x: np.ndarray) -> dict[str, Any]:
    if len(x) == 0:
        return {
            "n": 0,
            "median": None,
            "q1": None,
            "q3": None,
            "mean": None,
            "sd": None,
            "min": None,
            "max": None,
        }
    q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    return {
        "n": int(len(x)),
        "median": float(med),
        "q1": float(q1),
        "q3": float(q3),
        "mean": float(np.mean(x)),
        "sd": float(np.std(x, ddof=1)) if len(x) > 1 else None,
        "min": float(np.min(x)),
        "max": float(np.max(x)),
    }


def table1(study: Study, cohort: Cohort) -> dict[str, Any]:
    """Summaries of every covariate by group, with tests and SMDs."""
    frame = cohort.frame
    groups = cohort.group_levels
    gcol = frame["group"]
    out_vars: list[dict[str, Any]] = []
    for cid, cov in study.covariates.items():
        col = frame[cid]
        missing = {g: int(col[gcol == g].isna().sum()) for g in groups}
        entry: dict[str, Any] = {
            "variable": cid,
            "label": cov.label or cid,
            "type": cov.type,
            "unit": cov.unit,
            "missing": missing,
            "missing_total": int(col.isna().sum()),
        }
        if cov.type == "categorical":
            levels = cohort.covariate_levels[cid]
            counts = pd.crosstab(col, gcol, dropna=True).reindex(index=levels, columns=groups, fill_value=0)
            table = counts.to_numpy(dtype=int)
            denom = {g: int(counts[g].sum()) for g in groups}
            entry["denominator"] = denom
            entry["levels"] = [
                {
                    "level": lvl,
                    "label": cov.labels.get(lvl, lvl),
                    "counts": {g: int(counts.loc[lvl, g]) for g in groups},
                    "total": int(counts.loc[lvl].sum()),
                }
                for lvl in levels
            ]
            entry["test"] = _test_categorical(table)
            entry["smd"] = None
            if len(groups) == 2 and all(denom[g] > 0 for g in groups):
                props = [counts[g].to_numpy(dtype=float) / denom[g] for g in groups]
                entry["smd"] = _smd_categorical(props[0], props[1])
        else:
            samples = [col[gcol == g].dropna().to_numpy(dtype=float) for g in groups]
            entry["summary"] = {g: _continuous_summary(s) for g, s in zip(groups, samples, strict=True)}
            entry["overall"] = _continuous_summary(col.dropna().to_numpy(dtype=float))
            entry["test"] = _test_continuous(samples)
            entry["smd"] = _smd_continuous(samples[0], samples[1]) if len(groups) == 2 else None
        out_vars.append(entry)
    return {
        "groups": groups,
        "n": {g: int((gcol == g).sum()) for g in groups},
        "n_total": int(len(frame)),
        "n_any_missing": int(frame[list(study.covariates)].isna().any(axis=1).sum()) if study.covariates else 0,
        "quantile_type": 7,
        "variables": out_vars,
    }
