"""Kaplan-Meier curves, quantiles, landmarks, RMST and reverse KM against R's survival package.

Reference values: tests/stats/fixtures/km_tests.json, written by tests/stats/r/km_tests.R
(each entry carries the R call it came from). The data are lifelines' copies of lung and
gbsg2, the same rows the R script reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_gbsg2, load_lung
from numpy.testing import assert_allclose, assert_array_equal

from reportgen.analysis.survfit import (
    KMCurve,
    kaplan_meier,
    km_quantile,
    km_summary,
    reverse_km,
    rmst,
)

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "km_tests.json").read_text())
RTOL = 1e-7  # R's values are stored with 15 significant digits
ATOL = 1e-12  # for exact zeros (std.err at S = 1, plain limits clipped at 0)

LUNG = load_lung()
GBSG2 = load_gbsg2()
DATA: dict[str, tuple[pd.DataFrame, str, str]] = {
    "lung": (LUNG, "time", "status"),
    "gbsg2": (GBSG2, "time", "cens"),
    **{name: (pd.DataFrame(cols), "time", "status") for name, cols in FIXTURE["edge_data"].items()},
}
WEIGHTS = {
    "(age %% 3) + 1": lambda df: (df["age"] % 3) + 1,
    "age / 60": lambda df: df["age"] / 60,
}


def num(x: Any) -> Any:
    """Fixture value as float(s): R's 'NA'/'NaN' become NaN and 'Inf' infinity."""
    if isinstance(x, list):
        return np.array([num(v) for v in x], dtype=float)
    if isinstance(x, str):
        return {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf}[x]
    return np.nan if x is None else float(x)


def close(actual: Any, expected: Any) -> None:
    assert_allclose(np.asarray(actual, dtype=float), num(expected), rtol=RTOL, atol=ATOL)


def opt(value: float | None) -> float:
    return np.nan if value is None else value


def rows(entry: dict[str, Any], level: Any) -> tuple[pd.DataFrame, str, str]:
    df, t, e = DATA[entry["data"]]
    if entry["group"] is not None:
        df = df[df[entry["group"]] == level]
    return df, t, e


def curve_for(entry: dict[str, Any], group: dict[str, Any]) -> KMCurve:
    df, t, e = rows(entry, group["level"])
    weights = WEIGHTS[entry["weights"]](df) if "weights" in entry else None
    return kaplan_meier(
        df[t],
        df[e],
        conf_type=entry["conf_type"],
        conf_level=entry["conf_level"],
        weights=weights,
    )


def cases(*sections: str) -> list[Any]:
    out = []
    for section in sections:
        for entry in FIXTURE[section]:
            for group in entry["groups"]:
                label = entry["call"] if entry["group"] is None else f"{entry['call']} [{group['level']}]"
                out.append(pytest.param(entry, group, id=label))
    return out


KM_CASES = cases("km", "weighted", "edge")


def test_fixture_records_r_versions() -> None:
    """The fixture says which R and survival produced it."""
    assert FIXTURE["meta"]["survival_version"].startswith("3.")
    assert FIXTURE["meta"]["r_version"].startswith("R version 4.")


@pytest.mark.parametrize(("entry", "group"), KM_CASES)
def test_n_events_and_median_table(entry: dict[str, Any], group: dict[str, Any]) -> None:
    """summary(fit)$table: n (records), events, median and its CI (print.survfit's table)."""
    curve = curve_for(entry, group)
    assert curve.n == group["n"]
    close(curve.events, group["events"])
    close(
        [opt(v) for v in km_quantile(curve, 0.5, rule="print")],
        [group["median"], group["median_lower"], group["median_upper"]],
    )


@pytest.mark.parametrize(("entry", "group"), KM_CASES)
def test_quantiles(entry: dict[str, Any], group: dict[str, Any]) -> None:
    """quantile(fit, probs = c(0.25, 0.5, 0.75)): estimate, lower and upper."""
    curve = curve_for(entry, group)
    q = group["quantile"]
    got = np.array([[opt(v) for v in km_quantile(curve, p)] for p in q["probs"]])
    close(got[:, 0], q["estimate"])
    close(got[:, 1], q["lower"])
    close(got[:, 2], q["upper"])


