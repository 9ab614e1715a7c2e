"""Report figures: Results mapping -> rendered figures (SVG and PNG bytes, caption, alt text).

Figures read only the Results (each KM curve's step table), never the data, so a
figure cannot disagree with the tables and the text.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..format import NumberStyle, ci, num, p_text
from ..narrative.words import conf_pct, lower_first, median_phrase
from .export import figure_bytes
from .km import CurveInput, km_figure
from .style import FigureStyle

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class RenderedFigure:
    id: str
    caption: str
    alt: str
    svg: bytes
    png: bytes
    width_px: int
    height_px: int
    number: int | None = None
    prefix: str = ""  # "S" for supplementary figures
    #: The matplotlib Figure the bytes came from, for further exports (figures/submission/).
    figure: Figure | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return f"Figure {self.prefix}{self.number}"

    @property
    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")

    def with_number(self, n: int, prefix: str = "") -> RenderedFigure:
        return replace(self, number=n, prefix=prefix)


def curve_from_table(table: dict[str, list[Any]]) -> SimpleNamespace:
    """A step table from results.json as the array object the KM figure takes."""

    def arr(key: str, dtype: Any) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in table[key]], dtype=dtype)

    return SimpleNamespace(
        time=arr("time", float),
        n_risk=arr("n_risk", int),
        n_event=arr("n_event", int),
        n_censor=arr("n_censor", int),
        survival=arr("survival", float),
        lower=arr("lower", float),
        upper=arr("upper", float),
    )


def _annotation(results: dict[str, Any], ep: dict[str, Any], style: NumberStyle) -> str:
    lines = [f"Log-rank {p_text(ep['logrank']['p'], style)}"]
    group_rows = [r for r in ep["cox"]["univariable"] if r["variable"] == "group"]
    if len(group_rows) == 1 and group_rows[0]["hr"] is not None:
        r = group_rows[0]
        lines.append(
            f"HR {num(r['hr'], style.hr_digits, style)} "
            f"({conf_pct(ep['cox']['conf_level'])} CI {ci(*r['ci'], style.hr_digits, style)})"
        )
    return "\n".join(lines)


def km_endpoint_figure(
    results: dict[str, Any], eid: str, style: NumberStyle, fig_style: FigureStyle, break_time: float | None = None
) -> RenderedFigure:
    ep = results["endpoints"][eid]
    labels = results["cohort"]["group_labels"]
    curves = [CurveInput(labels[g], curve_from_table(ep["km"]["groups"][g]["table"])) for g in labels]
    fig = km_figure(
        curves,
        time_unit=ep["time_unit"],
        xlabel=f"Time since start of follow-up ({ep['time_unit']})",
        ylabel=f"{ep['label']} probability",
        annotation=_annotation(results, ep, style),
        break_time=break_time,
        style=fig_style,
    )
    svg = figure_bytes(fig, "svg")
    png = figure_bytes(fig, "png")
    w, h = fig.get_size_inches()
    level = ep["km"]["conf_level"]
    medians = " vs ".join(
        f"{labels[g]} {median_phrase(k, ep['time_unit'], level, style)}" for g, k in ep["km"]["groups"].items()
    )
    caption = (
        f"Kaplan-Meier estimates of {lower_first(ep['label'])} by group. Shaded bands are {conf_pct(level)} "
        f"pointwise confidence intervals ({ep['km']['conf_type']} transformation); tick marks show censored "
        "observations; the numbers at risk are given below the time axis. "
        f"HR, hazard ratio ({ep['cox']['ties'].capitalize()} ties) for "
        f"{' vs '.join(list(labels.values())[1:])} versus {list(labels.values())[0]}."
    )
    alt = (
        f"Kaplan-Meier curves of {lower_first(ep['label'])} by group; median {medians}; "
        f"log-rank {p_text(ep['logrank']['p'], style)}."
    )
    return RenderedFigure(f"km_{eid}", caption, alt, svg, png, int(w * 96), int(h * 96), figure=fig)


def _rendered(fig: Any, fid: str, caption: str, alt: str) -> RenderedFigure:
    w, h = fig.get_size_inches()
    return RenderedFigure(
        fid, caption, alt, figure_bytes(fig, "svg"), figure_bytes(fig, "png"), int(w * 96), int(h * 96), figure=fig
    )


def forest_endpoint_figure(
    results: dict[str, Any], eid: str, style: NumberStyle, fig_style: FigureStyle
) -> RenderedFigure:
    from ..tables.builders import subgroup_lines
    from .forest import ForestRow, forest_figure

    ep = results["endpoints"][eid]
    labels = list(results["cohort"]["group_labels"].values())
    lines = subgroup_lines(results, eid, style)
    rows = [
        ForestRow(
            label=ln.label,
            kind=ln.kind if ln.kind != "row" else "row",
            indent=ln.indent,
            hr=ln.hr,
            lower=ln.lower,
            upper=ln.upper,
            weight=ln.weight,
            columns=(*ln.arms, ln.hr_text, ln.p_interaction),
            note=ln.note,
        )
        for ln in lines
    ]
    level = conf_pct(ep["km"]["conf_level"])
    fig = forest_figure(
        rows,
        column_labels=(*(f"{g}\nn (events)" for g in labels), f"HR ({level} CI)", "p for\ninteraction"),
        favours=(labels[1], labels[0]) if len(labels) == 2 else None,
        x_label=f"Hazard ratio ({level} CI), log scale",
        style=fig_style,
    )
    tests = ep["subgroup_tests"]
    caption = (
        f"Forest plot of {lower_first(ep['label'])}: hazard ratios of "
        f"{' and '.join(labels[1:])} versus {labels[0]} overall and within subgroups (Cox regression), "
        "with p-values of the likelihood-ratio test for interaction. Squares are sized by the inverse "
        "variance of the estimate; arrows mark confidence limits beyond the axis. Subgroup analyses are "
        "exploratory."
    )
    alt = (
        f"Forest plot of {lower_first(ep['label'])} hazard ratios in {len(tests)} subgroup variables; "
        + "; ".join(f"{t['label']}: interaction {p_text(t['p'], style)}" for t in tests.values())
        + "."
    )
    return _rendered(fig, f"forest_{eid}", caption, alt)


def km_panel_figure(
    results: dict[str, Any],
    eid: str,
    column: str,
    style: NumberStyle,
    fig_style: FigureStyle,
    break_time: float | None = None,
) -> RenderedFigure | None:
    from .km import km_panels

    ep = results["endpoints"][eid]
    panels_data = ep.get("subgroup_curves", {}).get(column)
    if not panels_data:
        return None
    labels = results["cohort"]["group_labels"]
    panels = [
        (
            p["level"],
            [CurveInput(labels[g], curve_from_table(p["groups"][g]["table"])) for g in labels if g in p["groups"]],
        )
        for p in panels_data["panels"]
    ]
    fig = km_panels(
        panels,
        time_unit=ep["time_unit"],
        xlabel=f"Time ({ep['time_unit']})",
        ylabel=f"{ep['label']} probability",
        break_time=break_time,
        style=fig_style,
    )
    level = ep["km"]["conf_level"]
    parts = []
    for p in panels_data["panels"]:
        meds = " vs ".join(
            f"{labels[g]} {median_phrase(k, ep['time_unit'], level, style)}" for g, k in p["groups"].items()
        )
        parts.append(f"{p['level']}: {meds}")
    caption = (
        f"Kaplan-Meier estimates of {lower_first(ep['label'])} by group within each level of "
        f"{lower_first(panels_data['label'])} (exploratory). Numbers at risk below each panel."
    )
    alt = (
        f"Kaplan-Meier curves of {lower_first(ep['label'])} by group within {panels_data['label']}; "
        + "; ".join(parts)
        + "."
    )
    return _rendered(fig, f"km_{eid}_by_{column}", caption, alt)


def flow_report_figure(results: dict[str, Any], fig_style: FigureStyle) -> RenderedFigure:
    """Participant flow (STROBE item 13): assessed -> excluded per step -> included -> per group."""
    from .flow import flow_figure

    cohort = results["cohort"]
    steps = [(f["reason"], f["n_excluded"]) for f in cohort["flow"]]
    groups = [(cohort["group_labels"][g], n) for g, n in cohort["groups"].items()]
    fig = flow_figure(cohort["n_assessed"], steps, groups, style=fig_style)
    caption = (
        "Participant flow: patients assessed for eligibility, excluded at each step (in the order the "
        "criteria were applied) and included in the analysis, by group."
    )
    alt = (
        f"Flow diagram: {cohort['n_assessed']} patients assessed; "
        + "; ".join(f"{n} excluded ({reason})" for reason, n in steps)
        + f"; {cohort['n_included']} included: "
        + ", ".join(f"{label} {n}" for label, n in groups)
        + "."
    )
    return _rendered(fig, "flow", caption, alt)


def _or_skip(
    skipped: list[str] | None, fid: str, make: Callable[..., RenderedFigure | None], *args: Any
) -> RenderedFigure | None:
    """``make(*args)``; with a ``skipped`` list, a figure that cannot be drawn at the style's width (its
    builder raises ValueError) is left out and the reason noted there, instead of stopping the run."""
    if skipped is None:
        return make(*args)
    try:
        return make(*args)
    except ValueError as exc:
        skipped.append(f"{fid}: {exc}")
        return None


def all_figures(
    results: dict[str, Any],
    style: NumberStyle,
    fig_style: FigureStyle,
    break_time: float | None = None,
    km_panels_by: str | None = None,
    skipped: list[str] | None = None,
) -> list[RenderedFigure]:
    """The report's figures in order; ``skipped`` (see ``_or_skip``) serves figures at other widths."""
    figs = [_or_skip(skipped, "flow", flow_report_figure, results, fig_style)] if results["cohort"]["flow"] else []
    for eid in results["endpoints"]:
        figs.append(_or_skip(skipped, f"km_{eid}", km_endpoint_figure, results, eid, style, fig_style, break_time))
        if km_panels_by:
            panel_args = (results, eid, km_panels_by, style, fig_style, break_time)
            figs.append(_or_skip(skipped, f"km_{eid}_by_{km_panels_by}", km_panel_figure, *panel_args))
    for eid, ep in results["endpoints"].items():
        if ep["subgroups"] and len(results["cohort"]["groups"]) == 2:
            figs.append(_or_skip(skipped, f"forest_{eid}", forest_endpoint_figure, results, eid, style, fig_style))
    return [f.with_number(i + 1) for i, f in enumerate(f for f in figs if f is not None)]


