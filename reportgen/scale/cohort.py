"""Cohort at scale: ``Study`` + partitioned ``Source`` -> a ``ScaledCohort`` (typed, coded partitions held by the workers).

The rows are never gathered here. Three passes over the pieces, each one task per piece:

0. (only with selection steps) which text columns named in the steps are wholly numeric over
   all pieces: those are compared as numbers, as the in-memory path decides on the whole file;
1. *scan*: the eligibility steps (``data.expr.apply_selection``), then every row-level check and
   derivation of the in-memory path (``data.cohort._Builder``: endpoint times from dates, the
   cut-off, event codes, numbers) on the piece; the piece gives back its flow counts, problems,
   the distinct levels of every categorical column with their counts and a hash of each patient
   identifier, and keeps the derived columns on its worker;
2. *code*: with the levels of the whole cohort fixed, each derived piece becomes a compact frame
   of integer codes and floats (``group``, ``t.<endpoint>``, ``e.<endpoint>``, ``c.<covariate>``,
   ``sg.<subgroup column>``, ``st.<stratum column>``).

Checks that depend on the whole data (levels named in the spec but absent, one group only, a
reference level, labels per level, identifiers seen twice) run on the client over the distinct
values found by the scan, through the same ``_Builder`` and ``subgroup_values`` code as in
memory, so the messages are the same. The coded pieces stay on the workers as futures: a worker
that dies takes its pieces with it and Dask recomputes them from the files.
"""

from __future__ import annotations

import operator
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..data.cohort import _Builder, _levels_series, level_str, subgroup_values
from ..data.readers import RawData
from ..errors import Problem, Problems, fail, rows_of
from ..spec.model import Study, Subgroup
from .source import Piece, Source, read_piece

if TYPE_CHECKING:
    from dask.distributed import Client, Future


# ---------------------------------------------------------------------------------------------
# what the pieces are asked for


@dataclass(frozen=True)
class ScanJob:
    """What a scan task needs: the spec, the columns to read, the steps and their typing."""

    study: Study
    wanted: tuple[str, ...]
    steps: tuple[tuple[str, str, str], ...]
    numeric_for_selection: tuple[str, ...]
    cut_columns: tuple[str, ...]  # non-covariate columns cut into bins (numbers)
    level_columns: tuple[str, ...]  # non-covariate categorical subgroup / stratum columns


@dataclass
class ScanSummary:
    """A piece's share of the cohort: counts, problems, levels and identifier hashes."""

    path: str
    n_read: int
    n_kept: int
    flow: list[dict[str, Any]]
    problems: list[Problem]
    levels: dict[str, dict[str, int]]  # "group", "c.<cid>", "l.<col>" -> level -> count
    id_hashes: np.ndarray
    truncated: dict[str, int]
    columns: list[str]


@dataclass(frozen=True)
class CodePlan:
    """How derived pieces become integer codes: the cohort's levels of every categorical column."""

    group_levels: tuple[str, ...]
    covariates: tuple[tuple[str, str, tuple[str, ...]], ...]  # (cid, type, levels)
    subgroups: tuple[tuple[str, str, str, Any], ...]  # (out column, source column, "cut"|"map", cut or mapping)
    endpoints: tuple[str, ...]
    admin: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# the cohort as analysis sees it


@dataclass(frozen=True)
class FactorInfo:
    """A subgroup or stratification variable: its levels in display order (codes index them)."""

    column: str
    label: str
    levels: list[str]
    cut: list[float] | None = None


@dataclass(frozen=True)
class EndpointInfo:
    derived_from_dates: bool
    n_truncated_at_cutoff: int
    administrative: bool  # censoring reasons known (end dates and a cut-off)


