"""reportgen.analysis.coxph against R's survival 3.5 (fixture tests/stats/fixtures/cox.json).

The fixture is written by tests/stats/r/cox.R from the CSV copies of lifelines' ``lung`` and
``gbsg2`` (tests/stats/r/export_datasets.py). Each model entry quotes its R call, e.g.
"coxph(Surv(time, status) ~ sex + age + factor(ph.ecog), data = lung, ties = 'efron')".

The design matrices are built here from lifelines' data frames, column by column, as R's
model.matrix builds them (treatment coding, first level = reference):

lung   time, status       as given (status 1 = death, 0 = censored)
       sex, age, ph.ecog  numeric as given (sex 1 = male, 2 = female)
       factor(ph.ecog)k   1.0 if ph.ecog == k else 0.0, for k = 1, 2, 3 (reference 0; NaN where
                          ph.ecog is missing; level 3 has a single patient)
       cens_only          1.0 if status == 0 and time >= 300 else 0.0 (no event in level 1)
       age2               a copy of age (aliased)
gbsg2  time, cens         as given
       horThyes           1.0 if horTh == "yes" else 0.0 (reference "no")
       menostatPost       1.0 if menostat == "Post" else 0.0 (reference "Pre")
       tgradeII/III       1.0 if tgrade == "II" / "III" else 0.0 (reference "I")
       age, tsize, pnodes, progrec, estrec  numeric as given
       horThyes:X         horThyes * X (interaction columns)

Each model uses complete cases of its columns (and strata), as R's na.action; the test checks
that the same rows are dropped and that the built matrix equals the one R recorded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_gbsg2, load_lung
from numpy.testing import assert_allclose, assert_array_equal

from reportgen.analysis.coxph import (
    REASON_ALIASED,
    REASON_INFINITE,
    CoxFit,
    cox_zph,
    fit_cox,
    lr_test_nested,
)

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "cox.json").read_text())
RTOL = 1e-4
TIME_EVENT = {"lung": ("time", "status"), "gbsg2": ("time", "cens")}


def _lung() -> pd.DataFrame:
    d = load_lung()
    out = pd.DataFrame(
        {
            "time": d["time"],
            "status": d["status"],
            "sex": d["sex"],
            "age": d["age"],
            "ph.ecog": d["ph.ecog"],
        },
        dtype=float,
    )
    for k in (1, 2, 3):
        out[f"factor(ph.ecog){k}"] = np.where(d["ph.ecog"].isna(), np.nan, d["ph.ecog"] == k)
    out["cens_only"] = ((d["status"] == 0) & (d["time"] >= 300)).astype(float)
    out["age2"] = out["age"]
    return out


def _gbsg2() -> pd.DataFrame:
    d = load_gbsg2()
    out = pd.DataFrame(
        {
            "time": d["time"],
            "cens": d["cens"],
            "horThyes": d["horTh"] == "yes",
            "age": d["age"],
            "menostatPost": d["menostat"] == "Post",
            "tsize": d["tsize"],
            "tgradeII": d["tgrade"] == "II",
            "tgradeIII": d["tgrade"] == "III",
            "pnodes": d["pnodes"],
            "progrec": d["progrec"],
            "estrec": d["estrec"],
        }
    ).astype(float)
    for other in ("menostatPost", "tgradeII", "tgradeIII"):
        out[f"horThyes:{other}"] = out["horThyes"] * out[other]
    return out


DATA = {"lung": _lung(), "gbsg2": _gbsg2()}
MODELS = {m["id"]: m for m in FIXTURE["models"]}


def _arr(values: list | float | None) -> np.ndarray:
    """Fixture numbers as floats, R's NA (JSON null) as NaN."""
    seq = values if isinstance(values, list) else [values]
    return np.array([np.nan if v is None else v for v in seq], dtype=float)


