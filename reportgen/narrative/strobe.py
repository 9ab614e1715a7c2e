"""STROBE checklist for cohort studies: Study + Results -> where each item is addressed in the report.

Each of the 22 items (with sub-items) is either located (a section, table or figure of the
report, by element id, so the PDF's page number can be looked up) or flagged for the author.
Item texts follow the STROBE Statement checklist for cohort studies (von Elm et al., 2007).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..spec.model import Study


@dataclass(frozen=True)
class Item:
    number: str
    topic: str
    text: str
    anchors: tuple[str, ...]  # element ids in report.html; empty when the report does not address it
    where: str  # human-readable location, or why not
    status: str  # "addressed", "author", "not applicable"


ITEMS: list[tuple[str, str, str]] = [
    ("1a", "Title and abstract", "Indicate the study's design with a commonly used term in the title or the abstract"),
    ("1b", "Title and abstract", "Provide in the abstract an informative and balanced summary of what was done and what was found"),
    ("2", "Background/rationale", "Explain the scientific background and rationale for the investigation being reported"),
    ("3", "Objectives", "State specific objectives, including any prespecified hypotheses"),
    ("4", "Study design", "Present key elements of study design early in the paper"),
    ("5", "Setting", "Describe the setting, locations, and relevant dates, including periods of recruitment, exposure, follow-up, and data collection"),
    ("6a", "Participants", "Give the eligibility criteria, and the sources and methods of selection of participants. Describe methods of follow-up"),
    ("6b", "Participants", "For matched studies, give matching criteria and number of exposed and unexposed"),
    ("7", "Variables", "Clearly define all outcomes, exposures, predictors, potential confounders, and effect modifiers. Give diagnostic criteria, if applicable"),
    ("8", "Data sources/measurement", "For each variable of interest, give sources of data and details of methods of assessment (measurement). Describe comparability of assessment methods if there is more than one group"),
    ("9", "Bias", "Describe any efforts to address potential sources of bias"),
    ("10", "Study size", "Explain how the study size was arrived at"),
    ("11", "Quantitative variables", "Explain how quantitative variables were handled in the analyses. If applicable, describe which groupings were chosen and why"),
    ("12a", "Statistical methods", "Describe all statistical methods, including those used to control for confounding"),
    ("12b", "Statistical methods", "Describe any methods used to examine subgroups and interactions"),
    ("12c", "Statistical methods", "Explain how missing data were addressed"),
    ("12d", "Statistical methods", "If applicable, explain how loss to follow-up was addressed"),
    ("12e", "Statistical methods", "Describe any sensitivity analyses"),
    ("13a", "Participants", "Report numbers of individuals at each stage of study, eg numbers potentially eligible, examined for eligibility, confirmed eligible, included in the study, completing follow-up, and analysed"),
    ("13b", "Participants", "Give reasons for non-participation at each stage"),
    ("13c", "Participants", "Consider use of a flow diagram"),
    ("14a", "Descriptive data", "Give characteristics of study participants (eg demographic, clinical, social) and information on exposures and potential confounders"),
    ("14b", "Descriptive data", "Indicate number of participants with missing data for each variable of interest"),
    ("14c", "Descriptive data", "Summarise follow-up time (eg, average and total amount)"),
    ("15", "Outcome data", "Report numbers of outcome events or summary measures over time"),
    ("16a", "Main results", "Give unadjusted estimates and, if applicable, confounder-adjusted estimates and their precision (eg, 95% confidence interval). Make clear which confounders were adjusted for and why they were included"),
    ("16b", "Main results", "Report category boundaries when continuous variables were categorized"),
    ("16c", "Main results", "If relevant, consider translating estimates of relative risk into absolute risk for a meaningful time period"),
    ("17", "Other analyses", "Report other analyses done, eg analyses of subgroups and interactions, and sensitivity analyses"),
    ("18", "Key results", "Summarise key results with reference to study objectives"),
    ("19", "Limitations", "Discuss limitations of the study, taking into account sources of potential bias or imprecision. Discuss both direction and magnitude of any potential bias"),
    ("20", "Interpretation", "Give a cautious overall interpretation of results considering objectives, limitations, multiplicity of analyses, results from similar studies, and other relevant evidence"),
    ("21", "Generalisability", "Discuss the generalisability (external validity) of the study results"),
    ("22", "Funding", "Give the source of funding and the role of the funders for the present study and, if applicable, for the original study on which the present article is based"),
]  # fmt: skip


def _at(*anchors: str, where: str) -> tuple[tuple[str, ...], str, str]:
    return anchors, where, "addressed"


def _author(where: str = "author to complete", *anchors: str) -> tuple[tuple[str, ...], str, str]:
    return anchors, where, "author"


def checklist(
    study: Study, results: dict[str, Any], table_labels: dict[str, str], figure_labels: dict[str, str]
) -> list[Item]:
    """Every STROBE item with where the report addresses it."""
    m = study.manuscript
    s = study.study
    eids = list(results["endpoints"])
    has_flow = bool(results["cohort"]["flow"])
    has_subgroups = any(ep["subgroups"] for ep in results["endpoints"].values())
    has_landmark = any(ep.get("landmark_analysis") for ep in results["endpoints"].values())
    cox_tables = ", ".join(table_labels[f"cox_{e}"] for e in eids if f"cox_{e}" in table_labels)
    km_figs = ", ".join(figure_labels[f"km_{e}"] for e in eids if f"km_{e}" in figure_labels)
    sub_tables = ", ".join(table_labels[f"subgroups_{e}"] for e in eids if f"subgroups_{e}" in table_labels)
    design_word = any(w in (study.title + " " + s.design).lower() for w in ("cohort", "retrospective", "prospective"))
    place: dict[str, tuple[tuple[str, ...], str, str]] = {
        "1a": _at("title", "abstract", where="Title and Abstract (Methods)")
        if design_word
        else _author("design term missing from the title", "title"),
        "1b": _at("abstract", where="Abstract"),
        "2": _at("introduction", where="Introduction")
        if m.introduction
        else _author("author to complete", "introduction"),
        "3": _at("introduction", where="Introduction")
        if m.objectives
        else _author("author to complete", "introduction"),
        "4": _at("design", where="Methods, Study design and participants"),
        "5": _at("design", where="Methods, Study design and participants")
        if (s.setting and s.period_start and s.data_cutoff)
        else _author("setting, period or cut-off not given", "design"),
        "6a": _at("design", where="Methods, Study design and participants"),
        "6b": ((), "not applicable (not a matched study)", "not applicable"),
        "7": _at("endpoints", "statistics", where="Methods, Endpoints; Statistical analysis"),
        "8": _at("design", where="Methods") if m.data_sources else _author(),
        "9": _at("design", where="Methods") if m.bias else _author(),
        "10": _at("participants", where="Results, Participants (all eligible patients; no sample-size calculation)"),
        "11": _at(
            "statistics",
            where="Methods, Statistical analysis"
            + ("; subgroup cut points in the subgroup tables" if has_subgroups else ""),
        ),
        "12a": _at("statistics", where="Methods, Statistical analysis"),
        "12b": _at("statistics", where="Methods, Statistical analysis")
        if has_subgroups
        else ((), "not applicable (no subgroup analyses)", "not applicable"),
        "12c": _at("statistics", where="Methods, Statistical analysis (complete-case analysis)"),
        "12d": _at("statistics", where="Methods (censoring at last follow-up; reverse Kaplan-Meier follow-up)"),
        "12e": _at("statistics", where="Methods (landmark analysis)") if has_landmark else _author(),
        "13a": _at(
            "participants",
            *(("flow",) if has_flow else ()),
            where="Results, Participants" + (f"; {figure_labels['flow']}" if has_flow else ""),
        ),
        "13b": _at("participants", "flow", where=f"Results, Participants; {figure_labels['flow']}")
        if has_flow
        else _author("no selection steps in the spec"),
        "13c": _at("flow", where=figure_labels["flow"]) if has_flow else _author("no selection steps in the spec"),
        "14a": _at("table1", where=table_labels["table1"]),
        "14b": _at("missing", where="Supplementary Table S1 and Results, Participants"),
        "14c": _at(f"results-{eids[0]}", where="Results (median follow-up, reverse Kaplan-Meier)"),
        "15": _at("survival", where=f"{table_labels['survival']}; {km_figs}"),
        "16a": _at(*(f"cox_{e}" for e in eids), where=cox_tables),
        "16b": _at(*(f"subgroups_{e}" for e in eids if f"subgroups_{e}" in table_labels), where=sub_tables)
        if has_subgroups
        else ((), "not applicable (no continuous variable categorised)", "not applicable"),
        "16c": _at("survival", where=f"{table_labels['survival']} (landmark survival rates)"),
        "17": _at(
            *(f"subgroups_{e}" for e in eids if f"subgroups_{e}" in table_labels),
            where=f"Results, subgroup analyses ({sub_tables})",
        )
        if has_subgroups
        else _author(),
        "18": _at("key-results", where="Discussion, Key results"),
        "19": _at("limitations", where="Discussion, Limitations (generated; author to complete)"),
        "20": _author("author to complete", "discussion"),
        "21": _author("author to complete", "generalisability"),
        "22": _at("funding", where="Funding") if m.funding else _author("author to complete", "funding"),
    }
    return [Item(number, topic, text, *place[number]) for number, topic, text in ITEMS]
