"""Cohort building: ``Study`` + raw data -> a validated ``Cohort`` (typed columns, derived times, flow).

Order: read the file, apply the eligibility steps (participant flow), then type and
check every column the spec uses on the included rows. All problems are collected
and raised together; rows are reported as spreadsheet rows (header = row 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Problems, did_you_mean, fail, rows_of
from ..spec.model import DAYS_PER_UNIT, Covariate, Endpoint, Study, Subgroup
from .readers import RawData


@dataclass(frozen=True)
class EndpointData:
    """Follow-up time (in the endpoint's unit) and event indicator (1 event, 0 censored)."""

    time: np.ndarray
    event: np.ndarray
    derived_from_dates: bool
    end_dates: np.ndarray | None = None  # datetime64[D] when the time was derived from dates
    n_truncated_at_cutoff: int = 0  # end dates after the data cut-off, censored at it

    def subset(self, mask: np.ndarray) -> EndpointData:
        end = self.end_dates[mask] if self.end_dates is not None else None
        return EndpointData(self.time[mask], self.event[mask], self.derived_from_dates, end, self.n_truncated_at_cutoff)


@dataclass(frozen=True)
class SubgroupData:
    """A subgroup variable's levels (in display order) and each patient's level (missing allowed)."""

    column: str
    label: str
    levels: list[str]
    values: pd.Series  # categorical over ``levels``
    cut: list[float] | None = None


@dataclass(frozen=True)
class Cohort:
    """The analysis population: one row per included patient, columns typed for analysis.

    ``frame`` holds ``group`` (categorical, reference level first) and one column per
    covariate id (categorical with the reference first, or float). Levels are strings.
    """

    frame: pd.DataFrame
    group_levels: list[str]
    endpoints: dict[str, EndpointData]
    flow: list[dict[str, Any]]
    source: dict[str, Any]
    covariate_levels: dict[str, list[str]] = field(default_factory=dict)
    subgroups: dict[str, SubgroupData] = field(default_factory=dict)
    strata: dict[str, SubgroupData] = field(default_factory=dict)  # stratification columns

    @property
    def n(self) -> int:
        return len(self.frame)

    def subset(self, mask: np.ndarray, endpoints: dict[str, EndpointData] | None = None) -> Cohort:
        """The patients where ``mask`` is true (same levels, flow and source); ``endpoints`` replaces the
        follow-up data when given (e.g. times restarted at a landmark)."""

        def part(d: SubgroupData) -> SubgroupData:
            return SubgroupData(d.column, d.label, d.levels, d.values[mask], d.cut)

        return Cohort(
            frame=self.frame.loc[mask],
            group_levels=self.group_levels,
            endpoints=endpoints if endpoints is not None else {k: v.subset(mask) for k, v in self.endpoints.items()},
            flow=self.flow,
            source=self.source,
            covariate_levels=self.covariate_levels,
            subgroups={k: part(v) for k, v in self.subgroups.items()},
            strata={k: part(v) for k, v in self.strata.items()},
        )


def level_str(value: Any) -> str:
    """The canonical text of a level: 1, 1.0 and '1' are all '1'."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if np.isfinite(number) and number.is_integer() and text.lstrip("+-").replace(".", "", 1).isdigit():
        return str(int(number))
    return text


def _levels_series(series: pd.Series) -> pd.Series:
    """Canonical level strings, with missing values kept as NA (each distinct value converted once)."""
    if pd.api.types.infer_dtype(series, skipna=True) == "mixed":  # e.g. True beside 1: they hash alike
        return series.map(lambda v: pd.NA if pd.isna(v) else level_str(v)).astype("string")
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    canon = np.array([level_str(v) for v in uniques] + [pd.NA], dtype=object)  # code -1 (missing) -> NA
    return pd.Series(canon[codes], index=series.index, name=series.name).astype("string")


def _show(values: pd.Series, n: int = 3) -> str:
    return ", ".join(repr(v) for v in values.head(n).tolist())


class _Builder:
    def __init__(self, study: Study, raw: RawData, frame: pd.DataFrame) -> None:
        self.study = study
        self.where = str(raw.path)
        self.frame = frame
        self.problems = Problems()
        self.columns = list(raw.frame.columns)

    def column(self, name: str, key: str) -> pd.Series | None:
        if name in self.frame.columns:
            return self.frame[name]
        guess = did_you_mean(name, self.columns)
        hint = f"did you mean '{guess}'?" if guess else f"columns in the file: {', '.join(self.columns[:30])}"
        self.problems.add(f"column '{name}' (from {key}) is not in the data", where=self.where, key=name, hint=hint)
        return None

    def bad_rows(self, mask: pd.Series, message: str, column: str, hint: str, values: pd.Series | None = None) -> None:
        if not mask.any():
            return
        idx = mask[mask].index
        text = message
        if values is not None:
            text += f"; first values: {_show(values.loc[idx])}"
        self.problems.add(text, where=self.where, key=column, rows=rows_of(idx), hint=hint)

    def numeric(self, name: str, key: str) -> pd.Series | None:
        col = self.column(name, key)
        if col is None:
            return None
        values = pd.to_numeric(col, errors="coerce")
        self.bad_rows(
            values.isna() & col.notna(),
            "values are not numbers",
            name,
            "use plain numbers with '.' as the decimal mark; leave missing values empty",
            col,
        )
        return values.astype(float)

    def dates(self, name: str, key: str) -> pd.Series | None:
        col = self.column(name, key)
        if col is None:
            return None
        if pd.api.types.is_datetime64_any_dtype(col):
            return col
        parsed = pd.to_datetime(col, format="ISO8601", errors="coerce")
        self.bad_rows(
            parsed.isna() & col.notna(), "values are not dates", name, "write dates as YYYY-MM-DD (ISO 8601)", col
        )
        return parsed

    # -- parts ---------------------------------------------------------------

    def ids(self) -> None:
        name = self.study.data.id
        if name is None:
            return
        col = self.column(name, "data.id")
        if col is None:
            return
        self.bad_rows(col.isna(), "patient identifier is missing", name, "give every row an identifier")
        dup = col.notna() & col.duplicated(keep=False)
        if dup.any():
            self.problems.add(
                f"{int(col[dup].nunique())} identifier(s) occur more than once",
                where=self.where,
                key=name,
                rows=rows_of(dup[dup].index),
                hint="each patient must have exactly one row",
            )

    def group(self) -> tuple[pd.Series | None, list[str]]:
        spec = self.study.group
        col = self.column(spec.column, "group.column")
        if col is None:
            return None, []
        levels_data = _levels_series(col)
        self.bad_rows(
            levels_data.isna(),
            "group is missing",
            spec.column,
            "every included patient needs a group; exclude them with a selection step if intended",
        )
        present = sorted(levels_data.dropna().unique().tolist(), key=_sort_key)
        order = present
        if spec.levels is not None:
            order = [level_str(v) for v in spec.levels]
            for lvl in order:
                if lvl not in present:
                    self.problems.add(
                        f"level '{lvl}' (from group.levels) is not in the data",
                        where=self.where,
                        key=spec.column,
                        hint=f"levels in the data: {', '.join(present)}",
                    )
            for lvl in present:
                if lvl not in order:
                    self.problems.add(
                        f"data level '{lvl}' is missing from group.levels",
                        where=self.where,
                        key=spec.column,
                        hint="list every level, or remove group.levels",
                    )
        if spec.reference is not None:
            ref = level_str(spec.reference)
            if ref not in present:
                guess = did_you_mean(ref, present)
                self.problems.add(
                    f"reference level '{ref}' (from group.reference) is not in the data",
                    where=self.where,
                    key=spec.column,
                    hint=(f"did you mean '{guess}'? " if guess else "") + f"levels in the data: {', '.join(present)}",
                )
            else:
                order = [ref, *[lvl for lvl in order if lvl != ref]]
        for lvl in spec.labels:
            if lvl not in present:
                self.problems.add(
                    f"group.labels names level '{lvl}', which is not in the data",
                    where=self.where,
                    key=spec.column,
                    hint=f"levels in the data: {', '.join(present)}",
                )
        if len(present) < 2 and levels_data.notna().any():
            self.problems.add(
                f"only one group ('{present[0]}') among the included patients; a comparison needs two",
                where=self.where,
                key=spec.column,
                hint="check group.column and the selection steps",
            )
        return levels_data, order

    def endpoint(self, eid: str, ep: Endpoint) -> EndpointData | None:
        key = f"endpoints.{eid}"
        if ep.time is not None:
            time = self.numeric(ep.time, f"{key}.time")
            if time is not None:
                self.bad_rows(
                    time.isna() & self.frame[ep.time].isna(),
                    "follow-up time is missing",
                    ep.time,
                    "every included patient needs a time; exclude incomplete rows with a selection step",
                )
                self.bad_rows(
                    time < 0, "follow-up time is negative", ep.time, "times must be >= 0", self.frame[ep.time]
                )
        else:
            assert ep.start is not None and ep.end is not None
            start = self.dates(ep.start, f"{key}.start")
            end = self.dates(ep.end, f"{key}.end")
            time = None
            end_dates = end.to_numpy(dtype="datetime64[D]") if end is not None else None
            if start is not None and end is not None:
                self.bad_rows(
                    self.frame[ep.start].isna(),
                    "start date is missing",
                    ep.start,
                    "every included patient needs a start date",
                )
                self.bad_rows(
                    self.frame[ep.end].isna(),
                    "end date is missing",
                    ep.end,
                    "every included patient needs the date of the event or of last contact",
                )
                days = (end - start).dt.days
                before = days < 0
                if before.any():
                    idx = before[before].index
                    pairs = ", ".join(
                        f"{s:%Y-%m-%d} -> {e:%Y-%m-%d}"
                        for s, e in zip(start.loc[idx][:3], end.loc[idx][:3], strict=True)
                    )
                    self.problems.add(
                        f"end date ({ep.end}) is before start date ({ep.start}): {pairs}",
                        where=self.where,
                        key=ep.end,
                        rows=rows_of(idx),
                        hint="correct the dates; an end date must be on or after the start date",
                    )
                time = days.astype(float) / DAYS_PER_UNIT[ep.time_unit]
                cutoff = self.study.study.data_cutoff
                if cutoff is not None:
                    late_start = start > pd.Timestamp(cutoff)
                    self.bad_rows(
                        late_start,
                        f"start date is after the data cut-off ({cutoff.isoformat()})",
                        ep.start,
                        "correct the date or the cut-off (study.data_cutoff)",
                        self.frame[ep.start],
                    )
        col = self.column(ep.event, f"{key}.event")
        event = None
        if col is not None:
            codes = _levels_series(col)
            ev, cens = level_str(ep.event_value), level_str(ep.censor_value)
            self.bad_rows(
                codes.isna(), "event indicator is missing", ep.event, f"use {ev} for an event and {cens} for censored"
            )
            bad = codes.notna() & ~codes.isin([ev, cens])
            self.bad_rows(
                bad,
                f"event codes other than the declared {ev} (event) and {cens} (censored)",
                ep.event,
                f"recode them, or set {key}.event_value / censor_value",
                col,
            )
            event = (codes == ev).fillna(False).to_numpy(dtype=np.int8)
        if time is None or event is None:
            return None
        times = time.to_numpy(dtype=float)
        truncated = 0
        cutoff = self.study.study.data_cutoff
        if ep.time is None and cutoff is not None and end_dates is not None:
            # administrative censoring at the cut-off: later events and follow-up are not counted
            cut = np.datetime64(cutoff, "D")
            late = end_dates > cut
            truncated = int(late.sum())
            if truncated:
                start_dates = (
                    self.frame[ep.start].pipe(pd.to_datetime, format="ISO8601").to_numpy(dtype="datetime64[D]")
                )
                times = times.copy()
                times[late] = (cut - start_dates[late]).astype(float) / DAYS_PER_UNIT[ep.time_unit]
                event = event.copy()
                event[late] = 0
                end_dates = np.where(late, cut, end_dates)
        return EndpointData(
            time=times,
            event=event,
            derived_from_dates=ep.time is None,
            end_dates=end_dates if ep.time is None else None,
            n_truncated_at_cutoff=truncated,
        )

    def covariate(self, cid: str, cov: Covariate) -> tuple[pd.Series | None, list[str]]:
        key = f"covariates.{cid}"
        if cov.type == "continuous":
            return self.numeric(cid, key), []
        col = self.column(cid, key)
        if col is None:
            return None, []
        values = _levels_series(col)
        present = sorted(values.dropna().unique().tolist(), key=_sort_key)
        order = [level_str(v) for v in cov.levels] if cov.levels else present
        for lvl in order:
            if lvl not in present:
                self.problems.add(
                    f"level '{lvl}' (from {key}.levels) is not in the data",
                    where=self.where,
                    key=cid,
                    hint=f"levels in the data: {', '.join(present)}",
                )
        missing_from_order = [lvl for lvl in present if lvl not in order]
        if missing_from_order:
            self.problems.add(
                f"data levels {missing_from_order} are missing from {key}.levels",
                where=self.where,
                key=cid,
                hint="list every level, or remove 'levels'",
            )
        if cov.reference is not None:
            ref = level_str(cov.reference)
            if ref not in present:
                guess = did_you_mean(ref, present)
                self.problems.add(
                    f"reference level '{ref}' (from {key}.reference) is not in the data",
                    where=self.where,
                    key=cid,
                    hint=(f"did you mean '{guess}'? " if guess else "") + f"levels in the data: {', '.join(present)}",
                )
            else:
                order = [ref, *[lvl for lvl in order if lvl != ref]]
        if len(present) == 1 and cid in self.study.analysis.cox.multivariable:
            self.problems.add(
                f"only one level ('{present[0]}') among the included patients, so it cannot enter the "
                "multivariable Cox model",
                where=self.where,
                key=cid,
                hint=f"remove '{cid}' from analysis.cox.multivariable (it stays in Table 1)",
            )
        return values, order


def bin_labels(cut: list[float]) -> list[str]:
    """Default labels of the bins made by ``cut``: '<65', '>=65'; '<2', '2 to <5', '>=5'."""
    labels = [f"<{cut[0]:g}"]
    labels += [f"{a:g} to <{b:g}" for a, b in zip(cut, cut[1:], strict=False)]
    return [*labels, f">={cut[-1]:g}"]


def subgroup_values(
    b: _Builder, sg: Subgroup, covs: dict[str, pd.Series], cov_levels: dict[str, list[str]]
) -> SubgroupData | None:
    study = b.study
    cov = study.covariates.get(sg.column)
    label = sg.label or (cov.label if cov and cov.label else sg.column)
    key = f"subgroups[{sg.column}]"
    if sg.cut is not None:
        values = covs.get(sg.column) if cov is not None and cov.type == "continuous" else None
        if values is None:
            if cov is not None:
                b.problems.add(
                    f"'cut' needs a numeric column, but covariate '{sg.column}' is categorical",
                    key=key,
                    hint="remove 'cut' to use its levels",
                )
                return None
            values = b.numeric(sg.column, key)
        if values is None:
            return None
        labels = sg.labels or bin_labels(sg.cut)
        codes = np.searchsorted(np.asarray(sg.cut, dtype=float), values.to_numpy(dtype=float), side="right")
        cat = pd.Series(
            pd.Categorical.from_codes(np.where(values.isna(), -1, codes), categories=labels), index=values.index
        )
        return SubgroupData(sg.column, label, labels, cat, list(sg.cut))
    if cov is not None and cov.type == "continuous":
        b.problems.add(
            f"covariate '{sg.column}' is continuous; a subgroup needs 'cut' points",
            key=key,
            hint=f"e.g. {{column: {sg.column}, cut: [65], labels: ['<65', '>=65']}}",
        )
        return None
    if cov is not None:
        values, order = covs.get(sg.column), cov_levels.get(sg.column, [])
    else:
        col = b.column(sg.column, key)
        if col is None:
            return None
        values = _levels_series(col)
        order = sorted(values.dropna().unique().tolist(), key=_sort_key)
    if values is None:
        return None
    if sg.levels is not None:
        wanted = [level_str(v) for v in sg.levels]
        for lvl in wanted:
            if lvl not in order:
                b.problems.add(
                    f"level '{lvl}' (from {key}.levels) is not in the data",
                    where=b.where,
                    key=sg.column,
                    hint=f"levels in the data: {', '.join(order)}",
                )
        order = wanted + [lvl for lvl in order if lvl not in wanted]
    shown = order
    if sg.labels is not None:
        if len(sg.labels) != len(order):
            b.problems.add(
                f"{len(sg.labels)} label(s) for {len(order)} level(s) ({', '.join(order)})",
                key=f"{key}.labels",
                hint="give one label per level, in the levels' order",
            )
            return None
        shown = list(sg.labels)
    mapping = dict(zip(order, shown, strict=True))
    cat = pd.Series(pd.Categorical(values.astype(object).map(mapping), categories=shown), index=values.index)
    return SubgroupData(sg.column, label, shown, cat)


def _sort_key(level: str) -> tuple[int, float, str]:
    try:
        return (0, float(level), "")
    except ValueError:
        return (1, 0.0, level)


def _select(study: Study, raw: RawData) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    if not study.selection:
        return raw.frame, []
    from .expr import ExprError, apply_selection

    steps = [
        ("exclude", s.exclude, s.reason) if s.exclude is not None else ("include", s.include, s.reason)
        for s in study.selection
    ]
    frame = _typed_for_selection(raw.frame)
    try:
        kept, flow = apply_selection(frame, steps)
    except ExprError as exc:
        raise fail(
            str(exc),
            where=str(raw.path),
            key="selection",
            hint="see docs/spec.md for the selection expression language",
        ) from None
    if kept.empty:
        raise fail(
            "every row was excluded by the selection steps",
            where=str(raw.path),
            key="selection",
            hint="check each step's expression; the flow so far: "
            + "; ".join(f"{f['reason']}: -{f['n_excluded']}" for f in flow),
        )
    return raw.frame.loc[kept.index], flow


def _typed_for_selection(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns that are wholly numeric become numbers, so `cycles < 2` compares numbers."""
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            num = pd.to_numeric(col, errors="coerce")
            if num.notna().sum() == col.notna().sum() and col.notna().any():
                out[name] = num
    return out


def build_cohort(study: Study, raw: RawData) -> Cohort:
    """Select, type and check the data; raise ``UserError`` with every problem found."""
    frame, flow = _select(study, raw)
    b = _Builder(study, raw, frame)
    b.ids()
    group, group_levels = b.group()
    endpoints = {eid: b.endpoint(eid, ep) for eid, ep in study.endpoints.items()}
    covs: dict[str, pd.Series] = {}
    cov_levels: dict[str, list[str]] = {}
    for cid, cov in study.covariates.items():
        values, order = b.covariate(cid, cov)
        if values is not None:
            covs[cid] = values
            cov_levels[cid] = order
    subgroups = {}
    for sg in study.subgroup_specs():
        data = subgroup_values(b, sg, covs, cov_levels)
        if data is not None:
            subgroups[sg.column] = data
    strata = {}
    for column in study.analysis.tests.strata:
        data = subgroup_values(b, Subgroup(column=column), covs, cov_levels)
        if data is not None:
            strata[column] = data
    b.problems.raise_if_any()
    assert group is not None
    out = pd.DataFrame(index=frame.index)
    out["group"] = pd.Categorical(group, categories=group_levels)
    for cid, values in covs.items():
        if study.covariates[cid].type == "categorical":
            out[cid] = pd.Categorical(values, categories=cov_levels[cid])
        else:
            out[cid] = values.astype(float)
    source = {
        "file": raw.path.name,
        "sha256": raw.sha256,
        "n_rows": int(len(raw.frame)),
        "n_columns": int(raw.frame.shape[1]),
    }
    return Cohort(
        frame=out,
        group_levels=group_levels,
        endpoints={k: v for k, v in endpoints.items() if v is not None},
        flow=flow,
        source=source,
        covariate_levels=cov_levels,
        subgroups=subgroups,
        strata=strata,
    )


def strata_labels(cohort: Cohort) -> tuple[np.ndarray | None, np.ndarray]:
    """One label per patient combining the stratification columns, and the mask of known strata."""
    if not cohort.strata:
        return None, np.ones(cohort.n, dtype=bool)
    parts = [sd.values.astype(object).to_numpy() for sd in cohort.strata.values()]
    known = np.logical_and.reduce([~pd.isna(p) for p in parts])
    labels = np.array(["|".join(str(v) for v in row) for row in zip(*parts, strict=True)], dtype=object)
    return labels, known


def load_cohort(study: Study, spec_dir: Path) -> Cohort:
    """Read the study's data (a file relative to the spec's folder, a database or DuckDB) and build the cohort."""
    from .sources import load_raw

    return build_cohort(study, load_raw(study.data, spec_dir))