SUMMARY_KEYS = {
    "surv": "survival",
    "std_err": "std_err",
    "lower": "lower",
    "upper": "upper",
    "n_risk": "n_risk",
    "n_event": "n_event",
    "n_censor": "n_censor",
}


@pytest.mark.parametrize(("entry", "group"), KM_CASES)
def test_summary_at_times(entry: dict[str, Any], group: dict[str, Any]) -> None:
    """summary(fit, times = ...) and summary(fit, times = ..., extend = TRUE)."""
    curve = curve_for(entry, group)
    for key, extend in (("summary", False), ("summary_extend", True)):
        want = group[key]
        got = km_summary(curve, want["time"], extend=extend)
        close(got["time"], want["time"])
        for r_name, name in SUMMARY_KEYS.items():
            close(got[name], want[r_name])
    # A time past the last observed one: R drops it; here it is kept as not estimable.
    beyond = km_summary(curve, [curve.time[-1] + 1.0])
    assert np.isnan(beyond["survival"][0]) and np.isnan(beyond["lower"][0])
    assert beyond["n_risk"][0] == 0


@pytest.mark.parametrize(("entry", "group"), KM_CASES)
def test_restricted_mean(entry: dict[str, Any], group: dict[str, Any]) -> None:
    """summary(fit, rmean = tau)$table[, c('rmean', 'se(rmean)')]."""
    curve = curve_for(entry, group)
    for r in group["rmean"]:
        close(rmst(curve, r["tau"]), [r["rmean"], r["se"]])


STEP_CASES = [c for c in KM_CASES if "steps" in c.values[1]]


@pytest.mark.parametrize(("entry", "group"), STEP_CASES)
def test_step_table(entry: dict[str, Any], group: dict[str, Any]) -> None:
    """The whole curve: time, n.risk, n.event, n.censor, surv, std.err, lower, upper."""
    curve = curve_for(entry, group)
    steps = group["steps"]
    close(curve.time, steps["time"])
    close(curve.n_risk, steps["n_risk"])
    close(curve.n_event, steps["n_event"])
    close(curve.n_censor, steps["n_censor"])
    close(curve.survival, steps["surv"])
    close(curve.std_err, steps["std_err"])
    close(curve.lower, steps["lower"])
    close(curve.upper, steps["upper"])


def test_every_conf_type_and_level_is_covered() -> None:
    """The fixture pins each conf.type at 0.95 and 0.90, with and without groups."""
    seen = {(e["conf_type"], e["conf_level"], e["group"]) for e in FIXTURE["km"]}
    for ct in ("log", "log-log", "plain"):
        for cl in (0.95, 0.90):
            assert {(ct, cl, None), (ct, cl, "sex")} <= seen
    assert len(STEP_CASES) >= 9 + 4


@pytest.mark.parametrize(
    ("entry", "group"),
    [pytest.param(e, g, id=f"{e['call']} [{g['level']}]") for e in FIXTURE["reverse"] for g in e["groups"]],
)
def test_reverse_km_median_follow_up(entry: dict[str, Any], group: dict[str, Any]) -> None:
    """survfit(Surv(time, 1 - status) ~ 1 or ~ sex, data = lung): median follow-up and its CI."""
    df, t, e = rows(entry, group["level"])
    curve = reverse_km(df[t], df[e], conf_type=entry["conf_type"])
    close(
        [opt(v) for v in km_quantile(curve, rule="print")],
        [group["median"], group["median_lower"], group["median_upper"]],
    )
    q = group["quantile"]
    want = [np.atleast_1d(num(q[k]))[0] for k in ("estimate", "lower", "upper")]
    close([opt(v) for v in km_quantile(curve, 0.5)], want)


def test_midpoint_and_flat_end_rules() -> None:
    """S = 0.5 exactly on a flat step: both R rules give the midpoint; on a last flat stretch they differ.

    survfit(Surv(time, status) ~ 1) on time 1:4, all events: print and quantile give 2.5.
    On time c(1, 2, 5, 6), status c(1, 1, 0, 0): print(fit) gives 2, quantile(fit, 0.5) gives 4.
    """
    c1 = kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1])
    assert km_quantile(c1)[0] == 2.5 and km_quantile(c1, rule="print")[0] == 2.5
    c2 = kaplan_meier([1, 2, 5, 6], [1, 1, 0, 0])
    assert km_quantile(c2)[0] == 4.0 and km_quantile(c2, rule="print")[0] == 2.0
    c3 = kaplan_meier([2, 4, 6], [0, 0, 0])
    assert km_quantile(c3) == (None, None, None)
    assert km_quantile(c3, rule="print") == (None, None, None)


