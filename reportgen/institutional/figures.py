"""Institutional figures: protected results (and the registry, for curves) -> rendered figures.

- ``funnel_figure``: O/E of each unit against its expected deaths, with the exact Poisson 95% and
  99.8% control limits; units whose observed count is suppressed are not plotted.
- ``trend_figure``: survival at the first time point by year of diagnosis with its CI (the
  institution, and the focus unit).
- ``km_group_figure``: Kaplan-Meier curves by a stratifier or by period, using the shared KM
  figure without a numbers-at-risk table; a curve is drawn only for a group whose size is
  published and that has at least t deaths, and it stops where fewer than t remain at risk.

Matplotlib's object API only; bytes from ``figures.export.figure_bytes`` (deterministic).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from ..figures.export import figure_bytes
from ..figures.km import CurveInput, km_figure
from ..figures.report_figures import RenderedFigure
from ..figures.style import FigureStyle
from .counts import ALL, CUR, PATIENTS, Counts, events_measure
from .prepare import CURRENT, PREVIOUS, Registry
from .survival import curve, truncated_curve
from .words import percent_words, year_phrase


def _rendered(fig: Figure, fid: str, caption: str, alt: str) -> RenderedFigure:
    w, h = fig.get_size_inches()
    return RenderedFigure(
        fid, caption, alt, figure_bytes(fig, "svg"), figure_bytes(fig, "png"), int(w * 96), int(h * 96)
    )


def _figure(style: FigureStyle, height_ratio: float) -> tuple[Figure, Any]:
    fig = Figure(figsize=(style.width_in, style.width_in * height_ratio), dpi=style.dpi)
    ax = fig.add_subplot(1, 1, 1)
    return fig, ax


def _tidy(ax: Any, style: FigureStyle) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_linewidth(style.axis_line_width_pt)
    ax.tick_params(labelsize=style.font_size_pt, width=style.axis_line_width_pt)


def funnel_figure(
    results: dict[str, Any],
    focus: str | None,
    style: FigureStyle = FigureStyle(),  # noqa: B008 - frozen
) -> RenderedFigure | None:
    eid = next(iter(results["endpoints"]))
    ra = results["endpoints"][eid]["risk_adjustment"]
    if not ra or not ra["funnel"]:
        return None
    labels = results["unit"]["labels"]
    rows = [(u, r) for u, r in ra["units"].items() if r["ratio"] is not None]
    hidden = [labels[u] for u, r in ra["units"].items() if r["ratio"] is None]
    lim = ra["funnel"]
    with matplotlib.rc_context(style.rc()):
        fig, ax = _figure(style, 0.62)
        x = np.asarray(lim["expected"])
        grey = "#555555"
        ax.plot(x, lim["upper_99.8"], color=grey, lw=style.line_width_pt, ls="-", label="99.8% limits")
        ax.plot(x, lim["lower_99.8"], color=grey, lw=style.line_width_pt, ls="-")
        ax.plot(x, lim["upper_95"], color=grey, lw=style.line_width_pt * 0.9, ls="--", label="95% limits")
        ax.plot(x, lim["lower_95"], color=grey, lw=style.line_width_pt * 0.9, ls="--")
        ax.axhline(1.0, color="#000000", lw=style.axis_line_width_pt)
        for i, (u, r) in enumerate(rows):
            is_focus = focus is not None and u == focus
            colour = (
                style.colour(1)
                if is_focus or (focus is None and r["position"].startswith("above"))
                else style.colour(0)
            )
            ax.plot(
                [r["expected"]],
                [r["ratio"]],
                marker="o",
                ms=6 if is_focus else 4.5,
                color=colour,
                mec="#000000" if is_focus else colour,
                ls="none",
                zorder=3,
            )
            ax.annotate(
                labels[u],
                (r["expected"], r["ratio"]),
                xytext=(5, 4 if i % 2 == 0 else -9),
                textcoords="offset points",
                fontsize=style.font_size_pt * 0.95,
                fontweight="bold" if is_focus else "normal",
                color="#000000",
            )
        ax.set_xscale("log")
        ax.set_xlim(x[0], x[-1])
        ratios = [r["ratio"] for _, r in rows] + [1.0]
        lows = np.nanmin(np.asarray(lim["lower_99.8"], dtype=float))
        highs = np.nanmax(np.asarray(lim["upper_99.8"], dtype=float))
        ax.set_ylim(max(0.0, min(min(ratios), lows) * 0.9), max(max(ratios), highs) * 1.05)
        ax.set_xlabel(f"Expected deaths (case-mix adjusted, {results['periods'][CURRENT]['label']})")
        ax.set_ylabel("Observed / expected deaths")
        nice = [v * 10**k for k in range(-1, 7) for v in (1, 2, 5)]
        ax.set_xticks([v for v in nice if x[0] <= v <= x[-1]])
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,g}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.legend(frameon=False, fontsize=style.font_size_pt, loc="upper right")
        _tidy(ax, style)
        fig.subplots_adjust(left=0.1, right=0.97, bottom=0.14, top=0.97)
    unit_label = results["unit"]["label"].lower()
    caption = (
        f"Funnel plot: ratio of observed to expected deaths for each {unit_label} in "
        f"{results['periods'][CURRENT]['label']}, against the number of deaths expected from the case mix "
        f"({', '.join(ra['case_mix']) or 'no adjustment'}). Dashed lines: 95% control limits; solid lines: 99.8% "
        "control limits (exact Poisson). A point above the upper lines means more deaths than expected."
        + (
            f" Not shown (fewer than {results['suppression']['threshold']} deaths or withheld): {', '.join(hidden)}."
            if hidden
            else ""
        )
    )
    alt = "Funnel plot of observed/expected deaths; " + "; ".join(
        f"{labels[u]} {r['ratio']:.2f} at {r['expected']:.0f} expected" for u, r in rows
    )
    return _rendered(fig, "funnel", caption, alt)


def trend_figure(
    results: dict[str, Any],
    eid: str,
    focus: str | None,
    style: FigureStyle = FigureStyle(),  # noqa: B008
) -> RenderedFigure | None:
    ep = results["endpoints"][eid]
    years = results["years"]
    first = ep["time_points_years"][0]
    series = [("Whole institution" if focus else "Institution", ep["institution"]["by_year"], style.colour(0))]
    if focus is not None:
        series.insert(0, (results["unit"]["labels"][focus], ep["units"][focus]["by_year"], style.colour(1)))
    with matplotlib.rc_context(style.rc()):
        fig, ax = _figure(style, 0.45)
        drawn = 0
        for k, (label, by_year, colour) in enumerate(series):
            xs, ys, lo, hi = [], [], [], []
            for y in years:
                p = by_year[str(y)]["survival"][0]
                if p["status"] == "estimated":
                    xs.append(y + (0.08 * (k - (len(series) - 1) / 2) if len(series) > 1 else 0.0))
                    ys.append(p["survival"] * 100)
                    lo.append(p["ci"][0] * 100)
                    hi.append(p["ci"][1] * 100)
            if not xs:
                continue
            drawn += 1
            ys_a = np.asarray(ys)
            ax.errorbar(
                xs,
                ys_a,
                yerr=[ys_a - np.asarray(lo), np.asarray(hi) - ys_a],
                color=colour,
                marker="o",
                ms=4,
                lw=style.line_width_pt,
                capsize=2.5,
                label=label,
            )
        if not drawn:
            return None
        ax.set_xticks(years)
        ax.set_xticklabels([str(y) for y in years])
        ax.set_xlim(years[0] - 0.5, years[-1] + 0.5)
        ax.set_ylim(0, 100)
        ax.set_xlabel("Year of diagnosis")
        ax.set_ylabel(f"Alive {year_phrase(first)} after diagnosis (%)")
        ax.grid(axis="y", color="#dddddd", lw=0.5)
        ax.legend(frameon=False, fontsize=style.font_size_pt, loc="lower right")
        _tidy(ax, style)
        fig.subplots_adjust(left=0.1, right=0.97, bottom=0.17, top=0.95)
    level = f"{ep['conf_level'] * 100:g}%"
    caption = (
        f"{ep['label']} {year_phrase(first)} after diagnosis by year of diagnosis (Kaplan-Meier), with {level} "
        "confidence intervals. Years with too short a follow-up or too few patients are not shown."
    )
    pts = [ep["institution"]["by_year"][str(y)]["survival"][0] for y in years]
    alt = f"{ep['label']} at {year_phrase(first)} by year of diagnosis: " + "; ".join(
        f"{y} {percent_words(p['survival'])}" for y, p in zip(years, pts, strict=True) if p["status"] == "estimated"
    )
    return _rendered(fig, f"trend_{eid}", caption, alt)


def _curve_input(label: str, arrays: dict[str, np.ndarray]) -> CurveInput:
    return CurveInput(label, SimpleNamespace(**arrays))


def km_group_figure(
    reg: Registry,
    counts: Counts,
    eid: str,
    by: str,
    focus: str | None,
    style: FigureStyle = FigureStyle(),  # noqa: B008
) -> RenderedFigure | None:
    """KM curves by a stratifier (current period) or by period (``by='period'``) for the institution or a unit."""
    study = reg.study
    t = reg.options.suppression_threshold
    time, event = reg.endpoint(eid)
    ep = study.endpoints[eid]
    in_unit = np.ones(reg.n, dtype=bool) if focus is None else reg.unit == focus
    ev = events_measure(eid)
    groups: list[tuple[str, np.ndarray, bool]] = []
    if by == "period":
        if len(reg.periods) < 2:
            return None
        for p in (PREVIOUS, CURRENT):
            ok = counts.shown(PATIENTS, ALL, focus, "period", p) and counts.shown(ev, ALL, focus, "period", p)
            groups.append((reg.period_names[p], in_unit & (reg.period == p), ok))
        title = "period of diagnosis"
    else:
        st = reg.strata[by]
        for lvl in st.levels:
            ok = counts.shown(PATIENTS, CUR, focus, by, lvl) and counts.shown(ev, CUR, focus, by, lvl)
            groups.append((lvl, in_unit & (reg.period == CURRENT) & (st.values == lvl), ok))
        title = st.label.lower()
    curves, hidden = [], []
    for label, mask, ok in groups:
        km = curve(time[mask], event[mask], study.analysis.km.conf_type, reg.options.conf_level)
        arrays = truncated_curve(km, t) if km is not None and ok and km.events >= t else None
        if arrays is None:
            hidden.append(label)
        else:
            curves.append(_curve_input(label, arrays))
    if not curves:
        return None
    xmax = reg.unit_time(eid, max(reg.options.time_points))
    fig = km_figure(
        curves,
        time_unit=ep.time_unit,
        xlabel=f"Time since diagnosis ({ep.time_unit})",
        ylabel=f"{ep.label} (probability)",
        risk_table=False,
        xmax=xmax,
        style=style,
    )
    who = "the whole institution" if focus is None else reg.unit_labels[focus]
    scope = "" if by == "period" else f" diagnosed in {reg.period_names[CURRENT]}"
    caption = (
        f"Kaplan-Meier estimates of {ep.label.lower()} by {title}, {who}{scope}. Shaded bands: "
        f"{reg.options.conf_level * 100:g}% pointwise confidence intervals. Each curve stops where fewer than "
        f"{t} patients were still followed."
        + (f" Not shown (too few patients or deaths): {', '.join(hidden)}." if hidden else "")
    )
    alt = f"Kaplan-Meier curves of {ep.label.lower()} by {title} for {who}: " + ", ".join(c.label for c in curves)
    fid = f"km_{eid}_by_{by}"
    return _rendered(fig, fid, caption, alt)
