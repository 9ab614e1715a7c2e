"""Cox regression at scale: ``ScaledCohort`` + a model (endpoint, rows, design columns) -> ``coxph.CoxFit``.

The fit is ``coxph.fit_cox``'s, computed from per-time sums instead of sorted rows:

- *prepare* (one pass): rows, events, column sums and the distinct times of the model's complete
  cases; on the client the weighted means, R's ``timefix`` (``coxph._fix_ties_in_time`` on the
  distinct times) and the grid of event cells (stratum, event time);
- *spread* (one pass): sum |x - mean| per column, hence R's scale factors (``coxph._sorted_design``);
- each Newton-Raphson evaluation at beta: pass A gives, per event cell, the sums of r = exp(x'b)
  and r x over the cell's tied events and over the other rows whose time falls in the cell (up to
  the next event time); the client forms every risk set by reverse cumulative sums over the small
  per-cell table, Efron's (or Breslow's) terms per block, the log partial likelihood and, per
  cell, the coefficient c that each row's r x x' carries in the information matrix (the sum of
  1/denominator over the blocks whose risk set holds the row, as ``coxph._score_information``);
  pass B gives sum r c x x' and sum r c x per piece (one p x p matrix each), from which the score
  and the information follow.

The iteration is ``coxph._newton_raphson`` (R's ``coxfit6``): the same centring and scaling, the
same Cholesky with tolerance, step halving and stopping rule, so the coefficients, standard errors
and tests equal the in-memory fit to rounding (sums taken in another order). The per-cell table
holds (2 + 2p) numbers per distinct event time and stratum, whatever the number of patients;
x x' is never tabulated per time (that would be p^2 numbers per time and piece). Harrell's C is
not computed here (NaN): it needs every pair of patients ordered by the linear predictor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..analysis.coxph import (
    _TOLER_CHOL,
    REASON_ALIASED,
    REASON_INFINITE,
    ChiSquareTest,
    CoxFit,
    _chi2,
    _chinv2,
    _cholesky2,
    _chsolve2,
    _fix_ties_in_time,
    _wald,
)
from .aggregate import Rows, known, reduce, select
from .cohort import ScaledCohort

_TERMS_PER_CHUNK = 1 << 22  # Efron terms expanded at once on the client (bounded memory)


@dataclass(frozen=True)
class Factor:
    """One factor of a design column: ``column == code`` (a dummy) or ``column / per`` (a number)."""

    column: str
    kind: str  # "dummy" | "value"
    arg: float


@dataclass(frozen=True)
class Model:
    """A Cox model's rows and design: each design column is the product of its factors (one factor,
    or two for an interaction), as ``analysis.cox.build_design`` makes it."""

    rows: Rows
    columns: tuple[tuple[Factor, ...], ...]
    ties: str = "efron"


@dataclass(frozen=True)
class Prepared:
    """What every pass needs from the client: centring, scaling, timefix and the event-cell grid."""

    means: np.ndarray
    scale: np.ndarray
    cuts: np.ndarray | None
    grid_time: np.ndarray  # event times, sorted by (stratum, time)
    bounds: dict[int, tuple[int, int]] = field(default_factory=dict)  # stratum -> [lo, hi) in the grid


# ---------------------------------------------------------------------------------------------
# worker side


def design(part: pd.DataFrame, model: Model, mask: np.ndarray) -> np.ndarray:
    """The design matrix (rows x columns) of the rows in ``mask``."""
    cols = []
    cache: dict[str, np.ndarray] = {}
    for factors in model.columns:
        value = None
        for f in factors:
            if f.column not in cache:
                cache[f.column] = part[f.column].to_numpy()[mask]
            x = cache[f.column]
            v = (x == int(f.arg)).astype(float) if f.kind == "dummy" else x.astype(float) / f.arg
            value = v if value is None else value * v
        cols.append(value)
    n = int(mask.sum())
    return np.column_stack(cols) if cols else np.empty((n, 0))


def _model_rows(part: pd.DataFrame, model: Model) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(time, event, stratum, X) of the model's complete cases in this piece."""
    needed = tuple(dict.fromkeys(f.column for fs in model.columns for f in fs))
    r = model.rows
    rows = Rows(r.eid, r.landmark, r.equals, tuple(dict.fromkeys((*r.complete, *needed))), r.strata, bool(r.strata))
    mask, time, event, strata = select(part, rows)
    return time, event.astype(bool), strata, design(part, model, mask)


