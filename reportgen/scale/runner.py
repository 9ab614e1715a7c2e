"""Analysis runner at scale: ``Study`` + partitioned ``Source`` + Dask client -> the Results mapping.

The mapping is the one ``analysis.runner.run_analyses`` gives (docs/results.md): figures, tables
and text read it without knowing where the numbers came from. Computed exactly, from distributed
aggregations: the participant flow, Table 1 (medians and quartiles exact while a variable has at
most ``table1.DISTINCT_CAP`` distinct values, else within a stated bound), Kaplan-Meier curves,
landmark rates, RMST, median follow-up, the log-rank family (stratified, weighted, trend,
pairwise), univariable and multivariable Cox models, the landmark analysis and subgroup analyses.
Not computed at scale, with the reason in the results (``compute.not_computed``): Harrell's C and
the proportional-hazards test. ``compute`` says how the numbers were made and nothing about the
cluster, so the same data and spec give the same results.json on any cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis.runner import SCHEMA_VERSION, software_versions
from ..spec.model import DAYS_PER_UNIT, Study
from .cohort import ScaledCohort, build_scaled_cohort
from .models import (
    CONCORDANCE_NOTE,
    PH_NOTE,
    concurrently,
    cox_results_scaled,
    landmark_results_scaled,
    subgroup_results_scaled,
)
from .source import DEFAULT_PARTITION_ROWS
from .survival import endpoint_table, km_results_scaled
from .table1 import table1_scaled

if TYPE_CHECKING:
    from dask.distributed import Client

    from .source import Source

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def endpoint_results_scaled(study: Study, cohort: ScaledCohort, eid: str) -> dict[str, Any]:
    """One endpoint's results, as ``analysis.runner.endpoint_results``."""
    ep_spec = study.endpoints[eid]
    info = cohort.endpoints[eid]
    table = endpoint_table(cohort, eid)
    return {
        "label": ep_spec.label,
        "abbreviation": ep_spec.abbreviation or eid.upper(),
        "definition": ep_spec.definition,
        "time_unit": ep_spec.time_unit,
        "derived_from_dates": info.derived_from_dates,
        "days_per_unit": DAYS_PER_UNIT[ep_spec.time_unit] if info.derived_from_dates else None,
        "censored_at_cutoff": info.n_truncated_at_cutoff,
        "n": int((table["n_event"] + table["n_censor"]).sum()),
        "events": int(table["n_event"].sum()),
        **km_results_scaled(study, cohort, eid, table),
        "cox": cox_results_scaled(study, cohort, eid),
        **subgroup_results_scaled(study, cohort, eid),
        "landmark_analysis": (
            landmark_results_scaled(study, cohort, eid, study.analysis.landmark_analysis)
            if study.analysis.landmark_analysis
            else None
        ),
    }


def results_scaled(study: Study, cohort: ScaledCohort, progress: Progress = _quiet) -> dict[str, Any]:
    """Every analysis the spec asks for, as one JSON-ready mapping (the in-memory runner's keys)."""
    software = software_versions()
    for name in ("dask", "distributed"):
        try:
            software[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    progress("Table 1 and the endpoints' analyses")
    jobs = ["table1", *study.endpoints]
    done = concurrently(
        lambda job: table1_scaled(study, cohort) if job == "table1" else endpoint_results_scaled(study, cohort, job),
        jobs,
    )
    t1 = done[0]
    endpoints = dict(zip(study.endpoints, done[1:], strict=True))
    return {
        "schema_version": SCHEMA_VERSION,
        "software": software,
        "input": {
            "file": cohort.source["file"],
            "sha256": cohort.source["sha256"],
            "n_rows": cohort.source["n_rows"],
            "n_columns": cohort.source["n_columns"],
        },
        "cohort": {
            "n_included": cohort.n,
            "groups": dict(cohort.group_counts),
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
        "compute": {
            "engine": "dask",
            "method": "distributed aggregation: counts per time, per-time risk-set sums for Cox models, "
            "moments and value counts for Table 1; every number is exact unless stated",
            "not_computed": {"concordance": CONCORDANCE_NOTE, "ph_test": PH_NOTE},
        },
        "table1": t1,
        "endpoints": endpoints,
        **(
            {
                "qc": {
                    "method": "lifelines",
                    "performed": False,
                    "reason": "not run on the distributed path (the data are never loaded on one machine)",
                }
            }
            if study.analysis.qc
            else {}
        ),
    }


def run_analyses_scaled(study: Study, source: Source, client: Client, progress: Progress = _quiet) -> dict[str, Any]:
    """Build the cohort on the cluster and run every analysis; the Results mapping."""
    progress("Reading and checking the data on the cluster")
    cohort = build_scaled_cohort(study, source, client)
    progress(f"Analysing {cohort.n} patients in {cohort.n_partitions} partitions")
    return results_scaled(study, cohort, progress)


def _client_options(study: Study, scheduler: str | None) -> dict[str, Any]:
    compute = study.compute
    return {
        "scheduler": scheduler or (compute.scheduler if compute else None),
        "n_workers": compute.workers if compute else None,
        "memory_limit": compute.memory_limit if compute else None,
    }


def validate_at_scale(study: Study, spec_dir: Path, scheduler: str | None = None) -> ScaledCohort:
    """``reportgen validate`` for ``engine: dask``: every check of the data, on the cluster; the
    returned cohort's counts stay valid after its client is closed (its pieces do not)."""
    from .cluster import open_client
    from .source import open_source

    rows = study.compute.partition_rows if study.compute else DEFAULT_PARTITION_ROWS
    with open_client(**_client_options(study, scheduler)) as client:
        source = open_source(study.data, spec_dir, client, rows)
        return build_scaled_cohort(study, source, client)


def analyse_at_scale(
    study: Study, spec_dir: Path, scheduler: str | None = None, progress: Progress = _quiet
) -> dict[str, Any]:
    """The Results mapping of a spec with ``engine: dask``, computed on the spec's (or the given)
    cluster, or on a local cluster started and stopped here."""
    from .cluster import open_client
    from .source import open_source

    rows = study.compute.partition_rows if study.compute else DEFAULT_PARTITION_ROWS
    options = _client_options(study, scheduler)
    progress(f"Connecting to {options['scheduler'] or 'a local Dask cluster'}")
    with open_client(**options) as client:
        source = open_source(study.data, spec_dir, client, rows)
        return run_analyses_scaled(study, source, client, progress)
