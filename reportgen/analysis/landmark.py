"""Landmark analysis: ``Cohort`` + endpoint + landmark time -> KM, log-rank and group HR among the
patients still event-free and under follow-up at the landmark, with time restarted there.

This answers "for patients alive (event-free) at L, does the group still matter?", and avoids the
immortal-time bias of comparing groups defined by something that happens during follow-up.
"""

from __future__ import annotations

from typing import Any

from ..data.cohort import Cohort
from ..spec.model import Study
from .cox import fit_model
from .km import between_group_tests, curve_summary
from .survfit import kaplan_meier


def landmark_results(study: Study, cohort: Cohort, eid: str, landmark: float) -> dict[str, Any]:
    ep = cohort.endpoints[eid]
    at_risk = ep.time > landmark
    restarted = ep.subset(at_risk)
    restarted = type(restarted)(
        restarted.time - landmark, restarted.event, restarted.derived_from_dates, restarted.end_dates
    )
    sub = cohort.subset(at_risk, endpoints={eid: restarted})
    group = sub.frame["group"].astype(object).to_numpy()
    out: dict[str, Any] = {
        "time": float(landmark),
        "n": int(at_risk.sum()),
        "events": int(restarted.event.sum()),
        "n_excluded": int((~at_risk).sum()),
    }
    present = [g for g in cohort.group_levels if (group == g).any()]
    if len(present) < 2 or out["events"] == 0:
        return {**out, "not_estimable": "fewer than two groups, or no events, after the landmark"}
    opts = study.analysis.km
    out["groups"] = {}
    for g in cohort.group_levels:
        mask = group == g
        if mask.any():
            s = curve_summary(
                kaplan_meier(
                    restarted.time[mask], restarted.event[mask], conf_type=opts.conf_type, conf_level=opts.conf_level
                ),
                [],
            )
            out["groups"][g] = {k: s[k] for k in ("n", "events", "median", "median_ci")}
    out["logrank"] = between_group_tests(study, sub, restarted, group)["logrank"]
    model = fit_model(study, sub, restarted, ["group"], opts.conf_level)
    out["hr"] = [{k: r[k] for k in ("level", "reference", "hr", "ci", "p", "not_estimable")} for r in model["terms"]]
    return out
