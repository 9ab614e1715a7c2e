"""Orchestration: spec file -> Study -> Cohort -> Results -> Report -> files in the output folder.

Outputs are assembled in memory, written to a temporary folder beside the target,
and moved into place only when complete: a failed or interrupted run leaves the
previous report untouched and no partial files or temporary folders. The output
folder is replaced as a whole, so only a new or empty folder or a previous report's
folder is accepted as the target.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .data.cohort import Cohort, load_cohort
from .errors import UserError, fail
from .spec import Study, load_study

if TYPE_CHECKING:
    from .render.report import Report

FORMATS = ("html", "pdf", "docx")
DEFAULT_FORMATS = ("html", "pdf")  # Word is written on request (--format html,pdf,docx)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildOutput:
    out_dir: Path
    files: list[Path]
    warnings: list[str]


def _quiet(_: str) -> None:
    return None


def results_json(results: dict[str, Any]) -> bytes:
    """Deterministic JSON, indented for reading, with lists of plain values on one line (a step table of
    thousands of numbers stays compact). Key order is the contract's, not sorted."""
    return (_dump(results, 0) + "\n").encode("utf-8")


def _dump(value: Any, depth: int) -> str:
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {_dump(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + _dump(v, depth + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


def finite(value: Any) -> Any:
    """The results with every NaN or infinite float replaced by None: JSON has no NaN, and a value
    that cannot be estimated is null (the contract), whichever analysis produced it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def user_templates(study: Study, spec_dir: Path) -> Path | None:
    """The spec's own template folder (``templates:``, relative to the spec), checked to exist."""
    if not study.templates:
        return None
    folder = spec_dir / study.templates
    if not folder.is_dir():
        raise fail(
            f"template folder not found: {folder}",
            key="templates",
            hint="the folder is relative to the spec file's folder; remove 'templates:' to use the shipped ones",
        )
    return folder


def validate(spec_path: Path, scheduler: str | None = None) -> tuple[Study, Cohort]:
    """Load and check the spec and its data without rendering (``reportgen validate``). With
    ``data.engine: dask`` the checks run on the cluster (``scheduler``, the spec's, or a local one)
    and the cohort returned is a ``scale.cohort.ScaledCohort`` (counts only)."""
    study = load_study(spec_path)
    user_templates(study, spec_path.resolve().parent)
    if study.data.engine == "dask":
        from .scale.runner import validate_at_scale

        return study, validate_at_scale(study, spec_path.resolve().parent, scheduler)  # type: ignore[return-value]
    if study.kind == "institutional":
        from .institutional.prepare import load_registry

        return study, load_registry(study, spec_path.resolve().parent).cohort
    cohort = load_cohort(study, spec_path.resolve().parent)
    return study, cohort


_REPORT_ENTRIES = {
    "report.html",
    "report.pdf",
    "report.docx",
    "results.json",
    "supplement.html",
    "supplement.pdf",
    "figures",
    "tables",
}


def check_output_folder(out_dir: Path) -> None:
    """Refuse an output path that is a file, or a folder that holds anything but a previous report:
    the whole folder is replaced by the new report, so it must never hold the user's other files."""
    if out_dir.exists() and not out_dir.is_dir():
        raise fail(
            "the output path is an existing file, not a folder",
            where=str(out_dir),
            key="--out",
            hint="give a new folder name (it is created), or a previous report's folder",
        )
    if out_dir.is_dir():
        entries = {p.name for p in out_dir.iterdir()}
        if entries and ("results.json" not in entries or not entries <= _REPORT_ENTRIES):
            others = sorted(entries - _REPORT_ENTRIES) or sorted(entries)
            raise fail(
                "the output folder exists and holds files that are not a previous report "
                f"({', '.join(others[:5])}{', ...' if len(others) > 5 else ''}); it would be replaced as a whole",
                where=str(out_dir),
                key="--out",
                hint="give a new or empty folder, or a previous report's folder",
            )


def _safe_name(name: str) -> str:
    """A file name made of letters, digits, '_', '-' and '.' only (figure ids can carry column names)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).lstrip(".")
    return safe or "_"


def render_files(
    study: Study,
    results: dict[str, Any],
    report: Report,
    formats: Iterable[str],
    progress: Progress = _quiet,
    spec_path: Path | None = None,
) -> tuple[dict[str, bytes], list[str]]:
    """Every output file as bytes, keyed by its path relative to the output folder."""
    files: dict[str, bytes] = {"results.json": results_json(results)}
    warnings: list[str] = []
    if "html" in formats:
        files["report.html"] = report.html.encode("utf-8")
    for fig in report.figures:
        files[f"figures/{_safe_name(fig.id)}.svg"] = fig.svg
        files[f"figures/{_safe_name(fig.id)}.png"] = fig.png
    for table in report.tables:
        files[f"tables/{_safe_name(table.id)}.csv"] = table.to_csv().encode("utf-8")
    from .render.xlsx import tables_to_xlsx

    files["tables/tables.xlsx"] = tables_to_xlsx(report.tables, title=study.title)
    if "docx" in formats:
        progress("Writing Word document")
        from .render.docx import html_to_docx

        files["report.docx"] = html_to_docx(report, title=study.title, authors=study.author_names())
    pages: dict[str, int] | None = None
    if "pdf" in formats:
        progress("Writing PDF")
        from .render.pdf import render_pdf  # WeasyPrint is imported only when a PDF is asked for

        pdf, messages, pages = render_pdf(report.html)
        files["report.pdf"] = pdf
        warnings.extend(f"PDF: {m}" for m in messages)
    if spec_path is not None and study.kind == "manuscript" and study.manuscript.supplement:
        progress("Writing the supplement")
        files.update(_supplement_files(study, results, report, spec_path, formats, pages, warnings))
    if study.figures.submission:
        progress("Writing figures for submission")
        from .figures.submission import study_submission_figures

        submission, notes = study_submission_figures(study, results)
        files.update(submission)
        warnings.extend(f"Submission figures: {note}" for note in notes)
    return files, warnings


def _supplement_files(
    study: Study,
    results: dict[str, Any],
    report: Report,
    spec_path: Path,
    formats: list[str],
    pages: dict[str, int] | None,
    warnings: list[str],
) -> dict[str, bytes]:
    """supplement.html/.pdf (STROBE checklist with report.pdf page numbers, supplementary tables and
    figures, the spec), and their tables and figures as files."""
    from .render.supplement import build_supplement

    spec_text = spec_path.read_text(encoding="utf-8-sig")
    supp = build_supplement(study, results, report, spec_text, spec_path.name, spec_path.resolve().parent, pages)
    files: dict[str, bytes] = {}
    if "html" in formats:
        files["supplement.html"] = supp.html.encode("utf-8")
    for fig in supp.figures:
        files[f"figures/{_safe_name(fig.id)}.svg"] = fig.svg
        files[f"figures/{_safe_name(fig.id)}.png"] = fig.png
    for table in supp.tables:
        files[f"tables/{_safe_name(table.id)}.csv"] = table.to_csv().encode("utf-8")
    if "pdf" in formats:
        from .render.pdf import render_pdf

        pdf, messages, _ = render_pdf(supp.html)
        files["supplement.pdf"] = pdf
        warnings.extend(f"Supplement PDF: {m}" for m in messages)
    return files


@contextmanager
def staging_folder(out_dir: Path) -> Iterator[Path]:
    """A fresh temporary folder beside ``out_dir`` (same file system, so the final move is atomic);
    removed on leaving, whether the block succeeded, failed or was interrupted."""
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    except OSError as exc:
        raise _cannot_write(exc, out_dir) from None
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cannot_write(exc: OSError, out_dir: Path) -> UserError:
    return fail(
        f"cannot write the report: {exc.strerror or exc}",
        where=str(out_dir),
        key="--out",
        hint="choose a folder you can write to, on a disk with free space; the previous report is unchanged",
    )


def _fill_and_swap(tmp: Path, out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write the files into ``tmp``, then move ``tmp`` to ``out_dir`` (the previous report, if any,
    is moved aside first and put back if the move fails)."""
    for rel in files:
        if tmp.resolve() not in (tmp / rel).resolve().parents:
            raise ValueError(f"refusing to write outside the output folder: {rel}")
    old = None
    try:
        for rel, data in files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        try:
            if out_dir.exists():
                old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}.tmp"
                os.replace(out_dir, old)
            os.replace(tmp, out_dir)
        except BaseException:
            if old is not None and not out_dir.exists():
                os.replace(old, out_dir)  # put the previous report back
            raise
    except OSError as exc:
        raise _cannot_write(exc, out_dir) from None
    finally:
        if old is not None and old.exists() and out_dir.exists():
            shutil.rmtree(old, ignore_errors=True)
    return [out_dir / rel for rel in files]


def write_atomically(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write all files into a fresh temporary folder, then swap it in for ``out_dir``."""
    out_dir = out_dir.resolve()
    check_output_folder(out_dir)
    with staging_folder(out_dir) as tmp:
        return _fill_and_swap(tmp, out_dir, files)


def _template_error(exc: Exception, folder: Path) -> UserError | None:
    """A problem raised while running one of the user's own templates, located at its file and line
    (Jinja puts template files and lines into the traceback); None when no user template is involved."""
    folder = folder.resolve()
    where = None
    if getattr(exc, "filename", None) and getattr(exc, "lineno", None):  # TemplateSyntaxError
        where = (Path(exc.filename), exc.lineno)  # type: ignore[attr-defined]
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if path.suffix != ".py" and path.is_absolute() and folder in path.resolve().parents and frame.lineno:
            where = (path, frame.lineno)
    if where is None or folder not in where[0].resolve().parents:
        return None
    message = getattr(exc, "message", None) or str(exc)
    hint = "fix the template at that line, or remove it to use the shipped one"
    if "unsafe" in message or type(exc).__name__ == "SecurityError":
        message = f"not allowed in a template: {message}"
        hint = "templates run sandboxed: they may show the report's values but not reach Python internals; " + hint
    else:
        message = f"{type(exc).__name__}: {message}"
    return fail(message, where=f"{where[0]}, line {where[1]}", key="templates", hint=hint)


def build(
    spec_path: str | Path,
    out_dir: str | Path | None = None,
    formats: Iterable[str] = DEFAULT_FORMATS,
    progress: Progress = _quiet,
    scheduler: str | None = None,
) -> BuildOutput:
    """The whole pipeline; raises ``UserError`` for problems with the spec or the data. With
    ``data.engine: dask`` the analyses run on a Dask cluster (``scheduler`` overrides the spec's
    ``compute.scheduler``; default a local cluster) and the rest of the pipeline is unchanged."""
    spec_path = Path(spec_path)
    formats = list(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise fail(
            f"unknown output format(s): {', '.join(unknown)}", key="--format", hint=f"choose from: {', '.join(FORMATS)}"
        )
    out = (Path(out_dir) if out_dir is not None else Path("build") / spec_path.stem).resolve()
    check_output_folder(out)
    progress("Reading the spec and the data")
    spec = load_study(spec_path)
    if spec.kind == "institutional":
        from .institutional.build import build_institutional

        return build_institutional(spec, spec_path, out, formats, progress)
    from .render.report import build_report

    if scheduler is not None and spec.data.engine != "dask":
        raise fail(
            f"--scheduler needs data.engine: dask (the spec reads its data with {spec.data.engine})",
            key="--scheduler",
            hint="set data.engine: dask in the spec to run on a cluster, or remove --scheduler",
        )
    if spec.data.engine == "dask":
        from .scale.runner import analyse_at_scale

        study = spec
        user_templates(study, spec_path.resolve().parent)
        results = finite(analyse_at_scale(study, spec_path.resolve().parent, scheduler, progress))
    else:
        from .analysis.runner import run_analyses

        study, cohort = validate(spec_path)
        progress(f"Analysing {cohort.n} patients")
        results = finite(run_analyses(study, cohort))
    progress("Building tables, figures and text")
    spec_dir = spec_path.resolve().parent
    try:
        report = build_report(study, results, spec_dir)
    except Exception as exc:
        folder = user_templates(study, spec_dir)
        located = _template_error(exc, folder) if folder is not None else None
        if located is None:
            raise
        raise located from None
    with staging_folder(out) as tmp:
        files, warnings = render_files(study, results, report, formats, progress, spec_path)
        check_output_folder(out)
        written = _fill_and_swap(tmp, out, files)
    return BuildOutput(out_dir=out, files=written, warnings=warnings)
