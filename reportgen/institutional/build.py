"""Institutional build: spec path -> registry -> protected results -> one report's files (bytes, in memory).

``build_institutional`` writes the institution's report (or one unit's, with ``focus``) into an output
folder atomically, as ``reportgen.build.build`` does for a manuscript; ``batch`` reuses the parts.
The unprotected counts never leave this process's memory: results.json, tables, figures and text
all read the protected results.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import fail
from ..spec.model import Study
from .analysis import analyse, report_results
from .counts import Counts, build_counts
from .prepare import CURRENT, Registry, load_registry


def prepare_all(study: Study, spec_path: Path) -> tuple[Registry, Counts, dict[str, Any]]:
    """Load, protect and analyse once for every report of the institution."""
    from ..build import finite, user_templates

    spec_dir = spec_path.resolve().parent
    user_templates(study, spec_dir)
    reg = load_registry(study, spec_dir)
    counts = build_counts(reg)
    results = finite(analyse(reg, counts))
    return reg, counts, results


def check_focus(reg: Registry, focus: str | None) -> None:
    if focus is not None and focus not in reg.units:
        raise fail(
            f"'{focus}' is not a {reg.options.unit.label.lower()} in the data",
            key="institutional.unit",
            hint=f"units: {', '.join(reg.units)}",
        )


def report_files(
    reg: Registry,
    counts: Counts,
    results: dict[str, Any],
    focus: str | None,
    formats: Iterable[str],
    spec_dir: Path,
) -> tuple[dict[str, bytes], list[str]]:
    """Every output file of one report as bytes, keyed by its path in the report's folder."""
    from ..build import _safe_name, _template_error, results_json, user_templates
    from ..render.xlsx import tables_to_xlsx
    from .report import build_institutional_report

    formats = list(formats)
    check_focus(reg, focus)
    mine = report_results(results, focus)
    if focus is not None:
        if not ((reg.unit == focus) & (reg.period == CURRENT)).any():
            raise fail(
                f"{reg.unit_labels[focus]} has no patients diagnosed in {reg.period_names['current']}",
                key="institutional.period",
                hint="no report is made for it",
            )
    try:
        report = build_institutional_report(reg, counts, mine, focus, spec_dir)
    except Exception as exc:
        folder = user_templates(reg.study, spec_dir)
        located = _template_error(exc, folder) if folder is not None else None
        if located is None:
            raise
        raise located from None
    files: dict[str, bytes] = {"results.json": results_json(mine)}
    warnings: list[str] = []
    if "html" in formats:
        files["report.html"] = report.html.encode("utf-8")
    for fig in report.figures:
        files[f"figures/{_safe_name(fig.id)}.svg"] = fig.svg
        files[f"figures/{_safe_name(fig.id)}.png"] = fig.png
    for table in report.tables:
        files[f"tables/{_safe_name(table.id)}.csv"] = table.to_csv().encode("utf-8")
    files["tables/tables.xlsx"] = tables_to_xlsx(report.tables, title=reg.study.title)
    if "docx" in formats:
        from ..render.docx import html_to_docx

        files["report.docx"] = html_to_docx(report, title=reg.study.title, authors=list(reg.study.authors))
    if "pdf" in formats:
        from ..render.pdf import render_pdf

        pdf, messages, _ = render_pdf(report.html)
        files["report.pdf"] = pdf
        warnings.extend(f"PDF: {m}" for m in messages)
    return files, warnings


def build_institutional(
    study: Study,
    spec_path: Path,
    out: Path,
    formats: Iterable[str],
    progress: Any,
    focus: str | None = None,
) -> Any:
    """The institution's report (or one unit's) written atomically into ``out``."""
    from ..build import BuildOutput, _fill_and_swap, check_output_folder, staging_folder

    formats = list(formats)
    progress("Reading the data and protecting small numbers")
    reg, counts, results = prepare_all(study, spec_path)
    check_focus(reg, focus)
    progress(f"Building the report ({len(reg.units)} {study.institutional.unit.label.lower()}s)")  # type: ignore[union-attr]
    with staging_folder(out) as tmp:
        files, warnings = report_files(reg, counts, results, focus, formats, spec_path.resolve().parent)
        check_output_folder(out)
        written = _fill_and_swap(tmp, out, files)
    return BuildOutput(out_dir=out, files=written, warnings=warnings)
