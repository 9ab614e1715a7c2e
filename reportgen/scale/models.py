"""Cox, landmark and subgroup results at scale: ``ScaledCohort`` + endpoint -> the in-memory result mappings.

Mirrors ``analysis.cox`` (univariable and multivariable models, the selection rule),
``analysis.landmark`` and ``analysis.subgroups`` with the distributed Cox fit
(``scale.cox.fit_cox_scaled``) and count tables; the rows of each mapping are built by the
in-memory code (``analysis.cox._term_rows``). What differs, by design, and is said in the results:

- Harrell's C is not computed at scale (``concordance`` None, ``concordance_note`` says why);
- the proportional-hazards test (cox.zph) is not computed at scale: ``ph_test`` holds the method
  with ``global_p`` None and ``not_estimable`` giving the reason, so the report leaves it out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..analysis.cox import PH_METHOD, Column, Design, _term_rows, _test, model_header, no_event_model
from ..analysis.km import curve_summary
from ..analysis.subgroups import LR_METHOD, _adjusters, _not_estimable
from ..spec.model import Study
from .aggregate import Rows, count_table, counts_part, reduce
from .cohort import FactorInfo, ScaledCohort
from .cox import Factor, Model, fit_cox_scaled, lr_test, prepare_model
from .survival import between_group_tests_scaled, curve, endpoint_table, strata_spec

CONCORDANCE_NOTE = (
    "Harrell's C is not computed for data analysed at scale (it needs every pair of patients ordered by "
    "the linear predictor)"
)
PH_NOTE = (
    "not computed for data analysed at scale (the Grambsch-Therneau test needs each event's scaled "
    "Schoenfeld residual); run the in-memory path on a sample to check proportional hazards"
)


def _term_meta(study: Study, cohort: ScaledCohort, term: str) -> tuple[str, str, str, list[str] | None, dict, float]:
    """(variable id, label, coded column, levels or None, level labels, per), as ``cox.term_info``."""
    if term == "group":
        return "group", study.group.label, "group", cohort.group_levels, study.group.labels, 1.0
    cov = study.covariates[term]
    levels = cohort.covariate_levels.get(term) if cov.type == "categorical" else None
    label = cov.label or term
    if cov.type == "continuous" and cov.per != 1:
        label = f"{label} (per {cov.per:g}{' ' + cov.unit if cov.unit else ' units'})"
    return term, label, f"c.{term}", levels, cov.labels, cov.per


def model_design(
    study: Study, cohort: ScaledCohort, terms: list[str], interactions: list[list[str]] | None = None
) -> tuple[list[tuple[Factor, ...]], Design, tuple[str, ...]]:
    """Design columns (as factors), the in-memory ``Design`` description (no rows) and the coded
    columns that must be known, as ``cox.build_design``."""
    factors: list[tuple[Factor, ...]] = []
    columns: list[Column] = []
    groups: list[list[int]] = []
    needed: list[str] = []
    for t in terms:
        var, label, source, levels, labels, per = _term_meta(study, cohort, t)
        needed.append(source)
        idx: list[int] = []
        if levels is None:
            factors.append((Factor(source, "value", float(per)),))
            idx.append(len(columns))
            columns.append(Column(var, label, None, None, None, None))
        else:
            ref = levels[0]
            for code, lvl in enumerate(levels[1:], start=1):
                factors.append((Factor(source, "dummy", code),))
                idx.append(len(columns))
                columns.append(Column(var, label, lvl, labels.get(lvl, lvl), ref, labels.get(ref, ref)))
        groups.append(idx)
    names = list(terms)
    for a, b in interactions or []:
        ia, ib = groups[terms.index(a)], groups[terms.index(b)]
        idx = []
        for i in ia:
            for j in ib:
                ca, cb = columns[i], columns[j]
                factors.append(factors[i] + factors[j])
                idx.append(len(columns))
                level = f"{ca.level_label or ca.label} \u00d7 {cb.level_label or cb.label}"
                columns.append(Column(f"{a}:{b}", f"{ca.label} \u00d7 {cb.label}", level, level, None, None))
        groups.append(idx)
        names.append(f"{a}:{b}")
    design = Design(
        X=np.empty((0, len(factors))), columns=columns, terms=groups, term_names=names, complete=np.zeros(0)
    )
    return factors, design, tuple(dict.fromkeys(needed))


def _rows(cohort: ScaledCohort, eid: str, needed: tuple[str, ...], base: Rows | None = None) -> Rows:
    base = base or Rows(eid=eid)
    return Rows(eid, base.landmark, base.equals, (*base.complete, *needed), strata_spec(cohort), bool(cohort.strata))


def fit_model_scaled(
    study: Study,
    cohort: ScaledCohort,
    eid: str,
    terms: list[str],
    conf_level: float,
    interactions: list[list[str]] | None = None,
    base: Rows | None = None,
    ph_test: bool = True,
) -> dict[str, Any]:
    """One Cox model on complete cases (stratified as the spec says), as ``cox.fit_model``;
    ``ph_test=False`` leaves the PH test out (None), as there."""
    factors, design, needed = model_design(study, cohort, terms, interactions)
    model = Model(_rows(cohort, eid, needed, base), tuple(factors), study.analysis.cox.ties)
    prepared = prepare_model(cohort, model)
    n_events = prepared.n_events
    p = len(factors)
    out = model_header(terms, prepared.n, n_events, prepared.n_base - prepared.n, p)
    if n_events == 0:
        return no_event_model(out, design.columns)
    fit = fit_cox_scaled(cohort, prepared)
    estimable = [j for j in range(p) if j not in fit.not_estimable]
    ph = None
    if ph_test and fit.converged and estimable and n_events >= 2:
        ph = {"method": PH_METHOD, "global_p": None, "terms": [], "not_estimable": PH_NOTE}
    return {
        **out,
        "strata": list(cohort.strata),
        "terms": _term_rows(fit, design, conf_level),
        "converged": bool(fit.converged),
        "iterations": int(fit.iterations),
        "loglik": [float(fit.loglik0), float(fit.loglik)],
        "concordance": None,
        "concordance_se": None,
        "concordance_note": CONCORDANCE_NOTE,
        "lr_test": _test(fit.lr_test),
        "wald_test": _test(fit.wald_test),
        "score_test": _test(fit.score_test),
        "ph_test": ph,
    }


def concurrently(func: Callable[[Any], Any], items: list[Any], max_workers: int = 8) -> list[Any]:
    """``[func(item) for item in items]`` with the fits in flight together: each fit waits on the
    cluster most of the time, so independent fits overlap their round trips (results in order)."""
    if len(items) < 2:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        return list(pool.map(func, items))


def cox_results_scaled(study: Study, cohort: ScaledCohort, eid: str) -> dict[str, Any]:
    """Univariable models (group and each covariate) and the spec's multivariable model, as
    ``cox.cox_results``."""
    conf = study.analysis.km.conf_level
    uni: list[dict[str, Any]] = []
    uni_models: dict[str, Any] = {}
    terms_all = ["group", *study.covariates]
    # as the in-memory runner: the PH test of the univariable models is reported for the group's only
    fitted = concurrently(
        lambda term: fit_model_scaled(study, cohort, eid, [term], conf, ph_test=term == "group"), terms_all
    )
    for term, model in zip(terms_all, fitted, strict=True):
        uni_models[term] = model
        for row in model["terms"]:
            uni.append(
                {
                    **row,
                    "n": model["n"],
                    "events": model["events"],
                    "lr_p": model["lr_test"]["p"] if model["lr_test"] else None,
                }
            )
    multi = None
    cox = study.analysis.cox
    selection = None
    terms = list(cox.multivariable)
    if cox.select is not None:
        screen = {t: (m["lr_test"]["p"] if m["lr_test"] else None) for t, m in uni_models.items()}
        terms = [
            t
            for t in ["group", *study.covariates]
            if t in cox.select.always or (screen[t] is not None and screen[t] < cox.select.univariable_p)
        ]
        selection = {
            "rule": f"univariable likelihood-ratio p < {cox.select.univariable_p:g}",
            "always": list(cox.select.always),
            "screen_p": screen,
            "selected": terms,
        }
    if terms:
        multi = fit_model_scaled(study, cohort, eid, terms, conf, [p for p in cox.interactions if set(p) <= set(terms)])
        multi["selection"] = selection
    return {
        "ties": study.analysis.cox.ties,
        "conf_level": conf,
        "univariable": uni,
        "univariable_models": {
            k: {kk: v[kk] for kk in ("n", "events", "lr_test", "ph_test", "converged")} for k, v in uni_models.items()
        },
        "multivariable": multi,
    }


def landmark_results_scaled(study: Study, cohort: ScaledCohort, eid: str, landmark: float) -> dict[str, Any]:
    """Patients event-free at the landmark, time restarted there, as ``landmark.landmark_results``."""
    rows = Rows(eid=eid, landmark=float(landmark))
    table = endpoint_table(cohort, eid, rows)
    n = int((table["n_event"] + table["n_censor"]).sum())
    out: dict[str, Any] = {
        "time": float(landmark),
        "n": n,
        "events": int(table["n_event"].sum()),
        "n_excluded": cohort.n - n,
    }
    present = [g for code, g in enumerate(cohort.group_levels) if (table["group"] == code).any()]
    if len(present) < 2 or out["events"] == 0:
        return {**out, "not_estimable": "fewer than two groups, or no events, after the landmark"}
    opts = study.analysis.km
    out["groups"] = {}
    for code, g in enumerate(cohort.group_levels):
        sub = table[table["group"] == code]
        if len(sub):
            s = curve_summary(curve(sub, opts.conf_type, opts.conf_level), [])
            out["groups"][g] = {k: s[k] for k in ("n", "events", "median", "median_ci")}
    out["logrank"] = between_group_tests_scaled(study, cohort, table)["logrank"]
    model = fit_model_scaled(study, cohort, eid, ["group"], opts.conf_level, base=rows)
    out["hr"] = [{k: r[k] for k in ("level", "reference", "hr", "ci", "p", "not_estimable")} for r in model["terms"]]
    return out


# ---------------------------------------------------------------------------------------------
# subgroups


def _level_hr(
    study: Study,
    cohort: ScaledCohort,
    eid: str,
    sg: FactorInfo,
    code: int,
    adjust: list[str],
    arms: dict[str, Any],
) -> dict[str, Any]:
    levels = cohort.group_levels
    empty = [g for g in levels if arms[g]["n"] == 0]
    no_events = [g for g in levels if arms[g]["n"] > 0 and arms[g]["events"] == 0]
    if empty:
        return _not_estimable(f"no patients in {', '.join(study.group_label(g) for g in empty)}")
    if no_events:
        return _not_estimable(f"no events in {', '.join(study.group_label(g) for g in no_events)}")
    factors, design, needed = model_design(study, cohort, ["group", *adjust])
    base = Rows(eid=eid, equals=((f"sg.{sg.column}", code),))
    fit = fit_cox_scaled(cohort, Model(_rows(cohort, eid, needed, base), tuple(factors), study.analysis.cox.ties))
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


def _level_counts(cohort: ScaledCohort, eid: str, sg: FactorInfo, needed: tuple[str, ...]) -> np.ndarray:
    """Patients per subgroup level among the complete cases of a model (strata known)."""
    rows = _rows(cohort, eid, (*needed, f"sg.{sg.column}"))
    table = reduce(cohort.map(counts_part, rows, (f"sg.{sg.column}",), key="sg-levels"), _sum_tables)
    counts = np.zeros(len(sg.levels), dtype=np.int64)
    codes = table[f"sg.{sg.column}"].to_numpy().astype(np.intp)
    np.add.at(counts, codes, (table["n_event"] + table["n_censor"]).to_numpy())
    return counts


def _sum_tables(tables: list[Any]) -> Any:
    from .aggregate import add_counts

    return add_counts(tables)


def interaction_test_scaled(
    study: Study, cohort: ScaledCohort, eid: str, sg: FactorInfo, adjust: list[str]
) -> dict[str, Any]:
    """LR test of group x subgroup on patients with a known subgroup value, as
    ``subgroups.interaction_test``."""
    factors, design, needed = model_design(study, cohort, ["group", *adjust])
    counts = _level_counts(cohort, eid, sg, needed)
    present = [code for code in range(len(sg.levels)) if counts[code] > 0]
    if len(present) < 2:
        return {
            "method": LR_METHOD,
            "statistic": None,
            "df": None,
            "p": None,
            "not_estimable": "fewer than two subgroup levels with patients",
        }
    column = f"sg.{sg.column}"
    s_dum = [(Factor(column, "dummy", code),) for code in present[1:]]
    g_cols = [j for j, c in enumerate(design.columns) if c.variable == "group"]
    inter = [factors[j] + s for j in g_cols for s in s_dum]
    reduced = [*factors, *s_dum]
    full = [*reduced, *inter]
    rows = _rows(cohort, eid, (*needed, column))
    ties = study.analysis.cox.ties
    fit_reduced = fit_cox_scaled(cohort, Model(rows, tuple(reduced), ties))
    fit_full = fit_cox_scaled(cohort, Model(rows, tuple(full), ties))
    stat, df, p = lr_test(fit_full, fit_reduced)
    inestimable = [j for j in fit_full.not_estimable if j >= len(reduced)]
    return {
        "method": LR_METHOD,
        "statistic": float(stat),
        "df": int(df),
        "p": float(p) if df > 0 else None,
        "n": int(fit_full.n),
        "events": int(fit_full.n_events),
        "not_estimable": (
            "interaction terms not estimable: " + "; ".join(fit_full.not_estimable[j] for j in inestimable)
        )
        if inestimable
        else None,
    }


def subgroup_results_scaled(study: Study, cohort: ScaledCohort, eid: str) -> dict[str, Any]:
    """Rows per subgroup level, interaction tests and the panel curves, as ``subgroups.subgroup_results``."""
    wanted = study.analysis.subgroup.endpoints
    if not cohort.subgroups or (wanted is not None and eid not in wanted):
        return {"subgroups": [], "subgroup_tests": {}, "subgroup_curves": {}}
    panel_var = study.analysis.subgroup.km_panels
    panel_curves: dict[str, Any] = {}
    opts = study.analysis.km
    tests: dict[str, Any] = {}
    subgroups = list(cohort.subgroups.items())
    adjusts = [_adjusters(study, sg) for _, sg in subgroups]  # type: ignore[arg-type]
    found = concurrently(
        lambda i: (
            interaction_test_scaled(study, cohort, eid, subgroups[i][1], adjusts[i]),
            count_table(cohort, Rows(eid=eid), (f"sg.{subgroups[i][0]}", "group")),
        ),
        list(range(len(subgroups))),
    )
    levels: list[tuple[int, int, dict[str, Any], pd.DataFrame]] = []
    for i, (column, sg) in enumerate(subgroups):
        test, table = found[i]
        tests[column] = {"label": sg.label, "adjusted_for": adjusts[i], **test}
        if column == panel_var:
            panel_curves[column] = {"label": sg.label, "panels": []}
        for code, level in enumerate(sg.levels):
            in_level = table[table[f"sg.{column}"] == code]
            arms: dict[str, Any] = {}
            curves: dict[str, Any] = {}
            for gcode, g in enumerate(cohort.group_levels):
                sub = in_level[in_level["group"] == gcode]
                if not len(sub):
                    arms[g] = {"n": 0, "events": 0, "median": None, "median_ci": [None, None]}
                    continue
                s = curve_summary(curve(sub, opts.conf_type, opts.conf_level), [])
                curves[g] = s
                arms[g] = {"n": s["n"], "events": s["events"], "median": s["median"], "median_ci": s["median_ci"]}
            if column == panel_var:
                panel_curves[column]["panels"].append({"level": level, "groups": curves})
            levels.append((i, code, arms, in_level))

    def one(item: tuple[int, int, dict[str, Any], pd.DataFrame]) -> dict[str, Any]:
        i, code, arms, in_level = item
        column, sg = subgroups[i]
        n_level = int((in_level["n_event"] + in_level["n_censor"]).sum())
        hr = _level_hr(study, cohort, eid, sg, code, adjusts[i], arms) if n_level else _not_estimable("no patients")
        return {
            "variable": column,
            "label": sg.label,
            "level": sg.levels[code],
            "n": n_level,
            "events": int(in_level["n_event"].sum()),
            **hr,
            "p_interaction": tests[column]["p"],
            "arms": arms,
            "adjusted_for": adjusts[i],
        }

    rows = concurrently(one, levels)
    return {"subgroups": rows, "subgroup_tests": tests, "subgroup_curves": panel_curves}
