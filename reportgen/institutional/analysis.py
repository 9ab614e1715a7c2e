"""Institutional analyses: ``Registry`` -> the results mapping (JSON-ready, only protected counts).

Every count in the mapping comes from ``counts.Counts`` (a number, "<t" or "[c]"); survival
estimates follow the display rule of ``survival.points``; the risk adjustment publishes O/E only
for units whose observed count is published. The mapping holds the whole institution and every
unit; ``report_results`` cuts out what one report (institution or one unit) writes to results.json.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.runner import SCHEMA_VERSION, software_versions
from .counts import ALL, CUR, PATIENTS, Counts, build_counts, events_measure
from .prepare import CURRENT, PREVIOUS, Registry
from .riskadjust import LIMITS, expected_events, funnel_curve, position, ratio_ci
from .survival import curve, difference, period_hazard_ratio, points


def suppression_method(t: int) -> str:
    """The protection rules in words (Methods and results.json)."""
    return (
        f"Counts below {t} are shown as '<{t}'. Complementary suppression ('[c]') hides further counts so "
        f"that none below {t} can be worked out from totals or from other tables; this is checked by linear "
        f"programming over all published tables together. Deaths are also withheld when fewer than {t} "
        f"patients survived. Survival is shown only where at least {t} deaths had occurred and at least "
        f"{t} patients were still followed."
    )


def _section(
    reg: Registry,
    counts: Counts,
    eid: str,
    unit: str | None,
    conf_type: str,
    conf_level: float,
) -> dict[str, Any]:
    """Patients, events and survival at the time points for one unit (None: the institution)."""
    inst = reg.options
    t = inst.suppression_threshold
    time, event = reg.endpoint(eid)
    years = [float(y) for y in inst.time_points]
    times_unit = [reg.unit_time(eid, y) for y in years]
    ev = events_measure(eid)
    in_unit = np.ones(reg.n, dtype=bool) if unit is None else reg.unit == unit
    cur = reg.period == CURRENT

    def group(mask: np.ndarray, scope: str, dim: str | None = None, level: object = None) -> dict[str, Any]:
        km = curve(time[mask], event[mask], conf_type, conf_level)
        shown = counts.shown(PATIENTS, scope, unit, dim, level)
        return {
            "patients": counts.public(PATIENTS, scope, unit, dim, level),
            "events": counts.public(ev, scope, unit, dim, level),
            "survival": [p.public() for p in points(km, times_unit, years, t, shown)],
        }

    out: dict[str, Any] = {"current": group(in_unit & cur, CUR)}
    out["by_year"] = {str(y): group(in_unit & (reg.year == y), ALL, "year", y) for y in reg.years}
    out["by_stratifier"] = {
        col: {lvl: group(in_unit & cur & (st.values == lvl), CUR, col, lvl) for lvl in st.levels}
        for col, st in reg.strata.items()
    }
    if len(reg.periods) == 2:
        km_cur = curve(time[in_unit & cur], event[in_unit & cur], conf_type, conf_level)
        prev = in_unit & (reg.period == PREVIOUS)
        km_prev = curve(time[prev], event[prev], conf_type, conf_level)
        p_cur = points(km_cur, times_unit, years, t, counts.shown(PATIENTS, ALL, unit, "period", CURRENT))
        p_prev = points(km_prev, times_unit, years, t, counts.shown(PATIENTS, ALL, unit, "period", PREVIOUS))
        out["by_period"] = {
            p: {
                "patients": counts.public(PATIENTS, ALL, unit, "period", p),
                "events": counts.public(ev, ALL, unit, "period", p),
                "survival": [q.public() for q in pts],
            }
            for p, pts in ((PREVIOUS, p_prev), (CURRENT, p_cur))
        }
        hr = period_hazard_ratio(
            time[in_unit], event[in_unit], cur[in_unit], reg.case_mix[in_unit], conf_level, "efron"
        )
        both_shown = counts.shown(ev, ALL, unit, "period", CURRENT) and counts.shown(ev, ALL, unit, "period", PREVIOUS)
        if not both_shown:
            hr = {"status": "suppressed", "hr": None, "ci": None, "p": None}
        out["comparison"] = {
            "survival_difference": [difference(a, b, conf_level) for a, b in zip(p_cur, p_prev, strict=True)],
            "hazard_ratio": hr,
        }
    return out


def _risk_adjustment(reg: Registry, counts: Counts, eid: str) -> dict[str, Any]:
    """Observed and expected events per unit in the current period, O/E with exact CI and funnel position."""
    time, event = reg.endpoint(eid)
    cur = reg.period == CURRENT
    exp, info = expected_events(time[cur], event[cur], reg.case_mix[cur], "efron")
    ev = events_measure(eid)
    units: dict[str, Any] = {}
    unit_cur = reg.unit[cur]
    e_cur = event[cur]
    for u in reg.units:
        m = unit_cur == u
        expected = float(exp[m].sum())
        observed = int(e_cur[m].sum())
        shown = counts.shown(ev, CUR, u)
        row: dict[str, Any] = {
            "patients": counts.public(PATIENTS, CUR, u),
            "observed": counts.public(ev, CUR, u),
            "expected": expected,
            "ratio": None,
            "ci": None,
            "position": None,
        }
        if shown and expected > 0:
            lo, hi = ratio_ci(observed, expected, reg.options.conf_level)
            row.update(
                {
                    "ratio": observed / expected,
                    "ci": [lo, hi],
                    "position": position(observed, expected),
                    "difference": observed - expected,
                }
            )
        units[u] = row
    es = [r["expected"] for r in units.values() if r["expected"] > 0]
    limits = funnel_curve(min(es) * 0.5, max(es) * 1.5) if es else None
    info.pop("n", None)  # a count: the model's size is the current period's total, published elsewhere
    return {
        "endpoint": eid,
        "case_mix": list(reg.options.case_mix),
        "design_columns": list(reg.case_mix_names),
        "model": info,
        "limits_method": "exact Poisson with interpolation (Spiegelhalter 2005)",
        "limit_levels": [c for c, _, _ in LIMITS],
        "units": units,
        "funnel": limits,
    }


def analyse(reg: Registry, counts: Counts | None = None) -> dict[str, Any]:
    """The results of every report of the batch (institution and units), protected."""
    study = reg.study
    inst = reg.options
    counts = counts or build_counts(reg)
    conf_type = study.analysis.km.conf_type
    conf_level = inst.conf_level
    two = len(reg.periods) == 2
    cohort: dict[str, Any] = {
        "n_assessed": counts.assessed(),
        "flow": counts.flow_public(),
        "n_included": counts.public(PATIENTS, ALL),
        "n_current": counts.public(PATIENTS, CUR),
        "by_unit": {u: counts.public(PATIENTS, ALL, u) for u in reg.units},
        "by_unit_current": {u: counts.public(PATIENTS, CUR, u) for u in reg.units},
        "by_year": {
            str(y): {
                "all": counts.public(PATIENTS, ALL, None, "year", y),
                **{u: counts.public(PATIENTS, ALL, u, "year", y) for u in reg.units},
            }
            for y in reg.years
        },
        "case_mix": {
            col: {
                lvl: {
                    "all": counts.public(PATIENTS, CUR, None, col, lvl),
                    **{u: counts.public(PATIENTS, CUR, u, col, lvl) for u in reg.units},
                }
                for lvl in st.levels
            }
            for col, st in reg.strata.items()
        },
    }
    if two:
        cohort["by_period"] = {
            p: {
                "all": counts.public(PATIENTS, ALL, None, "period", p),
                **{u: counts.public(PATIENTS, ALL, u, "period", p) for u in reg.units},
            }
            for p in reg.periods
        }
    endpoints: dict[str, Any] = {}
    for k, (eid, ep) in enumerate(study.endpoints.items()):
        endpoints[eid] = {
            "label": ep.label,
            "abbreviation": ep.abbreviation or eid.upper(),
            "time_unit": ep.time_unit,
            "time_points_years": [float(y) for y in inst.time_points],
            "conf_type": conf_type,
            "conf_level": conf_level,
            "institution": _section(reg, counts, eid, None, conf_type, conf_level),
            "units": {u: _section(reg, counts, eid, u, conf_type, conf_level) for u in reg.units},
            "risk_adjustment": _risk_adjustment(reg, counts, eid) if k == 0 else None,
        }
    periods = {CURRENT: _period(inst.period, reg.period_names[CURRENT])}
    if two and inst.previous_period is not None:
        periods[PREVIOUS] = _period(inst.previous_period, reg.period_names[PREVIOUS])
    versions = software_versions()
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "institutional",
        "software": versions,
        "input": {
            "source": str(reg.source.get("file")),
            "sha256": reg.source.get("sha256"),
            "n_rows": counts.assessed(),
        },
        "study": {
            "title": study.title,
            "data_cutoff": study.study.data_cutoff.isoformat() if study.study.data_cutoff else None,
            "synthetic_data": study.study.synthetic_data,
        },
        "suppression": {
            "threshold": inst.suppression_threshold,
            "small": f"<{inst.suppression_threshold}",
            "withheld": "[c]",
            "method": suppression_method(inst.suppression_threshold),
        },
        "unit": {"label": inst.unit.label, "levels": list(reg.units), "labels": dict(reg.unit_labels)},
        "setting": study.study.setting or "the institution",
        "covariate_labels": {cid: cov.label or cid for cid, cov in study.covariates.items()},
        "periods": periods,
        "years": [int(y) for y in reg.years],
        "stratifiers": {col: {"label": st.label, "levels": list(st.levels)} for col, st in reg.strata.items()},
        "cohort": cohort,
        "endpoints": endpoints,
    }


def _period(p: Any, name: str) -> dict[str, Any]:
    return {"start": p.start.isoformat(), "end": p.end.isoformat(), "label": name}


def report_results(results: dict[str, Any], focus: str | None) -> dict[str, Any]:
    """What one report writes to results.json: the institution, and the focus unit's own breakdowns."""
    out = {
        **results,
        "report": {"focus": focus, "focus_label": results["unit"]["labels"].get(focus) if focus else None},
    }
    if focus is None:
        return out
    endpoints = {}
    for eid, ep in results["endpoints"].items():
        endpoints[eid] = {**ep, "units": {focus: ep["units"][focus]}}
    out["endpoints"] = endpoints
    return out
