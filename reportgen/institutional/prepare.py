"""Registry preparation: ``Study`` (kind institutional) + its data -> a ``Registry`` of per-patient arrays.

Reads the data (file, database or DuckDB), builds the cohort with the shared cohort code
(the unit is the cohort's group, the stratifiers its subgroups), keeps the patients diagnosed
in the previous or the current reporting period, and derives the diagnosis year, the period,
each stratifier's level ("Unknown" where missing) and the case-mix design matrix. Nothing here
is written to an output: counts are protected later (``counts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.cohort import Cohort, build_cohort
from ..data.sources import load_raw
from ..errors import Problems, fail
from ..spec.model import DAYS_PER_UNIT, InstitutionalOptions, Study

UNKNOWN = "Unknown"
CURRENT, PREVIOUS = "current", "previous"


@dataclass(frozen=True)
class Stratifier:
    column: str
    label: str
    levels: list[str]
    values: np.ndarray  # level per patient (object array; UNKNOWN where missing)


@dataclass(frozen=True)
class Registry:
    """The report's population (patients diagnosed in either period) as arrays, one entry per patient."""

    study: Study
    cohort: Cohort
    units: list[str]
    unit_labels: dict[str, str]
    unit: np.ndarray
    year: np.ndarray
    years: list[int]
    period: np.ndarray
    periods: list[str]  # [PREVIOUS, CURRENT] or [CURRENT]
    period_names: dict[str, str]
    year_periods: dict[int, str | None]  # the period a whole diagnosis year lies in (None if split)
    strata: dict[str, Stratifier]
    case_mix: np.ndarray  # design matrix (n x p)
    case_mix_names: list[str]
    flow: list[dict[str, object]]  # unprotected: counts are protected before any output
    n_assessed: int
    source: dict[str, object]

    @property
    def options(self) -> InstitutionalOptions:
        assert self.study.institutional is not None
        return self.study.institutional

    @property
    def n(self) -> int:
        return int(self.unit.size)

    def endpoint(self, eid: str) -> tuple[np.ndarray, np.ndarray]:
        ep = self.cohort.endpoints[eid]
        return ep.time, ep.event.astype(np.int8)

    def unit_time(self, eid: str, years: float) -> float:
        """``years`` in the endpoint's time unit."""
        return years * 365.25 / DAYS_PER_UNIT[self.study.endpoints[eid].time_unit]


def _diagnosis_dates(study: Study, frame: pd.DataFrame, where: str) -> pd.Series:
    inst = study.institutional
    assert inst is not None
    column = inst.diagnosis_date or next(iter(study.endpoints.values())).start
    assert column is not None
    if column not in frame.columns:
        raise fail(
            f"column '{column}' (the date of diagnosis) is not in the data",
            where=where,
            key="institutional.diagnosis_date",
            hint="name the column with institutional.diagnosis_date",
        )
    col = frame[column]
    dates = col if pd.api.types.is_datetime64_any_dtype(col) else pd.to_datetime(col, format="ISO8601", errors="coerce")
    bad = dates.isna()
    if bad.any():
        raise fail(
            f"{int(bad.sum())} included patient(s) have no valid date of diagnosis",
            where=where,
            key=column,
            hint="write dates as YYYY-MM-DD, or exclude those patients with a selection step",
        )
    return dates


