"""Analyses on a real Dask cluster equal the in-memory analyses.

A LocalCluster (scheduler and two worker processes on loopback) runs ``run_analyses_scaled`` on
partitioned Parquet copies of the main example and of 10^5 seeded synthetic patients; every number
of the Results mapping (participant flow, Table 1, Kaplan-Meier step tables, landmarks, RMST,
follow-up, log-rank family, univariable and multivariable Cox, landmark and subgroup analyses) is
compared with ``run_analyses`` on the same rows: counts exactly, curves and tests to 1e-9, Cox to
1e-6 (relative). The in-memory path is itself tested against R in tests/stats. The documented
differences (no Harrell's C, no cox.zph at scale) are asserted as such.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from reportgen.analysis.runner import run_analyses
from reportgen.build import finite, validate
from reportgen.errors import UserError
from reportgen.spec import load_study

pytest.importorskip("distributed")

from reportgen.scale.cohort import build_scaled_cohort  # noqa: E402
from reportgen.scale.models import CONCORDANCE_NOTE, PH_NOTE  # noqa: E402
from reportgen.scale.runner import results_scaled, run_analyses_scaled  # noqa: E402
from reportgen.scale.source import open_source  # noqa: E402
from reportgen.scale.table1 import table1_scaled  # noqa: E402

from .conftest import dask_spec, synth, write_parts  # noqa: E402

ONLY_AT_SCALE = {"quantile_method", "quantile_error_bound", "concordance_note"}


def compare(mem: Any, scaled: Any, path: str = "", rtol: float = 1e-6) -> list[str]:
    """Every difference between the in-memory and the scaled mapping, beyond the documented ones."""
    out: list[str] = []
    if isinstance(mem, dict):
        if not isinstance(scaled, dict):
            return [f"{path}: {type(scaled).__name__} instead of a mapping"]
        for key in sorted(set(mem) | set(scaled)):
            where = f"{path}.{key}"
            if where in (".software", ".input", ".compute", ".qc") or key in ONLY_AT_SCALE:
                continue
            if key not in scaled or key not in mem:
                out.append(f"{where}: only in {'the in-memory' if key in mem else 'the scaled'} results")
            elif key in ("concordance", "concordance_se") and mem[key] is not None:
                if scaled[key] is not None:
                    out.append(f"{where}: expected None at scale")
            elif key == "ph_test" and mem[key] is not None:
                if scaled[key] != {
                    "method": mem[key]["method"],
                    "global_p": None,
                    "terms": [],
                    "not_estimable": PH_NOTE,
                }:
                    out.append(f"{where}: {scaled[key]}")
            else:
                out += compare(mem[key], scaled[key], where, rtol)
    elif isinstance(mem, list):
        if not isinstance(scaled, list) or len(mem) != len(scaled):
            return [f"{path}: lengths differ"]
        for i, (x, y) in enumerate(zip(mem, scaled, strict=True)):
            out += compare(x, y, f"{path}[{i}]", rtol)
    elif isinstance(mem, float) and isinstance(scaled, float):
        if not math.isclose(mem, scaled, rel_tol=rtol, abs_tol=1e-12):
            out.append(f"{path}: {mem!r} != {scaled!r}")
    elif mem != scaled or type(mem) is not type(scaled):
        out.append(f"{path}: {mem!r} != {scaled!r}")
    return out


def scaled_results(spec_path: Path, client: Any, partition_rows: int = 500_000) -> dict[str, Any]:
    study = load_study(spec_path)
    source = open_source(study.data, spec_path.parent, client, partition_rows)
    return finite(run_analyses_scaled(study, source, client))


def test_main_example_equals_in_memory(cluster: Any, example_parts: Path) -> None:
    """examples/sclc_ldrt in 4 Parquet files: selection (text compared as numbers where the whole
    column is numeric), dates, the cut-off, subgroups, landmark analysis, all through Dask."""
    study, cohort = validate(Path(__file__).parents[2] / "examples" / "sclc_ldrt" / "study.yaml")
    mem = finite(run_analyses(study, cohort))
    got = scaled_results(example_parts, cluster)
    assert compare(mem, got) == []
    assert got["cohort"]["flow"] == mem["cohort"]["flow"]
    for eid in ("pfs", "os"):
        for level, curve in mem["endpoints"][eid]["km"]["groups"].items():
            assert got["endpoints"][eid]["km"]["groups"][level]["table"] == curve["table"]  # exactly
        multi = got["endpoints"][eid]["cox"]["multivariable"]
        assert multi["concordance"] is None and multi["concordance_note"] == CONCORDANCE_NOTE
    assert got["compute"]["engine"] == "dask"
    assert got["input"]["n_rows"] == mem["input"]["n_rows"] == 92


def test_synthetic_1e5_equals_in_memory(cluster: Any, synth_1e5: tuple[Path, Path]) -> None:
    """10^5 patients in 5 Parquet files (typed columns) against the in-memory path on the CSV:
    Table 1 (exact medians, tests), KM per arm, log-rank, 11 univariable and the 14-column
    multivariable Efron model."""
    mem_spec, scale_spec = synth_1e5
    study, cohort = validate(mem_spec)
    mem = finite(run_analyses(study, cohort))
    got = scaled_results(scale_spec, cluster, partition_rows=8_000)  # 5 files, 2 row groups... one piece each
    assert compare(mem, got) == []
    multi_mem = mem["endpoints"]["os"]["cox"]["multivariable"]
    multi = got["endpoints"]["os"]["cox"]["multivariable"]
    coef = np.array([t["coef"] for t in multi["terms"]])
    np.testing.assert_allclose(coef, [t["coef"] for t in multi_mem["terms"]], rtol=1e-6)
    np.testing.assert_allclose(multi["lr_test"]["statistic"], multi_mem["lr_test"]["statistic"], rtol=1e-6)
    assert all(v["quantile_error_bound"] == 0.0 for v in got["table1"]["variables"] if v["type"] == "continuous")


VARIANT = {
    "group": {"column": "ecog", "label": "ECOG", "reference": "0"},
    "covariates": {
        "age": {"label": "Age", "type": "continuous", "per": 10},
        "sex": {"label": "Sex", "type": "categorical", "reference": "Male"},
        "stage": {"label": "Stage", "type": "categorical"},
        "bmi": {"label": "BMI", "type": "continuous"},
    },
    "subgroups": ["diabetes", {"column": "age", "label": "Age group", "cut": [65], "labels": ["<65", ">=65"]}],
    "analysis": {
        "km": {"conf_type": "log", "landmarks": [365, 730], "rmst_tau": 900},
        "tests": {"method": "fleming-harrington", "rho": 1, "gamma": 0.5, "strata": ["smoking"], "trend": True},
        "cox": {
            "ties": "breslow",
            "multivariable": ["group", "age", "sex", "stage"],
            "interactions": [["group", "sex"]],
        },
        "subgroup": {"km_panels": "diabetes", "adjust": True},
        "landmark_analysis": 365,
    },
}


def test_strata_weights_trend_breslow_interactions(cluster: Any, tmp_path: Path) -> None:
    """Three groups, a weighted G(1, 0.5) test stratified by smoking, the trend and pairwise tests,
    Breslow ties, stratified Cox models with an interaction, adjusted subgroups and a landmark."""
    frame = synth.synthetic_cohort(20_000, seed=7)
    frame.to_csv(tmp_path / "cohort.csv", index=False, na_rep="", float_format="%.10g")
    write_parts(frame, tmp_path / "parts", 3)
    spec = yaml.safe_load(synth.study_yaml("cohort.csv"))
    spec.update(VARIANT)
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (tmp_path / "scale.yaml").write_text(yaml.safe_dump(dask_spec(spec, "parts/*.parquet"), sort_keys=False))
    study, cohort = validate(tmp_path / "study.yaml")
    mem = finite(run_analyses(study, cohort))
    got = scaled_results(tmp_path / "scale.yaml", cluster, partition_rows=4_000)
    assert compare(mem, got) == []
    os_ = got["endpoints"]["os"]
    assert {"trend", "pairwise"} <= set(os_) and os_["logrank"]["strata"] == ["smoking"]
    assert os_["cox"]["multivariable"]["strata"] == ["smoking"]
    assert any(t["variable"] == "group:sex" for t in os_["cox"]["multivariable"]["terms"])


def test_table1_approximate_quantiles_state_their_bound(cluster: Any, synth_1e5: tuple[Path, Path]) -> None:
    """A continuous covariate with more distinct values than the cap: medians and quartiles from
    equal-width bins, each within the stated bound of the exact value; counts, means, SDs exact."""
    mem_spec, scale_spec = synth_1e5
    study, cohort = validate(mem_spec)
    from reportgen.analysis.descriptive import table1

    exact = {v["variable"]: v for v in table1(study, cohort)["variables"]}
    scaled_study = load_study(scale_spec)
    sc = build_scaled_cohort(scaled_study, open_source(scaled_study.data, scale_spec.parent, cluster), cluster)
    got = {v["variable"]: v for v in table1_scaled(scaled_study, sc, cap=50)["variables"]}
    approximate = [c for c, v in got.items() if v["type"] == "continuous" and v["quantile_error_bound"] > 0]
    assert {"bmi", "ldh", "albumin", "age"} <= set(approximate)
    for cid in approximate:
        bound = got[cid]["quantile_error_bound"]
        assert got[cid]["quantile_method"].startswith("approximate")
        assert "bins" in got[cid]["test"]["method"]
        for g in [*exact[cid]["summary"], None]:
            e = exact[cid]["overall"] if g is None else exact[cid]["summary"][g]
            a = got[cid]["overall"] if g is None else got[cid]["summary"][g]
            for key in ("q1", "median", "q3"):
                assert abs(a[key] - e[key]) <= bound * (1 + 1e-9), (cid, g, key)
            assert a["n"] == e["n"] and a["min"] == e["min"] and a["max"] == e["max"]
            assert math.isclose(a["mean"], e["mean"], rel_tol=1e-12)
            assert math.isclose(a["sd"], e["sd"], rel_tol=1e-9)


def test_worker_killed_mid_computation(cluster: Any, synth_1e5: tuple[Path, Path], tmp_path: Path) -> None:
    """``reportgen render --scheduler ADDRESS`` while one worker process is killed (SIGKILL) as it
    computes: Dask reruns its tasks elsewhere, the report is complete and its numbers are right,
    and nothing partial is left beside the output folder."""
    from reportgen.cli import main

    _, scale_spec = synth_1e5
    out = tmp_path / "report"
    pids = cluster.run(os.getpid)
    outcome: dict[str, int] = {}
    thread = threading.Thread(
        target=lambda: outcome.setdefault(
            "code",
            main(
                [
                    "render",
                    str(scale_spec),
                    "--out",
                    str(out),
                    "--format",
                    "html",
                    "--quiet",
                    "--scheduler",
                    cluster.scheduler.address,
                ]
            ),
        )
    )
    thread.start()
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline and thread.is_alive():
        busy = [w for w, tasks in cluster.processing().items() if tasks and w in pids]
        if busy:
            victim = busy[0]
        else:
            time.sleep(0.005)
    assert victim is not None, "no task was seen running"
    os.kill(pids[victim], signal.SIGKILL)
    thread.join(timeout=300)
    assert outcome.get("code") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no temporary folder left
    assert {"report.html", "results.json", "figures", "tables"} <= {p.name for p in out.iterdir()}
    results = json.loads((out / "results.json").read_text())
    mem_spec, _ = synth_1e5
    study, cohort = validate(mem_spec)
    mem = finite(run_analyses(study, cohort))
    want = mem["endpoints"]["os"]
    have = results["endpoints"]["os"]
    assert have["logrank"]["statistic"] == pytest.approx(want["logrank"]["statistic"], rel=1e-9)
    np.testing.assert_allclose(
        [t["coef"] for t in have["cox"]["multivariable"]["terms"]],
        [t["coef"] for t in want["cox"]["multivariable"]["terms"]],
        rtol=1e-6,
    )
    assert have["km"]["groups"]["Control"]["table"] == want["km"]["groups"]["Control"]["table"]
    for _ in range(100):  # the nanny restarts the killed worker for the tests that follow
        if len(cluster.scheduler_info()["workers"]) == 2:
            break
        time.sleep(0.1)


def test_problems_name_the_file_and_row(cluster: Any, tmp_path: Path) -> None:
    """Row-level checks run on the pieces and report the piece's file and its row; identifiers are
    checked across files."""
    frame = synth.synthetic_cohort(3_000, seed=3)
    frame.loc[2_500, "os_event"] = 7  # row 2500 -> the second file (1500 rows each), its row 1000 + header
    frame.loc[2_900, "patient_id"] = frame.loc[10, "patient_id"]
    write_parts(frame, tmp_path / "parts", 2)
    spec = dask_spec(yaml.safe_load(synth.study_yaml()), "parts/*.parquet")
    (tmp_path / "scale.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    study = load_study(tmp_path / "scale.yaml")
    with pytest.raises(UserError) as info:
        build_scaled_cohort(study, open_source(study.data, tmp_path, cluster), cluster)
    problems = {p.message.split(";")[0]: p for p in info.value.problems}
    bad = problems["event codes other than the declared 1 (event) and 0 (censored)"]
    assert bad.where.endswith("part-001.parquet") and bad.rows == (1002,)
    dup = [p for p in info.value.problems if "occur more than once" in p.message]
    assert {p.where.rsplit("/", 1)[-1] for p in dup} == {"part-000.parquet", "part-001.parquet"}
    assert sorted(r for p in dup for r in p.rows) == [12, 1402]


def test_spec_and_command_line_errors(tmp_path: Path, example_parts: Path) -> None:
    """engine: dask reads files; --scheduler needs engine: dask; compute: needs engine: dask."""
    from reportgen.cli import main

    spec = yaml.safe_load(example_parts.read_text())
    bad = dict(spec, data={"url": "sqlite:///x.db", "query": "select 1", "engine": "dask"})
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(bad, sort_keys=False))
    with pytest.raises(UserError, match="engine: dask reads files"):
        load_study(tmp_path / "a.yaml")
    plain = dict(spec, data={"path": "cohort.csv"}, compute={"workers": 2})
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(plain, sort_keys=False))
    with pytest.raises(UserError, match="compute: applies to data.engine: dask only"):
        load_study(tmp_path / "b.yaml")
    example = Path(__file__).parents[2] / "examples" / "sclc_ldrt" / "study.yaml"
    code = main(["render", str(example), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:1"])
    assert code == 2


def test_results_are_the_same_on_every_run(cluster: Any, example_parts: Path) -> None:
    """Pieces are combined in file order, so sums of floats, and results.json, are reproducible."""
    from reportgen.build import results_json

    study = load_study(example_parts)
    source = open_source(study.data, example_parts.parent, cluster)
    a = build_scaled_cohort(study, source, cluster)
    b = build_scaled_cohort(study, source, cluster)
    assert results_json(finite(results_scaled(study, a))) == results_json(finite(results_scaled(study, b)))