@dataclass
class ScaledCohort:
    """The analysis population held by the workers as coded pieces (``parts``), with the facts the
    analyses need about it; ``n`` and ``group_counts`` are exact."""

    client: Client
    parts: list[Future]
    n: int
    group_levels: list[str]
    group_counts: dict[str, int]
    covariate_levels: dict[str, list[str]]
    endpoints: dict[str, EndpointInfo]
    subgroups: dict[str, FactorInfo]
    strata: dict[str, FactorInfo]
    flow: list[dict[str, Any]]
    source: dict[str, Any]
    n_partitions: int = field(default=0)

    def map(self, func: Any, *args: Any, key: str) -> list[Future]:
        """``func(part, *args)`` on every coded piece (one task each)."""
        tag = uuid.uuid4().hex[:12]
        keys = [f"{key}-{tag}-{i}" for i in range(len(self.parts))]
        return self.client.map(func, self.parts, *[[a] * len(self.parts) for a in args], key=keys, pure=False)


# ---------------------------------------------------------------------------------------------
# worker side


def _selection_columns(study: Study) -> set[str]:
    from ..data.expr import parse

    cols: set[str] = set()
    for s in study.selection:
        text = s.exclude if s.exclude is not None else s.include
        try:
            cols |= set(parse(text or "").columns())
        except ValueError:
            continue  # reported with its step by apply_selection
    return cols