def test_lifelines_agrees_on_survival_and_log_log_ci() -> None:
    """lifelines' KaplanMeierFitter (its CI is log-log) on lung gives the same curve and limits."""
    curve = kaplan_meier(LUNG["time"], LUNG["status"], conf_type="log-log")
    kmf = KaplanMeierFitter().fit(LUNG["time"], LUNG["status"], alpha=0.05)
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_
    assert_allclose(sf.loc[curve.time].to_numpy(), curve.survival, rtol=1e-10)
    assert_allclose(ci.iloc[:, 0].loc[curve.time].to_numpy(), curve.lower, rtol=1e-8)
    assert_allclose(ci.iloc[:, 1].loc[curve.time].to_numpy(), curve.upper, rtol=1e-8)


def _synthetic(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic data with many ties and about 30% censoring."""
    i = np.arange(n)
    time = (i * 7919) % 997 / 10.0 + 0.1
    event = ((i * 104729) % 10 >= 3).astype(int)
    return time, event


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
@pytest.mark.parametrize(
    "data",
    [
        (LUNG["time"].to_numpy(), LUNG["status"].to_numpy()),
        (GBSG2["time"].to_numpy(), GBSG2["cens"].to_numpy()),
        _synthetic(5000),
    ],
    ids=["lung", "gbsg2", "synthetic"],
)
def test_curve_properties(data: tuple[np.ndarray, np.ndarray], conf_type: str) -> None:
    """S is non-increasing within [0, 1]; where defined, the CI lies within [0, 1] and contains S."""
    time, event = data
    c = kaplan_meier(time, event, conf_type=conf_type)  # type: ignore[arg-type]
    assert np.all(np.diff(c.time) > 0)
    assert np.all(np.diff(c.survival) <= 0)
    assert np.all((c.survival >= 0) & (c.survival <= 1))
    ok = ~np.isnan(c.lower)
    assert np.all(c.lower[ok] <= c.survival[ok] + 1e-15)
    assert np.all(c.upper[ok] >= c.survival[ok] - 1e-15)
    assert np.all((c.lower[ok] >= 0) & (c.upper[ok] <= 1))
    assert c.n_risk[0] == len(time) and c.n_event.sum() == event.sum()
    assert_array_equal(c.n_risk[:-1] - c.n_event[:-1] - c.n_censor[:-1], c.n_risk[1:])
    est, lo, hi = km_quantile(c)
    if est is not None and lo is not None:
        assert lo <= est
    if est is not None and hi is not None:
        assert est <= hi


def test_integer_weights_equal_repeated_rows() -> None:
    """Case weight k gives the same curve as k copies of the row."""
    time, event = LUNG["time"].to_numpy(), LUNG["status"].to_numpy()
    w = (LUNG["age"].to_numpy() % 3) + 1
    weighted = kaplan_meier(time, event, weights=w)
    repeated = kaplan_meier(np.repeat(time, w), np.repeat(event, w))
    assert_allclose(weighted.survival, repeated.survival, rtol=1e-12)
    assert_allclose(weighted.std_err, repeated.std_err, rtol=1e-12)
    assert_allclose(weighted.n_risk, repeated.n_risk)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time": [1.0, np.nan], "event": [1, 0]}, "missing or infinite"),
        ({"time": [1.0, -2.0], "event": [1, 0]}, "negative"),
        ({"time": [1.0, 2.0], "event": [1, 2]}, "0 (censored) or 1 (event)"),
        ({"time": [1.0, 2.0], "event": [1]}, "same length"),
        ({"time": [], "event": []}, "empty"),
        ({"time": [1.0], "event": [1], "conf_type": "logit"}, "conf_type"),
        ({"time": [1.0], "event": [1], "conf_level": 95}, "conf_level"),
        ({"time": [1.0], "event": [1], "weights": [-1.0]}, "weights"),
    ],
)
def test_bad_input_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        kaplan_meier(**kwargs)
