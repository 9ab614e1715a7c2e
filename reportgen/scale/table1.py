"""Table 1 at scale: ``ScaledCohort`` -> the same mapping as ``analysis.descriptive.table1``.

One distributed pass gives, per covariate and group: missing counts; for a categorical covariate
the counts per level (exact, hence the tests and SMDs of the in-memory code); for a continuous one
the count, mean and sum of squared deviations (merged across pieces with Chan's formulas), the
minimum and maximum, and the counts of each distinct value while there are at most
``DISTINCT_CAP`` of them.

- Up to ``DISTINCT_CAP`` distinct values (integer-valued and rounded measurements: ages, counts,
  laboratory values to one decimal): medians and quartiles are exact (R's type 7, as numpy, read off
  the cumulative counts), and so are the Wilcoxon rank-sum and Kruskal-Wallis tests (midranks and
  the ties correction from the counts; up to ``SAMPLE_LIMIT`` patients the samples are rebuilt from
  the counts and passed to the in-memory code itself).
- More distinct values: a second pass counts the values in ``BINS`` equal-width bins between the
  minimum and the maximum. Medians and quartiles are then approximate, read off the bins with
  linear interpolation inside the bin, each within one bin width of the exact value (the bound is
  stored as ``quantile_error_bound`` and named in the test's method, which the report prints under
  Table 1); the tests rank the binned values (values in one bin count as ties). Counts, means,
  standard deviations, minima, maxima and SMDs stay exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from ..analysis.descriptive import _continuous_summary, _smd_categorical, _test_categorical, _test_continuous
from ..spec.model import Study
from .aggregate import known, reduce
from .cohort import ScaledCohort

DISTINCT_CAP = 100_000
SAMPLE_LIMIT = 1_000_000
BINS = 65_536


@dataclass(frozen=True)
class _Spec:
    k: int
    covariates: tuple[tuple[str, str, int], ...]  # (cid, type, number of levels)
    cap: int = DISTINCT_CAP


def table1_part(part: pd.DataFrame, spec: _Spec) -> dict[str, Any]:
    g = part["group"].to_numpy().astype(np.intp)
    k = spec.k
    out: dict[str, Any] = {"n": np.bincount(g, minlength=k), "any_missing": 0}
    any_missing = np.zeros(len(part), dtype=bool)
    for cid, kind, n_levels in spec.covariates:
        x = part[f"c.{cid}"].to_numpy()
        ok = known(x)
        any_missing |= ~ok
        entry: dict[str, Any] = {"missing": np.bincount(g[~ok], minlength=k)}
        if kind == "categorical":
            cell = x[ok].astype(np.intp) * k + g[ok]
            entry["table"] = np.bincount(cell, minlength=n_levels * k).reshape(n_levels, k)
        else:
            xv, gv = x[ok].astype(float), g[ok]
            n = np.bincount(gv, minlength=k)
            sums = np.bincount(gv, weights=xv, minlength=k)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(n > 0, sums / np.maximum(n, 1), 0.0)
            m2 = np.bincount(gv, weights=(xv - mean[gv]) ** 2, minlength=k)
            mins = np.full(k, np.inf)
            maxs = np.full(k, -np.inf)
            np.minimum.at(mins, gv, xv)
            np.maximum.at(maxs, gv, xv)
            entry.update(n=n, mean=mean, m2=m2, min=mins, max=maxs)
            distinct = np.unique(xv)
            if distinct.size <= spec.cap:
                vc = pd.DataFrame({"v": xv, "g": gv}).groupby(["v", "g"], sort=False).size()
                entry["values"] = vc.rename("c").reset_index()
            else:
                entry["values"] = None
        out[cid] = entry
    out["any_missing"] = int(any_missing.sum())
    return out


def _merge_moments(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Chan et al.'s pairwise update of (n, mean, M2), elementwise per group."""
    n = a["n"] + b["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = b["mean"] - a["mean"]
        mean = np.where(n > 0, a["mean"] + delta * (b["n"] / np.maximum(n, 1)), 0.0)
        m2 = a["m2"] + b["m2"] + np.where(n > 0, delta**2 * a["n"] * b["n"] / np.maximum(n, 1), 0.0)
    return {
        "n": n,
        "mean": mean,
        "m2": m2,
        "min": np.minimum(a["min"], b["min"]),
        "max": np.maximum(a["max"], b["max"]),
    }


def _combine(results: list[dict[str, Any]], cap: int = DISTINCT_CAP) -> dict[str, Any]:
    total = results[0]
    for r in results[1:]:
        merged: dict[str, Any] = {"n": total["n"] + r["n"], "any_missing": total["any_missing"] + r["any_missing"]}
        for cid, a in total.items():
            if not isinstance(a, dict):
                continue
            b = r[cid]
            entry: dict[str, Any] = {"missing": a["missing"] + b["missing"]}
            if "table" in a:
                entry["table"] = a["table"] + b["table"]
            else:
                entry.update(_merge_moments(a, b))
                values = None
                if a["values"] is not None and b["values"] is not None:
                    both = pd.concat([a["values"], b["values"]], ignore_index=True)
                    values = both.groupby(["v", "g"], sort=False)["c"].sum().reset_index()
                    if values["v"].nunique() > cap:
                        values = None
                entry["values"] = values
            merged[cid] = entry
        total = merged
    return total


def histogram_part(part: pd.DataFrame, k: int, ranges: dict[str, tuple[float, float]]) -> dict[str, np.ndarray]:
    """Counts per (equal-width bin, group) of each continuous covariate with many distinct values."""
    g = part["group"].to_numpy().astype(np.intp)
    out = {}
    for cid, (lo, hi) in ranges.items():
        x = part[f"c.{cid}"].to_numpy(dtype=float)
        ok = ~np.isnan(x)
        out[cid] = np.bincount(_bin(x[ok], lo, hi) * k + g[ok], minlength=BINS * k).reshape(BINS, k)
    return out


def _bin(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    width = (hi - lo) / BINS
    if width <= 0:
        return np.zeros(x.size, dtype=np.intp)
    return np.clip(np.floor((x - lo) / width).astype(np.intp), 0, BINS - 1)


# ---------------------------------------------------------------------------------------------
# statistics from counts


def _lerp(a: float, b: float, t: float) -> float:
    """numpy's linear interpolation in ``np.quantile`` (method "linear")."""
    diff = b - a
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def _quantiles_from_counts(values: np.ndarray, counts: np.ndarray, probs: list[float]) -> list[float]:
    """Type-7 quantiles of the sample in which ``values`` (sorted) occur ``counts`` times."""
    n = int(counts.sum())
    cum = np.cumsum(counts)
    out = []
    for p in probs:
        virtual = (n - 1) * p
        lo = math.floor(virtual)
        t = virtual - lo
        a = float(values[np.searchsorted(cum, lo, side="right")])
        b = float(values[np.searchsorted(cum, min(lo + 1, n - 1), side="right")])
        out.append(_lerp(a, b, t))
    return out


def _summary_from_counts(values: np.ndarray, counts: np.ndarray, mom: dict[str, float]) -> dict[str, Any]:
    n = int(counts.sum())
    if n == 0:
        return _continuous_summary(np.zeros(0))
    q1, med, q3 = _quantiles_from_counts(values, counts, [0.25, 0.5, 0.75])
    return {
        "n": n,
        "median": med,
        "q1": q1,
        "q3": q3,
        "mean": float(mom["mean"]),
        "sd": float(math.sqrt(mom["m2"] / (n - 1))) if n > 1 else None,
        "min": float(mom["min"]),
        "max": float(mom["max"]),
    }


def rank_tests_from_counts(table: np.ndarray) -> dict[str, Any]:
    """Wilcoxon rank-sum (2 groups; normal approximation with continuity and ties corrections, as
    ``scipy.stats.mannwhitneyu(method="asymptotic")``) or Kruskal-Wallis (more groups, as
    ``scipy.stats.kruskal``) from a (distinct value x group) count table, values ascending."""
    table = table[:, table.sum(axis=0) > 0]
    per_value = table.sum(axis=1)
    keep = per_value > 0
    table, per_value = table[keep], per_value[keep]
    n_i = table.sum(axis=0).astype(float)
    n = float(n_i.sum())
    if table.shape[1] < 2 or table.shape[0] < 2:
        return {
            "method": None,
            "statistic": None,
            "df": None,
            "p": None,
            "reason": "fewer than two groups with data, or no variation",
        }
    before = np.cumsum(per_value) - per_value
    midrank = before + (per_value + 1) / 2.0
    rank_sums = midrank @ table
    t = per_value.astype(float)
    tie_term = float(np.sum(t**3 - t))
    if table.shape[1] == 2:
        n1, n2 = n_i
        u1 = rank_sums[0] - n1 * (n1 + 1) / 2
        u = max(u1, n1 * n2 - u1)
        s = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        z = (u - n1 * n2 / 2 - 0.5) / s
        p = float(np.clip(2 * special.ndtr(-z), 0.0, 1.0))
        return {"method": "Wilcoxon rank-sum test", "statistic": float(u1), "df": None, "p": p}
    h = 12.0 / (n * (n + 1)) * float(np.sum(rank_sums**2 / n_i)) - 3 * (n + 1)
    h /= 1 - tie_term / (n**3 - n)
    df = table.shape[1] - 1
    return {"method": "Kruskal-Wallis test", "statistic": float(h), "df": df, "p": float(stats.chi2.sf(h, df))}


def _smd_from_moments(a: dict[str, float], b: dict[str, float]) -> float | None:
    if a["n"] < 2 or b["n"] < 2:
        return None
    pooled = math.sqrt((a["m2"] / (a["n"] - 1) + b["m2"] / (b["n"] - 1)) / 2)
    return None if pooled == 0 else float(abs(a["mean"] - b["mean"]) / pooled)


def _moments(entry: dict[str, Any], j: int | None) -> dict[str, float]:
    if j is not None:
        return {key: entry[key][j] for key in ("n", "mean", "m2", "min", "max")}
    acc = None
    for i in range(entry["n"].size):
        one = {key: np.asarray([entry[key][i]]) for key in ("n", "mean", "m2", "min", "max")}
        acc = one if acc is None else _merge_moments(acc, one)
    assert acc is not None
    return {key: acc[key][0] for key in acc}


# ---------------------------------------------------------------------------------------------
# the mapping


def table1_scaled(study: Study, cohort: ScaledCohort, cap: int = DISTINCT_CAP) -> dict[str, Any]:
    """Summaries of every covariate by group, with tests and SMDs, as ``descriptive.table1``; a
    continuous covariate with more than ``cap`` distinct values gets approximate quantiles."""
    groups = cohort.group_levels
    k = len(groups)
    spec = _Spec(
        k,
        tuple((cid, cov.type, len(cohort.covariate_levels.get(cid, []))) for cid, cov in study.covariates.items()),
        cap,
    )
    agg = reduce(cohort.map(table1_part, spec, key="table1"), lambda xs: _combine(xs, cap))
    ranges = {
        cid: (float(np.min(agg[cid]["min"])), float(np.max(agg[cid]["max"])))
        for cid, cov in study.covariates.items()
        if cov.type == "continuous" and agg[cid]["values"] is None and np.any(agg[cid]["n"] > 0)
    }
    hist = reduce(cohort.map(histogram_part, k, ranges, key="table1-hist"), lambda xs: _add_hist(xs)) if ranges else {}
    out_vars: list[dict[str, Any]] = []
    for cid, cov in study.covariates.items():
        entry = agg[cid]
        missing = {g: int(entry["missing"][j]) for j, g in enumerate(groups)}
        var: dict[str, Any] = {
            "variable": cid,
            "label": cov.label or cid,
            "type": cov.type,
            "unit": cov.unit,
            "missing": missing,
            "missing_total": int(entry["missing"].sum()),
        }
        if cov.type == "categorical":
            levels = cohort.covariate_levels[cid]
            table = np.asarray(entry["table"], dtype=int)
            denom = {g: int(table[:, j].sum()) for j, g in enumerate(groups)}
            var["denominator"] = denom
            var["levels"] = [
                {
                    "level": lvl,
                    "label": cov.labels.get(lvl, lvl),
                    "counts": {g: int(table[i, j]) for j, g in enumerate(groups)},
                    "total": int(table[i].sum()),
                }
                for i, lvl in enumerate(levels)
            ]
            var["test"] = _test_categorical(table)
            var["smd"] = None
            if k == 2 and all(denom[g] > 0 for g in groups):
                props = [table[:, j].astype(float) / denom[g] for j, g in enumerate(groups)]
                var["smd"] = _smd_categorical(props[0], props[1])
        else:
            var.update(_continuous(entry, groups, hist.get(cid), ranges.get(cid)))
        out_vars.append(var)
    n = {g: int(agg["n"][j]) for j, g in enumerate(groups)}
    return {
        "groups": groups,
        "n": n,
        "n_total": int(sum(n.values())),
        "n_any_missing": int(agg["any_missing"]) if study.covariates else 0,
        "quantile_type": 7,
        "variables": out_vars,
    }


def _add_hist(results: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: sum((r[k] for r in results[1:]), results[0][k]) for k in results[0]}


def _continuous(
    entry: dict[str, Any], groups: list[str], hist: np.ndarray | None, rng: tuple[float, float] | None
) -> dict[str, Any]:
    k = len(groups)
    values = entry["values"]
    if values is not None or hist is None:
        vc = values if values is not None else pd.DataFrame({"v": [], "g": [], "c": []})
        wide = vc.pivot_table(index="v", columns="g", values="c", aggfunc="sum", fill_value=0)
        wide = wide.reindex(columns=range(k), fill_value=0).sort_index()
        xs = wide.index.to_numpy(dtype=float)
        table = wide.to_numpy(dtype=np.int64)
        summary = {g: _summary_from_counts(xs, table[:, j], _moments(entry, j)) for j, g in enumerate(groups)}
        overall = _summary_from_counts(xs, table.sum(axis=1), _moments(entry, None))
        if int(table.sum()) <= SAMPLE_LIMIT:
            samples = [np.repeat(xs, table[:, j]) for j in range(k)]
            test = _test_continuous(samples)
        else:
            test = rank_tests_from_counts(table)
        smd = _smd_from_moments(_moments(entry, 0), _moments(entry, 1)) if k == 2 else None
        return {
            "summary": summary,
            "overall": overall,
            "test": test,
            "smd": smd,
            "quantile_method": "exact (from the counts of each distinct value)",
            "quantile_error_bound": 0.0,
        }
    assert rng is not None
    lo, hi = rng
    width = (hi - lo) / BINS
    edges = lo + width * np.arange(BINS)

    def approx(counts: np.ndarray, mom: dict[str, float]) -> dict[str, Any]:
        n = int(counts.sum())
        if n == 0:
            return _continuous_summary(np.zeros(0))
        cum = np.cumsum(counts)

        def order_stat(r: int) -> float:
            # the r-th value (from 0) lies in bin b: placed by its rank within the bin
            b = int(np.searchsorted(cum, r, side="right"))
            inside = (r - (cum[b] - counts[b]) + 0.5) / counts[b]
            return float(min(max(edges[b] + inside * width, mom["min"]), mom["max"]))

        qs = []
        for p in (0.25, 0.5, 0.75):
            virtual = (n - 1) * p
            r = math.floor(virtual)
            qs.append(_lerp(order_stat(r), order_stat(min(r + 1, n - 1)), virtual - r))
        return {
            "n": n,
            "median": qs[1],
            "q1": qs[0],
            "q3": qs[2],
            "mean": float(mom["mean"]),
            "sd": float(math.sqrt(mom["m2"] / (n - 1))) if n > 1 else None,
            "min": float(mom["min"]),
            "max": float(mom["max"]),
        }

    test = rank_tests_from_counts(hist)
    bound = float(width)
    note = f"values grouped into {BINS:,} equal-width bins; medians and quartiles within {bound:.3g} of exact"
    if test["method"]:
        test = {**test, "method": f"{test['method']} ({note})"}
    return {
        "summary": {g: approx(hist[:, j], _moments(entry, j)) for j, g in enumerate(groups)},
        "overall": approx(hist.sum(axis=1), _moments(entry, None)),
        "test": test,
        "smd": _smd_from_moments(_moments(entry, 0), _moments(entry, 1)) if k == 2 else None,
        "quantile_method": f"approximate: linear interpolation within {BINS:,} equal-width bins",
        "quantile_error_bound": bound,
    }
