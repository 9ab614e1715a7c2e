"""Orchestration: spec file -> Study -> Cohort -> Results -> Report -> files in the output folder.

Outputs are assembled in memory, written to a temporary folder beside the target,
and moved into place only when complete: a failed or interrupted run leaves the
previous report untouched and no partial files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .data.cohort import Cohort, load_cohort
from .errors import fail
from .spec import Study, load_study

if TYPE_CHECKING:
    from .render.report import Report

FORMATS = ("html", "pdf")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildOutput:
    out_dir: Path
    files: list[Path]
    warnings: list[str]


def _quiet(_: str) -> None:
    return None


def results_json(results: dict[str, Any]) -> bytes:
    """Deterministic JSON: sorted keys are not used, so the contract's order stays readable."""
    return (json.dumps(results, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def validate(spec_path: Path) -> tuple[Study, Cohort]:
    """Load and check the spec and its data without rendering (``reportgen validate``)."""
    study = load_study(spec_path)
    cohort = load_cohort(study, spec_path.resolve().parent)
    return study, cohort


def render_files(
    study: Study, results: dict[str, Any], report: Report, formats: Iterable[str], progress: Progress = _quiet
) -> tuple[dict[str, bytes], list[str]]:
    """Every output file as bytes, keyed by its path relative to the output folder."""
    files: dict[str, bytes] = {"results.json": results_json(results)}
    warnings: list[str] = []
    if "html" in formats:
        files["report.html"] = report.html.encode("utf-8")
    for fig in report.figures:
        files[f"figures/{fig.id}.svg"] = fig.svg
        files[f"figures/{fig.id}.png"] = fig.png
    for table in report.tables:
        files[f"tables/{table.id}.csv"] = table.to_csv().encode("utf-8")
    if "pdf" in formats:
        progress("Writing PDF")
        from .render.pdf import html_to_pdf  # WeasyPrint is imported only when a PDF is asked for

        pdf, messages = html_to_pdf(report.html, title=study.title)
        files["report.pdf"] = pdf
        warnings.extend(f"PDF: {m}" for m in messages)
    return files, warnings


def write_atomically(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write all files into a fresh temporary folder, then swap it in for ``out_dir``."""
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        for rel, data in files.items():
            target = (tmp / rel).resolve()
            if tmp.resolve() not in target.parents:
                raise ValueError(f"refusing to write outside the output folder: {rel}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        old = None
        if out_dir.exists():
            old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out_dir / rel for rel in files]


def build(
    spec_path: str | Path,
    out_dir: str | Path | None = None,
    formats: Iterable[str] = FORMATS,
    progress: Progress = _quiet,
) -> BuildOutput:
    """The whole pipeline; raises ``UserError`` for problems with the spec or the data."""
    spec_path = Path(spec_path)
    formats = list(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise fail(
            f"unknown output format(s): {', '.join(unknown)}", key="--format", hint=f"choose from: {', '.join(FORMATS)}"
        )
    out = Path(out_dir) if out_dir is not None else Path("build") / spec_path.stem
    progress("Reading the spec and the data")
    study, cohort = validate(spec_path)
    from .analysis.runner import run_analyses
    from .render.report import build_report

    progress(f"Analysing {cohort.n} patients")
    results = run_analyses(study, cohort)
    progress("Building tables, figures and text")
    report = build_report(study, results, spec_path.resolve().parent)
    files, warnings = render_files(study, results, report, formats, progress)
    written = write_atomically(out, files)
    return BuildOutput(out_dir=out.resolve(), files=written, warnings=warnings)
