"""Cox models for a study: ``Cohort`` + endpoint -> univariable and multivariable results (JSON-ready).

Builds design matrices (dummy coding against each categorical reference level;
continuous covariates per ``per`` units), fits with ``coxph.fit_cox`` (complete
cases per model, counted), and tests proportional hazards with ``coxph.cox_zph``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..data.cohort import Cohort, EndpointData, strata_labels
from ..spec.model import Study
from .coxph import CoxFit, cox_zph, fit_cox

PH_METHOD = (
    "Grambsch-Therneau test on scaled Schoenfeld residuals with Kaplan-Meier-transformed time "
    "(as R survival::cox.zph, version 3)"
)


@dataclass(frozen=True)
class Column:
    variable: str
    label: str
    level: str | None
    level_label: str | None
    reference: str | None
    reference_label: str | None


@dataclass(frozen=True)
class Design:
    X: np.ndarray
    columns: list[Column]
    terms: list[list[int]]  # column indices per term (a factor's dummies form one term)
    term_names: list[str]
    complete: np.ndarray  # boolean mask of rows used


def term_info(
    study: Study, cohort: Cohort, term: str
) -> tuple[str, str, pd.Series, list[str] | None, dict[str, str], float]:
    """(variable id, label, values, levels or None, level labels, per) for 'group' or a covariate id."""
    if term == "group":
        return (
            "group",
            study.group.label,
            cohort.frame["group"],
            cohort.group_levels,
            study.group.labels,
            1.0,
        )
    cov = study.covariates[term]
    levels = cohort.covariate_levels.get(term) if cov.type == "categorical" else None
    label = cov.label or term
    if cov.type == "continuous" and cov.per != 1:
        label = f"{label} (per {cov.per:g}{' ' + cov.unit if cov.unit else ' units'})"
    return (term, label, cohort.frame[term], levels, cov.labels, cov.per)


def build_design(
    study: Study,
    cohort: Cohort,
    terms: list[str],
    interactions: list[list[str]] | None = None,
    also_complete: np.ndarray | None = None,
) -> Design:
    """Design matrix over complete cases of the given terms; ``interactions`` adds the products of the
    columns of each pair of terms (one term per pair); ``also_complete`` restricts the rows further."""
    values = {t: term_info(study, cohort, t) for t in terms}
    complete = np.ones(cohort.n, dtype=bool) if also_complete is None else also_complete.copy()
    for _, _, col, _, _, _ in values.values():
        complete &= col.notna().to_numpy()
    blocks: list[np.ndarray] = []
    columns: list[Column] = []
    groups: list[list[int]] = []
    for t in terms:
        var, label, col, levels, labels, per = values[t]
        sub = col[complete]
        idx: list[int] = []
        if levels is None:
            blocks.append((sub.to_numpy(dtype=float) / per)[:, None])
            idx.append(len(columns))
            columns.append(Column(var, label, None, None, None, None))
        else:
            ref = levels[0]
            codes = pd.Categorical(sub, categories=levels).codes  # one pass instead of one text comparison per level
            for code, lvl in enumerate(levels[1:], start=1):
                blocks.append((codes == code).astype(float)[:, None])
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
                blocks.append(blocks[i] * blocks[j])
                idx.append(len(columns))
                level = f"{ca.level_label or ca.label} \u00d7 {cb.level_label or cb.label}"
                columns.append(Column(f"{a}:{b}", f"{ca.label} \u00d7 {cb.label}", level, level, None, None))
        groups.append(idx)
        names.append(f"{a}:{b}")
    X = np.hstack(blocks) if blocks else np.empty((int(complete.sum()), 0))
    return Design(X=X, columns=columns, terms=groups, term_names=names, complete=complete)


def _z(conf_level: float) -> float:
    return float(stats.norm.ppf(0.5 + conf_level / 2))


def _term_rows(fit: CoxFit, design: Design, conf_level: float) -> list[dict[str, Any]]:
    z = _z(conf_level)
    rows = []
    for j, col in enumerate(design.columns):
        reason = fit.not_estimable.get(j)
        coef, se = float(fit.coef[j]), float(fit.se[j])
        ok = reason is None and math.isfinite(coef) and math.isfinite(se)
        if ok and abs(coef) + z * se > 50:  # a CI beyond exp(+-50): separation or too few events
            ok, reason = False, "not estimable: standard error too large (too few events, or separation)"
        rows.append(
            {
                "variable": col.variable,
                "label": col.label,
                "level": col.level,
                "level_label": col.level_label,
                "reference": col.reference,
                "reference_label": col.reference_label,
                "coef": coef if ok else None,
                "se": se if ok else None,
                "hr": math.exp(coef) if ok else None,
                "ci": [math.exp(coef - z * se), math.exp(coef + z * se)] if ok else [None, None],
                "p": float(fit.p[j]) if ok else None,
                "not_estimable": reason,
            }
        )
    return rows


def _test(t: tuple[float, float, float]) -> dict[str, float]:
    return {"statistic": float(t[0]), "df": int(t[1]), "p": float(t[2])}


def model_header(terms: list[str], n: int, n_events: int, n_excluded: int, parameters: int) -> dict[str, Any]:
    """The counts every model result starts with (in memory or at scale)."""
    return {
        "terms_requested": terms,
        "n": n,
        "events": n_events,
        "n_excluded_missing": n_excluded,
        "parameters": int(parameters),
        "events_per_parameter": (n_events / parameters) if parameters else None,
    }


def no_event_model(header: dict[str, Any], columns: list[Column]) -> dict[str, Any]:
    """A model result without events: every term not estimable, no tests."""
    rows = [
        {
            "variable": c.variable,
            "label": c.label,
            "level": c.level,
            "level_label": c.level_label,
            "reference": c.reference,
            "reference_label": c.reference_label,
            "coef": None,
            "se": None,
            "hr": None,
            "ci": [None, None],
            "p": None,
            "not_estimable": "no events",
        }
        for c in columns
    ]
    return {
        **header,
        "terms": rows,
        "converged": False,
        "concordance": None,
        "concordance_se": None,
        "lr_test": None,
        "wald_test": None,
        "score_test": None,
        "ph_test": None,
    }


def fit_model(
    study: Study,
    cohort: Cohort,
    ep: EndpointData,
    terms: list[str],
    conf_level: float,
    interactions: list[list[str]] | None = None,
    concordance: bool = True,
    residual_plots: bool = False,
    ph_test: bool = True,
    risk_sets: dict[tuple[Any, ...], Any] | None = None,
) -> dict[str, Any]:
    """Fit one Cox model on complete cases (stratified when the spec gives strata); JSON-ready result
    including the PH test. ``concordance=False`` skips Harrell's C (None in the result);
    ``residual_plots`` keeps the scaled Schoenfeld residuals for the diagnostic figure."""
    strata, known = strata_labels(cohort)
    design = build_design(study, cohort, terms, interactions, also_complete=known)
    if design.complete.all() and strata is None:  # the endpoint's own arrays: shared sorted risk sets
        time, event = ep.time, ep.event
    else:
        time, event = ep.time[design.complete], ep.event[design.complete]
    st = strata[design.complete] if strata is not None else None
    n_events = int(event.sum())
    base = model_header(terms, int(design.complete.sum()), n_events, int((~design.complete).sum()), design.X.shape[1])
    if n_events == 0:
        return no_event_model(base, design.columns)
    fit = fit_cox(
        time, event, design.X, strata=st, ties=study.analysis.cox.ties, concordance=concordance, risk_sets=risk_sets
    )
    result = {
        **base,
        "strata": list(cohort.strata),
        "terms": _term_rows(fit, design, conf_level),
        "converged": bool(fit.converged),
        "iterations": int(fit.iterations),
        "loglik": [float(fit.loglik0), float(fit.loglik)],
        "concordance": float(fit.concordance) if concordance else None,
        "concordance_se": float(fit.concordance_se) if concordance else None,
        "lr_test": _test(fit.lr_test),
        "wald_test": _test(fit.wald_test),
        "score_test": _test(fit.score_test),
    }
    # no PH test on a fit that did not converge: its residuals describe no model
    result["ph_test"] = _ph_test(fit, design, time, event, st, residual_plots) if ph_test and fit.converged else None
    return result


def _ph_test(
    fit: CoxFit,
    design: Design,
    time: np.ndarray,
    event: np.ndarray,
    strata: np.ndarray | None,
    residual_plots: bool = False,
) -> dict[str, Any] | None:
    estimable = [j for j in range(design.X.shape[1]) if j not in fit.not_estimable]
    if not estimable or int(event.sum()) < 2:
        return None
    terms = [[j for j in idx if j in estimable] for idx in design.terms]
    keep = [(name, idx) for name, idx in zip(design.term_names, terms, strict=True) if idx]
    try:
        zph = cox_zph(fit, time, event, design.X, strata=strata, transform="km", terms=[idx for _, idx in keep])
    except (np.linalg.LinAlgError, ValueError) as exc:
        return {"method": PH_METHOD, "global_p": None, "terms": [], "not_estimable": str(exc)}
    rows = [
        {"variable": name, "statistic": float(chi), "df": int(df), "p": float(p)}
        for (name, _), (chi, df, p) in zip(keep, zph.terms, strict=True)
    ]
    g = zph.global_
    return {
        "method": PH_METHOD,
        "transform": "km",
        "global_statistic": float(g[0]),
        "global_df": int(g[1]),
        "global_p": float(g[2]),
        "terms": rows,
        "residuals": _residual_plot_data(zph, fit, keep) if residual_plots else None,
    }


PLOT_POINTS = 2000


def _residual_plot_data(zph: Any, fit: CoxFit, keep: list[tuple[str, list[int]]]) -> dict[str, Any]:
    """Scaled Schoenfeld residuals for the supplement's diagnostic plots: at most PLOT_POINTS events
    (evenly spaced in time order when there are more; the tests above use every event)."""
    order = np.argsort(zph.time, kind="stable")
    if len(order) > PLOT_POINTS:
        order = order[np.linspace(0, len(order) - 1, PLOT_POINTS).round().astype(int)]
    res = np.asarray(zph.residuals)[order]
    var = np.atleast_2d(np.asarray(zph.var))
    return {
        "terms": [name for name, _ in keep],
        "coef": [float(fit.coef[idx[0]]) if len(idx) == 1 else None for _, idx in keep],
        "var": [float(var[i, i]) for i in range(len(keep))] if var.shape[0] == len(keep) else None,
        "time": [float(t) for t in np.asarray(zph.time)[order]],
        "values": [[None if not np.isfinite(v) else float(v) for v in row] for row in res],
        "n_events": int(len(zph.time)),
        "subsampled": bool(len(zph.time) > PLOT_POINTS),
    }


def cox_results(study: Study, cohort: Cohort, eid: str) -> dict[str, Any]:
    """Univariable models (group and each covariate) and the spec's multivariable model."""
    ep = cohort.endpoints[eid]
    conf = study.analysis.km.conf_level
    uni: list[dict[str, Any]] = []
    uni_models: dict[str, Any] = {}
    shared: dict[tuple[Any, ...], Any] = {}  # sorted risk sets reused by models on the same rows
    for term in ["group", *study.covariates]:
        # Harrell's C is reported for the multivariable model only: skip it here (costly with 10^6 rows)
        # the PH test is reported for the multivariable model; of the univariable ones only the group's
        model = fit_model(study, cohort, ep, [term], conf, concordance=False, ph_test=term == "group", risk_sets=shared)
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
        multi = fit_model(
            study,
            cohort,
            ep,
            terms,
            conf,
            [p for p in cox.interactions if set(p) <= set(terms)],
            residual_plots=True,
            risk_sets=shared,
        )
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
