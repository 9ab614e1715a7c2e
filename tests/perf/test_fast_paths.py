"""The fast paths for large cohorts give the reference numbers (not timed; benchmarks/ times them).

Data: benchmarks/synth.py's seeded cohort of 10^5 patients with follow-up in whole months
(about 110 distinct times, so nearly every event time is tied). Each fast path is checked
against R's survival 3.5 (fixture tests/perf/fixtures/synthetic_1e5_months.json, made by
tests/perf/r/perf_fixture.R on the same rows), against lifelines, and against the slower
general path it replaces inside reportgen.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test
from numpy.testing import assert_allclose, assert_array_equal

from reportgen.analysis import coxph
from reportgen.analysis.coxph import cox_zph, fit_cox
from reportgen.analysis.survdiff import survdiff
from reportgen.analysis.survfit import kaplan_meier, km_quantile, km_summary
from tests.stats.test_coxph import _brute_force_concordance

from .cohort import data_fingerprint, design, months_cohort

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "synthetic_1e5_months.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    frame = months_cohort()
    assert data_fingerprint(frame) == FIXTURE["data_md5"], (
        "benchmarks/synth.py no longer gives the rows the R fixture was computed on: "
        "regenerate it with the commands in tests/perf/r/perf_fixture.R"
    )
    return frame


@pytest.fixture(scope="module")
def efron(cohort: pd.DataFrame):  # type: ignore[no-untyped-def]
    time, event, X, names = design(cohort)
    return time, event, X, names, fit_cox(time, event, X, ties="efron")


def test_cox_efron_matches_r_on_ties_heavy_rows(efron) -> None:  # type: ignore[no-untyped-def]
    """coxph(Surv(months, os_event) ~ arm + age + sex + ecog + ldh, data = d, ties = 'efron') on 10^5 rows."""
    _, _, _, names, fit = efron
    r = FIXTURE["coxph"]
    assert names == r["names"] and fit.n == r["n"] and fit.n_events == r["nevent"]
    assert_allclose(fit.coef, r["coef"], rtol=1e-6)
    assert_allclose(fit.se, r["se"], rtol=1e-6)
    assert_allclose([fit.loglik0, fit.loglik], r["loglik"], rtol=1e-10)
    assert_allclose(fit.concordance, r["concordance"], rtol=1e-10)
    assert_allclose(fit.concordance_se, r["concordance_se"], rtol=1e-6)


def test_cox_breslow_matches_r_on_ties_heavy_rows(cohort: pd.DataFrame) -> None:
    """coxph(Surv(months, os_event) ~ arm + age + sex + ecog + ldh, data = d, ties = 'breslow')."""
    time, event, X, _ = design(cohort)
    fit = fit_cox(time, event, X, ties="breslow", concordance=False)
    r = FIXTURE["coxph_breslow"]
    assert_allclose(fit.coef, r["coef"], rtol=1e-6)
    assert_allclose(fit.se, r["se"], rtol=1e-6)
    assert_allclose([fit.loglik0, fit.loglik], r["loglik"], rtol=1e-10)
    assert np.isnan(fit.concordance) and np.isnan(fit.concordance_se)


def test_cox_efron_matches_lifelines_on_ties_heavy_rows(efron) -> None:  # type: ignore[no-untyped-def]
    """lifelines' CoxPHFitter (Efron ties, its own convergence rule) on the same 10^5 rows."""
    time, event, X, names, fit = efron
    frame = pd.DataFrame(X, columns=names).assign(T=time, E=event)
    cph = CoxPHFitter().fit(frame, duration_col="T", event_col="E")
    assert_allclose(fit.coef, cph.params_[names].to_numpy(), rtol=1e-5)
    assert_allclose(fit.se, cph.standard_errors_[names].to_numpy(), rtol=1e-5)
    assert_allclose(fit.loglik, cph.log_likelihood_, rtol=1e-10)


def test_cox_zph_matches_r_and_reuses_the_fit_layout(efron) -> None:  # type: ignore[no-untyped-def]
    """cox.zph(fit, transform = 'km', terms = FALSE); the same numbers whether cox_zph reuses the
    fit's sorted rows (same argument objects) or rebuilds them (copies)."""
    time, event, X, _, fit = efron
    fast = cox_zph(fit, time, event, X, transform="km")
    rebuilt = cox_zph(fit, time.copy(), event.copy(), X.copy(), transform="km")
    r = FIXTURE["cox_zph"]["chisq"]
    assert_allclose([t.stat for t in fast.terms] + [fast.global_.stat], r, rtol=1e-6)
    assert_array_equal([t.stat for t in fast.terms], [t.stat for t in rebuilt.terms])
    assert_array_equal(fast.residuals, rebuilt.residuals)
    assert_array_equal(fast.x, rebuilt.x)


