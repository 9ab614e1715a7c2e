"""Subgroup HRs and interaction tests through the pipeline, against R on gbsg2:

    coxph(Surv(time, cens) ~ horTh, data = subset(gbsg2, menostat == 'Pre'), ties = 'efron')   # per level
    anova(coxph(Surv(time, cens) ~ horTh + menostat, data = gbsg2),
          coxph(Surv(time, cens) ~ horTh * menostat, data = gbsg2))                             # interaction
and the same for tgrade; plus a level with no events in one arm, which must be "not estimable".
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from lifelines.datasets import load_gbsg2
from numpy.testing import assert_allclose

from reportgen.analysis.runner import run_analyses
from reportgen.build import build, validate
from reportgen.figures.forest import ForestRow  # noqa: F401  (the figure module must import)

COX = json.loads((Path(__file__).parent / "fixtures" / "cox.json").read_text())
RTOL = 1e-6

SPEC = """\
title: gbsg2 subgroups
data: {path: data.csv}
group: {column: horTh, label: Hormone therapy, reference: "no"}
endpoints:
  rfs: {label: Recurrence-free survival, time: time, event: cens, time_unit: days}
covariates:
  menostat: {label: Menopausal status, type: categorical, reference: Pre}
  tgrade: {label: Tumour grade, type: categorical, reference: I}
subgroups: [menostat, tgrade]
"""


def test_subgroup_hrs_and_interaction_tests(tmp_path):
    load_gbsg2().to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "study.yaml").write_text(SPEC, encoding="utf-8")
    study, cohort = validate(tmp_path / "study.yaml")
    ep = json.loads(json.dumps(run_analyses(study, cohort)))["endpoints"]["rfs"]
    rows = {(r["variable"], r["level"]): r for r in ep["subgroups"]}
    for ref in COX["subgroups"]:
        row = rows[(ref["variable"], ref["level"])]
        assert (row["n"], row["events"]) == (ref["n"], ref["nevent"])
        assert_allclose(
            [row["hr"], *row["ci"], row["p"]], [ref["hr"], ref["ci_lower"], ref["ci_upper"], ref["p"]], rtol=RTOL
        )
    for ref in COX["interactions"]:
        test = ep["subgroup_tests"][ref["variable"]]
        assert test["df"] == ref["df"]
        assert_allclose([test["statistic"], test["p"]], [ref["chisq"], ref["p"]], rtol=RTOL)
        assert all(r["p_interaction"] == test["p"] for r in ep["subgroups"] if r["variable"] == ref["variable"])


def test_level_without_events_in_one_arm_is_not_estimable(tmp_path):
    frame = load_gbsg2()
    # tumour grade I patients on hormone therapy: no recurrences
    frame.loc[(frame.tgrade == "I") & (frame.horTh == "yes"), "cens"] = 0
    frame.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "study.yaml").write_text(SPEC, encoding="utf-8")
    out = tmp_path / "out"
    build(tmp_path / "study.yaml", out, formats=["html"])
    results = json.loads((out / "results.json").read_text())
    row = next(r for r in results["endpoints"]["rfs"]["subgroups"] if r["level"] == "I")
    assert row["hr"] is None and row["not_estimable"] == "no events in yes"
    assert row["arms"]["yes"]["events"] == 0 and row["arms"]["yes"]["median"] is None
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "not estimable" in html and "no events in yes" in html
    assert np.isfinite(results["endpoints"]["rfs"]["subgroup_tests"]["menostat"]["p"])
