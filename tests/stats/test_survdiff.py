"""Log-rank family tests, trend test, pairwise tests and p.adjust against R's survival package.

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
from lifelines.datasets import load_gbsg2, load_lung
from lifelines.statistics import multivariate_logrank_test
from numpy.testing import assert_allclose

from reportgen.analysis.survdiff import (
    logrank_trend,
    p_adjust,
    pairwise_survdiff,
    survdiff,
)

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "km_tests.json").read_text())
RTOL = 1e-7  # R's values are stored with 15 significant digits

DATA: dict[str, tuple[pd.DataFrame, str, str]] = {
    "lung": (load_lung(), "time", "status"),
    "gbsg2": (load_gbsg2(), "time", "cens"),
    **{name: (pd.DataFrame(cols), "time", "status") for name, cols in FIXTURE["edge_data"].items()},
}


def close(actual: Any, expected: Any, rtol: float = RTOL) -> None:
    assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=1e-12)


def frame(entry: dict[str, Any]) -> tuple[pd.DataFrame, str, str]:
    """The rows R used: rows with a missing stratum are dropped, as R's model.frame does."""
    df, t, e = DATA[entry["data"]]
    if entry.get("strata"):
        df = df[df[entry["strata"]].notna()]
    return df, t, e


@pytest.mark.parametrize("entry", FIXTURE["survdiff"], ids=[e["call"] for e in FIXTURE["survdiff"]])
def test_survdiff_matches_r(entry: dict[str, Any]) -> None:
    """survdiff(...) with rho 0, 0.5, 1, with and without strata(): n, O, E, V, chisq, df, p."""
    df, t, e = frame(entry)
    assert len(df) == entry["n_used"]
    res = survdiff(
        df[t],
        df[e],
        df[entry["group"]],
        strata=df[entry["strata"]] if entry["strata"] else None,
        rho=entry["rho"],
    )
    assert [str(g) for g in res.groups] == entry["levels"]
    assert res.n.tolist() == entry["n"]
    close(res.observed, entry["observed"])
    close(res.expected, entry["expected"])
    close(res.variance, entry["variance"])
    close(res.statistic, entry["statistic"])
    assert res.df == entry["df"]
    close(res.p, entry["p"])


def test_stratified_lung_uses_227_rows() -> None:
    """survdiff(Surv(time, status) ~ sex + strata(ph.ecog), data = lung) drops the row with NA ph.ecog."""
    entry = next(e for e in FIXTURE["survdiff"] if e["strata"] == "ph.ecog" and e["rho"] == 0)
    assert entry["n_used"] == 227
    df, t, e = frame(entry)
    res = survdiff(df[t], df[e], df["sex"], strata=df["ph.ecog"])
    assert res.method == "stratified log-rank" and res.n_strata == 4


@pytest.mark.parametrize("entry", FIXTURE["fh"], ids=[e["call"] for e in FIXTURE["fh"]])
def test_fleming_harrington_matches_r_by_hand(entry: dict[str, Any]) -> None:
    """G(rho, gamma) with weights S(t-)^rho (1 - S(t-))^gamma, computed in R from the definition."""
    df, t, e = frame(entry)
    res = survdiff(df[t], df[e], df[entry["group"]], rho=entry["rho"], gamma=entry["gamma"])
    assert [str(g) for g in res.groups] == entry["levels"]
    close(res.observed, entry["observed"])
    close(res.expected, entry["expected"])
    close(res.variance, entry["variance"])
    close(res.statistic, entry["statistic"])
    assert res.df == entry["df"]
    close(res.p, entry["p"])
    assert res.method == f"Fleming-Harrington (rho={entry['rho']:g}, gamma={entry['gamma']:g})"


def test_fleming_harrington_agrees_with_lifelines() -> None:
    """lifelines' multivariate_logrank_test(weightings='fleming-harrington', p=1, q=1) on gbsg2 ~ tgrade."""
    df = DATA["gbsg2"][0]
    ref = multivariate_logrank_test(df["time"], df["tgrade"], df["cens"], weightings="fleming-harrington", p=1, q=1)
    res = survdiff(df["time"], df["cens"], df["tgrade"], rho=1, gamma=1)
    close(res.statistic, ref.test_statistic, rtol=1e-9)


