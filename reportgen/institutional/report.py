"""Institutional report assembly: results (+ registry, for curves) -> an in-memory ``Report`` (HTML, tables, figures).

The report is for the whole institution (``focus=None``) or one unit. Templates live in
templates/institutional/ (a spec's own ``templates:`` folder is searched first); the shared
sandboxed Jinja environment is used, so user templates cannot reach Python internals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..figures.style import FigureStyle
from ..format import NumberStyle
from ..render.env import make_env
from ..render.report import Report
from ..resources import asset_dir
from .counts import Counts
from .figures import funnel_figure, km_group_figure, trend_figure
from .prepare import Registry
from .tables import all_tables
from .words import count_cell, summary, year_phrase


def css() -> dict[str, Markup]:
    """The shipped style sheets plus the institutional additions, marked safe ('</' refused)."""
    styles = asset_dir("styles")
    sheets = {name: (styles / f"{name}.css").read_text(encoding="utf-8") for name in ("base", "screen", "print")}
    sheets["institutional"] = (asset_dir("templates") / "institutional" / "institutional.css.j2").read_text("utf-8")
    for name, text in sheets.items():
        if "</" in text:
            raise ValueError(f"style sheet {name} must not contain '</'")
    return {name: Markup(text) for name, text in sheets.items()}


def _words_list(items: list[str]) -> str:
    items = [i.lower() for i in items]
    if not items:
        return "case mix"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def build_institutional_report(
    reg: Registry,
    counts: Counts,
    results: dict[str, Any],
    focus: str | None,
    spec_dir: Path,
    style: NumberStyle | None = None,
    fig_style: FigureStyle | None = None,
) -> Report:
    """The report of the institution (``focus=None``) or of one unit, from the report's own results."""
    style = style or NumberStyle()
    fig_style = fig_style or FigureStyle()
    study = reg.study
    inst = reg.options
    tables = all_tables(results, focus, style)
    figures = []
    km_ids: dict[str, list[str]] = {}
    for eid in results["endpoints"]:
        trend = trend_figure(results, eid, focus, fig_style)
        if trend is not None:
            figures.append(trend)
        km_ids[eid] = []
        for col in inst.km_by if inst.km_by is not None else list(reg.strata)[:1]:
            fig = km_group_figure(reg, counts, eid, col, focus, fig_style)
            if fig is not None:
                figures.append(fig)
                km_ids[eid].append(fig.id)
        by_period = km_group_figure(reg, counts, eid, "period", focus, fig_style)
        if by_period is not None:
            figures.append(by_period)
    funnel = funnel_figure(results, focus, fig_style)
    if funnel is not None:
        figures.append(funnel)
    figures = [f.with_number(i + 1) for i, f in enumerate(_in_report_order(figures, results, km_ids))]
    user = (spec_dir / study.templates) if study.templates else None
    env = make_env(style, user)
    env.filters["count_cell"] = count_cell
    ra = next(iter(results["endpoints"].values()))["risk_adjustment"]
    mix = [results["covariate_labels"].get(c, c) for c in (ra["case_mix"] if ra else [])]
    context = {
        "study": study,
        "results": results,
        "focus": focus,
        "focus_label": results["unit"]["labels"].get(focus) if focus else None,
        "summary": summary(results, focus),
        "tables": {t.id: t for t in tables},
        "figures": {f.id: f for f in figures},
        "km_ids": km_ids,
        "flow": results["cohort"]["flow"],
        "css": css(),
        "case_mix_words": _words_list(mix),
        "time_points_words": ", ".join(year_phrase(y) for y in inst.time_points),
        "conf_words": f"{inst.conf_level * 100:g}%",
    }
    html = env.get_template("institutional/report.html.j2").render(**context)
    return Report(html=html, tables=tables, figures=figures)


def _in_report_order(figures: list[Any], results: dict[str, Any], km_ids: dict[str, list[str]]) -> list[Any]:
    """Figures numbered in the order the template shows them."""
    by_id = {f.id: f for f in figures}
    order: list[str] = []
    for eid in results["endpoints"]:
        order += [f"trend_{eid}", *km_ids[eid], f"km_{eid}_by_period"]
    order.append("funnel")
    return [by_id[i] for i in order if i in by_id]