def _model_data(m: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    d = DATA[m["data"]]
    tcol, ecol = TIME_EVENT[m["data"]]
    needed = m["columns"] + ([m["strata"]] if m["strata"] else [])
    complete = d[needed].notna().all(axis=1).to_numpy()
    assert_array_equal(np.flatnonzero(~complete) + 1, m["dropped_rows"])
    X = d.loc[complete, m["columns"]].to_numpy(float)
    strata = d.loc[complete, m["strata"]].to_numpy() if m["strata"] else None
    return d.loc[complete, tcol].to_numpy(), d.loc[complete, ecol].to_numpy(), X, strata


def _fit(m: dict) -> tuple[CoxFit, tuple]:
    time, event, X, strata = _model_data(m)
    return fit_cox(time, event, X, strata=strata, ties=m["ties"]), (time, event, X, strata)


def _assert_test(ours: tuple, r: dict, stat_key: str = "stat") -> None:
    assert_allclose(ours[0], r[stat_key], rtol=RTOL)
    assert ours[1] == r["df"]
    assert_allclose(ours[2], r["p"], rtol=RTOL)


def test_fixture_records_versions() -> None:
    meta = FIXTURE["meta"]
    assert meta["survival_version"].startswith("3.")
    assert meta["r_version"].startswith("R version")


@pytest.mark.parametrize("name", ["lung", "gbsg2"])
def test_design_matrix_is_the_one_r_used(name: str) -> None:
    """The columns built here equal the matrix cox.R recorded from R's data frame."""
    recorded = FIXTURE["designs"][name]["columns"]
    for col, values in recorded.items():
        assert_array_equal(DATA[name][col].to_numpy(float), _arr(values), err_msg=col)


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_coxph_matches_r(model_id: str) -> None:
    """coxph(...) as quoted in the fixture entry's "call": summary(fit) numbers, fit$wald.test,
    fit$concordance, fit$n, fit$nevent, fit$iter."""
    m = MODELS[model_id]
    fit, (_, _, X, _) = _fit(m)
    assert_allclose(X.sum(axis=0), m["design_colsums"], rtol=1e-12)

    aliased = np.isnan(_arr(m["coef"]))
    assert_array_equal(np.isnan(fit.coef), aliased)
    lower, upper = fit.hazard_ratio_ci()
    # jsonlite writes R's Inf as null: the upper limit of a diverging coefficient
    r_inf = np.isnan(_arr(m["ci_upper"])) & ~aliased
    assert np.all(np.isposinf(upper[r_inf]))
    for ours, key in [
        (fit.coef, "coef"),
        (np.exp(fit.coef), "exp_coef"),
        (fit.se, "se"),
        (fit.z, "z"),
        (fit.p, "p"),
        (lower, "ci_lower"),
        (upper, "ci_upper"),
    ]:
        keep = ~aliased & ~r_inf if key == "ci_upper" else ~aliased
        assert_allclose(ours[keep], _arr(m[key])[keep], rtol=RTOL, err_msg=key)
    r_var = np.array([_arr(row) for row in m["var"]])
    ok = np.ix_(~aliased, ~aliased)
    assert_allclose(fit.var[ok], r_var[ok], rtol=RTOL, atol=1e-12)

    assert_allclose([fit.loglik0, fit.loglik], [m["loglik0"], m["loglik"]], rtol=RTOL)
    _assert_test(fit.lr_test, m["lr_test"])
    _assert_test(fit.wald_test, m["wald_test"])
    _assert_test(fit.score_test, m["score_test"])
    assert_allclose(fit.concordance, m["concordance"], rtol=RTOL)
    assert_allclose(fit.concordance_se, m["concordance_se"], rtol=RTOL)
    assert (fit.n, fit.n_events, fit.iterations) == (m["n"], m["nevent"], m["iterations"])
    assert fit.converged
    assert fit.ties == m["ties"]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_separation_flags_infinite_coefficient_like_r(ties: str) -> None:
    """coxph(Surv(time, status) ~ sex + cens_only, data = lung): R warns "Loglik converged
    before variable 2; coefficient may be infinite." and keeps its last iterate (-19.57)."""
    m = MODELS[f"lung_separation_{ties}"]
    fit, _ = _fit(m)
    (warning,) = m["warnings"]
    flagged = int(re.search(r"before variable\s+([\d,]+)", warning).group(1)) - 1
    assert fit.not_estimable == {flagged: REASON_INFINITE}
    assert "may be infinite" in warning and "may be infinite" in REASON_INFINITE
    assert_allclose(fit.coef[flagged], m["coef"][flagged], rtol=RTOL)
    assert fit.coef[flagged] < -15


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_collinear_column_is_aliased_like_r(ties: str) -> None:
    """coxph(Surv(time, status) ~ sex + age + age2, data = lung): R gives NA for age2."""
    m = MODELS[f"lung_collinear_{ties}"]
    fit, _ = _fit(m)
    assert m["coef"][2] is None
    assert fit.not_estimable == {2: REASON_ALIASED}
    assert np.isnan([fit.coef[2], fit.se[2], fit.z[2], fit.p[2]]).all()
    assert np.isnan(fit.var[2]).all() and np.isnan(fit.var[:, 2]).all()
    assert fit.lr_test.df == 2


ZPH_CASES = [(mid, tr) for mid, m in sorted(MODELS.items()) for tr in m["zph"]]


@pytest.mark.parametrize(("model_id", "transform"), ZPH_CASES)
def test_cox_zph_matches_r(model_id: str, transform: str) -> None:
    """cox.zph(fit, transform) table (per term, GLOBAL); factor columns form one term (R's
    default terms = TRUE); an aliased term is dropped by R and is (nan, 0, nan) here."""
    m = MODELS[model_id]
    fit, (time, event, X, strata) = _fit(m)
    terms = [t["columns"] for t in m["terms"]]
    zph = cox_zph(fit, time, event, X, strata=strata, transform=transform, terms=terms)
    r = m["zph"][transform]
    ours = [t for t in zph.terms if t.df > 0]
    assert len(ours) == len(r["terms"])
    for t, rt in zip(ours, r["terms"], strict=True):
        _assert_test(t, rt, "chisq")
    _assert_test(zph.global_, r["global"], "chisq")
    assert zph.transform == transform


DETAIL_CASES = [mid for mid, m in sorted(MODELS.items()) if "detail" in m["zph"]["km"]]


@pytest.mark.parametrize("model_id", DETAIL_CASES)
def test_cox_zph_residuals_match_r(model_id: str) -> None:
    """cox.zph(fit)$y (scaled Schoenfeld residuals, Efron ties), $x, $time, $var, $strata.

    One deliberate difference: in lung ~ sex + strata(ph.ecog) the stratum ph.ecog = 3 has a
    single patient, so sex is constant there and its residual is undefined. R means to set it
    NA but its row bookkeeping (rep(stratum, events), with 0 events counted for such a
    stratum) skips the row, which keeps the unscaled residual 0 plus beta; here it is NaN.
    """
    m = MODELS[model_id]
    fit, (time, event, X, strata) = _fit(m)
    terms = [t["columns"] for t in m["terms"]]
    zph = cox_zph(fit, time, event, X, strata=strata, terms=terms)
    detail = m["zph"]["km"]["detail"]
    r_y = np.column_stack([_arr(c) for c in detail["y"]])
    undefined = np.zeros(r_y.shape[0], dtype=bool)
    if detail["strata"] is not None:
        undefined = np.array(detail["strata"]) == "ph.ecog=3"
        assert_allclose(r_y[undefined, 0], fit.coef[0], rtol=1e-12)
        assert np.isnan(zph.residuals[undefined]).all()
    assert_allclose(zph.residuals[~undefined], r_y[~undefined], rtol=RTOL)
    assert_allclose(zph.x, _arr(detail["x"]), rtol=RTOL, atol=1e-12)
    assert_array_equal(zph.time, _arr(detail["time"]))
    assert_allclose(zph.var, np.array([_arr(row) for row in detail["var"]]), rtol=RTOL)
    assert_array_equal(time[zph.event_index], zph.time)
    if detail["strata"] is not None:
        labels = [f"{m['strata']}={s:g}" for s in zph.strata]
        assert labels == detail["strata"]


@pytest.mark.parametrize("sub", FIXTURE["subgroups"], ids=lambda s: f"{s['variable']}={s['level']}")
def test_subgroup_hazard_ratios_match_r(sub: dict) -> None:
    """coxph(Surv(time, cens) ~ horTh, data = subset(gbsg2, <variable> == <level>))."""
    d = DATA["gbsg2"]
    if sub["variable"] == "menostat":
        keep = d["menostatPost"] == (sub["level"] == "Post")
    else:
        grade = {"I": (0, 0), "II": (1, 0), "III": (0, 1)}[sub["level"]]
        keep = (d["tgradeII"] == grade[0]) & (d["tgradeIII"] == grade[1])
    fit = fit_cox(d.loc[keep, "time"], d.loc[keep, "cens"], d.loc[keep, ["horThyes"]])
    lower, upper = fit.hazard_ratio_ci()
    assert_allclose(
        [fit.coef[0], fit.se[0], np.exp(fit.coef[0]), lower[0], upper[0], fit.p[0], fit.loglik],
        [
            sub["coef"],
            sub["se"],
            sub["hr"],
            sub["ci_lower"],
            sub["ci_upper"],
            sub["p"],
            sub["loglik"],
        ],
        rtol=RTOL,
    )
    assert (fit.n, fit.n_events) == (sub["n"], sub["nevent"])


@pytest.mark.parametrize("inter", FIXTURE["interactions"], ids=lambda s: s["variable"])
def test_interaction_lr_test_matches_anova(inter: dict) -> None:
    """anova(coxph(~ horTh + v), coxph(~ horTh * v)) on gbsg2, v = menostat or tgrade."""
    d = DATA["gbsg2"]
    reduced = fit_cox(d["time"], d["cens"], d[inter["reduced_columns"]])
    full = fit_cox(d["time"], d["cens"], d[inter["full_columns"]])
    assert_allclose([reduced.loglik, full.loglik], [inter["loglik_reduced"], inter["loglik_full"]], rtol=RTOL)
    _assert_test(lr_test_nested(full, reduced), inter, "chisq")


def test_lr_test_nested_refuses_different_rows_or_ties() -> None:
    d = DATA["gbsg2"]
    a = fit_cox(d["time"], d["cens"], d[["horThyes"]])
    b = fit_cox(d["time"][:600], d["cens"][:600], d[["horThyes"]][:600])
    c = fit_cox(d["time"], d["cens"], d[["horThyes"]], ties="breslow")
    with pytest.raises(ValueError, match="same number of rows"):
        lr_test_nested(a, b)
    with pytest.raises(ValueError, match="same ties"):
        lr_test_nested(a, c)


def test_efron_coefficients_agree_with_lifelines() -> None:
    """lifelines' CoxPHFitter (Efron ties) on lung ~ sex + age + ph.ecog, complete cases."""
    m = MODELS["lung_sex_age_ecog_efron"]
    fit, (time, event, X, _) = _fit(m)
    frame = pd.DataFrame(X, columns=["sex", "age", "ph_ecog"]).assign(time=time, status=event)
    cph = CoxPHFitter().fit(frame, duration_col="time", event_col="status")
    assert_allclose(fit.coef, cph.params_[["sex", "age", "ph_ecog"]].to_numpy(), rtol=1e-5)
    assert_allclose(fit.se, cph.standard_errors_[["sex", "age", "ph_ecog"]].to_numpy(), rtol=1e-4)
    assert_allclose(fit.loglik, cph.log_likelihood_, rtol=1e-8)


def _brute_force_concordance(time, event, lp, stratum, weight) -> float:
    """Harrell's C by all pairs: an event i against a row j of the same stratum with a longer
    time, or censored at the same time; a higher lp for i is concordant, equal lp counts 1/2."""
    ti, tj = time[:, None], time[None, :]
    comparable = event[:, None].astype(bool) & (stratum[:, None] == stratum[None, :])
    comparable &= (tj > ti) | ((tj == ti) & (event[None, :] == 0))
    pair_w = np.where(comparable, weight[:, None] * weight[None, :], 0.0)
    conc = (pair_w * (lp[:, None] > lp[None, :])).sum()
    tied = (pair_w * (lp[:, None] == lp[None, :])).sum()
    return (conc + tied / 2) / pair_w.sum()


def test_concordance_equals_the_pairwise_definition() -> None:
    """The vectorised pair counts equal an all-pairs count with tied times, tied lp, weights
    and strata (a seeded synthetic set)."""
    rng = np.random.default_rng(11)
    n = 300
    x = np.column_stack([rng.integers(0, 3, n), rng.normal(size=n).round(1)])
    time = rng.integers(1, 40, n).astype(float)
    event = (rng.random(n) < 0.7).astype(float)
    stratum = rng.integers(0, 3, n)
    weight = rng.choice([1.0, 2.0, 0.5], n)
    fit = fit_cox(time, event, x, strata=stratum, weights=weight)
    lp = x @ fit.coef
    expected = _brute_force_concordance(time, event, lp, stratum, weight)
    assert_allclose(fit.concordance, expected, rtol=1e-12)


def test_times_differing_by_rounding_noise_are_tied() -> None:
    """R's timefix (aeqSurv): 0.1 + 0.2 and 0.3 are one time, so the fits agree."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 1))
    time = np.repeat([0.3, 0.7, 1.1, 2.0], 10)
    event = np.tile([1, 0, 1, 1, 0], 8)
    noisy = time.copy()
    noisy[::4] = np.where(time[::4] == 0.3, 0.1 + 0.2, time[::4])
    assert not np.array_equal(noisy, time)
    a, b = fit_cox(time, event, x), fit_cox(noisy, event, x)
    assert_allclose(a.coef, b.coef, rtol=1e-12)


def test_bad_input_is_refused() -> None:
    time, event, x = np.array([1.0, 2.0, 3.0]), np.array([1, 0, 1]), np.ones((3, 1))
    with pytest.raises(ValueError, match="ties"):
        fit_cox(time, event, x, ties="exact")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="event"):
        fit_cox(time, np.array([1, 2, 0]), x)
    with pytest.raises(ValueError, match="finite"):
        fit_cox(time, event, np.array([[1.0], [np.nan], [0.0]]))
    with pytest.raises(ValueError, match="weights"):
        fit_cox(time, event, x, weights=np.array([1.0, 0.0, 1.0]))
