"""Cox proportional-hazards regression and R's cox.zph test, computed as R's survival 3 does.

Stage: analysis. Takes numpy arrays built by the caller: follow-up times, event indicators
(1 = event, 0 = censored), a numeric design matrix with one column per coefficient, and
optionally stratum labels and case weights. Gives plain results with raw, unrounded floats:

- ``fit_cox`` -> ``CoxFit``: R's ``coxph`` (Efron or Breslow ties, strata, case weights) with
  its likelihood-ratio, Wald and score tests, the concordance and its standard error as
  ``fit$concordance``, and R's detection of aliased columns and of possibly infinite
  coefficients (monotone likelihood);
- ``cox_zph`` -> ``ZphResult``: R's ``cox.zph`` (survival >= 3.0: the score test of
  beta(t) = beta + theta * g(t), per term and global) with the scaled Schoenfeld residuals;
- ``lr_test_nested``: the likelihood-ratio test of two nested fits, as ``anova(reduced, full)``.

How it is computed. Rows are sorted once by (stratum, time, events before censorings). The
events at one time in one stratum form a *block*; the risk set of a block is its events plus
every later row of the stratum (rows censored at the block's time included). Cutting the
sorted rows at block boundaries gives segments whose sums (``np.add.reduceat``) and reverse
cumulative sums give every risk-set sum; Efron's correction is one term per event, summed per
block with ``np.bincount``. The information matrix is written as X' diag(r c) X minus a rank-2
correction per block, where c is a per-row scalar (a cumulative sum over blocks), so one
Newton-Raphson iteration is O(n p^2) numpy work with no Python loop over rows or times.
The iteration itself copies R's C code (``coxfit6``): covariates centred and scaled, the same
Cholesky with tolerance (``cholesky2``), the same step halving and the same stopping rule.

Differences from R, by design:

- the caller removes incomplete rows first (R's ``na.action`` does it inside ``coxph``);
- the variance is always the model-based one (inverse information). With non-integer case
  weights R switches to a robust (sandwich) variance by default; the numbers here are then
  those of ``coxph(..., robust = FALSE)``;
- a fit that runs out of iterations reports the inverse information at its last accepted
  step (R's C code then inverts an unfactored matrix, which zeroes the covariances);
- ``cox_zph`` gives NaN residuals for every event of a stratum in which all covariates are
  constant, as R intends; R's row bookkeeping skips such a stratum, leaving those rows
  unscaled (and, when it is not the last stratum, matching later rows to the wrong stratum).
  The chi-square statistics are unaffected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

Ties = Literal["efron", "breslow"]
Transform = Literal["km", "identity", "rank", "log"]

REASON_ALIASED = "collinear with other terms (aliased)"
REASON_INFINITE = (
    "coefficient may be infinite (the log-likelihood converged before this coefficient did: "
    "monotone likelihood, e.g. no events in one level)"
)

_TOLER_CHOL = float(np.finfo(float).eps) ** 0.75  # coxph.control(toler.chol)
_TIME_TOLERANCE = math.sqrt(float(np.finfo(float).eps))  # aeqSurv(tolerance)


class ChiSquareTest(NamedTuple):
    """A chi-square test: statistic, degrees of freedom, upper-tail p-value."""

    stat: float
    df: int
    p: float


@dataclass(frozen=True, eq=False)
class CoxFit:
    """A fitted Cox model, as R's ``coxph`` object and ``summary()``.

    Arrays are per design column. ``not_estimable`` maps a column index to the reason its
    coefficient cannot be reported: aliased columns have NaN ``coef``/``se``/``z``/``p`` and
    NaN rows and columns in ``var`` (R: NA); a possibly infinite coefficient keeps R's
    last-iteration value in the arrays (it only shows the direction of divergence) and must
    not be reported as an estimate. ``lr_test`` and ``score_test`` have df = number of
    estimable columns, as ``summary.coxph``; ``wald_test`` is ``fit$wald.test`` (unrounded).
    ``iterations`` and ``converged`` follow R's ``fit$iter`` and its stopping rule.
    """

    coef: NDArray[np.float64]
    se: NDArray[np.float64]
    var: NDArray[np.float64]
    z: NDArray[np.float64]
    p: NDArray[np.float64]
    loglik0: float
    loglik: float
    lr_test: ChiSquareTest
    wald_test: ChiSquareTest
    score_test: ChiSquareTest
    n: int
    n_events: int
    iterations: int
    converged: bool
    ties: str
    not_estimable: dict[int, str]
    concordance: float
    concordance_se: float
    _layout: _Layout | None = field(default=None, repr=False)

    def hazard_ratio_ci(self, level: float = 0.95) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Wald confidence limits of the hazard ratios, exp(coef -/+ z * se), as ``summary.coxph``."""
        z = stats.norm.ppf(0.5 + level / 2)
        with np.errstate(over="ignore"):  # a diverging coefficient gives inf, as R's Inf
            return np.exp(self.coef - z * self.se), np.exp(self.coef + z * self.se)


@dataclass(frozen=True, eq=False)
class ZphResult:
    """R's ``cox.zph``: one test per term, the global test, and the data for residual plots.

    ``terms`` is aligned with the term groups asked for (a term whose columns are all
    aliased gets ``(nan, 0, nan)``); ``global_`` tests all estimable columns together.
    ``residuals`` holds the scaled Schoenfeld residuals, one row per event and one column
    per term (R's ``$y``; the column of a term with several columns is the residual of its
    combined effect), ``x`` the transformed event times (R's ``$x``), ``time`` the event times,
    ``var`` R's ``$var``. Rows are ordered by stratum (sorted labels) then time, as R orders
    them when its strata levels sort the same way; ``event_index`` gives each row's input row.
    """

    terms: list[ChiSquareTest]
    global_: ChiSquareTest
    transform: str
    residuals: NDArray[np.float64]
    x: NDArray[np.float64]
    time: NDArray[np.float64]
    var: NDArray[np.float64]
    event_index: NDArray[np.intp]
    strata: NDArray | None


# ---------------------------------------------------------------------------------------------
# input handling


