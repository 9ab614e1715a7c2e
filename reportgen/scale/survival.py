"""Kaplan-Meier results at scale: ``ScaledCohort`` + endpoint -> the same mapping as ``analysis.km.km_results``.

One distributed pass per endpoint counts events, censorings (and censorings at the data cut-off)
per (group, stratum, time); everything else is computed on the client from that table by the
in-memory estimators' own code paths (``kaplan_meier_from_counts``, ``survdiff_from_counts``,
``km_quantile``, ``km_summary`` through ``km.curve_summary``, ``rmst``). The numbers are those of
the in-memory path: the counts are exact integers, and the curves and tests are computed from
them in the same way.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..analysis.km import _f, _weights, curve_summary
from ..analysis.survdiff import p_adjust, survdiff_from_counts
from ..analysis.survfit import KMCurve, kaplan_meier_from_counts, km_quantile, rmst
from ..spec.model import Study
from .aggregate import STRATUM, Rows, count_table
from .cohort import ScaledCohort


def strata_spec(cohort: ScaledCohort) -> tuple[tuple[str, int], ...]:
    """The coded stratification columns and their numbers of levels."""
    return tuple((f"st.{col}", len(info.levels)) for col, info in cohort.strata.items())


def stratum_labels(cohort: ScaledCohort, codes: np.ndarray) -> np.ndarray:
    """The in-memory stratum label ("level|level") of each combined stratum code."""
    sizes = [len(info.levels) for info in cohort.strata.values()]
    levels = [info.levels for info in cohort.strata.values()]
    out = np.empty(codes.size, dtype=object)
    for i, code in enumerate(codes.tolist()):
        parts = []
        for size, lv in zip(reversed(sizes), reversed(levels), strict=True):
            parts.append(str(lv[code % size]))
            code //= size
        out[i] = "|".join(reversed(parts))
    return out


def curve(table: pd.DataFrame, conf_type: str = "log", conf_level: float = 0.95, reverse: bool = False) -> KMCurve:
    """The Kaplan-Meier (or reverse Kaplan-Meier) curve of the rows a count table describes."""
    t = table["time"].to_numpy(dtype=float)
    d, c = table["n_event"].to_numpy(), table["n_censor"].to_numpy()
    if reverse:
        d, c = c, d
    return kaplan_meier_from_counts(t, d, c, conf_type=conf_type, conf_level=conf_level)  # type: ignore[arg-type]


def endpoint_table(cohort: ScaledCohort, eid: str, rows: Rows | None = None) -> pd.DataFrame:
    """Counts per (group, stratum, time) for an endpoint (stratum 0 without strata; -1 unknown)."""
    base = rows or Rows(eid=eid)
    rows = Rows(base.eid, base.landmark, base.equals, base.complete, strata_spec(cohort), False)
    admin = cohort.endpoints[eid].administrative and rows.landmark is None
    return count_table(cohort, rows, ("group", STRATUM), admin=admin)


def km_results_scaled(study: Study, cohort: ScaledCohort, eid: str, table: pd.DataFrame) -> dict[str, Any]:
    """KM per group and overall, the between-group tests and median follow-up, as ``km_results``."""
    opts = study.analysis.km
    groups: dict[str, Any] = {}
    for code, level in enumerate(cohort.group_levels):
        sub = table[table["group"] == code]
        groups[level] = curve_summary(curve(sub, opts.conf_type, opts.conf_level), opts.landmarks)
    overall = curve_summary(curve(table, opts.conf_type, opts.conf_level), opts.landmarks)
    km = {
        "conf_type": opts.conf_type,
        "conf_level": opts.conf_level,
        "estimator": "Kaplan-Meier",
        "variance": "Greenwood",
        "groups": groups,
        "overall": overall,
    }
    km["rmst"] = rmst_results_scaled(cohort, table, opts.rmst_tau, opts.conf_level)
    tests = between_group_tests_scaled(study, cohort, table)
    return {"km": km, **tests, "followup": followup_scaled(cohort, table, study)}


def _group_labels(cohort: ScaledCohort, codes: np.ndarray) -> np.ndarray:
    return np.asarray(cohort.group_levels, dtype=object)[codes.astype(np.intp)]


def between_group_tests_scaled(study: Study, cohort: ScaledCohort, table: pd.DataFrame) -> dict[str, Any]:
    """The spec's test, the trend test and pairwise comparisons from counts, as ``between_group_tests``."""
    opts = study.analysis.tests
    rho, gamma, name = _weights(study)
    stratified = bool(cohort.strata)
    known = table[table[STRATUM] >= 0] if stratified else table
    n_known = int((known["n_event"] + known["n_censor"]).sum())
    n_all = int((table["n_event"] + table["n_censor"]).sum())
    time = known["time"].to_numpy(dtype=float)
    grp = _group_labels(cohort, known["group"].to_numpy())
    d, c = known["n_event"].to_numpy(), known["n_censor"].to_numpy()
    st = stratum_labels(cohort, known[STRATUM].to_numpy()) if stratified else None
    levels = cohort.group_levels
    res = survdiff_from_counts(time, grp, d, c, strata=st, rho=rho, gamma=gamma, levels=levels)
    if stratified:
        name = f"{name} stratified by {', '.join(sd.label for sd in cohort.strata.values())}"
    out: dict[str, Any] = {
        "logrank": {
            "method": name,
            "rho": rho,
            "gamma": gamma,
            "strata": list(cohort.strata),
            "n": n_known,
            "n_excluded_missing_strata": n_all - n_known,
            "statistic": float(res.statistic),
            "df": int(res.df),
            "p": float(res.p),
            "observed": {str(g): float(o) for g, o in zip(res.groups, res.observed, strict=True)},
            "expected": {str(g): float(e) for g, e in zip(res.groups, res.expected, strict=True)},
        }
    }
    if len(levels) > 2:
        if opts.trend:
            scores = {lvl: float(i + 1) for i, lvl in enumerate(levels)}
            lr = survdiff_from_counts(time, grp, d, c, strata=st, levels=levels)
            w = np.asarray([scores[lv] for lv in lr.groups])
            num = float(w @ (lr.observed - lr.expected))
            stat = num * num / float(w @ lr.variance @ w)
            out["trend"] = {
                "method": "log-rank test for trend (scores 1, 2, ... in the order of the levels)",
                "scores": scores,
                "statistic": float(stat),
                "df": 1,
                "p": float(stats.chi2.sf(stat, 1)),
            }
        pairs = []
        for a, b in combinations(levels, 2):
            sel = (grp == a) | (grp == b)
            r = survdiff_from_counts(
                time[sel],
                grp[sel],
                d[sel],
                c[sel],
                strata=None if st is None else st[sel],
                rho=rho,
                gamma=gamma,
                levels=[a, b],
            )
            pairs.append((a, b, r.statistic, r.p))
        adjusted = p_adjust([p[3] for p in pairs], opts.pairwise_adjust)
        out["pairwise"] = {
            "method": f"pairwise {name}",
            "adjust": opts.pairwise_adjust,
            "comparisons": [
                {"a": str(a), "b": str(b), "statistic": float(s), "p": float(p), "p_adjusted": float(pa)}
                for (a, b, s, p), pa in zip(pairs, adjusted, strict=True)
            ],
        }
    return out


