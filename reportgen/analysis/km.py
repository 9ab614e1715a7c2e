"""Kaplan-Meier results for a study: ``Cohort`` + endpoint -> per-group KM summaries, log-rank, follow-up.

Each curve is stored once as a step table (time, n at risk, events, censored,
survival, CI); the figure, the at-risk row under it and the landmark table all
read that table. Values that cannot be estimated are None.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..data.cohort import Cohort, EndpointData
from ..spec.model import Study
from .survdiff import survdiff
from .survfit import KMCurve, kaplan_meier, km_quantile, km_summary, reverse_km


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
    return {
        "km": km,
        "logrank": logrank(ep, group, cohort.group_levels),
        "followup": followup(ep, group, cohort),
    }


def logrank(ep: EndpointData, group: np.ndarray, levels: list[str]) -> dict[str, Any]:
    res = survdiff(ep.time, ep.event, group, levels=levels)
    return {
        "method": res.method,
        "statistic": float(res.statistic),
        "df": int(res.df),
        "p": float(res.p),
        "observed": {str(g): float(o) for g, o in zip(res.groups, res.observed, strict=True)},
        "expected": {str(g): float(e) for g, e in zip(res.groups, res.expected, strict=True)},
    }


def followup(ep: EndpointData, group: np.ndarray, cohort: Cohort) -> dict[str, Any]:
    """Median follow-up by the reverse Kaplan-Meier method (censoring treated as the event)."""

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
        "groups": {lvl: one(group == lvl) for lvl in cohort.group_levels},
    }