def prepare_part(part: pd.DataFrame, model: Model) -> dict[str, Any]:
    time, event, strata, X = _model_rows(part, model)
    base = select(part, Rows(model.rows.eid, model.rows.landmark, model.rows.equals))[0]
    cells = pd.DataFrame({"s": strata[event], "t": time[event]}).groupby(["s", "t"], sort=False).size()
    cells = cells.rename("d").reset_index()
    return {
        "n": int(time.size),
        "n_base": int(base.sum()),
        "n_events": int(event.sum()),
        "sum_x": X.sum(axis=0),
        "times": np.unique(time),
        "cells": cells,
        "min": X.min(axis=0) if time.size else np.full(X.shape[1], np.inf),
        "max": X.max(axis=0) if time.size else np.full(X.shape[1], -np.inf),
    }


def spread_part(part: pd.DataFrame, model: Model, means: np.ndarray) -> np.ndarray:
    _, _, _, X = _model_rows(part, model)
    return np.abs(X - means).sum(axis=0)


def _scaled_rows(part: pd.DataFrame, model: Model, prep: Prepared) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(XT scaled and centred, p x n; event; cell index or -1) of the rows that enter a risk set."""
    time, event, strata, X = _model_rows(part, model)
    if prep.cuts is not None:
        time = prep.cuts[np.searchsorted(prep.cuts, time, side="right") - 1]
    cell = np.full(time.size, -1, dtype=np.int64)
    for s in np.unique(strata).tolist():
        if s not in prep.bounds:
            continue
        lo, hi = prep.bounds[s]
        sel = strata == s
        idx = np.searchsorted(prep.grid_time[lo:hi], time[sel], side="right") - 1
        cell[sel] = np.where(idx >= 0, lo + idx, -1)
    used = cell >= 0
    XT = np.ascontiguousarray(X[used].T)
    XT -= prep.means[:, None]
    XT *= prep.scale[:, None]
    return XT, event[used], cell[used]


def _cell_sums(values: np.ndarray, cell: np.ndarray, size: int) -> np.ndarray:
    """Sums of the columns of ``values`` (k x n) per cell, as a dense (size x k) array."""
    out = np.zeros((size, values.shape[0]))
    if cell.size == 0:
        return out
    order = np.argsort(cell, kind="stable")
    sc = cell[order]
    starts = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
    out[sc[starts]] = np.add.reduceat(values[:, order], starts, axis=1).T
    return out


def pass_a(part: pd.DataFrame, model: Model, prep: Prepared, beta: np.ndarray) -> dict[str, np.ndarray]:
    """Per event cell: sums of (r, r x) over its tied events and over its other rows; and the sum of
    the events' x."""
    XT, event, cell = _scaled_rows(part, model, prep)
    with np.errstate(over="ignore", invalid="ignore"):
        r = np.exp(beta @ XT)
        stacked = np.vstack([r, XT * r])
    size = prep.grid_time.size
    return {
        "event": _cell_sums(stacked[:, event], cell[event], size),
        "other": _cell_sums(stacked[:, ~event], cell[~event], size),
        "event_x": XT[:, event].sum(axis=1),
    }


def pass_b(
    part: pd.DataFrame, model: Model, prep: Prepared, beta: np.ndarray, c_other: np.ndarray, c_event: np.ndarray
) -> dict[str, np.ndarray]:
    """sum r c x x' and sum r c x, where c is the row's coefficient (by cell, event or not)."""
    XT, event, cell = _scaled_rows(part, model, prep)
    with np.errstate(over="ignore", invalid="ignore"):
        r = np.exp(beta @ XT)
        rc = r * np.where(event, c_event[cell], c_other[cell])
        rcx = XT * rc
    return {"first": rcx @ XT.T, "rcx": rcx.sum(axis=1)}


def _add(results: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: sum((r[k] for r in results[1:]), start=results[0][k].copy()) for k in results[0]}


# ---------------------------------------------------------------------------------------------
# client side