def rmst_results_scaled(
    cohort: ScaledCohort, table: pd.DataFrame, tau: float | None, conf_level: float
) -> dict[str, Any]:
    """RMST per group and differences from the reference, as ``km.rmst_results``."""
    present = {code: table[table["group"] == code] for code in range(len(cohort.group_levels))}
    last = {cohort.group_levels[c]: float(t["time"].max()) for c, t in present.items() if len(t)}
    chosen = float(tau) if tau is not None else min(last.values())
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    per: dict[str, Any] = {}
    for code, g in enumerate(cohort.group_levels):
        est, se = rmst(curve(present[code]), chosen)
        per[g] = {
            "estimate": est,
            "se": se,
            "ci": [est - z * se, est + z * se],
            "tau_beyond_follow_up": chosen > last.get(g, 0.0),
        }
    ref = cohort.group_levels[0]
    diffs = []
    for g in cohort.group_levels[1:]:
        d = per[g]["estimate"] - per[ref]["estimate"]
        se = math.sqrt(per[g]["se"] ** 2 + per[ref]["se"] ** 2)
        p = float(2 * stats.norm.sf(abs(d) / se)) if se > 0 else None
        diffs.append({"group": g, "reference": ref, "difference": d, "se": se, "ci": [d - z * se, d + z * se], "p": p})
    return {
        "tau": chosen,
        "tau_source": "spec" if tau is not None else "smallest of the groups' largest follow-up times",
        "groups": per,
        "differences": diffs,
    }


def followup_scaled(cohort: ScaledCohort, table: pd.DataFrame, study: Study) -> dict[str, Any]:
    """Median follow-up (reverse Kaplan-Meier) and censoring reasons, as ``km.followup``."""

    def one(sub: pd.DataFrame) -> dict[str, Any]:
        rev = curve(sub, "log", 0.95, reverse=True)
        med, lo, hi = km_quantile(rev, 0.5, rule="print")
        q1 = km_quantile(rev, 0.25)[0]
        q3 = km_quantile(rev, 0.75)[0]
        return {
            "median": _f(med),
            "ci": [_f(lo), _f(hi)],
            "iqr": [_f(q1), _f(q3)],
            "n_censored": int(sub["n_censor"].sum()),
        }

    censoring = None
    cutoff = study.study.data_cutoff
    if "n_admin" in table.columns and cutoff is not None:
        admin = int(table["n_admin"].sum())
        censoring = {
            "data_cutoff": cutoff.isoformat(),
            "administrative": admin,
            "before_cutoff": int(table["n_censor"].sum()) - admin,
        }
    return {
        "method": "reverse Kaplan-Meier",
        "conf_type": "log",
        **one(table),
        "censoring": censoring,
        "groups": {lvl: one(table[table["group"] == code]) for code, lvl in enumerate(cohort.group_levels)},
    }
