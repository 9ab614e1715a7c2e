"""Kaplan-Meier results for a study: ``Cohort`` + endpoint -> per-group KM summaries, log-rank, follow-up.

Each curve is stored once as a step table (time, n at risk, events, censored,
survival, CI); the figure, the at-risk row under it and the landmark table all
read that table. Values that cannot be estimated are None.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from ..data.cohort import Cohort, EndpointData, strata_labels
from ..spec.model import Study
from .survdiff import logrank_trend, pairwise_survdiff, survdiff
from .survfit import KMCurve, kaplan_meier, km_quantile, km_summary, reverse_km, rmst


def _f(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def step_table(curve: KMCurve) -> dict[str, list[Any]]:
    return {
        "time": [float(t) for t in curve.time],
        "n_risk": [int(v) for v in curve.n_risk],
        "n_event": [int(v) for v in curve.n_event],
        "n_censor": [int(v) for v in curve.n_censor],
        "survival": [float(v) for v in curve.survival],
        "lower": [_f(v) for v in curve.lower],
        "upper": [_f(v) for v in curve.upper],
    }


def curve_summary(curve: KMCurve, landmarks: list[float]) -> dict[str, Any]:
    median, lo, hi = km_quantile(curve, 0.5, rule="print")
    last = float(curve.time[-1]) if len(curve.time) else 0.0
    marks = []
    if landmarks:
        s = km_summary(curve, np.asarray(landmarks, dtype=float))
        for i, t in enumerate(landmarks):
            beyond = t > last
            marks.append(
                {
                    "time": float(t),
                    "survival": None if beyond else _f(s["survival"][i]),
                    "ci": [None, None] if beyond else [_f(s["lower"][i]), _f(s["upper"][i])],
                    "n_at_risk": int(s["n_risk"][i]),
                    "note": "beyond the last follow-up time" if beyond else None,
                }
            )
    return {
        "n": int(curve.n),
        "events": int(curve.events),
        "median": _f(median),
        "median_ci": [_f(lo), _f(hi)],
        "landmarks": marks,
        "max_time": last,
        "table": step_table(curve),
    }


def km_results(study: Study, cohort: Cohort, eid: str) -> dict[str, Any]:
    """KM per group and overall, log-rank test, and median follow-up (reverse KM)."""
    opts = study.analysis.km
    ep: EndpointData = cohort.endpoints[eid]
    group = cohort.frame["group"].astype(object).to_numpy()
    groups: dict[str, Any] = {}
    for level in cohort.group_levels:
        mask = group == level
        curve = kaplan_meier(ep.time[mask], ep.event[mask], conf_type=opts.conf_type, conf_level=opts.conf_level)
        groups[level] = curve_summary(curve, opts.landmarks)
    overall = curve_summary(
        kaplan_meier(ep.time, ep.event, conf_type=opts.conf_type, conf_level=opts.conf_level),
        opts.landmarks,
    )
    km = {
        "conf_type": opts.conf_type,
        "conf_level": opts.conf_level,
        "estimator": "Kaplan-Meier",
        "variance": "Greenwood",
        "groups": groups,
        "overall": overall,
    }
    km["rmst"] = rmst_results(ep, group, cohort, opts.rmst_tau, opts.conf_level)
    tests = between_group_tests(study, cohort, ep, group)
    return {"km": km, **tests, "followup": followup(ep, group, cohort, study)}


def _weights(study: Study) -> tuple[float, float, str]:
    t = study.analysis.tests
    if t.method == "log-rank":
        return 0.0, 0.0, "log-rank test"
    if t.method == "peto-peto":
        return 1.0, 0.0, "Peto-Peto test (weights S(t-), R's survdiff rho = 1)"
    return t.rho, t.gamma, f"Fleming-Harrington G(rho = {t.rho:g}, gamma = {t.gamma:g}) test"


def between_group_tests(study: Study, cohort: Cohort, ep: EndpointData, group: np.ndarray) -> dict[str, Any]:
    """The spec's test (log-rank by default; weighted and/or stratified on request), the test for
    trend across ordered groups, and pairwise comparisons with a multiplicity adjustment (> 2 groups)."""
    opts = study.analysis.tests
    rho, gamma, name = _weights(study)
    strata, known = strata_labels(cohort)
    time, event, grp = ep.time[known], ep.event[known], group[known]
    st = strata[known] if strata is not None else None
    res = survdiff(time, event, grp, strata=st, rho=rho, gamma=gamma, levels=cohort.group_levels)
    if strata is not None:
        name = f"{name} stratified by {', '.join(sd.label for sd in cohort.strata.values())}"
    out: dict[str, Any] = {
        "logrank": {
            "method": name,
            "rho": rho,
            "gamma": gamma,
            "strata": list(cohort.strata),
            "n": int(known.sum()),
            "n_excluded_missing_strata": int((~known).sum()),
            "statistic": float(res.statistic),
            "df": int(res.df),
            "p": float(res.p),
            "observed": {str(g): float(o) for g, o in zip(res.groups, res.observed, strict=True)},
            "expected": {str(g): float(e) for g, e in zip(res.groups, res.expected, strict=True)},
        }
    }
    levels = cohort.group_levels
    if len(levels) > 2:
        if opts.trend:
            scores = {lvl: float(i + 1) for i, lvl in enumerate(levels)}
            stat, df, p = logrank_trend(time, event, grp, scores, strata=st, levels=levels)
            out["trend"] = {
                "method": "log-rank test for trend (scores 1, 2, ... in the order of the levels)",
                "scores": scores,
                "statistic": float(stat),
                "df": int(df),
                "p": float(p),
            }
        pairs = pairwise_survdiff(
            time, event, grp, adjust=opts.pairwise_adjust, rho=rho, gamma=gamma, strata=st, levels=levels
        )
        out["pairwise"] = {
            "method": f"pairwise {name}",
            "adjust": opts.pairwise_adjust,
            "comparisons": [
                {"a": str(a), "b": str(b), "statistic": float(stat), "p": float(p_raw), "p_adjusted": float(p_adj)}
                for a, b, stat, p_raw, p_adj in pairs
            ],
        }
    return out


def rmst_results(
    ep: EndpointData, group: np.ndarray, cohort: Cohort, tau: float | None, conf_level: float
) -> dict[str, Any]:
    """RMST per group up to tau (default: the smallest of the groups' largest times) and the difference
    of each group from the reference, with a normal-approximation CI and p (as survRM2)."""
    last = {g: float(ep.time[group == g].max()) for g in cohort.group_levels if (group == g).any()}
    chosen = float(tau) if tau is not None else min(last.values())
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    per: dict[str, Any] = {}
    for g in cohort.group_levels:
        mask = group == g
        curve = kaplan_meier(ep.time[mask], ep.event[mask])
        est, se = rmst(curve, chosen)
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


def followup(ep: EndpointData, group: np.ndarray, cohort: Cohort, study: Study) -> dict[str, Any]:
    """Median follow-up by the reverse Kaplan-Meier method (censoring treated as the event), and the
    censored patients split by whether they were followed up to the data cut-off."""

    def one(mask: np.ndarray) -> dict[str, Any]:
        curve = reverse_km(ep.time[mask], ep.event[mask], conf_type="log", conf_level=0.95)
        med, lo, hi = km_quantile(curve, 0.5, rule="print")
        q1 = km_quantile(curve, 0.25)[0]
        q3 = km_quantile(curve, 0.75)[0]
        return {
            "median": _f(med),
            "ci": [_f(lo), _f(hi)],
            "iqr": [_f(q1), _f(q3)],
            "n_censored": int((ep.event[mask] == 0).sum()),
        }

    overall = one(np.ones(len(group), dtype=bool))
    return {
        "method": "reverse Kaplan-Meier",
        "conf_type": "log",
        **overall,
        "censoring": censoring_reasons(ep, study),
        "groups": {lvl: one(group == lvl) for lvl in cohort.group_levels},
    }


def censoring_reasons(ep: EndpointData, study: Study) -> dict[str, Any] | None:
    """Censored at the data cut-off (administrative) versus earlier (lost to follow-up or last contact
    before the cut-off); known only when the end dates and the cut-off are given."""
    cutoff = study.study.data_cutoff
    if ep.end_dates is None or cutoff is None:
        return None
    censored = ep.event == 0
    at_cutoff = censored & (ep.end_dates >= np.datetime64(cutoff, "D"))
    return {
        "data_cutoff": cutoff.isoformat(),
        "administrative": int(at_cutoff.sum()),
        "before_cutoff": int((censored & ~at_cutoff).sum()),
    }