@dataclass(frozen=True)
class _Grid:
    prep: Prepared
    stratum_start: np.ndarray  # per cell: index of the first cell of its stratum
    stratum_end: np.ndarray  # per cell: one past the last cell of its stratum
    d: np.ndarray  # events per cell


def _prepare(cohort: ScaledCohort, model: Model) -> tuple[_Grid, dict[str, Any]]:
    parts = cohort.map(prepare_part, model, key="cox-prepare")
    stats_: dict[str, Any] = reduce(parts, _combine_prepare)
    n = stats_["n"]
    p = len(model.columns)
    means = stats_["sum_x"] / n if n else np.zeros(p)
    spread = reduce(cohort.map(spread_part, model, means, key="cox-spread"), lambda xs: sum(xs[1:], xs[0]))
    scale = np.where(spread > 0, n / np.where(spread > 0, spread, 1.0), 1.0)
    distinct = stats_["times"]
    fixed = _fix_ties_in_time(distinct, distinct)
    cuts = None if fixed is distinct else np.unique(fixed)
    cells: pd.DataFrame = stats_["cells"]
    cells_t = cells["t"].to_numpy(dtype=float)
    if cuts is not None:
        cells_t = cuts[np.searchsorted(cuts, cells_t, side="right") - 1]
    counted = pd.DataFrame({"s": cells["s"].to_numpy(), "t": cells_t, "d": cells["d"].to_numpy()})
    grid = counted.groupby(["s", "t"], sort=True)["d"].sum().reset_index()
    s = grid["s"].to_numpy()
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if s.size else np.zeros(0, dtype=np.intp)
    ends = np.r_[starts[1:], s.size]
    bounds = {int(s[a]): (int(a), int(b)) for a, b in zip(starts, ends, strict=True)}
    which = np.repeat(np.arange(starts.size), ends - starts)
    prep = Prepared(means=means, scale=scale, cuts=cuts, grid_time=grid["t"].to_numpy(dtype=float), bounds=bounds)
    return _Grid(prep, starts[which], ends[which], grid["d"].to_numpy(dtype=np.int64)), stats_


def _combine_prepare(results: list[dict[str, Any]]) -> dict[str, Any]:
    cells = pd.concat([r["cells"] for r in results], ignore_index=True)
    return {
        "n": sum(r["n"] for r in results),
        "n_base": sum(r["n_base"] for r in results),
        "n_events": sum(r["n_events"] for r in results),
        "sum_x": sum((r["sum_x"] for r in results[1:]), results[0]["sum_x"]),
        "times": np.unique(np.concatenate([r["times"] for r in results])),
        "cells": cells.groupby(["s", "t"], sort=False)["d"].sum().reset_index() if len(cells) else cells,
        "min": np.minimum.reduce([r["min"] for r in results]),
        "max": np.maximum.reduce([r["max"] for r in results]),
    }


def _suffix(values: np.ndarray, grid: _Grid) -> np.ndarray:
    """Per cell, the sum of ``values`` over the later cells of its stratum (rows: cells)."""
    rev = np.zeros((values.shape[0] + 1, *values.shape[1:]))
    rev[:-1] = np.cumsum(values[::-1], axis=0)[::-1]
    nxt = np.arange(1, values.shape[0] + 1)
    return rev[nxt] - rev[grid.stratum_end]


