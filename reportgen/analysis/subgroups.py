"""Subgroup analyses: ``Cohort`` + endpoint -> per-level group comparisons and interaction tests.

For each level of each subgroup variable: n, events, KM median (with CI) per arm,
and the HR of the group comparison from a Cox model within the level (same ties
as the main model; optionally adjusted for the multivariable model's covariates).
For each variable: the likelihood-ratio test of the group x subgroup interaction
(Cox model with group, subgroup and their product terms versus the model without
the products), on patients with a known subgroup value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..data.cohort import Cohort, EndpointData, SubgroupData, strata_labels
from ..spec.model import Study
from .cox import build_design
from .coxph import fit_cox, lr_test_nested
from .km import curve_summary
from .survfit import kaplan_meier

LR_METHOD = "likelihood-ratio test of the group-by-subgroup interaction terms in a Cox model"


def _dummies(values: pd.Series, levels: list[str]) -> np.ndarray:
    obj = values.astype(object).to_numpy()
    return (
        np.column_stack([(obj == lvl).astype(float) for lvl in levels[1:]])
        if len(levels) > 1
        else np.empty((len(obj), 0))
    )


def _adjusters(study: Study, sg: SubgroupData) -> list[str]:
    if not study.analysis.subgroup.adjust:
        return []
    return [t for t in study.analysis.cox.multivariable if t not in ("group", sg.column)]


def _arm_summaries(
    ep: EndpointData,
    group: np.ndarray,
    mask: np.ndarray,
    levels: list[str],
    study: Study,
    curves: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """n, events and median per arm within a level; full curve summaries go into ``curves`` if given."""
    out = {}
    opts = study.analysis.km
    for g in levels:
        m = mask & (group == g)
        if not m.any():
            out[g] = {"n": 0, "events": 0, "median": None, "median_ci": [None, None]}
            continue
        s = curve_summary(
            kaplan_meier(ep.time[m], ep.event[m], conf_type=opts.conf_type, conf_level=opts.conf_level), []
        )
        if curves is not None:
            curves[g] = s
        out[g] = {"n": s["n"], "events": s["events"], "median": s["median"], "median_ci": s["median_ci"]}
    return out


def _level_hr(
    study: Study, cohort: Cohort, ep: EndpointData, mask: np.ndarray, adjust: list[str], arms: dict[str, Any]
) -> dict[str, Any]:
    levels = cohort.group_levels
    empty = [g for g in levels if arms[g]["n"] == 0]
    no_events = [g for g in levels if arms[g]["n"] > 0 and arms[g]["events"] == 0]
    if empty:
        return _not_estimable(f"no patients in {', '.join(study.group_label(g) for g in empty)}")
    if no_events:
        return _not_estimable(f"no events in {', '.join(study.group_label(g) for g in no_events)}")
    sub = cohort.subset(mask)
    strata, known_strata = strata_labels(sub)
    design = build_design(study, sub, ["group", *adjust], also_complete=known_strata)
    time, event = ep.time[mask][design.complete], ep.event[mask][design.complete]
    st = strata[design.complete] if strata is not None else None
    fit = fit_cox(time, event, design.X, strata=st, ties=study.analysis.cox.ties)
    z = float(stats.norm.ppf(0.5 + study.analysis.km.conf_level / 2))
    rows = []
    for j, col in enumerate(design.columns):
        if col.variable != "group":
            continue
        reason = fit.not_estimable.get(j)
        coef, se = float(fit.coef[j]), float(fit.se[j])
        if reason or not (math.isfinite(coef) and math.isfinite(se)):
            rows.append({"level": col.level, **_not_estimable(reason or "not estimable")})
            continue
        rows.append(
            {
                "level": col.level,
                "hr": math.exp(coef),
                "ci": [math.exp(coef - z * se), math.exp(coef + z * se)],
                "p": float(fit.p[j]),
                "se": se,
                "weight": 1.0 / se**2,
                "not_estimable": None,
            }
        )
    if len(rows) == 1:
        row = dict(rows[0])
        row.pop("level")
        return row
    return {
        "hr": None,
        "ci": [None, None],
        "p": None,
        "se": None,
        "weight": None,
        "not_estimable": None,
        "by_level": rows,
    }


def _not_estimable(reason: str) -> dict[str, Any]:
    return {"hr": None, "ci": [None, None], "p": None, "se": None, "weight": None, "not_estimable": reason}


def interaction_test(
    study: Study, cohort: Cohort, ep: EndpointData, sg: SubgroupData, adjust: list[str]
) -> dict[str, Any]:
    """LR test of group x subgroup on patients with a known subgroup value (and complete adjusters)."""
    known = sg.values.notna().to_numpy()
    sub = cohort.subset(known)
    strata, known_strata = strata_labels(sub)
    design = build_design(study, sub, ["group", *adjust], also_complete=known_strata)
    st = strata[design.complete] if strata is not None else None
    values = sg.values[known][design.complete]
    present = [lvl for lvl in sg.levels if (values == lvl).any()]
    if len(present) < 2:
        return {
            "method": LR_METHOD,
            "statistic": None,
            "df": None,
            "p": None,
            "not_estimable": "fewer than two subgroup levels with patients",
        }
    s_dum = _dummies(values, present)
    g_cols = [j for j, c in enumerate(design.columns) if c.variable == "group"]
    inter = np.column_stack([design.X[:, [j]] * s_dum for j in g_cols])
    reduced_X = np.hstack([design.X, s_dum])
    full_X = np.hstack([reduced_X, inter])
    time, event = ep.time[known][design.complete], ep.event[known][design.complete]
    ties = study.analysis.cox.ties
    reduced = fit_cox(time, event, reduced_X, strata=st, ties=ties)
    full = fit_cox(time, event, full_X, strata=st, ties=ties)
    stat, df, p = lr_test_nested(full, reduced)
    inestimable = [j for j in full.not_estimable if j >= reduced_X.shape[1]]
    return {
        "method": LR_METHOD,
        "statistic": float(stat),
        "df": int(df),
        "p": float(p) if df > 0 else None,
        "n": int(len(time)),
        "events": int(event.sum()),
        "not_estimable": ("interaction terms not estimable: " + "; ".join(full.not_estimable[j] for j in inestimable))
        if inestimable
        else None,
    }


def subgroup_results(study: Study, cohort: Cohort, eid: str) -> dict[str, Any]:
    """Rows per subgroup level (contract: results.endpoints.<id>.subgroups), the interaction tests per
    variable, and the per-level KM curves of the ``km_panels`` variable."""
    wanted = study.analysis.subgroup.endpoints
    if not cohort.subgroups or (wanted is not None and eid not in wanted):
        return {"subgroups": [], "subgroup_tests": {}, "subgroup_curves": {}}
    panel_var = study.analysis.subgroup.km_panels
    panel_curves: dict[str, Any] = {}
    ep = cohort.endpoints[eid]
    group = cohort.frame["group"].astype(object).to_numpy()
    rows: list[dict[str, Any]] = []
    tests: dict[str, Any] = {}
    for column, sg in cohort.subgroups.items():
        adjust = _adjusters(study, sg)
        test = interaction_test(study, cohort, ep, sg, adjust)
        tests[column] = {"label": sg.label, "adjusted_for": adjust, **test}
        if column == panel_var:
            panel_curves[column] = {"label": sg.label, "panels": []}
        for level in sg.levels:
            mask = (sg.values == level).to_numpy()
            curves: dict[str, Any] | None = {} if column == panel_var else None
            arms = _arm_summaries(ep, group, mask, cohort.group_levels, study, curves)
            if curves is not None:
                panel_curves[column]["panels"].append({"level": level, "groups": curves})
            hr = _level_hr(study, cohort, ep, mask, adjust, arms) if mask.any() else _not_estimable("no patients")
            rows.append(
                {
                    "variable": column,
                    "label": sg.label,
                    "level": level,
                    "n": int(mask.sum()),
                    "events": int(ep.event[mask].sum()),
                    **hr,
                    "p_interaction": test["p"],
                    "arms": arms,
                    "adjusted_for": adjust,
                }
            )
    return {"subgroups": rows, "subgroup_tests": tests, "subgroup_curves": panel_curves}