def zph_endpoint_figure(
    results: dict[str, Any], eid: str, style: NumberStyle, fig_style: FigureStyle
) -> RenderedFigure | None:
    """Scaled Schoenfeld residuals of the multivariable model's terms, with a spline smooth and band."""
    from .zph import zph_figure

    ep = results["endpoints"][eid]
    multi = ep["cox"]["multivariable"]
    ph = multi.get("ph_test") if multi else None
    data = ph.get("residuals") if ph else None
    if not data or len(data["time"]) < 3:
        return None
    labels = {r["variable"]: r["label"] for r in multi["terms"]}
    values = np.array([[np.nan if v is None else v for v in row] for row in data["values"]], dtype=float)
    p_by = {t["variable"]: t["p"] for t in ph["terms"]}
    fig = zph_figure(
        np.asarray(data["time"], dtype=float),
        values,
        [labels.get(t, t) for t in data["terms"]],
        coef=[np.nan if c is None else c for c in data["coef"]],
        p_values=[p_text(p_by.get(t), style) for t in data["terms"]],
        x_label=f"Time ({ep['time_unit']})",
        resid_var=data["var"],
        style=fig_style,
    )
    caption = (
        f"Scaled Schoenfeld residuals of the multivariable Cox model for {lower_first(ep['label'])}, one panel "
        "per term, against time, with a natural-spline smooth (4 df) and its band of ±2 standard errors "
        "(as R's plot.cox.zph); the dashed line is the model's coefficient. A smooth that departs from a "
        "horizontal line suggests a hazard ratio that changes over time; p-values from the "
        "Grambsch-Therneau test."
        + (f" The plot shows {len(data['time'])} of {data['n_events']} events." if data["subsampled"] else "")
    )
    alt = (
        f"Schoenfeld residual plots for {len(data['terms'])} terms of the {lower_first(ep['label'])} model; "
        f"global proportional-hazards test {p_text(ph['global_p'], style)}."
    )
    return _rendered(fig, f"zph_{eid}", caption, alt)


def supplement_figures(
    results: dict[str, Any], style: NumberStyle, fig_style: FigureStyle, skipped: list[str] | None = None
) -> list[RenderedFigure]:
    figs = [
        f
        for eid in results["endpoints"]
        if (f := _or_skip(skipped, f"zph_{eid}", zph_endpoint_figure, results, eid, style, fig_style))
    ]
    return [f.with_number(i + 1, "S") for i, f in enumerate(figs)]
