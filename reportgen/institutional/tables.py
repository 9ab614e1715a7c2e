"""Institutional tables: protected results -> neutral ``Table`` models (HTML, CSV, XLSX read them).

Cells hold only published values: counts as numbers, "<t" or "[c]"; survival as a percentage
with its CI, or "–" when it is not shown (too few patients or deaths, or too short follow-up).
Percentages of a count are given only when the count and its total are both shown.
"""

from __future__ import annotations

from typing import Any

from ..format import NumberStyle, ci, num
from ..tables.model import Row, Spanner, Table
from .words import count_cell, year_phrase

DASH = "\u2013"


def _survival_cell(p: dict[str, Any], style: NumberStyle) -> str:
    if p["status"] != "estimated":
        return DASH
    lo, hi = p["ci"]
    return f"{num(p['survival'] * 100, 1, style)} ({ci(lo * 100, hi * 100, 1, style)})"


def _notes(results: dict[str, Any], survival: bool = True) -> tuple[str, ...]:
    t = results["suppression"]["threshold"]
    notes = [
        f"<{t}: fewer than {t} patients or deaths. [c]: withheld so that a number below {t} cannot be worked out "
        "from the totals or other tables."
    ]
    if survival:
        ep = next(iter(results["endpoints"].values()))
        notes.append(
            f"Survival: Kaplan-Meier estimate (%) with {ep['conf_level'] * 100:g}% confidence interval ({ep['conf_type']}). "
            f"{DASH}: not shown because fewer than {t} deaths had occurred or fewer than {t} patients were still "
            "followed at that time, or follow-up is too short."
        )
    return tuple(notes)


def _units(results: dict[str, Any], focus: str | None) -> list[str]:
    return list(results["unit"]["levels"]) if focus is None else [focus]


def counts_by_year(results: dict[str, Any], focus: str | None) -> Table:
    labels = results["unit"]["labels"]
    years = [str(y) for y in results["years"]]
    by_year = results["cohort"]["by_year"]
    rows = []
    for u in _units(results, focus):
        rows.append(
            Row(labels[u], (*(count_cell(by_year[y][u]) for y in years), count_cell(results["cohort"]["by_unit"][u])))
        )
    rows.append(
        Row(
            "Whole institution",
            (*(count_cell(by_year[y]["all"]) for y in years), count_cell(results["cohort"]["n_included"])),
            kind="group",
        )
    )
    return Table(
        id="patients_by_year",
        title=f"Patients by year of diagnosis and {results['unit']['label'].lower()}",
        stub_label=results["unit"]["label"],
        column_labels=(*years, "Total"),
        rows=tuple(rows),
        footnotes=_notes(results, survival=False),
    )


def case_mix(results: dict[str, Any], focus: str | None, style: NumberStyle) -> Table:
    """Patients by each stratifier (current period): n (% of the unit's patients)."""
    labels = results["unit"]["labels"]
    cols = [*_units(results, focus), "all"]
    totals = {**results["cohort"]["by_unit_current"], "all": results["cohort"]["n_current"]}
    rows: list[Row] = []
    for col, st in results["stratifiers"].items():
        rows.append(Row(st["label"], tuple("" for _ in cols), kind="group"))
        for lvl in st["levels"]:
            cells = []
            for c in cols:
                n = results["cohort"]["case_mix"][col][lvl][c]
                tot = totals[c]
                if isinstance(n, int) and isinstance(tot, int) and tot > 0:
                    cells.append(f"{n:,} ({num(100 * n / tot, 1, style)}%)")
                else:
                    cells.append(count_cell(n))
            rows.append(Row(lvl, tuple(cells), indent=1))
    rows.insert(0, Row("Patients", tuple(count_cell(totals[c]) for c in cols), kind="group"))
    return Table(
        id="case_mix",
        title=f"Patients diagnosed in {results['periods']['current']['label']}: case mix",
        stub_label="",
        column_labels=tuple(labels[c] if c != "all" else "Whole institution" for c in cols),
        rows=tuple(rows),
        footnotes=("n (% of the column's patients)", *_notes(results, survival=False)),
    )