def typing_scan(piece: Piece, columns: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Per text column: (values present, values that read as numbers) in this piece."""
    frame, _ = read_piece(piece, list(columns))
    out = {}
    for name in frame.columns:
        col = frame[name]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            num = pd.to_numeric(col, errors="coerce")
            out[name] = (int(col.notna().sum()), int(num.notna().sum()))
    return out


def _counts(values: pd.Series) -> dict[str, int]:
    vc = values.dropna().value_counts(sort=False)
    return {str(k): int(v) for k, v in vc.items()}


def scan_piece(piece: Piece, job: ScanJob) -> tuple[pd.DataFrame, ScanSummary]:
    """Select, check and derive one piece (the in-memory code, row by row); keep the derived
    columns and report what the whole cohort needs to know."""
    from ..data.expr import ExprError, apply_selection

    study = job.study
    raw_frame, names = read_piece(piece, list(job.wanted))
    n_read = len(raw_frame)
    flow: list[dict[str, Any]] = []
    frame = raw_frame
    if job.steps:
        typed = raw_frame.copy()
        for name in job.numeric_for_selection:
            if name in typed.columns:
                typed[name] = pd.to_numeric(typed[name], errors="coerce")
        try:
            kept, flow = apply_selection(typed, list(job.steps))
        except ExprError as exc:
            raise ValueError(f"selection: {exc}") from None
        frame = raw_frame.loc[kept.index]
    raw = RawData(frame=frame, path=Path(piece.path), sha256="")
    b = _Builder(study, raw, frame)
    b.columns = names
    out = pd.DataFrame(index=frame.index)
    levels: dict[str, dict[str, int]] = {}

    hashes = np.zeros(0, dtype=np.uint64)
    if study.data.id is not None:
        col = b.column(study.data.id, "data.id")
        if col is not None:
            b.bad_rows(col.isna(), "patient identifier is missing", study.data.id, "give every row an identifier")
            hashes = np.sort(pd.util.hash_pandas_object(col.dropna(), index=False).to_numpy())

    gspec = study.group
    col = b.column(gspec.column, "group.column")
    if col is not None:
        lv = _levels_series(col)
        b.bad_rows(
            lv.isna(),
            "group is missing",
            gspec.column,
            "every included patient needs a group; exclude them with a selection step if intended",
        )
        out["group"] = lv.astype("category")
        levels["group"] = _counts(lv)

    truncated: dict[str, int] = {}
    cutoff = study.study.data_cutoff
    for eid, ep in study.endpoints.items():
        data = b.endpoint(eid, ep)
        if data is None:
            continue
        out[f"t.{eid}"] = data.time
        out[f"e.{eid}"] = data.event.astype(np.int8)
        truncated[eid] = data.n_truncated_at_cutoff
        if data.end_dates is not None and cutoff is not None:
            out[f"a.{eid}"] = data.end_dates >= np.datetime64(cutoff, "D")

    for cid, cov in study.covariates.items():
        if cov.type == "continuous":
            values = b.numeric(cid, f"covariates.{cid}")
            if values is not None:
                out[f"c.{cid}"] = values.astype(float)
        else:
            col = b.column(cid, f"covariates.{cid}")
            if col is not None:
                lv = _levels_series(col)
                out[f"c.{cid}"] = lv.astype("category")
                levels[f"c.{cid}"] = _counts(lv)

    for name in job.cut_columns:
        values = b.numeric(name, f"subgroups[{name}]")
        if values is not None:
            out[f"x.{name}"] = values.astype(float)
    for name in job.level_columns:
        col = b.column(name, f"subgroups[{name}]")
        if col is not None:
            lv = _levels_series(col)
            out[f"l.{name}"] = lv.astype("category")
            levels[f"l.{name}"] = _counts(lv)

    summary = ScanSummary(
        path=piece.path,
        n_read=n_read,
        n_kept=len(frame),
        flow=flow,
        problems=list(b.problems.items),
        levels=levels,
        id_hashes=hashes,
        truncated=truncated,
        columns=names,
    )
    return out, summary


def duplicate_rows(piece: Piece, id_column: str, hashes: np.ndarray, job: ScanJob) -> pd.DataFrame:
    """The rows (file row numbers) and identifiers of included patients whose identifier hash is in
    ``hashes``."""
    derived_index = scan_piece(piece, job)[0].index
    frame, _ = read_piece(piece, [id_column])
    ids = frame.loc[derived_index, id_column].dropna()
    h = pd.util.hash_pandas_object(ids, index=False).to_numpy()
    hit = np.isin(h, hashes)
    return pd.DataFrame({"id": ids[hit].astype(str).to_numpy(), "row": ids.index[hit].to_numpy()})


def code_piece(derived: pd.DataFrame, plan: CodePlan) -> pd.DataFrame:
    """A derived piece as integer codes (-1 for missing) and floats, in the cohort's level order."""
    out = pd.DataFrame(index=pd.RangeIndex(len(derived)))
    out["group"] = pd.Categorical(derived["group"].astype(object), categories=list(plan.group_levels)).codes.astype(
        np.int8
    )
    for eid in plan.endpoints:
        out[f"t.{eid}"] = derived[f"t.{eid}"].to_numpy(dtype=float)
        out[f"e.{eid}"] = derived[f"e.{eid}"].to_numpy(dtype=np.int8)
    for eid in plan.admin:
        out[f"a.{eid}"] = derived[f"a.{eid}"].to_numpy(dtype=bool)
    for cid, kind, levels in plan.covariates:
        values = derived[f"c.{cid}"]
        if kind == "continuous":
            out[f"c.{cid}"] = values.to_numpy(dtype=float)
        else:
            out[f"c.{cid}"] = pd.Categorical(values.astype(object), categories=list(levels)).codes.astype(np.int16)
    for name, source, how, spec in plan.subgroups:
        values = derived[source]
        if how == "cut":
            x = values.to_numpy(dtype=float)
            codes = np.searchsorted(np.asarray(spec, dtype=float), x, side="right")
            out[name] = np.where(np.isnan(x), -1, codes).astype(np.int16)
        else:
            mapped = values.astype(object).map(spec)
            out[name] = mapped.fillna(-1).to_numpy(dtype=np.int16)
    return out


# ---------------------------------------------------------------------------------------------
# client side


def _merge_problems(problems: list[Problem]) -> list[Problem]:
    """One problem per (file, column or key, kind): rows of every piece together (the first piece's
    example values kept)."""
    merged: dict[tuple[Any, ...], Problem] = {}
    rows: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for p in problems:
        k = (p.where, p.key, p.message.split("; first values:")[0], p.hint)
        merged.setdefault(k, p)
        rows[k].extend(p.rows)
    return [
        Problem(p.message, where=p.where, key=p.key, rows=tuple(sorted(set(rows[k]))), hint=p.hint)
        for k, p in merged.items()
    ]


def _fake_builder(study: Study, where: str, columns: list[str], data: dict[str, list[Any]]) -> _Builder:
    """A builder over the distinct values of the whole cohort (one row per value): the in-memory
    checks that look at levels, not rows, run on it unchanged."""
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    b = _Builder(study, RawData(frame=frame, path=Path(where), sha256=""), frame)
    b.columns = columns
    return b


def _subgroup_sources(study: Study) -> tuple[list[str], list[str]]:
    """Non-covariate columns used by subgroups and strata: (cut into bins, taken as levels)."""
    cut, lev = [], []
    specs = [*study.subgroup_specs(), *(Subgroup(column=c) for c in study.analysis.tests.strata)]
    for sg in specs:
        if sg.column in study.covariates:
            continue
        (cut if sg.cut is not None else lev).append(sg.column)
    return list(dict.fromkeys(cut)), list(dict.fromkeys(lev))


def _wanted_columns(study: Study) -> list[str]:
    cols: list[str] = []
    if study.data.id:
        cols.append(study.data.id)
    cols.append(study.group.column)
    for ep in study.endpoints.values():
        cols += [c for c in (ep.time, ep.start, ep.end, ep.event) if c]
    cols += list(study.covariates)
    cols += [sg.column for sg in study.subgroup_specs()]
    cols += list(study.analysis.tests.strata)
    cols += sorted(_selection_columns(study))
    return list(dict.fromkeys(cols))


def _factor(
    b: _Builder,
    study: Study,
    sg: Subgroup,
    fake_covs: dict[str, pd.Series],
    cov_levels: dict[str, list[str]],
    source: str,
    out_name: str,
) -> tuple[FactorInfo, tuple[str, str, str, Any]] | None:
    """A subgroup or stratum through ``subgroup_values`` on the distinct values, and how to code it."""
    data = subgroup_values(b, sg, fake_covs, cov_levels)
    if data is None:
        return None
    info = FactorInfo(sg.column, data.label, list(data.levels), data.cut)
    if data.cut is not None:
        return info, (out_name, source, "cut", tuple(data.cut))
    values = fake_covs[sg.column] if sg.column in fake_covs else b.frame[sg.column]
    codes = pd.Series(data.values).cat.codes.to_numpy()
    mapping = {level_str(v): int(c) for v, c in zip(values.astype(object), codes, strict=True) if c >= 0}
    return info, (out_name, source, "map", mapping)


def build_scaled_cohort(study: Study, source: Source, client: Client) -> ScaledCohort:
    """Select, check, derive and code the partitioned data on the workers; raise ``UserError`` with
    every problem found (as the in-memory ``build_cohort`` does)."""
    from dask.distributed import wait

    pieces = source.pieces
    tag = uuid.uuid4().hex[:12]
    steps = tuple(
        ("exclude", s.exclude, s.reason) if s.exclude is not None else ("include", s.include or "", s.reason)
        for s in study.selection
    )
    numeric_sel: tuple[str, ...] = ()
    sel_cols = tuple(sorted(_selection_columns(study)))
    if steps and sel_cols:
        scans = client.gather(
            client.map(
                typing_scan, pieces, [sel_cols] * len(pieces), key=[f"typing-{tag}-{i}" for i in range(len(pieces))]
            )
        )
        present: dict[str, int] = defaultdict(int)
        numeric: dict[str, int] = defaultdict(int)
        for s in scans:
            for name, (n_present, n_num) in s.items():
                present[name] += n_present
                numeric[name] += n_num
        numeric_sel = tuple(n for n in present if present[n] > 0 and numeric[n] == present[n])
    cut_cols, level_cols = _subgroup_sources(study)
    job = ScanJob(study, tuple(_wanted_columns(study)), steps, numeric_sel, tuple(cut_cols), tuple(level_cols))
    scanned = client.map(scan_piece, pieces, [job] * len(pieces), key=[f"scan-{tag}-{i}" for i in range(len(pieces))])
    summaries_f = [client.submit(operator.getitem, s, 1, key=f"summary-{tag}-{i}") for i, s in enumerate(scanned)]
    derived = [client.submit(operator.getitem, s, 0, key=f"derived-{tag}-{i}") for i, s in enumerate(scanned)]
    try:
        summaries: list[ScanSummary] = client.gather(summaries_f)
    except ValueError as exc:
        text = str(exc)
        if text.startswith("selection: "):
            raise fail(
                text.removeprefix("selection: "),
                where=source.label,
                key="selection",
                hint="see docs/spec.md for the selection expression language",
            ) from None
        raise
    del scanned, summaries_f

    problems = Problems()
    problems.extend(_merge_problems([p for s in summaries for p in s.problems]))
    flow = _combine_flow(summaries, steps)
    n_kept = sum(s.n_kept for s in summaries)
    if steps and n_kept == 0:
        raise fail(
            "every row was excluded by the selection steps",
            where=source.label,
            key="selection",
            hint="check each step's expression; the flow so far: "
            + "; ".join(f"{f['reason']}: -{f['n_excluded']}" for f in flow),
        )
    levels: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in summaries:
        for k, counts in s.levels.items():
            levels[k]  # noqa: B018 - a column present with no value at all is still present
            for lvl, c in counts.items():
                levels[k][lvl] += c
    columns = summaries[0].columns if summaries else source.columns
    where = source.files[0] if len(source.files) == 1 else source.label

    # checks over the whole cohort's distinct values, by the in-memory code
    group_levels: list[str] = []
    if "group" in levels:
        b = _fake_builder(study, where, columns, {study.group.column: list(levels["group"])})
        _, group_levels = b.group()
        problems.extend(b.problems.items)
    cov_levels: dict[str, list[str]] = {}
    fake_covs: dict[str, pd.Series] = {}
    for cid, cov in study.covariates.items():
        if cov.type == "continuous":
            fake_covs[cid] = pd.Series([0.0])
            cov_levels[cid] = []
            continue
        if f"c.{cid}" not in levels:
            continue
        b = _fake_builder(study, where, columns, {cid: list(levels[f"c.{cid}"])})
        values, order = b.covariate(cid, cov)
        problems.extend(b.problems.items)
        cov_levels[cid] = order
        fake_covs[cid] = values if values is not None else pd.Series([], dtype=object)
    subgroup_specs: list[tuple[str, str, str, Any]] = []
    subgroups: dict[str, FactorInfo] = {}
    strata: dict[str, FactorInfo] = {}
    for kind, specs in (
        ("sg", study.subgroup_specs()),
        ("st", [Subgroup(column=c) for c in study.analysis.tests.strata]),
    ):
        for sg in specs:
            col = sg.column
            cov = study.covariates.get(col)
            if cov is not None:
                if col not in fake_covs:
                    continue
                data_cols: dict[str, list[Any]] = {}
                source_col = f"c.{col}"
            elif sg.cut is not None:
                if col not in columns:
                    continue
                data_cols, source_col = {col: [0.0]}, f"x.{col}"
            else:
                if col not in columns:
                    continue
                data_cols, source_col = {col: list(levels[f"l.{col}"])}, f"l.{col}"
            b = _fake_builder(study, where, columns, data_cols)
            made = _factor(b, study, sg, fake_covs, cov_levels, source_col, f"{kind}.{col}")
            problems.extend(b.problems.items)
            if made is None:
                continue
            info, code_spec = made
            (subgroups if kind == "sg" else strata)[col] = info
            subgroup_specs.append(code_spec)

    if study.data.id is not None and study.data.id in columns:
        problems.extend(_duplicate_ids(client, pieces, summaries, study.data.id, job))
    problems.raise_if_any()

    endpoints: dict[str, EndpointInfo] = {}
    cutoff = study.study.data_cutoff
    for eid, ep in study.endpoints.items():
        endpoints[eid] = EndpointInfo(
            derived_from_dates=ep.time is None,
            n_truncated_at_cutoff=sum(s.truncated.get(eid, 0) for s in summaries),
            administrative=ep.time is None and cutoff is not None,
        )
    plan = CodePlan(
        group_levels=tuple(group_levels),
        covariates=tuple((cid, cov.type, tuple(cov_levels.get(cid, ()))) for cid, cov in study.covariates.items()),
        subgroups=tuple(subgroup_specs),
        endpoints=tuple(study.endpoints),
        admin=tuple(eid for eid, info in endpoints.items() if info.administrative),
    )
    parts = [client.submit(code_piece, d, plan, key=f"coded-{tag}-{i}") for i, d in enumerate(derived)]
    del derived
    wait(parts)
    n_read = sum(s.n_read for s in summaries)
    group_counts = {lvl: int(levels["group"].get(lvl, 0)) for lvl in group_levels}
    return ScaledCohort(
        client=client,
        parts=parts,
        n=n_kept,
        group_levels=group_levels,
        group_counts=group_counts,
        covariate_levels=cov_levels,
        endpoints=endpoints,
        subgroups=subgroups,
        strata=strata,
        flow=flow,
        source={
            "file": source.label,
            "sha256": source.sha256,
            "n_rows": int(n_read),
            "n_columns": len(columns),
        },
        n_partitions=len(parts),
    )


def _combine_flow(summaries: list[ScanSummary], steps: tuple[tuple[str, str, str], ...]) -> list[dict[str, Any]]:
    """The participant flow of the whole cohort: each step's counts summed over the pieces."""
    flow = []
    for i, (kind, text, reason) in enumerate(steps):
        before = sum(s.flow[i]["n_before"] for s in summaries)
        excluded = sum(s.flow[i]["n_excluded"] for s in summaries)
        flow.append(
            {
                "step": i + 1,
                "kind": kind,
                "expression": text,
                "reason": reason,
                "n_before": before,
                "n_excluded": excluded,
                "n_after": before - excluded,
            }
        )
    return flow


def _duplicate_ids(
    client: Client, pieces: list[Piece], summaries: list[ScanSummary], id_column: str, job: ScanJob
) -> list[Problem]:
    """Identifiers found more than once among the included patients, with their file rows: hashes
    compared on the client (8 bytes per patient), then the rows of the repeated hashes read back."""
    hashes = np.concatenate([s.id_hashes for s in summaries]) if summaries else np.zeros(0, dtype=np.uint64)
    hashes.sort()
    repeated = np.unique(hashes[1:][hashes[1:] == hashes[:-1]])
    if repeated.size == 0:
        return []
    hits = [i for i, s in enumerate(summaries) if np.isin(s.id_hashes, repeated).any()]
    tag = uuid.uuid4().hex[:12]
    found = client.gather(
        [client.submit(duplicate_rows, pieces[i], id_column, repeated, job, key=f"dup-{tag}-{i}") for i in hits]
    )
    rows = pd.concat([f.assign(path=pieces[i].path) for i, f in zip(hits, found, strict=True)], ignore_index=True)
    dup = rows[rows.duplicated("id", keep=False)]
    if dup.empty:
        return []
    n_ids = int(dup["id"].nunique())
    out = []
    for path, part in dup.groupby("path", sort=True):
        out.append(
            Problem(
                f"{n_ids} identifier(s) occur more than once",
                where=str(path),
                key=id_column,
                rows=rows_of(sorted(part["row"].tolist())),
                hint="each patient must have exactly one row",
            )
        )
    return out