@pytest.mark.parametrize("entry", FIXTURE["trend"], ids=[e["call"] for e in FIXTURE["trend"]])
def test_trend_matches_r(entry: dict[str, Any]) -> None:
    """(sum(w * (O - E)))^2 / (w' V w) from survdiff(Surv(time, cens) ~ tgrade [+ strata(horTh)], data = gbsg2)."""
    df, t, e = frame(entry)
    strata = df[entry["strata"]] if entry["strata"] else None
    stat, dof, p = logrank_trend(df[t], df[e], df[entry["group"]], entry["scores"], strata=strata)
    close(stat, entry["statistic"])
    assert dof == 1
    close(p, entry["p"])
    by_level = dict(zip(entry["levels"], entry["scores"], strict=True))
    assert logrank_trend(df[t], df[e], df[entry["group"]], by_level, strata=strata)[0] == stat


@pytest.mark.parametrize("entry", FIXTURE["pairwise"], ids=[e["call"] for e in FIXTURE["pairwise"]])
def test_pairwise_matches_r(entry: dict[str, Any]) -> None:
    """survdiff on each pair of tgrade levels, then p.adjust(p, method)."""
    df, t, e = frame(entry)
    out = pairwise_survdiff(df[t], df[e], df[entry["group"]], adjust=entry["adjust"], rho=entry["rho"])
    assert [a for a, *_ in out] == entry["level_a"]
    assert [b for _, b, *_ in out] == entry["level_b"]
    close([r[2] for r in out], entry["statistic"])
    close([r[3] for r in out], entry["p_raw"])
    close([r[4] for r in out], entry["p_adjusted"])


@pytest.mark.parametrize("method", ["holm", "BH", "bonferroni", "none"])
def test_p_adjust_matches_r(method: str) -> None:
    """p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05, 0.5, 0.02, 0.001), method), ties included."""
    ref = FIXTURE["p_adjust"]
    close(p_adjust(ref["p"], method), ref["adjusted"][method])  # type: ignore[arg-type]


def test_levels_order_and_label_types() -> None:
    """Explicit levels reorder the output; string and integer labels give the same test."""
    df = DATA["lung"][0]
    base = survdiff(df["time"], df["status"], df["sex"])
    assert base.groups == (1, 2) and base.method == "log-rank"
    flipped = survdiff(df["time"], df["status"], df["sex"], levels=[2, 1])
    assert flipped.groups == (2, 1)
    close(flipped.observed, base.observed[::-1])
    close(flipped.variance, base.variance[::-1, ::-1])
    close(flipped.statistic, base.statistic, rtol=1e-12)
    named = survdiff(df["time"], df["status"], df["sex"].map({1: "male", 2: "female"}))
    assert named.groups == ("female", "male")
    close(named.statistic, base.statistic, rtol=1e-12)
    assert survdiff(df["time"], df["status"], df["sex"], rho=1).method == "Peto-Peto (rho=1)"


def test_group_without_events() -> None:
    """A group with no events still has an expected count and enters the test (survdiff on edge_groups)."""
    df = DATA["groups"][0]
    res = survdiff(df["time"], df["status"], df["g"])
    assert res.observed[1] == 0 and res.expected[1] > 0 and res.df == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time": [1.0, 2.0], "event": [1, 1], "group": [1, 1]}, "at least two groups"),
        ({"time": [1.0, 2.0], "event": [1, 3], "group": [1, 2]}, "0 \\(censored\\)"),
        ({"time": [1.0, np.nan], "event": [1, 1], "group": [1, 2]}, "missing or infinite"),
        ({"time": [1.0, 2.0], "event": [1, 1], "group": [1.0, np.nan]}, "group has missing"),
        (
            {"time": [1.0, 2.0], "event": [1, 1], "group": [1, 2], "levels": [1]},
            "not among the levels",
        ),
    ],
)
def test_bad_input_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        survdiff(**kwargs)


def test_p_adjust_ignores_missing_like_r():
    """p.adjust(c(0.01, 0.02, NA), 'holm') and 'BH' -> 0.02 0.02 NA (NA does not count as a test)."""
    import numpy as np

    from reportgen.analysis.survdiff import p_adjust

    for method in ("holm", "BH", "bonferroni"):
        got = p_adjust([0.01, 0.02, float("nan")], method)
        np.testing.assert_allclose(got[:2], [0.02, 0.02] if method != "bonferroni" else [0.02, 0.04])
        assert np.isnan(got[2])