def _block_terms(grid: _Grid, s0_after: np.ndarray, s0_event: np.ndarray, ties: str) -> dict[str, np.ndarray]:
    """Per cell, the sums over its ties terms (term weight w, fraction f, denominator den):
    h = sum w/den, g = sum w f/den, alpha = sum w/den^2, beta = sum w f/den^2, gamma = sum w f^2/den^2,
    and sum w log(den), as ``coxph._block_coefficients`` (unit case weights)."""
    d = grid.d
    size = d.size
    if ties == "breslow":
        den = s0_after + s0_event
        w = d.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = w / den
            return {
                "h": inv,
                "g": inv,
                "alpha": inv / den,
                "beta": inv / den,
                "gamma": inv / den,
                "log": w * np.log(den),
            }
    out = {k: np.zeros(size) for k in ("h", "g", "alpha", "beta", "gamma", "log")}
    start = 0
    while start < size:  # blocks in chunks of about _TERMS_PER_CHUNK terms
        stop = start + max(1, int(np.searchsorted(np.cumsum(d[start:]), _TERMS_PER_CHUNK, side="right")))
        dd = d[start:stop]
        block = np.repeat(np.arange(start, stop), dd)
        term_start = np.cumsum(dd) - dd
        k = np.arange(block.size) - np.repeat(term_start, dd)
        frac = (k + 1.0) / dd[block - start]
        tw = dd[block - start] / dd[block - start]  # block weight / events: 1 with unit weights
        den = s0_after[block] + frac * s0_event[block]
        terms = np.empty((6, den.size))
        inv, inv_f, inv2, inv2_f, inv2_ff, logs = terms
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(tw, den, out=inv)
            np.multiply(inv, frac, out=inv_f)
            np.divide(inv, den, out=inv2)
            np.multiply(inv2, frac, out=inv2_f)
            np.multiply(inv2_f, frac, out=inv2_ff)
            np.multiply(tw, np.log(den), out=logs)
        sums = np.add.reduceat(terms, term_start, axis=1)
        for key, row in zip(("h", "g", "alpha", "beta", "gamma", "log"), sums, strict=True):
            out[key][start:stop] = row
        start = stop
    return out