def _survival_columns(ep: dict[str, Any]) -> tuple[str, ...]:
    return ("Patients", "Deaths", *(f"{year_phrase(y)} (%)" for y in ep["time_points_years"]))


def _survival_row(label: str, g: dict[str, Any], style: NumberStyle, kind: str = "data", indent: int = 0) -> Row:
    return Row(
        label,
        (count_cell(g["patients"]), count_cell(g["events"]), *(_survival_cell(p, style) for p in g["survival"])),
        kind=kind,  # type: ignore[arg-type]
        indent=indent,
    )


def survival_by_unit(results: dict[str, Any], eid: str, focus: str | None, style: NumberStyle) -> Table:
    ep = results["endpoints"][eid]
    labels = results["unit"]["labels"]
    rows = [_survival_row(labels[u], ep["units"][u]["current"], style) for u in _units(results, focus)]
    rows.append(_survival_row("Whole institution", ep["institution"]["current"], style, kind="group"))
    n_tp = len(ep["time_points_years"])
    return Table(
        id=f"survival_by_unit_{eid}",
        title=f"{ep['label']} of patients diagnosed in {results['periods']['current']['label']}, by {results['unit']['label'].lower()}",
        stub_label=results["unit"]["label"],
        column_labels=_survival_columns(ep),
        rows=tuple(rows),
        spanners=(Spanner("Alive after", 2, n_tp),),
        footnotes=("Deaths: all deaths during follow-up.", *_notes(results)),
    )


def survival_by_year(results: dict[str, Any], eid: str, focus: str | None, style: NumberStyle) -> Table:
    ep = results["endpoints"][eid]
    section = ep["institution"] if focus is None else ep["units"][focus]
    rows = [_survival_row(str(y), section["by_year"][str(y)], style) for y in results["years"]]
    who = "" if focus is None else f", {results['unit']['labels'][focus]}"
    return Table(
        id=f"survival_by_year_{eid}",
        title=f"{ep['label']} by year of diagnosis{who}",
        stub_label="Year of diagnosis",
        column_labels=_survival_columns(ep),
        rows=tuple(rows),
        spanners=(Spanner("Alive after", 2, len(ep["time_points_years"])),),
        footnotes=_notes(results),
    )


def survival_by_stratifier(results: dict[str, Any], eid: str, focus: str | None, style: NumberStyle) -> Table:
    ep = results["endpoints"][eid]
    section = ep["institution"] if focus is None else ep["units"][focus]
    rows: list[Row] = []
    for col, st in results["stratifiers"].items():
        rows.append(Row(st["label"], tuple("" for _ in _survival_columns(ep)), kind="group"))
        rows += [_survival_row(lvl, section["by_stratifier"][col][lvl], style, indent=1) for lvl in st["levels"]]
    who = "" if focus is None else f", {results['unit']['labels'][focus]}"
    return Table(
        id=f"survival_by_stratifier_{eid}",
        title=f"{ep['label']} of patients diagnosed in {results['periods']['current']['label']} by patient group{who}",
        stub_label="",
        column_labels=_survival_columns(ep),
        rows=tuple(rows),
        spanners=(Spanner("Alive after", 2, len(ep["time_points_years"])),),
        footnotes=_notes(results),
    )


