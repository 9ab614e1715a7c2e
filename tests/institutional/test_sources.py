"""Data sources: PostgreSQL on a real (throwaway) server with credentials from environment variables
that never reach an output, SAS transport and Stata files written with pyreadstat, DuckDB over parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from reportgen.build import build, validate
from reportgen.cli import main
from reportgen.errors import UserError

from .conftest import PG_PASSWORD, PG_USER, SPEC, registry_rows


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame(registry_rows())
    for col in ("diagnosed", "end_date"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def _n_included(out: Path) -> object:
    return json.loads((out / "results.json").read_text(encoding="utf-8"))["cohort"]["n_included"]


def test_postgresql_source_keeps_credentials_out_of_outputs(postgres, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RG_DB_USER", PG_USER)
    monkeypatch.setenv("RG_DB_PASSWORD", PG_PASSWORD)
    url = f"postgresql+psycopg://${{RG_DB_USER}}:${{RG_DB_PASSWORD}}@127.0.0.1:{postgres.port}/{postgres.database}"
    spec = SPEC.replace(
        "data: {path: registry.csv, id: pid}",
        f'data: {{url: "{url}", query: "select * from registry order by pid", id: pid}}',
    )
    (tmp_path / "study.yaml").write_text(spec, encoding="utf-8")
    out = build(tmp_path / "study.yaml", tmp_path / "out", ["html"]).out_dir
    assert _n_included(out) == len(registry_rows())
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["input"]["source"] == "postgresql database 'registry'"
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PG_PASSWORD.encode() not in data and PG_USER.encode() not in data, path
            assert f"127.0.0.1:{postgres.port}".encode() not in data, path


def test_database_errors_name_no_secret(postgres, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RG_DB_USER", PG_USER)
    monkeypatch.setenv("RG_DB_PASSWORD", "wrong-" + PG_PASSWORD)
    url = f"postgresql+psycopg://${{RG_DB_USER}}:${{RG_DB_PASSWORD}}@127.0.0.1:{postgres.port}/registry"
    spec = SPEC.replace(
        "data: {path: registry.csv, id: pid}", f'data: {{url: "{url}", query: "select * from registry"}}'
    )
    (tmp_path / "study.yaml").write_text(spec, encoding="utf-8")
    assert main(["render", str(tmp_path / "study.yaml"), "--out", str(tmp_path / "out"), "--format", "html"]) == 2
    err = capsys.readouterr().err
    assert "postgresql database 'registry': data.query: the database query failed" in err
    assert PG_PASSWORD not in err
    monkeypatch.delenv("RG_DB_PASSWORD")
    with pytest.raises(UserError, match="RG_DB_PASSWORD named in data.url are not set"):
        validate(tmp_path / "study.yaml")


def test_sas_transport_file(small_registry, tmp_path) -> None:
    import pyreadstat

    spec = small_registry()
    pyreadstat.write_xport(_frame(), str(tmp_path / "registry.xpt"))
    spec.write_text(spec.read_text(encoding="utf-8").replace("registry.csv", "registry.xpt"), encoding="utf-8")
    study, cohort = validate(spec)
    assert cohort.n == len(registry_rows())
    out = build(spec, tmp_path / "out", ["html"]).out_dir
    assert _n_included(out) == len(registry_rows())


def test_stata_file(small_registry, tmp_path) -> None:
    import pyreadstat

    spec = small_registry()
    pyreadstat.write_dta(_frame(), str(tmp_path / "registry.dta"))
    spec.write_text(spec.read_text(encoding="utf-8").replace("registry.csv", "registry.dta"), encoding="utf-8")
    _, cohort = validate(spec)
    assert cohort.n == len(registry_rows())
    assert sorted(cohort.group_levels) == ["A", "B", "C"]


def test_duckdb_over_parquet_files(small_registry, tmp_path) -> None:
    spec = small_registry()
    frame = _frame()
    frame.iloc[:100].to_parquet(tmp_path / "part1.parquet")
    frame.iloc[100:].to_parquet(tmp_path / "part2.parquet")
    spec.write_text(
        spec.read_text(encoding="utf-8").replace(
            "data: {path: registry.csv, id: pid}", 'data: {path: "part*.parquet", engine: duckdb, id: pid}'
        ),
        encoding="utf-8",
    )
    _, cohort = validate(spec)
    assert cohort.n == len(frame)


def test_path_or_url_required(small_registry) -> None:
    spec = small_registry()
    spec.write_text(spec.read_text(encoding="utf-8").replace("path: registry.csv, ", ""), encoding="utf-8")
    with pytest.raises(UserError, match="give either 'path' \\(a data file\\) or 'url'"):
        validate(spec)
