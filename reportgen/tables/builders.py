"""Table builders: Results mapping + ``NumberStyle`` -> neutral ``Table`` models.

Builders read only the Results (never the data), so a number in a table always
equals the same number in the text and in results.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..format import NumberStyle, ci, num, percent, pvalue
from ..narrative.words import landmark_label
from .model import Row, Spanner, Table

DASH = "\u2014"


def _groups(results: dict[str, Any]) -> list[tuple[str, str]]:
    labels = results["cohort"]["group_labels"]
    return [(g, labels[g]) for g in results["cohort"]["groups"]]


def _smd(x: float | None, style: NumberStyle) -> str:
    return "" if x is None else num(x, 2, style)


def table1(results: dict[str, Any], style: NumberStyle) -> Table:
    """Baseline characteristics by group (Table 1)."""
    t1 = results["table1"]
    groups = _groups(results)
    n = t1["n"]
    cols = [f"Overall (N = {t1['n_total']})", *(f"{label} (N = {n[g]})" for g, label in groups), "p-value", "SMD"]
    rows: list[Row] = []
    letters: dict[str, str] = {}

    def mark(method: str | None) -> str:
        if not method:
            return ""
        if method not in letters:
            letters[method] = "abcdefgh"[len(letters)]
        return letters[method]

    for var in t1["variables"]:
        test = var["test"]
        p = (
            pvalue(test["p"], style) + (f" {mark(test['method'])}" if test["method"] else "")
            if test["p"] is not None
            else ""
        )
        smd = _smd(var["smd"], style)
        unit = f", {var['unit']}" if var.get("unit") else ""
        if var["type"] == "continuous":

            def med(s: dict[str, Any]) -> str:
                if not s["n"]:
                    return DASH
                return f"{num(s['median'], 1, style)} ({num(s['q1'], 1, style)}{style.ci_separator}{num(s['q3'], 1, style)})"

            cells = [med(var["overall"]), *(med(var["summary"][g]) for g, _ in groups), p, smd]
            rows.append(Row(f"{var['label']}{unit}, median (IQR)", tuple(cells), "data"))
        else:
            rows.append(Row(f"{var['label']}{unit}, n (%)", ("", *("" for _ in groups), p, smd), "group"))
            total_known = sum(var["denominator"].values())
            for lvl in var["levels"]:
                cells = [
                    _count_pct(lvl["total"], total_known, style),
                    *(_count_pct(lvl["counts"][g], var["denominator"][g], style) for g, _ in groups),
                    "",
                    "",
                ]
                rows.append(Row(lvl["label"], tuple(cells), "level", indent=1))
        if var["missing_total"]:
            cells = [str(var["missing_total"]), *(str(var["missing"][g]) for g, _ in groups), "", ""]
            rows.append(Row("Missing", tuple(cells), "level", indent=1))
    notes = [
        "Values are n (%) or median (interquartile range, IQR). Percentages are of patients with known values; "
        "missing values are counted separately."
    ]
    notes += [f"{letter} {method}." for method, letter in letters.items()]
    notes.append("SMD, standardised mean difference (absolute; > 0.1 is commonly taken as a notable imbalance).")
    return Table(
        "table1",
        "Baseline characteristics of the patients by group",
        "Characteristic",
        tuple(cols),
        tuple(rows),
        footnotes=tuple(notes),
        align=("right",) * len(cols),
    )


def _count_pct(k: int, total: int, style: NumberStyle) -> str:
    return f"{k} ({percent(k / total, style)}%)" if total else str(k)


def survival_table(results: dict[str, Any], style: NumberStyle) -> Table:
    """Median survival, landmark rates and log-rank test per endpoint and group."""
    groups = _groups(results)
    first = next(iter(results["endpoints"].values()))
    km0 = first["km"]
    level = round(km0["conf_level"] * 100)
    landmark_times = [m["time"] for m in next(iter(km0["groups"].values()))["landmarks"]]
    unit = first["time_unit"]
    cols = [
        "Patients",
        "Events",
        f"Median, {unit} ({level}% CI)",
        *(f"{landmark_label(t, unit)} rate, % ({level}% CI)" for t in landmark_times),
        "Log-rank p",
    ]
    rows: list[Row] = []
    for ep in results["endpoints"].values():
        rows.append(Row(ep["label"], ("",) * len(cols), "group"))
        for i, (g, label) in enumerate(groups):
            k = ep["km"]["groups"][g]
            median = num(k["median"], style.time_digits, style, style.not_reached)
            cells = [str(k["n"]), str(k["events"]), f"{median} ({ci(*k['median_ci'], style.time_digits, style)})"]
            for m in k["landmarks"]:
                if m["survival"] is None:
                    cells.append(style.not_estimable)
                else:
                    lo, hi = (None if v is None else v * 100 for v in m["ci"])
                    interval = ci(lo, hi, style.percent_digits, style) if (lo, hi) != (None, None) else "CI NE"
                    cells.append(f"{percent(m['survival'], style)} ({interval})")
            cells.append(pvalue(ep["logrank"]["p"], style) if i == 0 else "")
            rows.append(Row(label, tuple(cells), "level", indent=1))
    conf = {"log": "log", "log-log": "log-log", "plain": "linear (plain)"}[km0["conf_type"]]
    notes = (
        f"Kaplan-Meier estimates; pointwise {level}% confidence intervals (CI) by the {conf} transformation of the "
        "Greenwood variance; CI of the median by the method of Brookmeyer and Crowley as in R's survival package.",
        f"NR, not reached; {style.not_estimable}, not estimable (time beyond the last follow-up).",
        "p-values from the two-sided log-rank test.",
    )
    return Table(
        "survival",
        "Survival outcomes by group",
        "Endpoint and group",
        tuple(cols),
        tuple(rows),
        footnotes=notes,
        align=("right",) * len(cols),
    )


def cox_table(results: dict[str, Any], eid: str, style: NumberStyle) -> Table:
    """Univariable and multivariable Cox models side by side for one endpoint."""
    ep = results["endpoints"][eid]
    cox = ep["cox"]
    multi = cox["multivariable"]
    level = round(cox["conf_level"] * 100)
    multi_by = _by_key(multi["terms"]) if multi else {}
    cols = [f"HR ({level}% CI)", "p-value"] + ([f"HR ({level}% CI)", "p-value"] if multi else [])
    spanners = [Spanner("Univariable", 0, 2)] + ([Spanner("Multivariable", 2, 2)] if multi else [])
    rows: list[Row] = []
    seen: list[str] = []
    for row in cox["univariable"]:
        if row["variable"] not in seen:
            seen.append(row["variable"])
    for var in seen:
        uni_rows = [r for r in cox["univariable"] if r["variable"] == var]
        first = uni_rows[0]
        in_multi = any(k[0] == var for k in multi_by)
        if first["level"] is None:  # continuous
            label = first["label"]
            cells = [
                *_hr_cells(first, style),
                *(_hr_cells(multi_by[(var, None)], style) if in_multi else (["", ""] if multi else [])),
            ]
            rows.append(Row(label, tuple(cells), "data"))
            continue
        rows.append(Row(first["label"], ("",) * len(cols), "group"))
        ref_cells = ["1 (reference)", ""] + (["1 (reference)", ""] if in_multi else ([""] * 2 if multi else []))
        rows.append(Row(first["reference_label"], tuple(ref_cells), "reference", indent=1))
        for r in uni_rows:
            m = multi_by.get((var, r["level"]))
            cells = [*_hr_cells(r, style), *(_hr_cells(m, style) if m else (["", ""] if multi else []))]
            rows.append(Row(r["level_label"], tuple(cells), "level", indent=1))
    ties = cox["ties"].capitalize()
    notes = [
        f"HR, hazard ratio; CI, confidence interval. Cox proportional-hazards regression, {ties} method for "
        "tied event times; Wald p-values."
    ]
    notes.append("Univariable models use every patient with a known value of that variable.")
    if multi:
        notes.append(
            f"Multivariable model: {multi['n']} patients with complete data, {multi['events']} events "
            f"({multi['n_excluded_missing']} excluded for missing values); concordance "
            f"{num(multi['concordance'], 2, style)}."
        )
        ph = multi.get("ph_test")
        if ph and ph.get("global_p") is not None:
            alpha = results["alpha"]
            bad = [t for t in ph["terms"] if t["p"] is not None and t["p"] < alpha]
            labels = {r["variable"]: r["label"] for r in multi["terms"]}
            text = (
                f"Proportional-hazards assumption (Grambsch-Therneau test): global p = {pvalue(ph['global_p'], style)}"
            )
            if bad:
                text += "; not supported for " + ", ".join(
                    f"{labels.get(t['variable'], t['variable'])} (p = {pvalue(t['p'], style)})" for t in bad
                )
            notes.append(text + ".")
        if multi.get("strata"):
            notes.append(f"Stratified by {', '.join(multi['strata'])} (baseline hazard per stratum).")
        if multi.get("selection"):
            notes.append(f"Terms selected by the stated rule: {multi['selection']['rule']}.")
        if multi.get("lr_test"):
            lr = multi["lr_test"]
            notes.append(
                f"Global likelihood-ratio test of the model: chi-squared {num(lr['statistic'], 2, style)} on "
                f"{lr['df']} df, p = {pvalue(lr['p'], style)}."
            )
    if any(r.get("not_estimable") for r in cox["univariable"] + (multi["terms"] if multi else [])):
        notes.append(f"{style.not_estimable}, not estimable (reason given in the text).")
    return Table(
        f"cox_{eid}",
        f"Cox regression for {ep['label'].lower()}",
        "Variable",
        tuple(cols),
        tuple(rows),
        spanners=tuple(spanners),
        footnotes=tuple(notes),
        align=("right",) * len(cols),
    )


def _by_key(rows: list[dict[str, Any]]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(r["variable"], r["level"]): r for r in rows}


def _hr_cells(r: dict[str, Any] | None, style: NumberStyle) -> list[str]:
    if r is None:
        return ["", ""]
    if r["hr"] is None:
        return [style.not_estimable, ""]
    return [f"{num(r['hr'], style.hr_digits, style)} ({ci(*r['ci'], style.hr_digits, style)})", pvalue(r["p"], style)]


def all_tables(results: dict[str, Any], style: NumberStyle) -> list[Table]:
    """Every table of the report, numbered in order of appearance."""
    tables = [table1(results, style), survival_table(results, style)]
    tables += [cox_table(results, eid, style) for eid in results["endpoints"]]
    tables += [subgroup_table(results, eid, style) for eid, ep in results["endpoints"].items() if ep["subgroups"]]
    return [t.with_number(i + 1) for i, t in enumerate(tables)]


@dataclass(frozen=True)
class SubgroupLine:
    """One line of a subgroup table or forest plot: text cells plus the numbers the plot draws."""

    label: str
    kind: str  # "overall", "header", "row"
    indent: int
    arms: tuple[str, ...]  # "n (events)" per arm
    medians: tuple[str, ...]  # "median (CI)" per arm
    hr_text: str
    p_interaction: str
    hr: float | None = None
    lower: float | None = None
    upper: float | None = None
    weight: float | None = None
    note: str | None = None


def _n_events(arm: dict[str, Any]) -> str:
    return f"{arm['n']} ({arm['events']})"


def subgroup_lines(results: dict[str, Any], eid: str, style: NumberStyle) -> list[SubgroupLine]:
    """Overall row, then per subgroup variable a header (with the interaction p) and its levels."""
    ep = results["endpoints"][eid]
    groups = _groups(results)

    def med(arm: dict[str, Any]) -> str:
        if not arm["n"]:
            return DASH
        return (
            f"{num(arm['median'], style.time_digits, style, style.not_reached)} "
            f"({ci(*arm['median_ci'], style.time_digits, style)})"
        )

    def hr_text(row: dict[str, Any]) -> str:
        if row.get("hr") is None:
            return style.not_estimable
        return f"{num(row['hr'], style.hr_digits, style)} ({ci(*row['ci'], style.hr_digits, style)})"

    overall_hr = [r for r in ep["cox"]["univariable"] if r["variable"] == "group"]
    km = ep["km"]["groups"]
    lines = []
    if len(overall_hr) == 1:
        r = overall_hr[0]
        lines.append(
            SubgroupLine(
                "All patients",
                "overall",
                0,
                tuple(_n_events(km[g]) for g, _ in groups),
                tuple(med(km[g]) for g, _ in groups),
                hr_text(r),
                "",
                r["hr"],
                r["ci"][0],
                r["ci"][1],
                (1 / r["se"] ** 2) if r.get("se") else None,
                r.get("not_estimable"),
            )
        )
    for var, test in ep.get("subgroup_tests", {}).items():
        p = pvalue(test["p"], style) if test.get("p") is not None else style.not_estimable
        lines.append(SubgroupLine(test["label"], "header", 0, ("",) * len(groups), ("",) * len(groups), "", p))
        for row in (r for r in ep["subgroups"] if r["variable"] == var):
            arms = row["arms"]
            note = f"{style.not_estimable_text}: {row['not_estimable']}" if row.get("not_estimable") else None
            lines.append(
                SubgroupLine(
                    row["level"],
                    "row",
                    1,
                    tuple(_n_events(arms[g]) for g, _ in groups),
                    tuple(med(arms[g]) for g, _ in groups),
                    hr_text(row),
                    "",
                    row.get("hr"),
                    row["ci"][0],
                    row["ci"][1],
                    row.get("weight"),
                    note,
                )
            )
    return lines


def subgroup_table(results: dict[str, Any], eid: str, style: NumberStyle) -> Table:
    ep = results["endpoints"][eid]
    groups = _groups(results)
    level = round(ep["km"]["conf_level"] * 100)
    lines = subgroup_lines(results, eid, style)
    k = len(groups)
    cols = [*(label for _, label in groups), *(label for _, label in groups), f"HR ({level}% CI)", "p for interaction"]
    spanners = (Spanner("Patients (events)", 0, k), Spanner(f"Median, {ep['time_unit']} ({level}% CI)", k, k))
    rows = []
    for ln in lines:
        kind = {"overall": "data", "header": "group", "row": "level"}[ln.kind]
        rows.append(Row(ln.label, (*ln.arms, *ln.medians, ln.hr_text, ln.p_interaction), kind, ln.indent))
    tests = ep.get("subgroup_tests", {})
    adjusted = next((t["adjusted_for"] for t in tests.values() if t.get("adjusted_for")), [])
    notes = [
        f"HR, hazard ratio of {' and '.join(label for _, label in groups[1:])} versus {groups[0][1]} "
        f"within each subgroup (Cox regression, {ep['cox']['ties'].capitalize()} ties"
        + (f", adjusted for {', '.join(adjusted)}" if adjusted else ", unadjusted")
        + ").",
        "p for interaction: likelihood-ratio test of the group-by-subgroup interaction terms in a Cox model.",
        "Subgroup analyses are exploratory; a difference between subgroups is supported only by the interaction test.",
        f"{style.not_estimable}, not estimable; NR, not reached.",
    ]
    return Table(
        f"subgroups_{eid}",
        f"Subgroup analyses of {ep['label'].lower()}",
        "Subgroup",
        tuple(cols),
        tuple(rows),
        spanners=spanners,
        footnotes=tuple(notes),
        align=("right",) * len(cols),
    )


def missing_table(results: dict[str, Any], style: NumberStyle) -> Table:
    """Missing values per variable and group (STROBE item 14b)."""
    t1 = results["table1"]
    groups = _groups(results)
    n = t1["n"]
    cols = [f"Overall (N = {t1['n_total']})", *(f"{label} (N = {n[g]})" for g, label in groups)]
    rows = []
    for var in t1["variables"]:
        cells = [
            _count_pct(var["missing_total"], t1["n_total"], style),
            *(_count_pct(var["missing"][g], n[g], style) for g, _ in groups),
        ]
        rows.append(Row(var["label"], tuple(cells)))
    notes = (
        "Values are n (%) of patients with a missing value. Group, follow-up times and event indicators "
        "are complete by design (the run stops otherwise).",
        f"{t1.get('n_any_missing', 0)} patients had at least one missing value; multivariable models use "
        "complete cases.",
    )
    return Table(
        "missing",
        "Missing data by variable and group",
        "Variable",
        tuple(cols),
        tuple(rows),
        footnotes=notes,
        align=("right",) * len(cols),
    )


def univariable_table(results: dict[str, Any], eid: str, style: NumberStyle) -> Table:
    """Every univariable Cox model for one endpoint, with the patients and events each used."""
    ep = results["endpoints"][eid]
    cox = ep["cox"]
    level = round(cox["conf_level"] * 100)
    cols = ["Patients", "Events", f"HR ({level}% CI)", "Wald p", "LR p"]
    rows: list[Row] = []
    seen: list[str] = []
    for r in cox["univariable"]:
        if r["variable"] in seen:
            continue
        seen.append(r["variable"])
        group_rows = [x for x in cox["univariable"] if x["variable"] == r["variable"]]
        lr = pvalue(r["lr_p"], style) if r.get("lr_p") is not None else ""
        if r["level"] is None:
            rows.append(Row(r["label"], (str(r["n"]), str(r["events"]), *_hr_cells(r, style), lr)))
            continue
        rows.append(Row(r["label"], (str(r["n"]), str(r["events"]), "", "", lr), "group"))
        rows.append(Row(r["reference_label"], ("", "", "1 (reference)", "", ""), "reference", 1))
        for x in group_rows:
            rows.append(Row(x["level_label"], ("", "", *_hr_cells(x, style), ""), "level", 1))
    notes = (
        f"Cox regression, {cox['ties'].capitalize()} ties, one model per variable on the patients with a "
        "known value. LR p: likelihood-ratio test of the variable (all its levels together).",
    )
    return Table(
        f"univariable_{eid}",
        f"Univariable Cox models for {ep['label'].lower()}",
        "Variable",
        tuple(cols),
        tuple(rows),
        footnotes=notes,
        align=("right",) * len(cols),
    )


def ph_table(results: dict[str, Any], eid: str, style: NumberStyle) -> Table | None:
    """Per-term and global proportional-hazards tests of the multivariable model."""
    ep = results["endpoints"][eid]
    multi = ep["cox"]["multivariable"]
    ph = multi.get("ph_test") if multi else None
    if not ph or ph.get("global_p") is None:
        return None
    labels = {r["variable"]: r["label"] for r in multi["terms"]}
    rows = [
        Row(
            labels.get(t["variable"], t["variable"]),
            (num(t["statistic"], 2, style), str(t["df"]), pvalue(t["p"], style)),
        )
        for t in ph["terms"]
    ]
    rows.append(
        Row(
            "Global",
            (num(ph["global_statistic"], 2, style), str(ph["global_df"]), pvalue(ph["global_p"], style)),
            "group",
        )
    )
    notes = (f"{ph['method']}. A small p-value suggests that the hazard ratio of the term changes over time.",)
    return Table(
        f"ph_{eid}",
        f"Proportional-hazards tests of the multivariable model for {ep['label'].lower()}",
        "Term",
        ("Chi-squared", "df", "p-value"),
        tuple(rows),
        footnotes=notes,
        align=("right",) * 3,
    )


def supplement_tables(results: dict[str, Any], style: NumberStyle) -> list[Table]:
    tables = [missing_table(results, style)]
    for eid in results["endpoints"]:
        tables.append(univariable_table(results, eid, style))
        ph = ph_table(results, eid, style)
        if ph is not None:
            tables.append(ph)
    return [t.with_number(i + 1, "S") for i, t in enumerate(tables)]
