"""Batches (render --by): one report per unit plus an index, a failing unit reported without stopping the
others, and byte-identical HTML and results.json on a re-run."""

from __future__ import annotations

import hashlib
from pathlib import Path

from reportgen.batch import render_batch
from reportgen.build import build
from reportgen.cli import main

from .conftest import registry_csv

# unit D has patients only before the reporting period: its report cannot be made (a user error)
EXTRA = "SECRETID-9001,D,2019-03-01,II,55,F,2020-05-01,1\nSECRETID-9002,D,2020-04-02,I,61,M,2023-12-31,0\n"


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and (p.name in ("report.html", "results.json", "index.html") or p.suffix in (".csv", ".svg"))
    }


def test_failing_unit_is_reported_and_others_are_written(small_registry, tmp_path, capsys) -> None:
    spec = small_registry(data=registry_csv() + EXTRA)
    code = main(["render", str(spec), "--by", "unit", "--out", str(tmp_path / "batch"), "--format", "html"])
    err = capsys.readouterr().err
    assert code == 2
    assert "reportgen: D: not produced: D has no patients diagnosed in 2021\u20132022" in err
    out = tmp_path / "batch"
    assert sorted(p.name for p in out.iterdir()) == ["a", "b", "c", "d", "index.html", "institution"] or sorted(
        p.name for p in out.iterdir()
    ) == ["a", "b", "c", "index.html", "institution"]
    for folder in ("institution", "a", "b", "c"):
        assert (out / folder / "report.html").is_file()
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="a/report.html"' in index and 'D: <span class="failed">not produced</span>' in index


def test_wrong_column_is_a_user_error(small_registry, tmp_path, capsys) -> None:
    spec = small_registry()
    assert main(["render", str(spec), "--by", "stage", "--out", str(tmp_path / "b")]) == 2
    assert "the unit column is 'unit'" in capsys.readouterr().err


def test_reruns_are_byte_identical(small_registry, tmp_path) -> None:
    spec = small_registry()
    first = render_batch(spec, tmp_path / "one", "unit", ["html"], jobs=2)
    second = render_batch(spec, tmp_path / "two", "unit", ["html"], jobs=2)
    assert not first.failed and not second.failed
    a, b = _digests(first.out_dir), _digests(second.out_dir)
    assert len(a) > 20 and a == b
    single = build(spec, tmp_path / "single", ["html"]).out_dir
    assert (single / "report.html").read_bytes() == (first.out_dir / "institution" / "report.html").read_bytes()
    assert (single / "results.json").read_bytes() == (first.out_dir / "institution" / "results.json").read_bytes()