def period_comparison(results: dict[str, Any], eid: str, focus: str | None, style: NumberStyle) -> Table | None:
    ep = results["endpoints"][eid]
    section = ep["institution"] if focus is None else ep["units"][focus]
    comp = section.get("comparison")
    if not comp:
        return None
    prev, cur = results["periods"]["previous"]["label"], results["periods"]["current"]["label"]
    bp = section["by_period"]
    level = f"{ep['conf_level'] * 100:g}%"
    rows = [
        Row("Patients", (count_cell(bp["previous"]["patients"]), count_cell(bp["current"]["patients"]), "", "")),
        Row("Deaths", (count_cell(bp["previous"]["events"]), count_cell(bp["current"]["events"]), "", "")),
    ]
    for d, a, b in zip(comp["survival_difference"], bp["previous"]["survival"], bp["current"]["survival"], strict=True):
        if d["status"] == "estimated":
            lo, hi = d["ci"]
            diff = f"{num(d['difference'] * 100, 1, style)} ({ci(lo * 100, hi * 100, 1, style)})"
            p = _p(d["p"], style)
        else:
            diff, p = DASH, ""
        rows.append(
            Row(
                f"Alive after {year_phrase(d['years'])} (%)",
                (_survival_cell(a, style), _survival_cell(b, style), diff, p),
            )
        )
    hr = comp["hazard_ratio"]
    if hr["status"] == "estimated":
        rows.append(
            Row(
                "Hazard ratio of death, adjusted for case mix",
                ("1 (reference)", f"{num(hr['hr'], 2, style)} ({ci(*hr['ci'], 2, style)})", "", _p(hr["p"], style)),
            )
        )
    who = "" if focus is None else f", {results['unit']['labels'][focus]}"
    return Table(
        id=f"period_comparison_{eid}",
        title=f"{ep['label']}: {cur} compared with {prev}{who}",
        stub_label="",
        column_labels=(prev, cur, f"Difference, percentage points ({level} CI)", "p"),
        rows=tuple(rows),
        footnotes=(
            f"Difference: {cur} minus {prev}, with a normal-approximation CI from Greenwood standard errors. "
            "Hazard ratio below 1: lower risk of death in the recent period after accounting for the case mix "
            "(Cox regression).",
            *_notes(results),
        ),
    )


def _p(p: float | None, style: NumberStyle) -> str:
    from ..format import pvalue

    return pvalue(p, style)


POSITIONS = {
    "within": "Within expected range",
    "above_95": "Higher than expected (outside 95% limit)",
    "above_99.8": "Higher than expected (outside 99.8% limit)",
    "below_95": "Lower than expected (outside 95% limit)",
    "below_99.8": "Lower than expected (outside 99.8% limit)",
}


def risk_adjusted(results: dict[str, Any], style: NumberStyle) -> Table | None:
    eid = next(iter(results["endpoints"]))
    ep = results["endpoints"][eid]
    ra = ep["risk_adjustment"]
    if not ra:
        return None
    labels = results["unit"]["labels"]
    focus = results.get("report", {}).get("focus")
    rows = []
    for u, r in ra["units"].items():
        ratio = DASH if r["ratio"] is None else f"{num(r['ratio'], 2, style)} ({ci(*r['ci'], 2, style)})"
        pos = DASH if r["position"] is None else POSITIONS[r["position"]]
        rows.append(
            Row(
                labels[u],
                (count_cell(r["patients"]), count_cell(r["observed"]), num(r["expected"], 1, style), ratio, pos),
                kind="group" if u == focus else "data",
            )
        )
    mix = ", ".join(results["covariate_labels"].get(c, c) for c in ra["case_mix"]) or "none"
    return Table(
        id="risk_adjusted",
        title=f"Deaths observed and expected from the case mix, by {results['unit']['label'].lower()}, "
        f"{results['periods']['current']['label']}",
        stub_label=results["unit"]["label"],
        column_labels=(
            "Patients",
            "Observed deaths",
            "Expected deaths",
            "Observed / expected (95% CI)",
            "Compared with expected",
        ),
        rows=tuple(rows),
        footnotes=(
            f"Expected deaths: from a Cox model of the whole institution's patients in the period with {mix} "
            "(indirect standardisation). CI: exact Poisson. Limits: exact Poisson control limits of the funnel plot.",
            *_notes(results, survival=False),
        ),
    )


def all_tables(results: dict[str, Any], focus: str | None, style: NumberStyle) -> list[Table]:
    eid = next(iter(results["endpoints"]))
    tables: list[Table | None] = [counts_by_year(results, focus), case_mix(results, focus, style)]
    for e in results["endpoints"]:
        tables += [
            survival_by_unit(results, e, focus, style),
            survival_by_year(results, e, focus, style),
            survival_by_stratifier(results, e, focus, style),
            period_comparison(results, e, focus, style),
        ]
    tables.append(risk_adjusted(results, style))
    del eid
    return [t.with_number(i + 1) for i, t in enumerate(x for x in tables if x is not None)]
