"""Report assembly: Study + Results -> an in-memory ``Report`` (HTML text, tables, figures).

Everything is built before anything is written; renderers are pure functions of
the Results, so the same data and spec give byte-identical HTML.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..figures.report_figures import RenderedFigure, all_figures
from ..figures.style import FigureStyle
from ..format import NumberStyle
from ..format.presets import number_style
from ..narrative.facts import report_facts
from ..resources import asset_dir
from ..spec.model import Study
from ..tables.builders import all_tables
from ..tables.model import Table
from .env import make_env


@dataclass(frozen=True)
class Report:
    html: str
    tables: list[Table]
    figures: list[RenderedFigure]


def _css(study: Study | None = None) -> dict[str, Markup]:
    """The shipped style sheets (base, the study's preset, screen, print + its page layout), marked safe:
    CSS inside <style> is raw text, so HTML-escaping would corrupt its quotes. They are our own files
    (or generated from validated spec values); '</' is refused so a sheet cannot close the element."""
    styles = asset_dir("styles")
    preset = study.style if study is not None else "default"
    sheets = {name: (styles / f"{name}.css").read_text(encoding="utf-8") for name in ("base", "screen", "print")}
    sheets["base"] += "\n" + (styles / "presets" / f"{preset}.css").read_text(encoding="utf-8")
    if study is not None:
        sheets["base"] += "\n" + layout_css(study)
        sheets["print"] += "\n" + page_css(study)
    for name, text in sheets.items():
        if "</" in text:
            raise ValueError(f"styles/{name}.css must not contain '</'")
    return {name: Markup(text) for name, text in sheets.items()}


def layout_css(study: Study) -> str:
    """Typeface choice from the spec's layout."""
    if study.layout.font == "sans":
        return 'body { font-family: "DejaVu Sans", "Helvetica", sans-serif; }'
    return ""


BODY_LINE_PT = 15.75  # 10.5 pt text at line-height 1.5 (styles/print.css)


def page_css(study: Study) -> str:
    """Paper size, the landscape page for wide tables, and optional review line numbers."""
    size = study.layout.page_size
    css = [
        f"@page {{ size: {size}; }}",
        f"@page wide {{ size: {size} landscape; }}",
        "figure.table.wide { page: wide; }",
    ]
    if study.layout.line_numbers:
        numbers = "\\A ".join(str(i) for i in range(1, 61))
        css.append(
            '@page { @left-top { content: "' + numbers + '"; white-space: pre; font-size: 7pt; '
            f"line-height: {BODY_LINE_PT}pt; color: #888; vertical-align: top; text-align: right; "
            "padding-right: 4mm; padding-top: 0; } }"
        )
        css.append(f"p, li {{ line-height: {BODY_LINE_PT}pt; }}")
    return "\n".join(css)


def pdf_metadata(study: Study) -> dict[str, str]:
    """Document metadata (WeasyPrint writes it into the PDF): author, subject, keywords, and a creation date
    from SOURCE_DATE_EPOCH, else the data cut-off, so that the same input gives the same PDF."""
    created = None
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        created = datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    elif study.study.data_cutoff is not None:
        created = study.study.data_cutoff.isoformat()
    meta = {
        "author": ", ".join(study.author_names()),
        "description": f"Survival analysis report: {study.title}",
        "keywords": ", ".join(["survival analysis", "Kaplan-Meier", "Cox regression", study.study.design]),
    }
    if created:
        meta["dcterms.created"] = created
        meta["dcterms.modified"] = created
    return {k: v for k, v in meta.items() if v}


def word_count(html: str) -> int:
    """Words of visible text (tags removed), as a journal counts them."""
    text = re.sub(r"<[^>]+>", " ", html)
    return len(re.findall(r"\S+", text))


def render_abstract(env: Any, context: dict[str, Any], limit: int) -> Markup:
    """The structured abstract at the most detailed level that fits the word limit; if even the
    shortest is too long, it is kept with a visible note to the authors."""
    template = env.get_template("manuscript/abstract.html.j2")
    for detail in (2, 1, 0):
        html = template.render(**context, detail=detail, over_limit=None)
        words = word_count(html)
        if words <= limit:
            return Markup(html)
    return Markup(template.render(**context, detail=0, over_limit=words))


def term_labels(study: Study) -> dict[str, str]:
    labels = {"group": study.group.label}
    labels.update({cid: cov.label or cid for cid, cov in study.covariates.items()})
    return labels


def build_report(
    study: Study,
    results: dict[str, Any],
    spec_dir: Path,
    style: NumberStyle | None = None,
    fig_style: FigureStyle | None = None,
) -> Report:
    style = style or number_style(study.style)
    fig_style = fig_style or FigureStyle()
    tables = all_tables(results, style)
    figures = all_figures(results, style, fig_style, study.analysis.km.break_time, study.analysis.subgroup.km_panels)
    user_templates = (spec_dir / study.templates) if study.templates else None
    labels = term_labels(study)
    env = make_env(style, user_templates, labels)
    first_ep = next(iter(study.endpoints.values()))
    context = {
        "study": study,
        "results": results,
        "facts": report_facts(results),
        "tables": {t.id: t for t in tables},
        "figures": {f.id: f for f in figures},
        "css": _css(study),
        "meta": pdf_metadata(study),
        "term_labels": labels,
        "strata_labels": [labels.get(c, c) for c in study.analysis.tests.strata],
        "multivariable_labels": [labels[t] for t in study.analysis.cox.multivariable],
        "km_unit": first_ep.time_unit,
    }
    abstract = render_abstract(env, context, study.manuscript.abstract_word_limit)
    html = env.get_template(f"{study.kind}/report.html.j2").render(**context, abstract_html=abstract)
    return Report(html=html, tables=tables, figures=figures)