def _evaluate(
    cohort: ScaledCohort, model: Model, grid: _Grid, beta: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """(log partial likelihood, score, information, sum of the events' x) at beta, in scaled units."""
    prep = grid.prep
    a = reduce(cohort.map(pass_a, model, prep, beta, key="cox-a"), _add)
    ev, other = a["event"], a["other"]
    s0_event, a_event = ev[:, 0], ev[:, 1:]
    s0_after = other[:, 0] + _suffix(other[:, 0] + ev[:, 0], grid)
    a_after = other[:, 1:] + _suffix(other[:, 1:] + ev[:, 1:], grid)
    co = _block_terms(grid, s0_after, s0_event, model.ties)
    event_x = a["event_x"]
    loglik = float(beta @ event_x - co["log"].sum())
    # as coxph._score_information: c = sum of h over the blocks of the stratum up to the row's cell,
    # with g instead of h for the cell's own tied events
    hc = np.r_[0.0, np.cumsum(co["h"])]
    cells = np.arange(grid.d.size)
    c_other = hc[cells + 1] - hc[grid.stratum_start]
    c_event = hc[cells] - hc[grid.stratum_start] + co["g"]
    b = reduce(cohort.map(pass_b, model, prep, beta, c_other, c_event, key="cox-b"), _add)
    u = event_x - b["rcx"]
    cross = (a_after * co["beta"][:, None]).T @ a_event
    means = (
        (a_after * co["alpha"][:, None]).T @ a_after + cross + cross.T + (a_event * co["gamma"][:, None]).T @ a_event
    )
    imat = b["first"] - means
    return loglik, u, (imat + imat.T) / 2, event_x


@dataclass(frozen=True)
class _Newton:
    beta: np.ndarray
    var: np.ndarray
    u: np.ndarray
    loglik0: float
    loglik: float
    score: float
    iterations: int
    converged: bool


def _newton_raphson(
    cohort: ScaledCohort, model: Model, grid: _Grid, p: int, max_iter: int, eps: float, toler_chol: float
) -> _Newton:
    """``coxph._newton_raphson`` (R's ``coxfit6``) with the distributed evaluation."""
    beta = np.zeros(p)
    loglik0, u, imat, _ = _evaluate(cohort, model, grid, beta)
    if p == 0:
        return _Newton(beta, imat, u, loglik0, loglik0, 0.0, 0, True)
    fac, _ = _cholesky2(imat, toler_chol)
    step = _chsolve2(fac, u)
    score = float(u @ step)
    if max_iter == 0 or not np.isfinite(loglik0):
        return _Newton(beta, _chinv2(fac), u, loglik0, loglik0, score, 0, False)
    best = loglik0
    newbeta = beta + step
    halving = 0
    for it in range(1, max_iter + 1):
        newlk, u, imat, _ = _evaluate(cohort, model, grid, newbeta)
        fac, _ = _cholesky2(imat, toler_chol)
        finite = np.isfinite(newlk) and np.all(np.isfinite(u)) and np.all(np.isfinite(imat))
        if finite and abs(1 - best / newlk) <= eps:
            return _Newton(newbeta, _chinv2(fac), u, loglik0, newlk, score, it, True)
        if not finite or newlk < best:
            halving += 1
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            best = newlk
            step = _chsolve2(fac, u)
            beta = newbeta
            newbeta = newbeta + step
    if max_iter > 1:
        loglik, u, imat, _ = _evaluate(cohort, model, grid, beta)
    else:
        loglik = best
    fac, _ = _cholesky2(imat, toler_chol)
    return _Newton(beta, _chinv2(fac), u, loglik0, loglik, score, max_iter + 1, False)


@dataclass(frozen=True)
class PreparedModel:
    """A model's rows counted and its grid built (``prepare_model``): ``n``, ``n_events`` and
    ``n_base`` (rows before complete cases) are known before any fit."""

    model: Model
    grid: _Grid
    n: int
    n_events: int
    n_base: int


def prepare_model(cohort: ScaledCohort, model: Model) -> PreparedModel:
    """The first two passes of a fit: counts, centring, scaling, timefix and the event-cell grid."""
    if model.ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', not {model.ties!r}")
    grid, info = _prepare(cohort, model)
    return PreparedModel(model, grid, int(info["n"]), int(info["n_events"]), int(info["n_base"]))


def fit_cox_scaled(
    cohort: ScaledCohort,
    model: Model | PreparedModel,
    *,
    max_iter: int = 20,
    eps: float = 1e-9,
    toler_inf: float | None = None,
    toler_chol: float = _TOLER_CHOL,
) -> CoxFit:
    """``coxph.fit_cox`` on the model's rows of the partitioned cohort (concordance not computed)."""
    prepared = model if isinstance(model, PreparedModel) else prepare_model(cohort, model)
    model, grid = prepared.model, prepared.grid
    info = {"n": prepared.n, "n_events": prepared.n_events}
    tinf = math.sqrt(eps) if toler_inf is None else toler_inf
    p = len(model.columns)
    if info["n_events"] == 0:
        raise ValueError("no events: a Cox model needs at least one event")
    scale = grid.prep.scale
    nt = _newton_raphson(cohort, model, grid, p, max_iter, eps, toler_chol)

    coef = nt.beta * scale
    var = nt.var * np.outer(scale, scale)
    u = nt.u / scale
    aliased = np.diag(var) == 0
    not_estimable: dict[int, str] = {int(j): REASON_ALIASED for j in np.flatnonzero(aliased)}
    if nt.converged and max_iter > 1:
        infs = np.abs(u @ var)
        flag = ~np.isfinite(u) | ((infs > eps) & (infs > tinf * np.abs(coef)))
        not_estimable.update({int(j): REASON_INFINITE for j in np.flatnonzero(flag & ~aliased)})
    not_estimable = dict(sorted(not_estimable.items()))
    ok = ~aliased
    coef_out = np.where(ok, coef, np.nan)
    with np.errstate(invalid="ignore"):
        se = np.where(ok, np.sqrt(np.diag(var)), np.nan)
        z = coef_out / se
    var_out = var.copy()
    var_out[aliased, :] = np.nan
    var_out[:, aliased] = np.nan
    df = int(ok.sum())
    return CoxFit(
        coef=coef_out,
        se=se,
        var=var_out,
        z=z,
        p=stats.chi2.sf(z * z, 1),
        loglik0=nt.loglik0,
        loglik=nt.loglik,
        lr_test=_chi2(2 * (nt.loglik - nt.loglik0), df),
        wald_test=_chi2(_wald(var[np.ix_(ok, ok)], coef[ok], toler_chol), df),
        score_test=_chi2(nt.score, df),
        n=int(info["n"]),
        n_events=int(info["n_events"]),
        iterations=nt.iterations,
        converged=nt.converged,
        ties=model.ties,
        not_estimable=not_estimable,
        concordance=math.nan,
        concordance_se=math.nan,
    )


def lr_test(full: CoxFit, reduced: CoxFit) -> ChiSquareTest:
    """``coxph.lr_test_nested`` (kept importable from here for the scale runner)."""
    from ..analysis.coxph import lr_test_nested

    return lr_test_nested(full, reduced)


__all__ = ["Factor", "Model", "fit_cox_scaled", "known"]
