"""The count-based code paths used at scale equal the row-based ones and R.

``kaplan_meier_from_counts`` and ``survdiff_from_counts`` are fed counts per time (and group and
stratum) as data partitions give them: the same cell split over several partitions. They are
checked against R's fixtures (tests/stats/fixtures/km_tests.json, each entry quoting its R call)
and number for number against ``kaplan_meier`` / ``survdiff`` on the rows. Table 1's statistics
from counts (quantiles, rank tests, merged moments) are checked against numpy and SciPy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_gbsg2, load_lung
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from reportgen.analysis.survdiff import survdiff, survdiff_from_counts
from reportgen.analysis.survfit import kaplan_meier, kaplan_meier_from_counts, km_quantile, reverse_km
from reportgen.scale.table1 import _merge_moments, _quantiles_from_counts, rank_tests_from_counts

FIXTURE = json.loads((Path(__file__).parents[1] / "stats" / "fixtures" / "km_tests.json").read_text())
DATA = {
    "lung": (load_lung(), "time", "status"),
    "gbsg2": (load_gbsg2(), "time", "cens"),
    **{name: (pd.DataFrame(cols), "time", "status") for name, cols in FIXTURE["edge_data"].items()},
}


def num(x: Any) -> Any:
    if isinstance(x, list):
        return np.array([num(v) for v in x], dtype=float)
    if isinstance(x, str):
        return {"NA": np.nan, "NaN": np.nan, "Inf": np.inf, "-Inf": -np.inf}[x]
    return np.nan if x is None else float(x)


def partitioned_counts(df: pd.DataFrame, keys: list[str], parts: int = 3) -> pd.DataFrame:
    """Counts per (keys..., time) computed separately on ``parts`` slices of the rows, concatenated
    (so a cell appears once per slice, as the partitions of a registry give it)."""
    out = []
    for chunk in np.array_split(np.arange(len(df)), parts):
        sub = df.iloc[chunk]
        g = sub.groupby([*keys, "time"], sort=False)["event"]
        out.append(pd.DataFrame({"n_event": g.sum(), "n_censor": g.count() - g.sum()}).reset_index())
    return pd.concat(out, ignore_index=True)


KM_CASES = [
    pytest.param(entry, group, id=f"{entry['call']} [{group['level']}]")
    for entry in FIXTURE["km"] + FIXTURE["edge"]
    for group in entry["groups"]
    if "steps" in group
]


@pytest.mark.parametrize(("entry", "group"), KM_CASES)
def test_km_from_counts_matches_r_and_rows(entry: dict[str, Any], group: dict[str, Any]) -> None:
    """R: the fixture's survfit(Surv(time, status) ~ ..., conf.type = ...) step table; from counts
    split over three partitions it equals R (rtol 1e-7) and ``kaplan_meier`` on the rows exactly."""
    df, t, e = DATA[entry["data"]]
    if entry["group"] is not None:
        df = df[df[entry["group"]] == group["level"]]
    rows = pd.DataFrame({"time": df[t].to_numpy(dtype=float), "event": df[e].to_numpy(dtype=int)})
    cells = partitioned_counts(rows, [])
    opts = {"conf_type": entry["conf_type"], "conf_level": entry["conf_level"]}
    got = kaplan_meier_from_counts(cells["time"], cells["n_event"], cells["n_censor"], **opts)
    want = kaplan_meier(rows["time"], rows["event"], **opts)
    steps = group["steps"]
    for name, key in [("time", "time"), ("n_risk", "n_risk"), ("survival", "surv"), ("std_err", "std_err")]:
        assert_allclose(getattr(got, name), num(steps[key]), rtol=1e-7, atol=1e-12)
    assert_allclose(got.lower, num(steps["lower"]), rtol=1e-7, atol=1e-12)
    for name in ("time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper"):
        assert_array_equal(getattr(got, name), getattr(want, name))
        assert getattr(got, name).dtype == getattr(want, name).dtype
    assert (got.n, got.events) == (want.n, want.events)
    assert km_quantile(got, 0.5, rule="print") == km_quantile(want, 0.5, rule="print")


def test_reverse_km_from_swapped_counts() -> None:
    """Median follow-up: reverse KM from counts (events and censorings swapped) equals ``reverse_km``."""
    df, t, e = DATA["lung"]
    rows = pd.DataFrame({"time": df[t].to_numpy(dtype=float), "event": (df[e] == 1).astype(int)})
    cells = partitioned_counts(rows, [])
    got = kaplan_meier_from_counts(cells["time"], cells["n_censor"], cells["n_event"])
    want = reverse_km(rows["time"], rows["event"])
    assert_array_equal(got.survival, want.survival)
    assert km_quantile(got, 0.5, rule="print") == km_quantile(want, 0.5, rule="print")


SURVDIFF_CASES = [pytest.param(entry, id=entry["call"]) for entry in FIXTURE["survdiff"]]


@pytest.mark.parametrize("entry", SURVDIFF_CASES)
def test_survdiff_from_counts_matches_r_and_rows(entry: dict[str, Any]) -> None:
    """R: the fixture's survdiff(Surv(time, status) ~ group [+ strata(s)], rho = ...); from counts
    per (group, stratum, time) split over three partitions: R's O, E, V, chi-square and p, and
    ``survdiff`` on the rows."""
    df, t, e = DATA[entry["data"]]
    if entry.get("strata"):
        df = df[df[entry["strata"]].notna()]
    rows = pd.DataFrame(
        {
            "time": df[t].to_numpy(dtype=float),
            "event": df[e].to_numpy(dtype=int),
            "g": df[entry["group"]].to_numpy(),
            "s": df[entry["strata"]].to_numpy() if entry.get("strata") else 0,
        }
    )
    cells = partitioned_counts(rows, ["g", "s"])
    strata = cells["s"] if entry.get("strata") else None
    got = survdiff_from_counts(
        cells["time"], cells["g"], cells["n_event"], cells["n_censor"], strata=strata, rho=entry["rho"]
    )
    want = survdiff(
        rows["time"], rows["event"], rows["g"], strata=rows["s"] if entry.get("strata") else None, rho=entry["rho"]
    )
    assert got.n.tolist() == entry["n"] == want.n.tolist()
    assert_allclose(got.observed, entry["observed"], rtol=1e-7)
    assert_allclose(got.expected, entry["expected"], rtol=1e-7)
    assert_allclose(got.statistic, entry["statistic"], rtol=1e-7)
    assert_allclose(got.p, entry["p"], rtol=1e-7)
    assert_allclose(got.variance, want.variance, rtol=1e-12, atol=1e-12)
    assert_allclose(got.statistic, want.statistic, rtol=1e-12)
    assert got.df == want.df


def test_fleming_harrington_from_counts_equals_rows() -> None:
    """G(rho = 1, gamma = 0.5), stratified, 3 groups: counts give the row-based numbers."""
    df = load_gbsg2()
    rows = pd.DataFrame(
        {"time": df["time"].astype(float), "event": df["cens"], "g": df["tgrade"], "s": df["horTh"].astype(str)}
    )
    cells = partitioned_counts(rows, ["g", "s"], parts=4)
    got = survdiff_from_counts(
        cells["time"], cells["g"], cells["n_event"], cells["n_censor"], strata=cells["s"], rho=1, gamma=0.5
    )
    want = survdiff(rows["time"], rows["event"], rows["g"], strata=rows["s"], rho=1, gamma=0.5)
    assert_allclose(got.statistic, want.statistic, rtol=1e-12)
    assert_allclose(got.observed, want.observed, rtol=1e-12)


def _ties_data(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(50, 10, n))  # many ties
    groups = rng.integers(0, k, n)
    return values, groups


def _count_table(values: np.ndarray, groups: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    xs, inv = np.unique(values, return_inverse=True)
    table = np.zeros((xs.size, k), dtype=np.int64)
    np.add.at(table, (inv, groups), 1)
    return xs, table


def test_wilcoxon_from_counts_equals_scipy() -> None:
    """Rank-sum test from a value x group count table: SciPy's mannwhitneyu (asymptotic, continuity
    and ties corrections), as R's wilcox.test(exact = FALSE, correct = TRUE)."""
    values, groups = _ties_data(5000, 2, 1)
    _, table = _count_table(values, groups, 2)
    got = rank_tests_from_counts(table)
    want = stats.mannwhitneyu(
        values[groups == 0], values[groups == 1], alternative="two-sided", method="asymptotic", use_continuity=True
    )
    assert got["method"] == "Wilcoxon rank-sum test"
    assert_allclose(got["statistic"], want.statistic, rtol=1e-12)
    assert_allclose(got["p"], want.pvalue, rtol=1e-9)


