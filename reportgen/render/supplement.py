"""Supplement assembly: Study + Results + the main Report (+ its PDF page numbers) -> supplement HTML.

Holds the STROBE checklist with where (and on which page of report.pdf) each item is
addressed, the missing-data table, univariable models, proportional-hazards diagnostics,
the complete spec and the reproducibility appendix.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..figures.report_figures import RenderedFigure, supplement_figures
from ..figures.style import FigureStyle
from ..format import NumberStyle
from ..format.presets import number_style
from ..narrative.facts import report_facts
from ..narrative.strobe import Item, checklist
from ..spec.model import Study
from ..tables.builders import supplement_tables
from ..tables.model import Row, Table
from .env import make_env
from .report import Report, _css, pdf_metadata, term_labels


@dataclass(frozen=True)
class Supplement:
    html: str
    tables: list[Table]
    figures: list[RenderedFigure]
    checklist: list[Item]


@dataclass(frozen=True)
class PagedItem:
    number: str
    topic: str
    text: str
    anchors: tuple[str, ...]
    where: str
    status: str
    page: str | None


def _pages(item: Item, pages: dict[str, int] | None) -> str | None:
    if not pages or not item.anchors:
        return None
    found = sorted({pages[a] for a in item.anchors if a in pages})
    return ", ".join(str(p) for p in found) or None


def checklist_table(items: list[PagedItem]) -> Table:
    rows = tuple(Row(i.number, (i.topic, i.text, i.where, i.page or "")) for i in items)
    return Table(
        "strobe",
        "STROBE checklist: where each item is addressed",
        "Item",
        ("Topic", "Recommendation", "Where addressed", "Page"),
        rows,
    )


def build_supplement(
    study: Study,
    results: dict[str, Any],
    report: Report,
    spec_text: str,
    spec_name: str,
    spec_dir: Path,
    pages: dict[str, int] | None = None,
    style: NumberStyle | None = None,
    fig_style: FigureStyle | None = None,
) -> Supplement:
    style = style or number_style(study.style)
    fig_style = fig_style or FigureStyle()
    tables = supplement_tables(results, style)
    figures = supplement_figures(results, style, fig_style)
    items = checklist(
        study,
        results,
        {t.id: t.label for t in report.tables} | {t.id: t.label for t in tables},
        {f.id: f.label for f in report.figures},
    )
    paged = [PagedItem(i.number, i.topic, i.text, i.anchors, i.where, i.status, _pages(i, pages)) for i in items]
    table = checklist_table(paged)
    labels = term_labels(study)
    env = make_env(style, (spec_dir / study.templates) if study.templates else None, labels)
    html = env.get_template("supplement/supplement.html.j2").render(
        study=study,
        results=results,
        facts=report_facts(results),
        checklist=paged,
        checklist_table=table,
        tables=tables,
        figures=figures,
        css=_css(study),
        meta=pdf_metadata(study),
        term_labels=labels,
        pages=pages,
        spec_text=spec_text,
        spec_name=spec_name,
    )
    return Supplement(html=html, tables=[replace(table), *tables], figures=figures, checklist=items)
