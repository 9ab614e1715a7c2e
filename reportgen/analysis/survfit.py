"""Kaplan-Meier estimation (analysis stage): follow-up times and 0/1 events in, step tables out.

Takes in per-patient follow-up times, event indicators (1 = event, 0 = censored) and optional
case weights. Gives out a ``KMCurve`` (one row per distinct observed time, R's ``survfit``
layout) and, from a curve, quantiles with their confidence interval (``km_quantile``),
landmark summaries (``km_summary``), the restricted mean survival time (``rmst``), and the
reverse Kaplan-Meier curve used for median follow-up (``reverse_km``). The same curve can be
built from counts of events and censorings per time (``kaplan_meier_from_counts``), e.g. counts
aggregated over the partitions of data too large for one machine; both share one code path.

Every number follows R's ``survival`` package (3.5): ``survfit`` (Greenwood variance of the
cumulative hazard, ``conf.type`` "log", "log-log" or "plain"), ``quantile.survfit``,
``print.survfit`` / ``summary(fit)$table`` and ``summary(fit, times = ...)``. Differences from R
are stated where they arise:

- R's ``survfit`` first merges times that differ by floating-point noise (``timefix``); here
  times are taken as they are, so equal times must be exactly equal.
- With case weights the Greenwood variance uses weighted counts, as R's
  ``survfit(..., weights = w, robust = FALSE)``. For non-integer weights R's default is a
  robust (infinitesimal jackknife) variance instead.
- Times must be non-negative; the curve starts at time 0 with survival 1.

Values that cannot be estimated are NaN in arrays and ``None`` in scalar answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

ConfType = Literal["log", "log-log", "plain"]
QuantileRule = Literal["quantile", "print"]

CONF_TYPES: tuple[str, ...] = ("log", "log-log", "plain")

# R's default tolerance in quantile.survfit and survmean: sqrt(.Machine$double.eps).
_TOL = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True, eq=False)
class KMCurve:
    """A Kaplan-Meier curve as R's ``survfit`` stores it.

    One row per distinct observed time (event or censoring), ascending; time 0 is a row only
    when some follow-up time is 0 (the implicit start, S(0) = 1, is not stored).
    ``std_err`` is R's ``std.err``: the Greenwood standard error of the cumulative hazard,
    i.e. of log S (``inf`` where S drops to 0). ``lower``/``upper`` are the pointwise
    confidence limits of S (NaN where R gives NA). ``n`` is the number of rows used and
    ``events`` the number of events (a weighted sum when weights were given).
    """

    time: NDArray[np.float64]
    n_risk: NDArray[np.float64]
    n_event: NDArray[np.float64]
    n_censor: NDArray[np.float64]
    survival: NDArray[np.float64]
    std_err: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    conf_type: str
    conf_level: float
    n: int
    events: int | float


def _check_inputs(
    time: ArrayLike, event: ArrayLike, weights: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64] | None]:
    """Validate and convert (time, event, weights) to 1-D arrays; raise ValueError on bad input."""
    t = np.asarray(time, dtype=float)
    e_raw = np.asarray(event)
    if t.ndim != 1 or e_raw.ndim != 1 or t.shape != e_raw.shape:
        raise ValueError("time and event must be 1-D arrays of the same length")
    if t.size == 0:
        raise ValueError("time is empty: a Kaplan-Meier curve needs at least one row")
    if not np.all(np.isfinite(t)):
        raise ValueError("time has missing or infinite values; drop or fix those rows first")
    if np.any(t < 0):
        raise ValueError("time has negative values; follow-up times must be >= 0")
    e_num = e_raw.astype(float)
    if not np.all((e_num == 0) | (e_num == 1)):
        raise ValueError("event must be 0 (censored) or 1 (event) on every row")
    w: NDArray[np.float64] | None = None
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        if w.shape != t.shape:
            raise ValueError("weights must have the same length as time")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite and >= 0")
    return t, e_num == 1, w


def _confint(
    surv: NDArray[np.float64], se: NDArray[np.float64], conf_type: str, conf_level: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pointwise limits of S from the SE of log S, as R's ``survival:::survfit_confint``."""
    z = float(norm.ppf(1.0 - (1.0 - conf_level) / 2.0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            se2 = se * surv * z
            lower = np.maximum(surv - se2, 0.0)
            upper = np.minimum(surv + se2, 1.0)
        elif conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            se2 = z * se
            lower = np.exp(np.log(xx) - se2)
            upper = np.minimum(np.exp(np.log(xx) + se2), 1.0)
        elif conf_type == "log-log":
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            se2 = z * se / np.log(xx)
            lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        else:
            raise ValueError(f"conf_type must be one of {CONF_TYPES}, not {conf_type!r}")
    return lower, upper


def kaplan_meier(
    time: ArrayLike,
    event: ArrayLike,
    *,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
    weights: ArrayLike | None = None,
) -> KMCurve:
    """Kaplan-Meier curve with Greenwood SE and pointwise CI, as R's ``survfit(Surv(time, event) ~ 1)``."""
    _check_conf(conf_type, conf_level)
    t, e, w = _check_inputs(time, event, weights)

    if w is None:
        # counts per distinct time from two plain sorts (all times, event times): no argsort
        ts = np.sort(t)
        first = np.empty(ts.size, dtype=bool)
        first[:1] = True
        np.not_equal(ts[1:], ts[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        times = ts[starts]
        total = np.diff(np.r_[starts, ts.size])
        te = np.sort(t[e])
        n_event = np.bincount(np.searchsorted(times, te), minlength=times.size)
        n_censor = total - n_event
        events: int | float = int(te.size)
    else:
        times, inv = np.unique(t, return_inverse=True)
        m = times.size
        total = np.bincount(inv, weights=w, minlength=m)
        n_event = np.bincount(inv, weights=np.where(e, w, 0.0), minlength=m)
        n_censor = np.bincount(inv, weights=np.where(e, 0.0, w), minlength=m)
        events = float(n_event.sum())
    return _curve(times, n_event, n_censor, total, int(t.size), events, conf_type, conf_level)


def kaplan_meier_from_counts(
    time: ArrayLike,
    n_event: ArrayLike,
    n_censor: ArrayLike,
    *,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
) -> KMCurve:
    """The Kaplan-Meier curve of ``kaplan_meier`` from counts instead of rows.

    Each entry gives a time and the number of patients with an event and censored at it (the
    same time may appear in several entries, e.g. one per data partition: they are added). With
    whole-number counts the curve equals ``kaplan_meier`` on the rows the counts describe, number
    for number (``n`` is the number of rows); other counts act as case weights.
    """
    _check_conf(conf_type, conf_level)
    t = np.asarray(time, dtype=float)
    d = np.asarray(n_event, dtype=float)
    c = np.asarray(n_censor, dtype=float)
    if t.ndim != 1 or d.shape != t.shape or c.shape != t.shape:
        raise ValueError("time, n_event and n_censor must be 1-D arrays of the same length")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("time must be finite and >= 0")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(c))) or np.any(d < 0) or np.any(c < 0):
        raise ValueError("n_event and n_censor must be finite and >= 0")
    keep = (d + c) > 0
    if not keep.any():
        raise ValueError("no patients: a Kaplan-Meier curve needs at least one row")
    times, inv = np.unique(t[keep], return_inverse=True)
    m = times.size
    ev = np.bincount(inv, weights=d[keep], minlength=m)
    ce = np.bincount(inv, weights=c[keep], minlength=m)
    whole = bool(np.all(ev == np.round(ev)) and np.all(ce == np.round(ce)))
    if whole:  # the integer counts of the row-based path
        ev_i, ce_i = ev.astype(np.int64), ce.astype(np.int64)
        total = ev_i + ce_i
        return _curve(times, ev_i, ce_i, total, int(total.sum()), int(ev_i.sum()), conf_type, conf_level)
    total_f = ev + ce
    return _curve(times, ev, ce, total_f, int(keep.sum()), float(ev.sum()), conf_type, conf_level)


def _check_conf(conf_type: str, conf_level: float) -> None:
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, not {conf_type!r}")
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level must be strictly between 0 and 1, not {conf_level!r}")


def _curve(
    times: NDArray[np.float64],
    n_event: NDArray,
    n_censor: NDArray,
    total: NDArray,
    n: int,
    events: int | float,
    conf_type: str,
    conf_level: float,
) -> KMCurve:
    """The curve from counts per distinct time (ascending): what ``kaplan_meier`` and
    ``kaplan_meier_from_counts`` share."""
    n_risk = np.cumsum(total[::-1])[::-1]

    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(n_risk > 0, n_event / n_risk, 0.0)
        survival = np.cumprod(1.0 - hazard)
        alive = n_risk - n_event
        greenwood = np.where(
            n_event > 0,
            np.where(alive > 0, n_event / (n_risk * alive), np.inf),
            0.0,
        )
    std_err = np.sqrt(np.cumsum(greenwood))
    lower, upper = _confint(survival, std_err, conf_type, conf_level)
    return KMCurve(
        time=times,
        n_risk=n_risk,
        n_event=n_event,
        n_censor=n_censor,
        survival=survival,
        std_err=std_err,
        lower=lower,
        upper=upper,
        conf_type=conf_type,
        conf_level=float(conf_level),
        n=n,
        events=events,
    )


def reverse_km(
    time: ArrayLike,
    event: ArrayLike,
    *,
    conf_type: ConfType = "log",
    conf_level: float = 0.95,
    weights: ArrayLike | None = None,
) -> KMCurve:
    """Reverse Kaplan-Meier (censoring is the event), as R's ``survfit(Surv(time, 1 - status) ~ 1)``.

    Its median (``km_quantile``) is the median follow-up time.
    """
    _, e, _ = _check_inputs(time, event, None)
    return kaplan_meier(time, (~e).astype(int), conf_type=conf_type, conf_level=conf_level, weights=weights)


def _findq(x: NDArray[np.float64], y: NDArray[np.float64], p: float) -> float:
    """R's ``survival:::findq``: the time at which the curve 1 - S (``y``, from time ``x[0]``) reaches p.

    Where 1 - S equals p (within tolerance) on a flat stretch, the answer is the midpoint of
    that stretch; when the stretch runs to the last time, the midpoint with the last time.
    """
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return np.nan
    xmax = x[-1]
    _, first = np.unique(y, return_index=True)  # R's !duplicated(y), NA counted once
    keep = np.zeros(y.size, dtype=bool)
    keep[first] = True
    x, y = x[keep], y[keep]
    pos = np.flatnonzero(~np.isnan(y))

    def locate(knots: NDArray[np.float64]) -> int | None:
        # approx(knots, pos, p, method = "constant", f = 1, rule = 1) with NA pairs removed
        order = np.argsort(knots, kind="stable")
        ks, ids = knots[order], pos[order]
        if p < ks[0] or p > ks[-1]:
            return None
        return int(ids[np.searchsorted(ks, p, side="left")])

    i1 = locate(y[pos] + _TOL)
    i2 = locate(y[pos] - _TOL)
    quant = np.nan if i1 is None or i2 is None else (x[i1] + x[i2]) / 2.0
    if p == 0:
        quant = x[0]
    if not np.isnan(y[-1]) and abs(p - y[-1]) < _TOL and i1 is not None:
        quant = (x[i1] + xmax) / 2.0
    return float(quant)


def _minmin(x: NDArray[np.float64], s: NDArray[np.float64], p: float) -> float:
    """R's ``minmin`` inside ``survival:::survmean`` (print.survfit's median), for level 1 - p.

    First time the curve ``s`` is <= 1 - p; if it equals 1 - p there and later drops below,
    the midpoint between that time and the first time it is below.
    """
    target = 1.0 - p
    keep = ~np.isnan(s) & (s < target + _TOL)
    if not keep.any():
        return np.nan
    xk, sk = x[keep], s[keep]
    below = sk < sk[0]
    if abs(sk[0] - target) < _TOL and below.any():
        return float((xk[0] + xk[np.argmax(below)]) / 2.0)
    return float(xk[0])


def _none_if_nan(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def km_quantile(
    curve: KMCurve, p: float = 0.5, *, rule: QuantileRule = "quantile"
) -> tuple[float | None, float | None, float | None]:
    """Time by which a fraction p has had the event, with CI: (estimate, lower, upper).

    ``rule="quantile"`` follows R's ``quantile(fit, p)``; ``rule="print"`` follows the median
    column of ``print(fit)`` / ``summary(fit)$table`` (R defines it for p = 0.5 only; here it is
    applied at level 1 - p). The two agree except when S equals 1 - p exactly on a last flat
    stretch that never drops lower: ``quantile`` gives the midpoint of that stretch and the
    last time, ``print`` gives its start. Limits come from the pointwise band the same way:
    the lower limit from ``curve.lower``, the upper from ``curve.upper``. ``None`` where the
    curve (or band) never reaches 1 - p.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be within [0, 1], not {p!r}")
    if rule == "quantile":
        x = np.concatenate([[0.0], curve.time])

        def one(s: NDArray[np.float64]) -> float:
            return _findq(x, np.concatenate([[0.0], 1.0 - s]), p)

    elif rule == "print":

        def one(s: NDArray[np.float64]) -> float:
            return _minmin(curve.time, s, p)

    else:
        raise ValueError(f"rule must be 'quantile' or 'print', not {rule!r}")
    return (
        _none_if_nan(one(curve.survival)),
        _none_if_nan(one(curve.lower)),
        _none_if_nan(one(curve.upper)),
    )


def km_summary(curve: KMCurve, times: ArrayLike, *, extend: bool = False) -> dict[str, NDArray[np.float64]]:
    """The curve at chosen times, as R's ``summary(fit, times = times)``.

    Returns arrays keyed ``time`` (the requested times, sorted as R sorts them), ``survival``,
    ``std_err`` (R's summary ``std.err``: the SE of S itself), ``lower``, ``upper``,
    ``n_risk`` (at risk at that time), ``n_event`` and ``n_censor`` (counted over the interval
    since the previous requested time, the first interval starting at 0).

    A time after the last observed time: R drops it unless ``extend = TRUE``. Here it is kept;
    with ``extend=False`` its survival, std_err and limits are NaN (not estimable), with
    ``extend=True`` they carry the last value forward as R does. In both cases ``n_risk`` is 0
    and the event and censoring counts are R's ``extend = TRUE`` counts.
    """
    req = np.sort(np.asarray(times, dtype=float).ravel())
    if not np.all(np.isfinite(req)):
        raise ValueError("times must be finite")
    # survfit0: a row at time 0 with S = 1, its limits 1, std.err 0, no events.
    t0 = np.concatenate([[0.0], curve.time])
    surv0 = np.concatenate([[1.0], curve.survival])
    with np.errstate(invalid="ignore"):
        se0 = np.concatenate([[0.0], curve.std_err * curve.survival])
    lower0 = np.concatenate([[1.0], curve.lower])
    upper0 = np.concatenate([[1.0], curve.upper])
    n_risk0 = np.concatenate([[curve.n_risk[0]], curve.n_risk, [0]])
    cum_event = np.concatenate([[0.0], np.cumsum(np.concatenate([[0.0], curve.n_event]))])
    cum_censor = np.concatenate([[0.0], np.cumsum(np.concatenate([[0.0], curve.n_censor]))])

    index1 = np.searchsorted(t0, req, side="right")  # findInterval(times, time)
    index2 = np.searchsorted(t0, req, side="left")  # findInterval(..., left.open = TRUE)
    row = np.maximum(index1, 1) - 1
    out = {
        "time": req,
        "survival": surv0[row].astype(float),
        "std_err": se0[row].astype(float),
        "lower": lower0[row].astype(float),
        "upper": upper0[row].astype(float),
        "n_risk": n_risk0[index2].astype(float),
        "n_event": np.diff(np.concatenate([[0.0], cum_event[index1]])),
        "n_censor": np.diff(np.concatenate([[0.0], cum_censor[index1]])),
    }
    if not extend:
        beyond = req > curve.time[-1]
        for key in ("survival", "std_err", "lower", "upper"):
            out[key][beyond] = np.nan
    return out


def rmst(curve: KMCurve, tau: float) -> tuple[float, float]:
    """Restricted mean survival time up to ``tau`` and its SE: (estimate, se).

    As the ``rmean`` and ``se(rmean)`` columns of R's ``summary(fit, rmean = tau)$table`` or
    ``print(fit, rmean = tau)``: the area under the curve from 0 to tau, with the variance
    sum over event times t of A(t)^2 d / (n (n - d)), A(t) the area from t to tau. A tau
    before the first observed time gives (tau, 0.0) (R refuses it); a tau after the last
    observed time extends the last value of S, as R does.
    """
    tau = float(tau)
    if not np.isfinite(tau) or tau < 0:
        raise ValueError(f"tau must be finite and >= 0, not {tau!r}")
    alive = curve.n_risk - curve.n_event
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(alive == 0, 0.0, curve.n_event / (curve.n_risk * alive))
    keep = curve.time <= tau
    if not keep.any():
        return tau, 0.0
    temptime = np.concatenate([curve.time[keep], [tau]])
    tempsurv = curve.survival[keep]
    hh = np.concatenate([hh[keep], [0.0]])
    delta = np.diff(np.concatenate([[0.0], temptime]))
    rectangles = delta * np.concatenate([[1.0], tempsurv])
    varmean = np.sum(np.cumsum(rectangles[1:][::-1]) ** 2 * hh[::-1][1:])
    return float(np.sum(rectangles)), float(np.sqrt(varmean))