@dataclass(frozen=True, eq=False)
class _Data:
    time: NDArray[np.float64]
    event: NDArray[np.bool_]
    X: NDArray[np.float64]
    weight: NDArray[np.float64]
    stratum: NDArray[np.intp]
    stratum_labels: NDArray | None


def _fix_ties_in_time(time: NDArray[np.float64], y: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """R's ``aeqSurv``: times closer than sqrt(machine eps) (absolutely or relatively) become one.

    ``y``, the sorted distinct times, may be given when known."""
    y = np.unique(time) if y is None else y
    if y.size < 2:
        return time
    dy = np.diff(y)
    tied = (dy <= _TIME_TOLERANCE) | (dy / np.mean(np.abs(y)) <= _TIME_TOLERANCE)
    if not tied.any():
        return time
    cuts = y[np.r_[True, ~tied]]
    return cuts[np.searchsorted(cuts, time, side="right") - 1]


def _prepare(
    time: ArrayLike,
    event: ArrayLike,
    X: ArrayLike,
    strata: ArrayLike | None,
    weights: ArrayLike | None,
    fix_ties: bool = True,
) -> _Data:
    """Validate the inputs, code the strata and (unless ``fix_ties`` is False) merge near-equal times."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event)
    x = np.asarray(X, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    n = t.shape[0]
    if t.ndim != 1 or e.shape != (n,) or x.ndim != 2 or x.shape[0] != n:
        raise ValueError("time and event must be 1-d of length n and X must be n x p")
    if not np.all(np.isfinite(t)) or not np.all(np.isfinite(x)):
        raise ValueError("time and X must be finite (remove incomplete rows first)")
    if not np.all((e == 0) | (e == 1)):
        raise ValueError("event must be 0 (censored) or 1 (event)")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("weights must be finite and > 0, one per row")
    if strata is None:
        codes, labels = np.zeros(n, dtype=np.intp), None
    else:
        s = np.asarray(strata)
        if s.shape != (n,):
            raise ValueError("strata must have one label per row")
        labels, codes = np.unique(s, return_inverse=True)
    return _Data(_fix_ties_in_time(t) if fix_ties else t, e.astype(bool), x, w, codes.astype(np.intp), labels)


def _prepare_sorted(
    time: ArrayLike,
    event: ArrayLike,
    X: ArrayLike,
    strata: ArrayLike | None,
    weights: ArrayLike | None,
    ties: str,
) -> tuple[_Data, _RiskSets]:
    """``_prepare`` then ``_risk_sets``, sorting once: without strata the distinct times for R's
    ``timefix`` are read off the sorted rows (the rows are sorted again only if times merge)."""
    if strata is not None:
        data = _prepare(time, event, X, strata, weights)
        return data, _risk_sets(data, ties)
    data = _prepare(time, event, X, strata, weights, fix_ties=False)
    rs = _risk_sets(data, ties)
    ts = data.time[rs.order]
    distinct = np.empty(ts.size, dtype=bool)
    distinct[:1] = True
    np.not_equal(ts[1:], ts[:-1], out=distinct[1:])
    fixed = _fix_ties_in_time(data.time, ts[distinct])
    if fixed is data.time:
        return data, rs
    data = _Data(fixed, data.event, data.X, data.weight, data.stratum, data.stratum_labels)
    return data, _risk_sets(data, ties)


@dataclass(frozen=True, eq=False)
class _Layout:
    """What ``fit_cox`` prepared (checked data, sorted risk sets), kept with the fit so that
    ``cox_zph`` called with the very same argument objects does not sort the rows again."""

    inputs: tuple[object, ...]
    data: _Data
    rs: _RiskSets

    def reusable(self, *args: object) -> bool:
        return len(args) == len(self.inputs) and all(a is b for a, b in zip(args, self.inputs, strict=True))


# ---------------------------------------------------------------------------------------------
# risk sets: sorted layout, segment sums, Efron terms


@dataclass(frozen=True, eq=False)
class _RiskSets:
    """Rows sorted by (stratum, time, events first), cut into segments at block boundaries.

    Block b holds the events at one time in one stratum; its risk set is its own segment plus
    the segments from ``after_seg[b]`` up to (not including) ``stop_seg[b]``, the end of its
    stratum. A *term* is one denominator of the partial likelihood: one per block for Breslow,
    one per event for Efron (the block's events enter with fraction ``frac``).
    """

    order: NDArray[np.intp]
    weight: NDArray[np.float64]
    cuts: NDArray[np.intp]
    seg_len: NDArray[np.intp]
    seg_hi: NDArray[np.intp]
    seg_lo: NDArray[np.intp]
    seg_block: NDArray[np.intp]
    block_start: NDArray[np.intp]
    block_seg: NDArray[np.intp]
    after_seg: NDArray[np.intp]
    stop_seg: NDArray[np.intp]
    block_events: NDArray[np.intp]
    event_pos: NDArray[np.intp]
    event_block: NDArray[np.intp]
    term_block: NDArray[np.intp]
    term_start: NDArray[np.intp]  # first term of each block (terms are ordered by block)
    term_frac: NDArray[np.float64]
    term_weight: NDArray[np.float64]


def _risk_sets(data: _Data, ties: str) -> _RiskSets:
    """Sort once and describe blocks, segments and ties terms (all vectorised)."""
    ev = data.event
    keys = (~ev, data.time) if data.stratum_labels is None else (~ev, data.time, data.stratum)
    order = np.lexsort(keys)
    t, d, s = data.time[order], ev[order], data.stratum[order]
    w = data.weight[order]
    n = t.size
    same = np.zeros(n, dtype=bool)
    same[1:] = (t[1:] == t[:-1]) & (s[1:] == s[:-1]) & d[:-1]
    block_start = np.flatnonzero(d & ~same)
    event_pos = np.flatnonzero(d)
    event_block = np.cumsum(d & ~same)[event_pos] - 1
    block_events = np.bincount(event_block, minlength=block_start.size)
    block_end = block_start + block_events
    stratum_start = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    stratum_stop = np.r_[stratum_start[1:], n]

    cuts = np.unique(np.concatenate([stratum_start, block_start, block_end[block_end < n]]))
    block_seg = np.searchsorted(cuts, block_start)
    after_seg = np.searchsorted(cuts, block_end)
    block_stratum = np.searchsorted(stratum_start, block_start, side="right") - 1
    stop_seg = np.searchsorted(cuts, stratum_stop[block_stratum])
    seg_stratum = np.searchsorted(stratum_start, cuts, side="right") - 1
    seg_block = np.full(cuts.size, -1, dtype=np.intp)
    seg_block[block_seg] = np.arange(block_start.size)

    block_weight = np.bincount(event_block, weights=w[event_pos], minlength=block_start.size)
    if ties == "efron":
        term_block = event_block
        term_start = np.cumsum(block_events) - block_events
        k = np.arange(event_pos.size) - np.repeat(term_start, block_events)
        term_frac = (k + 1.0) / block_events[term_block]
        term_weight = block_weight[term_block] / block_events[term_block]
    else:
        term_block = np.arange(block_start.size)
        term_start = term_block
        term_frac = np.ones(block_start.size)
        term_weight = block_weight
    return _RiskSets(
        order=order,
        weight=w,
        cuts=cuts,
        seg_len=np.diff(np.r_[cuts, n]),
        seg_hi=np.searchsorted(block_end, cuts, side="right"),
        seg_lo=np.searchsorted(block_start, stratum_start[seg_stratum]),
        seg_block=seg_block,
        block_start=block_start,
        block_seg=block_seg,
        after_seg=after_seg,
        stop_seg=stop_seg,
        block_events=block_events,
        event_pos=event_pos,
        event_block=event_block,
        term_block=term_block,
        term_start=term_start,
        term_frac=term_frac,
        term_weight=term_weight,
    )


@dataclass(frozen=True, eq=False)
class _BlockSums:
    """Risk-set sums at beta: row risks r = w exp(eta), per segment and per block.

    The design is held transposed (one row per column of X, p x n), so that every sum over
    rows runs along contiguous memory; ``rx`` and ``seg_rx`` are p x n and p x segments,
    the per-block sums ``a_after``/``a_event`` are blocks x p.
    """

    eta: NDArray[np.float64]
    rx: NDArray[np.float64]  # r * x per sorted row (p x n)
    seg_rx: NDArray[np.float64]  # p x segments
    s0_after: NDArray[np.float64]  # sum of r over the risk set minus the block's events
    s0_event: NDArray[np.float64]  # sum of r over the block's events
    a_after: NDArray[np.float64]  # the same for r * x
    a_event: NDArray[np.float64]


def _block_sums(rs: _RiskSets, XT: NDArray[np.float64], beta: NDArray[np.float64]) -> _BlockSums:
    """Segment sums with ``reduceat`` and risk-set sums as reverse cumulative sums of segments.

    ``XT`` is the sorted design transposed (p x n)."""
    eta = beta @ XT
    with np.errstate(over="ignore", invalid="ignore"):
        r = rs.weight * np.exp(eta)
        rx = XT * r
    seg_r = np.add.reduceat(r, rs.cuts) if r.size else r
    seg_rx = np.add.reduceat(rx, rs.cuts, axis=1) if r.size else rx
    rev_r = np.r_[np.cumsum(seg_r[::-1])[::-1], 0.0]
    rev_rx = np.zeros((XT.shape[0], seg_r.size + 1))
    rev_rx[:, :-1] = np.cumsum(seg_rx[:, ::-1], axis=1)[:, ::-1]
    return _BlockSums(
        eta=eta,
        rx=rx,
        seg_rx=seg_rx,
        s0_after=rev_r[rs.after_seg] - rev_r[rs.stop_seg],
        s0_event=seg_r[rs.block_seg],
        a_after=(rev_rx[:, rs.after_seg] - rev_rx[:, rs.stop_seg]).T,
        a_event=seg_rx[:, rs.block_seg].T,
    )


def _term_denominators(rs: _RiskSets, bs: _BlockSums) -> NDArray[np.float64]:
    """Efron: S0_after + (k/d) S0_events for k = 1..d; Breslow: the whole risk set."""
    return bs.s0_after[rs.term_block] + rs.term_frac * bs.s0_event[rs.term_block]


@dataclass(frozen=True, eq=False)
class _BlockCoefficients:
    """Per-block sums over ties terms: h = sum wt/den, g = sum wt f/den and the 1/den^2 sums."""

    h: NDArray[np.float64]
    g: NDArray[np.float64]
    alpha: NDArray[np.float64]
    beta: NDArray[np.float64]
    gamma: NDArray[np.float64]

    def scaled(self, v: NDArray[np.float64]) -> _BlockCoefficients:
        return _BlockCoefficients(self.h * v, self.g * v, self.alpha * v, self.beta * v, self.gamma * v)


def _block_coefficients(rs: _RiskSets, den: NDArray[np.float64]) -> _BlockCoefficients:
    """Sum the ties terms of each block (term weight wt, fraction f, denominator den).

    Terms are ordered by block, so the five sums are one ``reduceat`` over contiguous rows."""
    f = rs.term_frac
    terms = np.empty((5, den.size))
    inv, inv_f, inv2, inv2_f, inv2_ff = terms
    np.divide(rs.term_weight, den, out=inv)
    np.multiply(inv, f, out=inv_f)
    np.divide(inv, den, out=inv2)
    np.multiply(inv2, f, out=inv2_f)
    np.multiply(inv2_f, f, out=inv2_ff)
    if den.size == 0:
        return _BlockCoefficients(*np.zeros((5, 0)))
    return _BlockCoefficients(*np.add.reduceat(terms, rs.term_start, axis=1))


def _score_information(
    rs: _RiskSets,
    XT: NDArray[np.float64],
    bs: _BlockSums,
    co: _BlockCoefficients,
    event_x: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Score vector and information matrix from the block coefficients.

    Row j of the risk set of block b carries r_j x_j x_j' h_b (g_b for the block's own
    events), so the first part is X' diag(r c) X with c_j summed over blocks; the means part
    is a rank-2 matrix per block in (a_after, a_event). ``event_x`` is the weighted sum of the
    events' own x (case weights, times g(t) for ``cox_zph``).
    """
    hc = np.r_[0.0, np.cumsum(co.h)]
    c_seg = hc[rs.seg_hi] - hc[rs.seg_lo]
    is_block = rs.seg_block >= 0
    c_seg[is_block] += co.g[rs.seg_block[is_block]]
    u = event_x - bs.seg_rx @ c_seg
    c_row = np.repeat(c_seg, rs.seg_len)
    first = (bs.rx * c_row) @ XT.T
    a1, a2 = bs.a_after, bs.a_event
    cross = (a1 * co.beta[:, None]).T @ a2
    means = (a1 * co.alpha[:, None]).T @ a1 + cross + cross.T + (a2 * co.gamma[:, None]).T @ a2
    imat = first - means
    return u, (imat + imat.T) / 2


def _loglik(rs: _RiskSets, bs: _BlockSums, den: NDArray[np.float64]) -> float:
    ev = rs.event_pos
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(rs.weight[ev] @ bs.eta[ev] - rs.term_weight @ np.log(den))


def _evaluate(
    rs: _RiskSets, XT: NDArray[np.float64], beta: NDArray[np.float64], event_x: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """Log partial likelihood, score and information at beta (R's ``coxfit6_iter``); XT is p x n."""
    bs = _block_sums(rs, XT, beta)
    den = _term_denominators(rs, bs)
    co = _block_coefficients(rs, den)
    u, imat = _score_information(rs, XT, bs, co, event_x)
    return _loglik(rs, bs, den), u, imat


# ---------------------------------------------------------------------------------------------
# R's Cholesky routines (cholesky2, chsolve2, chinv2): LDL' in place with a tolerance that
# drops (aliases) a column whose pivot falls below toler * the largest diagonal.
# Loops run over the p columns only. m[i, j] here is R's matrix[i][j].


def _cholesky2(a: NDArray[np.float64], toler: float) -> tuple[NDArray[np.float64], int]:
    """Factor a symmetric matrix as LDL'; returns the factor and the rank (negative if not PSD)."""
    m = np.array(a, dtype=float, copy=True)
    n = m.shape[0]
    diag = np.diag(m)
    finite = diag[np.isfinite(diag)]
    eps = max(float(finite.max()) if finite.size else 0.0, 0.0)
    if eps == 0:
        m[np.diag_indices(n)] = 0.0
        return m, 0
    eps *= toler
    rank, nonneg = 0, 1
    for i in range(n):
        pivot = m[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            m[i, i] = 0.0
            if pivot < -8 * eps:
                nonneg = -1
            continue
        rank += 1
        for j in range(i + 1, n):
            temp = m[j, i] / pivot
            m[j, i] = temp
            m[j, j] -= temp * temp * pivot
            m[j + 1 :, j] -= temp * m[j + 1 :, i]
    return m, rank * nonneg


def _chsolve2(m: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Solve A b = y from the factor of A; dropped columns get b = 0."""
    b = np.array(y, dtype=float, copy=True)
    n = b.size
    for i in range(n):
        b[i] -= b[:i] @ m[i, :i]
    for i in range(n - 1, -1, -1):
        if m[i, i] == 0:
            b[i] = 0.0
        else:
            b[i] = b[i] / m[i, i] - b[i + 1 :] @ m[i + 1 :, i]
    return b


def _chinv2(m0: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse from the factor; rows and columns of dropped pivots are zero."""
    m = m0.copy()
    n = m.shape[0]
    for i in range(n):
        if m[i, i] > 0:
            m[i, i] = 1 / m[i, i]
            for j in range(i + 1, n):
                m[j, i] = -m[j, i]
                m[j, :i] += m[j, i] * m[i, :i]
    for i in range(n):
        if m[i, i] == 0:
            m[:i, i] = 0.0
            m[i, i:] = 0.0
        else:
            for j in range(i + 1, n):
                temp = m[j, i] * m[j, j]
                m[i, j] = temp
                m[i, i:j] += temp * m[j, i:j]
    upper = np.triu(m)
    return upper + np.triu(m, 1).T


def _wald(var: NDArray[np.float64], b: NDArray[np.float64], toler: float) -> float:
    """``coxph.wtest``: b' var^- b with var factored by ``cholesky2``."""
    if b.size == 0:
        return 0.0
    if b.size == 1:
        return float(b[0] * b[0] / var[0, 0])
    fac, _ = _cholesky2(var, toler)
    return float(b @ _chsolve2(fac, b))


# ---------------------------------------------------------------------------------------------
# Newton-Raphson as R's coxfit6


@dataclass(frozen=True, eq=False)
class _Newton:
    beta: NDArray[np.float64]
    var: NDArray[np.float64]
    u: NDArray[np.float64]
    loglik0: float
    loglik: float
    score: float
    iterations: int
    converged: bool


def _newton_raphson(rs: _RiskSets, XT: NDArray[np.float64], max_iter: int, eps: float, toler_chol: float) -> _Newton:
    """R's ``coxfit6`` loop: a step is kept if the loglik does not decrease, else it is halved
    towards the last kept beta; stop when |1 - loglik_best / loglik_new| <= eps. XT is p x n."""
    p = XT.shape[0]
    beta = np.zeros(p)
    event_x = np.take(XT, rs.event_pos, axis=1) @ rs.weight[rs.event_pos]
    loglik0, u, imat = _evaluate(rs, XT, beta, event_x)
    if p == 0:  # null model: the log partial likelihood at beta = 0 only
        return _Newton(beta, imat, u, loglik0, loglik0, 0.0, 0, True)
    fac, _ = _cholesky2(imat, toler_chol)
    step = _chsolve2(fac, u)
    score = float(u @ step)
    if max_iter == 0 or not np.isfinite(loglik0):  # evaluated at beta = 0, not iterated
        return _Newton(beta, _chinv2(fac), u, loglik0, loglik0, score, 0, False)
    best = loglik0
    newbeta = beta + step
    halving = 0
    for it in range(1, max_iter + 1):
        newlk, u, imat = _evaluate(rs, XT, newbeta, event_x)
        fac, _ = _cholesky2(imat, toler_chol)
        finite = np.isfinite(newlk) and np.all(np.isfinite(u)) and np.all(np.isfinite(imat))
        if finite and abs(newlk - best) <= eps * abs(newlk):  # R's abs(1 - best/newlk) <= eps, safe at 0
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
    loglik, u, imat = _evaluate(rs, XT, beta, event_x) if max_iter > 1 else (best, u, imat)
    fac, _ = _cholesky2(imat, toler_chol)
    return _Newton(beta, _chinv2(fac), u, loglik0, loglik, score, max_iter + 1, False)


def _center_scale(X: NDArray[np.float64], w: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weighted column means and R's scale factors sum(w) / sum(w |x - mean|)."""
    means = (w @ X) / w.sum()
    spread = w @ np.abs(X - means)
    scale = np.where(spread > 0, w.sum() / np.where(spread > 0, spread, 1.0), 1.0)
    return means, scale


def _sorted_design(
    X: NDArray[np.float64], rs: _RiskSets, *, scaled: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The design in risk-set order, transposed (p x n), centred (and scaled as R's ``coxph``).

    Returns (XT, means, scale); the weighted means and R's scale factors are those of
    ``_center_scale``, computed on the sorted rows."""
    XT = np.take(X.T, rs.order, axis=1)
    w = rs.weight
    total = w.sum()
    means = (XT @ w) / total
    XT -= means[:, None]
    spread = np.abs(XT) @ w
    scale = np.where(spread > 0, total / np.where(spread > 0, spread, 1.0), 1.0)
    if scaled:
        XT *= scale[:, None]
    return XT, means, scale


# ---------------------------------------------------------------------------------------------
# concordance, as survival::concordancefit(y, lp, strata, weights, reverse = TRUE)


def _group_starts(flags: NDArray[np.bool_]) -> NDArray[np.intp]:
    """For each item, the index of the first item of its group (groups are contiguous)."""
    return np.maximum.accumulate(np.where(flags, np.arange(flags.size), 0))


def _group_lasts(flags: NDArray[np.bool_]) -> NDArray[np.intp]:
    """For each item, the index of the last item of its group."""
    starts = np.flatnonzero(flags)
    return (np.r_[starts[1:], flags.size] - 1)[np.cumsum(flags) - 1]


def _changes(*keys: NDArray) -> NDArray[np.bool_]:
    """True where any key differs from the previous item (and at the first item)."""
    flags = np.zeros(keys[0].size, dtype=bool)
    flags[:1] = True
    for k in keys:
        flags[1:] |= k[1:] != k[:-1]
    return flags


def _prefix(values: NDArray) -> NDArray:
    """Cumulative sums with a leading 0: the sum of items [a, b) is out[b] - out[a]."""
    out = np.zeros(values.size + 1, dtype=np.float64 if values.dtype.kind == "f" else np.int64)
    np.cumsum(values, out=out[1:])
    return out


def _concordance(
    time: NDArray[np.float64],
    event: NDArray[np.bool_],
    lp: NDArray[np.float64],
    stratum: NDArray[np.intp],
    weight: NDArray[np.float64],
) -> tuple[float, float]:
    """Harrell's C (a larger lp predicts an earlier event) and R's standard error.

    R walks the rows from the last time to the first (censored rows before the events of the
    same time, tied events by lp) and, for each block of tied events, counts the weight of the
    rows already seen with a larger, smaller or equal lp; the standard error comes from each
    row's share of those pair counts (``dfbeta``). The same counts are made here offline.
    Rows equal in (stratum, time, status, lp) count alike, so they are merged first (their
    weights summed, and the squares of their weights kept for the standard error); then, in
    walk order, "smaller lp and earlier" is split by the highest bit where the two lp ranks
    differ, one level per bit: at each level rows are grouped by (stratum, higher bits), the
    counts are grouped prefix sums, and each group is split stably by the bit. Time and
    memory are O(n log n) and O(n).
    """
    rank = np.unique(lp, return_inverse=True)[1].reshape(-1).astype(np.int64)
    walk = np.lexsort((rank, event, -time, stratum))
    t, ev, s, w, rk = time[walk], event[walk], stratum[walk], weight[walk], rank[walk]
    first = np.flatnonzero(_changes(s, t, ev, rk))
    if first.size < t.size:
        w2 = np.add.reduceat(w * w, first)
        w = np.add.reduceat(w, first)
        t, ev, s, rk = t[first], ev[first], s[first], rk[first]
    else:
        w2 = w * w
    return _concordance_counts(t, ev, s, w, w2, rk)


def _concordance_counts(
    t: NDArray[np.float64],
    ev: NDArray[np.bool_],
    s: NDArray[np.intp],
    w: NDArray[np.float64],
    w2: NDArray[np.float64],
    rk: NDArray[np.int64],
) -> tuple[float, float]:
    """The pair counts of ``_concordance`` on rows in walk order (w2: sum of squared weights per row)."""
    n = t.size
    idx = np.arange(n)
    in_block = np.zeros(n, dtype=bool)
    in_block[1:] = ev[1:] & ev[:-1] & (t[1:] == t[:-1]) & (s[1:] == s[:-1])
    block_flags = ~in_block  # a block: the events of one time in one stratum, or one censored row
    block_start = _group_starts(block_flags)
    block_last = _group_lasts(block_flags)
    block_id = np.cumsum(block_flags) - 1
    run_start = _group_starts(block_flags | _changes(rk))
    strat_flags = _changes(s)
    strat_start = _group_starts(strat_flags)
    strat_end = _group_lasts(strat_flags) + 1
    w_ev = np.where(ev, w, 0.0)
    cw, ce = _prefix(w), _prefix(w_ev)

    # rows seen by an event: earlier walk positions than its block, same stratum
    seen_total = cw[block_start] - cw[strat_start]
    # events that see a row: events of later blocks, same stratum
    later_total = ce[strat_end] - ce[block_last + 1]
    # events of the own block before the event's lp run have a smaller lp but are not seen
    own_block_smaller = cw[run_start] - cw[block_start]

    # bit levels; arrays travel with the rows through every split, each row knowing the
    # bounds [start, end) of its group
    cur_rk, cur_ev, cur_w, cur_pos = rk, ev, w, idx
    start, end = strat_start, strat_end
    seen_smaller = np.zeros(n)
    later_smaller = np.zeros(n)
    nbits = int(rk.max()).bit_length() if n else 0
    for b in range(nbits - 1, -1, -1):
        bit = ((cur_rk >> b) & 1).astype(bool)
        zero_w = _prefix(np.where(bit, 0.0, cur_w))  # rows with bit 0 (a smaller lp for bit-1 rows)
        seen_smaller += np.where(cur_ev & bit, zero_w[:-1] - zero_w[start], 0.0)
        zero_ev = _prefix(np.where(cur_ev & ~bit, cur_w, 0.0))
        later_smaller += np.where(bit, zero_ev[end] - zero_ev[idx + 1], 0.0)
        zeros = _prefix(~bit)
        rank0 = zeros[:-1] - zeros[start]
        n0 = zeros[end] - zeros[start]
        newpos = np.where(bit, idx + n0 - rank0, start + rank0)
        split = start + n0
        arrays = [cur_rk, cur_ev, cur_w, cur_pos, seen_smaller, later_smaller, np.where(bit, split, start)]
        arrays.append(np.where(bit, end, split))
        moved = [np.empty_like(a) for a in arrays]
        for a, out in zip(arrays, moved, strict=True):
            out[newpos] = a
        cur_rk, cur_ev, cur_w, cur_pos, seen_smaller, later_smaller, start, end = moved

    # rows are now ordered by (stratum, lp rank, walk position): the equal-lp counts
    run = (idx == start) | _changes(block_id[cur_pos])
    cw_cur, ce_cur = _prefix(cur_w), _prefix(np.where(cur_ev, cur_w, 0.0))
    seen_equal = cw_cur[_group_starts(run)] - cw_cur[start]
    later_equal = ce_cur[end] - ce_cur[_group_lasts(run) + 1]

    def to_walk(values: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.empty(n)
        out[cur_pos] = values
        return out

    seen_smaller = to_walk(seen_smaller) - own_block_smaller
    seen_equal = to_walk(seen_equal)
    seen_larger = seen_total - seen_smaller - seen_equal
    later_smaller = to_walk(later_smaller)
    later_equal = to_walk(later_equal)
    later_larger = later_total - later_smaller - later_equal

    # R's columns before reverse: 0 = the seen row has the larger lp, 1 = smaller, 2 = equal
    count = np.array([w_ev @ seen_larger, w_ev @ seen_smaller, w_ev @ seen_equal])
    infl0 = later_smaller + np.where(ev, seen_larger, 0.0)
    infl1 = later_larger + np.where(ev, seen_smaller, 0.0)
    infl2 = later_equal + np.where(ev, seen_equal, 0.0)
    npair = count.sum()
    if npair <= 0:
        return math.nan, math.nan
    somer = (count[0] - count[1]) / npair
    # each row's dfbeta is its weight times this factor (rows merged above share the factor)
    factor = (infl0 - infl1) / npair - (somer / npair) * (infl0 + infl1 + infl2)
    concordance = 1 - (somer + 1) / 2  # reverse = TRUE
    return float(concordance), float(math.sqrt((w2 * factor) @ factor / 4))


# ---------------------------------------------------------------------------------------------
# public: fit_cox


def _chi2(stat: float, df: int) -> ChiSquareTest:
    p = float(stats.chi2.sf(stat, df)) if df > 0 else math.nan
    return ChiSquareTest(float(stat), int(df), p)


def fit_cox(
    time: ArrayLike,
    event: ArrayLike,
    X: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    ties: Ties = "efron",
    weights: ArrayLike | None = None,
    max_iter: int = 20,
    eps: float = 1e-9,
    toler_inf: float | None = None,
    toler_chol: float = _TOLER_CHOL,
    concordance: bool = True,
    risk_sets: dict[tuple[Any, ...], Any] | None = None,
) -> CoxFit:
    """Fit a Cox model as ``coxph(Surv(time, event) ~ X + strata(strata), ties = ties, weights = weights)``.

    ``X`` is the design matrix (n x p, one column per coefficient, no intercept, no missing
    values); ``strata`` a label per row for a stratified model; ``weights`` case weights > 0.
    Times closer than sqrt(machine eps) are merged first, as R's ``timefix``.

    Convergence rule (R's ``coxph.control``): Newton-Raphson from beta = 0 on centred and scaled
    covariates; a step that lowers the log partial likelihood is halved towards the last kept
    beta; iteration stops when |1 - loglik_previous_best / loglik_new| <= ``eps`` (1e-9), after
    at most ``max_iter`` (20) iterations (``converged`` is False otherwise).

    Not estimable columns (reported in ``not_estimable``, never raised): a column whose pivot
    in R's Cholesky falls below ``toler_chol`` times the largest one is aliased (collinear)
    and gets NaN, the others being fitted; after convergence a column with
    |(u' V)_k| > eps and > ``toler_inf`` * |beta_k| (u the score, V the inverse information;
    ``toler_inf`` defaults to sqrt(eps)) is flagged as possibly infinite, as R's warning
    "Loglik converged before variable k; coefficient may be infinite".

    ``concordance=False`` skips Harrell's C (``concordance`` and ``concordance_se`` are then NaN):
    with 10^6 rows it costs about as much as the fit itself.

    ``risk_sets``: a dict the caller keeps for models on the very same ``time``, ``event``, ``strata``
    and ``weights`` objects (e.g. the univariable models of one endpoint); the sorted risk sets are
    computed once and reused, which gives the same numbers without sorting the rows again.
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties must be 'efron' or 'breslow', not {ties!r}")
    tinf = math.sqrt(eps) if toler_inf is None else toler_inf
    key = (id(time), id(event), id(strata), id(weights), ties)
    cached = risk_sets.get(key) if risk_sets is not None else None
    if cached is not None and cached[0] is time and cached[1] is event:
        data = _prepare(time, event, X, strata, weights, fix_ties=False)
        data, rs = _Data(cached[2], data.event, data.X, data.weight, data.stratum, data.stratum_labels), cached[3]
    else:
        data, rs = _prepare_sorted(time, event, X, strata, weights, ties)
        if risk_sets is not None:  # the argument objects are kept with the entry, so their ids stay theirs
            risk_sets[key] = (time, event, data.time, rs, strata, weights)
    n, p = data.X.shape
    if not data.event.any():
        raise ValueError("no events: a Cox model needs at least one event")
    XT, means, scale = _sorted_design(data.X, rs, scaled=True)
    nt = _newton_raphson(rs, XT, max_iter, eps, toler_chol)
    del XT

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

    c_index, c_index_se = math.nan, math.nan
    if concordance and p > 0:
        # the linear predictor row by row (one dot product per row), so that equal rows get equal lp
        centred = data.X - means
        centred *= scale
        lp = centred @ nt.beta
        del centred
        c_index, c_index_se = _concordance(data.time, data.event, lp, data.stratum, data.weight)

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
        n=n,
        n_events=int(data.event.sum()),
        iterations=nt.iterations,
        converged=nt.converged,
        ties=ties,
        not_estimable=not_estimable,
        concordance=c_index,
        concordance_se=c_index_se,
        _layout=_Layout((time, event, X, strata, weights), data, rs),
    )


# ---------------------------------------------------------------------------------------------
# public: cox_zph


def _km_transform(
    time: NDArray[np.float64], event: NDArray[np.bool_], order: NDArray[np.intp] | None = None
) -> NDArray[np.float64]:
    """1 - S(t-) from the unweighted, unstratified Kaplan-Meier curve (R's transform = "km").

    ``order`` may give the rows sorted by time (as the risk sets of an unstratified fit are)."""
    if order is None:
        order = np.argsort(time, kind="stable")
    ts = time[order]
    new = np.empty(ts.size, dtype=bool)
    new[:1] = True
    np.not_equal(ts[1:], ts[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    deaths = np.add.reduceat(event[order].astype(float), starts) if ts.size else np.zeros(0)
    at_risk = ts.size - starts  # rows with time >= t
    surv = np.cumprod(1 - deaths / at_risk)
    before = np.r_[1.0, surv[:-1]]
    out = np.empty(ts.size)
    out[order] = 1 - before[np.cumsum(new) - 1]
    return out


def _transform_time(
    time: NDArray[np.float64], event: NDArray[np.bool_], transform: str, order: NDArray[np.intp] | None = None
) -> NDArray[np.float64]:
    if transform == "km":
        return _km_transform(time, event, order)
    if transform == "identity":
        return time.copy()
    if transform == "rank":
        return stats.rankdata(time)
    if transform == "log":
        return np.log(time)
    raise ValueError(f"transform must be 'km', 'identity', 'rank' or 'log', not {transform!r}")


def _map_terms(terms: list[list[int]], keep: NDArray[np.bool_]) -> list[list[int]]:
    """Term column indices in the estimable columns (R drops aliased columns first)."""
    new_index = np.cumsum(keep) - 1
    return [[int(new_index[j]) for j in cols if keep[j]] for cols in terms]


def _events_used(
    X_sorted: NDArray[np.float64], stratum_sorted: NDArray[np.intp], event_sorted: NDArray[np.bool_]
) -> NDArray[np.int64]:
    """R's ``used``: per stratum and column, the number of events if the column varies there."""
    starts = np.flatnonzero(np.r_[True, stratum_sorted[1:] != stratum_sorted[:-1]])
    varies = np.maximum.reduceat(X_sorted, starts, axis=0) != np.minimum.reduceat(X_sorted, starts, axis=0)
    n_events = np.add.reduceat(event_sorted.astype(np.int64), starts)
    return np.where(varies, n_events[:, None], 0)


def cox_zph(
    fit: CoxFit,
    time: ArrayLike,
    event: ArrayLike,
    X: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    transform: Transform = "km",
    terms: list[list[int]] | None = None,
) -> ZphResult:
    """Test proportional hazards as R's ``cox.zph(fit, transform)`` (survival >= 3.0).

    Pass the same ``time``, ``event``, ``X``, ``strata`` and ``weights`` as to ``fit_cox``.
    ``terms`` groups design columns into terms (the dummy columns of one factor form one term,
    as R's default ``terms = TRUE``); by default each column is its own term. For each term
    the score test of beta_j(t) = beta_j + theta_j g(t), with g the transformed time centred
    at its mean over events, is computed at the fitted beta with the full 2p x 2p
    information (R's C routine ``zph1``, Efron ties handled as in the fit); the global test
    uses all estimable columns. Aliased columns are dropped first, as R does.

    Called with the very objects given to ``fit_cox`` (as a caller holding them does), the
    checked data and the sorted risk sets of the fit are reused instead of being rebuilt.
    """
    layout = fit._layout
    reuse = layout is not None and layout.reusable(time, event, X, strata, weights)
    data = layout.data if layout is not None and reuse else _prepare(time, event, X, strata, weights)
    p_all = data.X.shape[1]
    if fit.coef.size != p_all or fit.n != data.time.size or fit.n_events != data.event.sum():
        raise ValueError("time, event and X must be the data the model was fitted to")
    keep = ~np.isnan(fit.coef)
    groups = [[j] for j in range(p_all)] if terms is None else [list(t) for t in terms]
    mapped = _map_terms(groups, keep)
    beta = fit.coef[keep]
    p = beta.size
    if p == 0 or not data.event.any():
        raise ValueError("no estimable coefficient or no event: nothing to test")

    rs = layout.rs if layout is not None and reuse else _risk_sets(data, fit.ties)
    Xk = data.X if keep.all() else data.X[:, keep]
    XcT, _, _ = _sorted_design(Xk, rs, scaled=False)
    time_order = rs.order if data.stratum_labels is None else None  # rows by time, when unstratified
    ttimes = _transform_time(data.time, data.event, transform, time_order)
    gtime = ttimes - ttimes[data.event].mean()
    g_block = gtime[rs.order[rs.block_start]]
    g_event = g_block[rs.event_block]

    bs = _block_sums(rs, XcT, beta)
    den = _term_denominators(rs, bs)
    co = _block_coefficients(rs, den)
    w_ev = rs.weight[rs.event_pos]
    x_evT = np.take(XcT, rs.event_pos, axis=1)
    _, i00 = _score_information(rs, XcT, bs, co, x_evT @ w_ev)
    u1, i01 = _score_information(rs, XcT, bs, co.scaled(g_block), x_evT @ (w_ev * g_event))
    _, i11 = _score_information(rs, XcT, bs, co.scaled(g_block * g_block), x_evT @ (w_ev * g_event * g_event))
    imat = np.block([[i00, i01], [i01.T, i11]])
    u = np.r_[np.zeros(p), u1]

    def score_test(cols: list[int]) -> ChiSquareTest:
        kk = np.r_[np.arange(p), p + np.asarray(cols, dtype=np.intp)]
        stat = float(np.linalg.solve(imat[np.ix_(kk, kk)], u[kk]) @ u[kk])
        return _chi2(stat, len(cols))

    term_tests = [score_test(c) if c else ChiSquareTest(math.nan, 0, math.nan) for c in mapped]
    global_test = score_test(list(range(p)))

    residuals, var = _scaled_schoenfeld(rs, data, Xk, x_evT, bs, den, i00, beta, mapped)
    event_rows = rs.order[rs.event_pos]
    return ZphResult(
        terms=term_tests,
        global_=global_test,
        transform=transform,
        residuals=residuals,
        x=ttimes[event_rows],
        time=data.time[event_rows],
        var=var,
        event_index=event_rows,
        strata=None if data.stratum_labels is None else data.stratum_labels[data.stratum[event_rows]],
    )


def _schoenfeld(
    rs: _RiskSets, x_evT: NDArray[np.float64], bs: _BlockSums, den: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Unscaled Schoenfeld residuals x_i - mean(t_i); with Efron ties the mean is the average of
    the d weighted means (a_after + (k/d) a_event) / (s0_after + (k/d) s0_event), as ``zph1``.
    ``x_evT`` holds the events' centred covariates, transposed (p x events)."""
    sums = np.add.reduceat(np.stack([1 / den, rs.term_frac / den]), rs.term_start, axis=1)
    one, frac = sums[0], sums[1]
    nterms = np.diff(np.r_[rs.term_start, den.size])
    mean = (bs.a_after * one[:, None] + bs.a_event * frac[:, None]) / nterms[:, None]
    return x_evT.T - mean[rs.event_block]


def _scaled_schoenfeld(
    rs: _RiskSets,
    data: _Data,
    raw: NDArray[np.float64],
    x_evT: NDArray[np.float64],
    bs: _BlockSums,
    den: NDArray[np.float64],
    information: NDArray[np.float64],
    beta: NDArray[np.float64],
    mapped: list[list[int]],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """R's scaling: residuals times the inverse of the per-event information, plus beta.

    A term with several columns is collapsed to one column, the residual of its combined
    effect sum_j beta_j x_j (R adds 1 instead of beta there). Columns constant within a
    stratum are NaN there, as R's ``used`` matrix makes them.
    """
    p = beta.size
    sresid = _schoenfeld(rs, x_evT, bs, den)
    stratum_sorted = data.stratum[rs.order]
    ev_stratum = stratum_sorted[rs.event_pos]
    if data.stratum_labels is None:  # one stratum: does each column vary at all
        varies = raw.max(axis=0) != raw.min(axis=0)
        used = np.where(varies, int(data.event.sum()), 0)[None, :].astype(np.int64)
    else:
        used = _events_used(np.take(raw, rs.order, axis=0), stratum_sorted, data.event[rs.order])
    live = [c for c in mapped if c]
    for cols in live:
        if len(cols) > 1 and np.any(used[:, cols] == 0):
            used[:, cols] = used[:, cols].max(axis=1, keepdims=True)
    wtmat = np.minimum(used[:, :, None], used[:, None, :]).sum(axis=0)
    vmean = information / np.where(wtmat == 0, 1, wtmat)

    collapse = np.zeros((p, len(live)))
    for i, cols in enumerate(live):
        collapse[cols, i] = 1.0 if len(cols) == 1 else beta[cols]
    sresid = sresid @ collapse
    vmean = collapse.T @ vmean @ collapse
    used_t = used[:, [c[0] for c in live]]

    out = np.full_like(sresid, np.nan)
    for s in range(used_t.shape[0]):
        k = used_t[s] > 0
        if used_t.shape[0] == 1 and k.all():  # one stratum, every column used: no indexing needed
            out = np.linalg.solve(vmean, sresid.T).T
            break
        rows = ev_stratum == s
        if k.any():
            out[np.ix_(rows, k)] = np.linalg.solve(vmean[np.ix_(k, k)], sresid[np.ix_(rows, k)].T).T
    offset = np.array([beta[c[0]] if len(c) == 1 else 1.0 for c in live])
    out += offset
    full = np.full((out.shape[0], len(mapped)), np.nan)
    full[:, [i for i, c in enumerate(mapped) if c]] = out
    return full, np.linalg.inv(vmean)


# ---------------------------------------------------------------------------------------------
# public: nested likelihood-ratio test


def lr_test_nested(full: CoxFit, reduced: CoxFit) -> ChiSquareTest:
    """Likelihood-ratio test of ``reduced`` nested in ``full``, as R's ``anova(reduced, full)``:
    chisq = |2 (loglik_full - loglik_reduced)| on |df_full - df_reduced| df (df counts the
    estimable coefficients). Both models must be fitted to the same rows with the same ties."""
    if full.n != reduced.n:
        raise ValueError("models were not fitted to the same number of rows")
    if full.ties != reduced.ties:
        raise ValueError("both models must use the same ties method")
    df_full = int(np.sum(~np.isnan(full.coef)))
    df_reduced = int(np.sum(~np.isnan(reduced.coef)))
    return _chi2(abs(2 * (full.loglik - reduced.loglik)), abs(df_full - df_reduced))
