"""Double-programming check with lifelines: Cohort + Results -> the largest differences between
reportgen's estimates and lifelines' independent implementation of the same estimators.

This is the one module that talks to lifelines (its display-dependent column names go no
further). For each endpoint it recomputes the Kaplan-Meier curve of every group
(KaplanMeierFitter), the log-rank statistic (multivariate_logrank_test) and the univariable
Cox hazard ratio of the group (CoxPHFitter, Efron ties), and records the largest absolute
difference from reportgen's numbers. Above ``MAX_ROWS`` patients the check is skipped and said so
(lifelines' Cox fit is slow at that size); the statistics themselves are tested against R.
"""

from __future__ import annotations

import warnings
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from ..data.cohort import Cohort

MAX_ROWS = 50_000
TOLERANCE = 1e-5  # lifelines stops its Newton-Raphson earlier than R does


def _km_difference(ep: Any, group: np.ndarray, level: str, ours: dict[str, Any]) -> float:
    from lifelines import KaplanMeierFitter

    mask = group == level
    kmf = KaplanMeierFitter().fit(ep.time[mask], ep.event[mask])
    table = ours["table"]
    times = np.asarray(table["time"], dtype=float)
    theirs = kmf.survival_function_at_times(times).to_numpy()
    return float(np.max(np.abs(theirs - np.asarray(table["survival"], dtype=float)))) if len(times) else 0.0


def _logrank_difference(ep: Any, group: np.ndarray, ours: dict[str, Any]) -> float:
    from lifelines.statistics import multivariate_logrank_test

    res = multivariate_logrank_test(ep.time, group, ep.event)
    return abs(float(res.test_statistic) - ours["statistic"])


def _cox_difference(ep: Any, group: np.ndarray, levels: list[str], rows: list[dict[str, Any]]) -> float | None:
    from lifelines import CoxPHFitter

    mine = {r["level"]: r["coef"] for r in rows if r["variable"] == "group"}
    if any(v is None for v in mine.values()):
        return None
    frame = pd.DataFrame({"T": ep.time, "E": ep.event})
    for level in levels[1:]:
        frame[f"g{levels.index(level)}"] = (group == level).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = CoxPHFitter().fit(frame, duration_col="T", event_col="E")
    theirs = {levels[int(name[1:])]: float(v) for name, v in fit.params_.items()}
    return max(abs(theirs[k] - v) for k, v in mine.items())


def lifelines_check(cohort: Cohort, results: dict[str, Any]) -> dict[str, Any]:
    """The QC record for results.json: per endpoint, the largest absolute differences."""
    try:
        version = metadata.version("lifelines")
    except metadata.PackageNotFoundError:
        return {"method": "lifelines", "performed": False, "reason": "lifelines is not installed"}
    if cohort.n > MAX_ROWS:
        return {
            "method": f"lifelines {version}",
            "performed": False,
            "reason": f"skipped above {MAX_ROWS:,} patients (lifelines' Cox fit is slow at that size)",
        }
    group = cohort.frame["group"].astype(object).to_numpy()
    levels = cohort.group_levels
    out: dict[str, Any] = {}
    for eid, ep in cohort.endpoints.items():
        res = results["endpoints"][eid]
        km = max(_km_difference(ep, group, g, res["km"]["groups"][g]) for g in levels if (group == g).any())
        lr = _logrank_difference(ep, group, res["logrank"]) if not res["logrank"].get("strata") else None
        cox = (
            _cox_difference(ep, group, levels, res["cox"]["univariable"])
            if not res["cox"]["multivariable"] or not res["cox"]["multivariable"].get("strata")
            else None
        )
        if res["cox"]["ties"] != "efron":
            cox = None  # lifelines has Efron ties only
        diffs = [d for d in (km, lr, cox) if d is not None]
        out[eid] = {
            "km_survival_max_abs_diff": km,
            "logrank_statistic_abs_diff": lr,
            "group_log_hr_abs_diff": cox,
            "agrees": all(d <= TOLERANCE for d in diffs),
        }
    return {
        "method": f"lifelines {version}",
        "performed": True,
        "tolerance": TOLERANCE,
        "endpoints": out,
        "agrees": all(e["agrees"] for e in out.values()),
    }
