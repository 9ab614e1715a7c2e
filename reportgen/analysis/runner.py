"""Analysis runner: ``Study`` + ``Cohort`` -> the Results mapping (plain JSON types, unrounded).

The mapping follows the results.json contract (docs/results.md): schema_version,
software, input, cohort, table1, endpoints. Nothing here formats a number.
"""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

from .. import __version__
from ..data.cohort import Cohort
from ..spec.model import DAYS_PER_UNIT, Study
from .cox import cox_results
from .descriptive import table1
from .km import km_results
from .landmark import landmark_results
from .subgroups import subgroup_results

SCHEMA_VERSION = 1
_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "lifelines",
    "matplotlib",
    "jinja2",
    "weasyprint",
    "pydantic",
)


def software_versions() -> dict[str, str]:
    versions = {"reportgen": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def endpoint_results(study: Study, cohort: Cohort, eid: str) -> dict[str, Any]:
    ep_spec = study.endpoints[eid]
    ep = cohort.endpoints[eid]
    return {
        "label": ep_spec.label,
        "abbreviation": ep_spec.abbreviation or eid.upper(),
        "definition": ep_spec.definition,
        "time_unit": ep_spec.time_unit,
        "derived_from_dates": ep.derived_from_dates,
        "days_per_unit": DAYS_PER_UNIT[ep_spec.time_unit] if ep.derived_from_dates else None,
        "censored_at_cutoff": ep.n_truncated_at_cutoff,
        "n": int(len(ep.time)),
        "events": int(ep.event.sum()),
        **km_results(study, cohort, eid),
        "cox": cox_results(study, cohort, eid),
        **subgroup_results(study, cohort, eid),
        "landmark_analysis": (
            landmark_results(study, cohort, eid, study.analysis.landmark_analysis)
            if study.analysis.landmark_analysis
            else None
        ),
    }


def run_analyses(study: Study, cohort: Cohort) -> dict[str, Any]:
    """Every analysis the spec asks for, as one JSON-ready mapping."""
    groups = cohort.frame["group"].astype(object)
    results = {
        "schema_version": SCHEMA_VERSION,
        "software": software_versions(),
        "input": {
            "file": cohort.source["file"],
            "sha256": cohort.source["sha256"],
            "n_rows": cohort.source["n_rows"],
            "n_columns": cohort.source["n_columns"],
        },
        "cohort": {
            "n_included": cohort.n,
            "groups": {lvl: int((groups == lvl).sum()) for lvl in cohort.group_levels},
            "group_labels": {lvl: study.group_label(lvl) for lvl in cohort.group_levels},
            "reference": cohort.group_levels[0],
            "flow": cohort.flow,
            "n_assessed": cohort.source["n_rows"],
        },
        "alpha": study.analysis.alpha,
        "study": {
            "design": study.study.design,
            "period_start": study.study.period_start.isoformat() if study.study.period_start else None,
            "period_end": study.study.period_end.isoformat() if study.study.period_end else None,
            "data_cutoff": study.study.data_cutoff.isoformat() if study.study.data_cutoff else None,
        },
        "table1": table1(study, cohort),
        "endpoints": {eid: endpoint_results(study, cohort, eid) for eid in study.endpoints},
    }
    if study.analysis.qc:
        from .lifelines_qc import lifelines_check  # imports lifelines only when the check runs

        results["qc"] = lifelines_check(cohort, results)
    return results