def _case_mix(study: Study, cohort: Cohort, inst: InstitutionalOptions, where: str) -> tuple[np.ndarray, list[str]]:
    """Dummy coding against the first level (an 'Unknown' indicator where missing); continuous per ``per``."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    problems = Problems()
    for cid in inst.case_mix:
        cov = study.covariates[cid]
        col = cohort.frame[cid]
        if cov.type == "continuous":
            if col.isna().any():
                problems.add(
                    f"case-mix covariate '{cid}' is missing for some patients",
                    where=where,
                    key=cid,
                    hint="risk adjustment needs it for everyone: fill it in, or exclude those patients "
                    "with a selection step",
                )
                continue
            blocks.append((col.to_numpy(dtype=float) / cov.per)[:, None])
            names.append(cid)
            continue
        levels = cohort.covariate_levels[cid]
        codes = pd.Categorical(col, categories=levels).codes
        for code, lvl in enumerate(levels[1:], start=1):
            blocks.append((codes == code).astype(float)[:, None])
            names.append(f"{cid}={lvl}")
        if (codes < 0).any():
            blocks.append((codes < 0).astype(float)[:, None])
            names.append(f"{cid}={UNKNOWN}")
    problems.raise_if_any()
    X = np.hstack(blocks) if blocks else np.empty((cohort.n, 0))
    return X, names


def prepare(study: Study, raw_cohort: Cohort, diagnosis: pd.Series, n_assessed: int, where: str) -> Registry:
    """The registry arrays for the patients diagnosed in either period."""
    inst = study.institutional
    assert inst is not None
    d = diagnosis.to_numpy(dtype="datetime64[D]")
    cur = (d >= np.datetime64(inst.period.start)) & (d <= np.datetime64(inst.period.end))
    prev = np.zeros_like(cur)
    if inst.previous_period is not None:
        p = inst.previous_period
        prev = (d >= np.datetime64(p.start)) & (d <= np.datetime64(p.end))
    keep = cur | prev
    if not cur.any():
        raise fail(
            f"no patient was diagnosed in the reporting period ({inst.period.start} to {inst.period.end})",
            where=where,
            key="institutional.period",
            hint="check the period and the date of diagnosis column",
        )
    flow = list(raw_cohort.flow)
    outside = int((~keep).sum())
    if outside:
        flow.append({"reason": "Diagnosed outside the reporting periods", "n_excluded": outside})
    cohort = raw_cohort.subset(keep)
    d = d[keep]
    period = np.where(cur[keep], CURRENT, PREVIOUS).astype(object)
    year = d.astype("datetime64[Y]").astype(int) + 1970
    years = sorted({int(y) for y in year})
    periods = [PREVIOUS, CURRENT] if inst.previous_period is not None and prev.any() else [CURRENT]
    names = {CURRENT: inst.period.name()}
    if inst.previous_period is not None:
        names[PREVIOUS] = inst.previous_period.name()
    year_periods: dict[int, str | None] = {}
    for y in years:
        first, last = pd.Timestamp(y, 1, 1).date(), pd.Timestamp(y, 12, 31).date()
        pp = inst.previous_period
        if inst.period.start <= first and last <= inst.period.end:
            year_periods[y] = CURRENT
        elif pp is not None and pp.start <= first and last <= pp.end:
            year_periods[y] = PREVIOUS
        else:
            year_periods[y] = None  # the year straddles a period boundary
    strata: dict[str, Stratifier] = {}
    for column, sd in cohort.subgroups.items():
        values = sd.values.astype(object).to_numpy()
        missing = pd.isna(values)
        levels = list(sd.levels)
        if missing.any():
            values = np.where(missing, UNKNOWN, values)
            levels.append(UNKNOWN)
        strata[column] = Stratifier(column, sd.label, levels, values.astype(object))
    X, xnames = _case_mix(study, cohort, inst, where)
    units = list(cohort.group_levels)
    return Registry(
        study=study,
        cohort=cohort,
        units=units,
        unit_labels={u: study.group_label(u) for u in units},
        unit=cohort.frame["group"].astype(object).to_numpy(),
        year=year,
        years=years,
        period=period,
        periods=periods,
        period_names=names,
        year_periods=year_periods,
        strata=strata,
        case_mix=X,
        case_mix_names=xnames,
        flow=flow,
        n_assessed=n_assessed,
        source=dict(raw_cohort.source),
    )


def load_registry(study: Study, spec_dir: Path) -> Registry:
    """Read and check the data of an institutional spec; raise ``UserError`` with every problem found."""
    inst = study.institutional
    assert inst is not None
    raw = load_raw(study.data, spec_dir)
    cohort_study = study.model_copy(update={"subgroups": list(inst.stratifiers)})
    cohort = build_cohort(cohort_study, raw)
    diagnosis = _diagnosis_dates(study, raw.frame.loc[cohort.frame.index], str(raw.path))
    return prepare(study, cohort, diagnosis, int(len(raw.frame)), str(raw.path))
