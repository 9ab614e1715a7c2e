"""Survival for report groups: follow-up and events of a group -> survival at time points, with the display rule.

Uses the shared Kaplan-Meier engine (``survfit.kaplan_meier``, ``km_summary``). A survival estimate at
time t is published only when the group's size is published, at least ``threshold`` events happened
by t and at least ``threshold`` patients are still at risk at t: then neither the number who died
by t nor the number still alive can be worked back below the threshold. Otherwise it is
``suppressed`` (small numbers) or ``not_estimable`` (t beyond the group's follow-up).
Differences between two groups (periods) use the normal approximation with Greenwood SEs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..analysis.coxph import fit_cox
from ..analysis.survfit import KMCurve, kaplan_meier, km_summary

ESTIMATED, SUPPRESSED, NOT_ESTIMABLE = "estimated", "suppressed", "not_estimable"


@dataclass(frozen=True)
class Point:
    years: float
    status: str
    survival: float | None = None
    lower: float | None = None
    upper: float | None = None
    se: float | None = None

    def public(self) -> dict[str, Any]:
        return {
            "years": self.years,
            "status": self.status,
            "survival": self.survival,
            "ci": [self.lower, self.upper] if self.status == ESTIMATED else None,
            "se": self.se,
        }


def _f(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def curve(time: np.ndarray, event: np.ndarray, conf_type: str, conf_level: float) -> KMCurve | None:
    if time.size == 0:
        return None
    return kaplan_meier(time, event, conf_type=conf_type, conf_level=conf_level)  # type: ignore[arg-type]


def points(
    km: KMCurve | None, times_unit: list[float], years: list[float], threshold: int, size_shown: bool
) -> list[Point]:
    """Survival at each time point under the display rule."""
    if km is None:
        return [Point(y, SUPPRESSED) for y in years]
    s = km_summary(km, np.asarray(times_unit, dtype=float))
    order = np.argsort(np.asarray(times_unit, dtype=float), kind="stable")
    back = np.empty_like(order)
    back[order] = np.arange(order.size)
    cum_events = np.cumsum(km.n_event)
    out = []
    for j, (t, y) in enumerate(zip(times_unit, years, strict=True)):
        i = back[j]
        idx = np.searchsorted(km.time, t, side="right") - 1
        events_by = float(cum_events[idx]) if idx >= 0 else 0.0
        at_risk = float(s["n_risk"][i])
        if t > km.time[-1]:
            out.append(Point(y, NOT_ESTIMABLE))
        elif not size_shown or events_by < threshold or at_risk < threshold:
            out.append(Point(y, SUPPRESSED))
        else:
            out.append(
                Point(
                    y,
                    ESTIMATED,
                    _f(s["survival"][i]),
                    _f(s["lower"][i]),
                    _f(s["upper"][i]),
                    _f(s["std_err"][i]),
                )
            )
    return out


def difference(a: Point, b: Point, conf_level: float) -> dict[str, Any]:
    """a - b with a normal-approximation CI and two-sided p; not available unless both are published."""
    if a.status != ESTIMATED or b.status != ESTIMATED or a.se is None or b.se is None:
        return {"years": a.years, "status": "not_available", "difference": None, "ci": None, "p": None}
    d = float(a.survival) - float(b.survival)  # type: ignore[arg-type]
    se = math.hypot(a.se, b.se)
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    p = float(2 * stats.norm.sf(abs(d) / se)) if se > 0 else None
    return {"years": a.years, "status": ESTIMATED, "difference": d, "ci": [d - z * se, d + z * se], "p": p, "se": se}


def period_hazard_ratio(
    time: np.ndarray, event: np.ndarray, current: np.ndarray, X: np.ndarray, conf_level: float, ties: str = "efron"
) -> dict[str, Any]:
    """Case-mix-adjusted hazard ratio of the current versus the previous period (Cox)."""
    if current.all() or not current.any() or not event.any():
        return {"status": "not_available", "hr": None, "ci": None, "p": None}
    design = np.column_stack([current.astype(float), X]) if X.shape[1] else current.astype(float)[:, None]
    try:
        fit = fit_cox(time, event, design, ties=ties, concordance=False)  # type: ignore[arg-type]
    except ValueError:
        return {"status": "not_available", "hr": None, "ci": None, "p": None}
    if 0 in fit.not_estimable or not math.isfinite(fit.coef[0]):
        return {"status": "not_available", "hr": None, "ci": None, "p": None}
    z = float(stats.norm.ppf(0.5 + conf_level / 2))
    b, se = float(fit.coef[0]), float(fit.se[0])
    return {
        "status": ESTIMATED,
        "hr": math.exp(b),
        "ci": [math.exp(b - z * se), math.exp(b + z * se)],
        "p": float(fit.p[0]),
        "adjusted_for": X.shape[1],
    }


def truncated_curve(km: KMCurve, threshold: int) -> dict[str, np.ndarray] | None:
    """The curve for a figure, cut where fewer than ``threshold`` remain at risk, with no counts in it."""
    keep = km.n_risk >= threshold
    if not keep.any():
        return None
    last = int(np.flatnonzero(keep)[-1])
    sl = slice(0, last + 1)
    zeros = np.zeros(last + 1, dtype=int)
    return {
        "time": km.time[sl].astype(float),
        "survival": km.survival[sl].astype(float),
        "lower": km.lower[sl].astype(float),
        "upper": km.upper[sl].astype(float),
        "n_risk": zeros,
        "n_event": zeros,
        "n_censor": zeros,
    }