def test_concordance_merged_rows_equal_the_unmerged_count(cohort: pd.DataFrame) -> None:
    """Rows equal in (time, status, lp) are merged before counting; counting every row gives the
    same C and standard error (univariable lp: only three distinct values)."""
    time, event, X, _ = design(cohort)
    lp = X[:, 3] * 0.3 + X[:, 4] * 0.6
    stratum = np.zeros(time.size, dtype=np.intp)
    weight = np.ones(time.size)
    merged = coxph._concordance(time, event.astype(bool), lp, stratum, weight)
    rank = np.unique(lp, return_inverse=True)[1].astype(np.int64)
    walk = np.lexsort((rank, event, -time, stratum))
    unmerged = coxph._concordance_counts(
        time[walk], event[walk].astype(bool), stratum[walk], weight[walk], weight[walk] ** 2, rank[walk]
    )
    assert_allclose(merged, unmerged, rtol=1e-12)


def test_concordance_with_heavy_ties_equals_the_pairwise_definition() -> None:
    """Whole-month times, lp with few distinct values, weights and strata: the merged count equals
    an all-pairs count."""
    rng = np.random.default_rng(5)
    n = 1500
    time = np.ceil(rng.exponential(12, n))
    event = (rng.random(n) < 0.7).astype(float)
    lp = rng.integers(0, 4, n) * 0.5
    stratum = rng.integers(0, 2, n)
    weight = rng.choice([1.0, 1.0, 2.0], n)
    c, _ = coxph._concordance(time, event.astype(bool), lp, stratum, weight)
    assert_allclose(c, _brute_force_concordance(time, event, lp, stratum, weight), rtol=1e-12)


def test_km_matches_r_and_the_weighted_path(cohort: pd.DataFrame) -> None:
    """survfit(Surv(months, os_event) ~ arm, data = d, conf.type = 'log-log'): medians with CIs and
    summary(fit, times = c(6, 12, 24, 36)); the unweighted counts (two sorts) equal the weighted
    path's (bincount) with unit weights."""
    r = FIXTURE["survfit"]
    for i, arm in enumerate(["Control", "Experimental"]):
        rows = cohort["arm"] == arm
        t, e = cohort.loc[rows, "months"].to_numpy(), cohort.loc[rows, "os_event"].to_numpy()
        curve = kaplan_meier(t, e, conf_type="log-log")
        assert_allclose(km_quantile(curve, 0.5, rule="print"), [r["median"][i], r["lower"][i], r["upper"][i]])
        at = km_summary(curve, [6, 12, 24, 36])
        sl = slice(4 * i, 4 * i + 4)
        assert_allclose(at["survival"], r["surv"][sl], rtol=1e-10)
        assert_allclose(at["lower"], r["surv_lower"][sl], rtol=1e-10)
        assert_allclose(at["upper"], r["surv_upper"][sl], rtol=1e-10)
        assert_allclose(at["n_risk"], r["n_risk"][sl])
        weighted = kaplan_meier(t, e, conf_type="log-log", weights=np.ones(t.size))
        for field in ("time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper"):
            assert_array_equal(getattr(curve, field), getattr(weighted, field), err_msg=field)


def test_km_matches_lifelines(cohort: pd.DataFrame) -> None:
    """lifelines' KaplanMeierFitter on all 10^5 rows: the same survival at every distinct time."""
    t, e = cohort["months"].to_numpy(), cohort["os_event"].to_numpy()
    curve = kaplan_meier(t, e)
    kmf = KaplanMeierFitter().fit(t, e)
    theirs = kmf.survival_function_.iloc[:, 0]
    assert_allclose(curve.survival, theirs.loc[curve.time].to_numpy(), rtol=1e-12)


def test_logrank_matches_r_lifelines_and_integer_groups(cohort: pd.DataFrame) -> None:
    """survdiff(Surv(months, os_event) ~ arm, data = d); text groups (hashed) give the numbers of
    integer-coded groups (sorted); lifelines' logrank_test agrees."""
    t, e = cohort["months"].to_numpy(), cohort["os_event"].to_numpy()
    text = cohort["arm"].to_numpy(dtype=object)
    res = survdiff(t, e, text)
    r = FIXTURE["survdiff"]
    assert res.groups == ("Control", "Experimental")
    assert_allclose(res.statistic, r["chisq"], rtol=1e-10)
    assert_allclose(res.observed, r["obs"])
    assert_allclose(res.expected, r["exp"], rtol=1e-10)
    coded = survdiff(t, e, (text == "Experimental").astype(int))
    assert_array_equal(res.observed, coded.observed)
    assert_allclose(res.statistic, coded.statistic, rtol=1e-14)
    ctl = text == "Control"
    lifelines_stat = logrank_test(t[ctl], t[~ctl], e[ctl], e[~ctl]).test_statistic
    assert_allclose(res.statistic, lifelines_stat, rtol=1e-8)


def test_text_groups_with_missing_values_are_refused() -> None:
    with pytest.raises(ValueError, match="missing values"):
        survdiff([1.0, 2.0, 3.0], [1, 0, 1], np.array(["a", None, "b"], dtype=object))
