"""Facts for the text templates: Results -> the selections a sentence needs (which factors were
significant, which baseline variables were imbalanced, which PH tests failed), so that templates
hold only words and never decide statistics.
"""

from __future__ import annotations

from typing import Any

from .words import significant

SMD_THRESHOLD = 0.1


def _group_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["variable"] == "group"]


def endpoint_facts(ep: dict[str, Any], alpha: float) -> dict[str, Any]:
    cox = ep["cox"]
    multi = cox["multivariable"]
    uni_group = _group_rows(cox["univariable"])
    multi_terms = multi["terms"] if multi else []
    ph = multi.get("ph_test") if multi else None
    ph_viol = [t for t in (ph["terms"] if ph else []) if significant(t["p"], alpha)]
    sub = [r for r in ep.get("subgroups", []) if r.get("hr") is not None]
    ranked = sorted(sub, key=lambda r: r["hr"])
    tests = ep.get("subgroup_tests", {})
    return {
        "subgroup_smallest": ranked[0] if ranked else None,
        "subgroup_largest": ranked[-1] if len(ranked) > 1 else None,
        "subgroup_not_estimable": [r for r in ep.get("subgroups", []) if r.get("not_estimable")],
        "interaction_significant": [t for t in tests.values() if significant(t.get("p"), alpha)],
        "interaction_ps": [t["p"] for t in tests.values() if t.get("p") is not None],
        "logrank_significant": significant(ep["logrank"]["p"], alpha),
        "uni_group": uni_group,
        "multi_group": _group_rows(multi_terms),
        "multi_significant": [r for r in multi_terms if r["variable"] != "group" and significant(r["p"], alpha)],
        "multi_not_significant": [
            r for r in multi_terms if r["variable"] != "group" and r["p"] is not None and not significant(r["p"], alpha)
        ],
        "not_estimable": [r for r in cox["univariable"] + multi_terms if r.get("not_estimable")],
        "ph_violations": ph_viol,
        "ph_global_significant": bool(ph and significant(ph.get("global_p"), alpha)),
        "epv": multi["events_per_parameter"] if multi else None,
        "epv_low": bool(multi and multi["events_per_parameter"] is not None and multi["events_per_parameter"] < 10),
    }


def report_facts(results: dict[str, Any]) -> dict[str, Any]:
    alpha = results["alpha"]
    t1 = results["table1"]
    labels = results["cohort"]["group_labels"]
    groups = [{"level": g, "label": labels[g], "n": n} for g, n in results["cohort"]["groups"].items()]
    imbalanced = [v for v in t1["variables"] if v["smd"] is not None and v["smd"] > SMD_THRESHOLD]
    tests_used = sorted({v["test"]["method"] for v in t1["variables"] if v["test"]["method"]})
    tests_continuous = sorted(
        {v["test"]["method"] for v in t1["variables"] if v["test"]["method"] and v["type"] == "continuous"}
    )
    tests_categorical = sorted(
        {v["test"]["method"] for v in t1["variables"] if v["test"]["method"] and v["type"] == "categorical"},
        reverse=True,
    )
    missing_vars = [v for v in t1["variables"] if v["missing_total"]]
    eps = {eid: endpoint_facts(ep, alpha) for eid, ep in results["endpoints"].items()}
    n = results["cohort"]["n_included"]
    followup = None
    by_censored = sorted(results["endpoints"].items(), key=lambda kv: -kv[1]["followup"]["n_censored"])
    for eid, ep in by_censored:
        if ep["followup"]["median"] is not None:
            followup = {
                "median": ep["followup"]["median"],
                "ci": ep["followup"]["ci"],
                "unit": ep["time_unit"],
                "endpoint": eid,
            }
            break
    return {
        "followup": followup,
        "n": n,
        "missing_share": (t1.get("n_any_missing", 0) / n) if n else 0.0,
        "n_any_missing": t1.get("n_any_missing", 0),
        "small_sample": n < 100,
        "alpha": alpha,
        "groups": groups,
        "two_groups": len(groups) == 2,
        "reference": groups[0],
        "comparator": groups[1] if len(groups) == 2 else None,
        "imbalanced": imbalanced,
        "balanced_all": not imbalanced,
        "smd_threshold": SMD_THRESHOLD,
        "tests_used": tests_used,
        "tests_continuous": tests_continuous,
        "tests_categorical": tests_categorical,
        "missing_vars": missing_vars,
        "derived_from_dates": any(ep["derived_from_dates"] for ep in results["endpoints"].values()),
        "endpoints": eps,
        "any_epv_low": any(f["epv_low"] for f in eps.values()),
        "any_ph_violation": any(f["ph_violations"] for f in eps.values()),
    }
