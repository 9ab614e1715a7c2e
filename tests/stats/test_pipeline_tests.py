"""Between-group tests and stratified Cox through the whole pipeline, against R's survival package.

survdiff(Surv(time, cens) ~ tgrade, data = gbsg2)                     # 3 groups
survdiff(Surv(time, cens) ~ tgrade + strata(horTh), data = gbsg2)
trend: w <- c(1, 2, 3); (sum(w * (sd$obs - sd$exp)))^2 / (t(w) %*% sd$var %*% w)
pairwise: survdiff on each pair of tgrade levels; p.adjust(p, 'holm')
survdiff(Surv(time, status) ~ sex + strata(ph.ecog), data = lung, rho = 1)
coxph(Surv(time, status) ~ sex + strata(ph.ecog), data = lung, ties = 'breslow')
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lifelines.datasets import load_gbsg2, load_lung
from numpy.testing import assert_allclose

from reportgen.analysis.runner import run_analyses
from reportgen.build import validate

FIXTURES = Path(__file__).parent / "fixtures"
KM = json.loads((FIXTURES / "km_tests.json").read_text())
COX = json.loads((FIXTURES / "cox.json").read_text())
RTOL = 1e-6

GBSG2 = """\
title: gbsg2
data: {{path: data.csv}}
group: {{column: tgrade, label: Tumour grade, levels: [I, II, III]}}
endpoints:
  rfs: {{label: Recurrence-free survival, time: time, event: cens, time_unit: days}}
analysis:
  tests: {{trend: true, pairwise_adjust: holm{strata}}}
"""

LUNG = """\
title: lung
data: {path: data.csv}
group: {column: sex, reference: 1}
endpoints:
  os: {label: Overall survival, time: time, event: status, time_unit: days}
analysis:
  tests: {method: peto-peto, strata: [ph.ecog]}
  cox: {ties: breslow}
"""


def _run(tmp_path: Path, frame, spec: str) -> dict:
    frame.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "study.yaml").write_text(spec, encoding="utf-8")
    study, cohort = validate(tmp_path / "study.yaml")
    return json.loads(json.dumps(run_analyses(study, cohort)))["endpoints"]


def _find(items: list[dict], call: str) -> dict:
    return next(i for i in items if i["call"] == call)


@pytest.mark.parametrize("strata", ["", ", strata: [horTh]"])
def test_three_groups_overall_trend_pairwise(tmp_path, strata):
    ep = _run(tmp_path, load_gbsg2(), GBSG2.format(strata=strata))["rfs"]
    if strata:
        r = _find(KM["survdiff"], "survdiff(Surv(time, cens) ~ tgrade + strata(horTh), data = gbsg2)")
        assert ep["logrank"]["method"] == "log-rank test stratified by horTh"
    else:
        r = _find(KM["survdiff"], "survdiff(Surv(time, cens) ~ tgrade, data = gbsg2)")
        assert ep["logrank"]["method"] == "log-rank test"
    assert_allclose([ep["logrank"]["statistic"], ep["logrank"]["p"]], [r["statistic"], r["p"]], rtol=RTOL)
    assert ep["logrank"]["df"] == 2
    trend = next(t for t in KM["trend"] if t["strata"] == ("horTh" if strata else None))
    assert_allclose([ep["trend"]["statistic"], ep["trend"]["p"]], [trend["statistic"], trend["p"]], rtol=RTOL)
    if not strata:
        pw = next(p for p in KM["pairwise"] if p["rho"] == 0 and p["adjust"] == "holm")
        got = ep["pairwise"]["comparisons"]
        assert [(c["a"], c["b"]) for c in got] == list(zip(pw["level_a"], pw["level_b"], strict=True))
        assert_allclose([c["statistic"] for c in got], pw["statistic"], rtol=RTOL)
        assert_allclose([c["p_adjusted"] for c in got], pw["p_adjusted"], rtol=RTOL)


def test_weighted_stratified_test_and_stratified_breslow_cox(tmp_path):
    ep = _run(tmp_path, load_lung(), LUNG)["os"]
    r = _find(KM["survdiff"], "survdiff(Surv(time, status) ~ sex + strata(ph.ecog), data = lung, rho = 1)")
    lr = ep["logrank"]
    assert lr["n"] == r["n_used"] and lr["n_excluded_missing_strata"] == 1
    assert_allclose([lr["statistic"], lr["p"]], [r["statistic"], r["p"]], rtol=RTOL)
    m = _find(COX["models"], "coxph(Surv(time, status) ~ sex + strata(ph.ecog), data = lung, ties = 'breslow')")
    row = next(x for x in ep["cox"]["univariable"] if x["variable"] == "group")
    assert ep["cox"]["ties"] == "breslow" and row["n"] == m["n"]
    assert_allclose(
        [row["hr"], *row["ci"], row["p"]], [m["exp_coef"][0], m["ci_lower"][0], m["ci_upper"][0], m["p"][0]], rtol=RTOL
    )


LANDMARK = """\
title: lung landmark
data: {path: data.csv}
group: {column: sex, reference: 1}
endpoints:
  os: {label: Overall survival, time: time, event: status, time_unit: days}
analysis:
  landmark_analysis: 180
"""


def test_landmark_analysis(tmp_path):
    """s <- lung[lung$time > 180, ]; s$time <- s$time - 180
    survdiff(Surv(time, status) ~ sex, data = s)$chisq            # 2.53804058887757 (159 patients, 102 events)
    coxph(Surv(time, status) ~ sex, data = s)                      # HR 0.723205565459199 (0.4844434-1.0796437)
    summary(survfit(Surv(time, status) ~ sex, data = s, conf.type = 'log-log'))$table   # medians 207, 293
    """
    la = _run(tmp_path, load_lung(), LANDMARK)["os"]["landmark_analysis"]
    assert (la["n"], la["events"], la["n_excluded"]) == (159, 102, 228 - 159)
    assert_allclose(la["logrank"]["statistic"], 2.53804058887757, rtol=RTOL)
    hr = la["hr"][0]
    assert_allclose(
        [hr["hr"], *hr["ci"], hr["p"]],
        [0.723205565459199, 0.484443421774206, 1.079643703274266, 0.112937289051752],
        rtol=RTOL,
    )
    assert [la["groups"]["1"]["median"], *la["groups"]["1"]["median_ci"]] == [207, 140, 277]
    assert [la["groups"]["2"]["median"], *la["groups"]["2"]["median_ci"]] == [293, 183, 474]