def test_kruskal_from_counts_equals_scipy() -> None:
    values, groups = _ties_data(5000, 3, 2)
    _, table = _count_table(values, groups, 3)
    got = rank_tests_from_counts(table)
    want = stats.kruskal(*(values[groups == j] for j in range(3)))
    assert got["df"] == 2
    assert_allclose(got["statistic"], want.statistic, rtol=1e-10)
    assert_allclose(got["p"], want.pvalue, rtol=1e-8)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 100, 1001])
def test_quantiles_from_counts_equal_numpy(n: int) -> None:
    """Type-7 quantiles (R's default, numpy's linear) read off cumulative counts."""
    values, _ = _ties_data(n, 1, n)
    xs, table = _count_table(values, np.zeros(n, dtype=int), 1)
    probs = [0.25, 0.5, 0.75]
    assert _quantiles_from_counts(xs, table[:, 0], probs) == np.quantile(values, probs).tolist()


def test_merged_moments_equal_numpy() -> None:
    """Chan's merge of per-partition (n, mean, M2) gives numpy's mean and variance."""
    rng = np.random.default_rng(3)
    x = rng.lognormal(5, 1, 10_000)
    parts = np.array_split(x, 7)
    total = None
    for p in parts:
        m = {
            "n": np.array([p.size]),
            "mean": np.array([p.mean()]),
            "m2": np.array([((p - p.mean()) ** 2).sum()]),
            "min": np.array([p.min()]),
            "max": np.array([p.max()]),
        }
        total = m if total is None else _merge_moments(total, m)
    assert total is not None
    assert_allclose(total["mean"][0], x.mean(), rtol=1e-13)
    assert_allclose(total["m2"][0] / (x.size - 1), np.var(x, ddof=1), rtol=1e-12)
    assert total["min"][0] == x.min() and total["max"][0] == x.max()


def test_counts_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="no patients"):
        kaplan_meier_from_counts([1.0], [0], [0])
    with pytest.raises(ValueError, match=">= 0"):
        kaplan_meier_from_counts([1.0], [-1], [2])
    with pytest.raises(ValueError, match="same length"):
        survdiff_from_counts([1.0, 2.0], ["a", "b"], [1], [0, 1])
