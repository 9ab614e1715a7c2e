"""Study specification model: the validated, typed form of a study YAML file.

Input: a plain mapping (parsed YAML). Output: a ``Study``. Every option is declared
once here with its description; unknown keys are errors (``extra="forbid"``), so a
typo never passes silently. ``reportgen schema`` exports this model as JSON Schema.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Level = str | int | float  # group and covariate levels may be numbers or strings in the data

TIME_UNITS = ("days", "weeks", "months", "years")
DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DataSource(_Model):
    """Where the patient-level data live: one row per patient."""

    path: str | None = Field(
        None,
        description="Data file, relative to the spec file: .csv, .tsv, .xlsx, .parquet, .sas7bdat, .xpt, .dta, "
        ".sav, .zsav, .por; with engine: duckdb or dask also a glob such as 'registry/*.parquet'",
    )
    url: str | None = Field(
        None,
        description="Database URL (any SQLAlchemy URL, e.g. postgresql://${DB_USER}:${DB_PASSWORD}@host/db); "
        "${VAR} is replaced by the environment variable VAR and never written to the outputs",
    )
    query: str | None = Field(
        None,
        description="SQL query giving one row per patient: required with url; with engine: duckdb it reads "
        "the files as the table 'data' (default: select * from data)",
    )
    engine: Literal["pandas", "duckdb", "dask"] = Field(
        "pandas",
        description="How a file is read: pandas (default), duckdb (large or many parquet/csv files), or dask "
        "(data larger than one machine: partitioned Parquet or CSV files analysed on a Dask cluster, never "
        "loaded whole; see docs/scaling.md)",
    )
    id: str | None = Field(None, description="Column with a unique patient identifier (never printed)")
    sheet: str | int | None = Field(None, description="Worksheet name or 0-based index for .xlsx")
    delimiter: str | None = Field(None, description="CSV delimiter; detected when omitted")
    encoding: str | None = Field(None, description="Text encoding; UTF-8 (with or without BOM), else latin-1")

    @model_validator(mode="after")
    def _path_or_url(self) -> DataSource:
        if (self.path is None) == (self.url is None):
            raise ValueError("give either 'path' (a data file) or 'url' (a database), not both and not neither")
        if self.url is not None and not self.query:
            raise ValueError("a database source needs 'query' (SQL giving one row per patient)")
        if self.url is not None and self.engine == "duckdb":
            raise ValueError("engine: duckdb reads files ('path'); remove it for a database 'url'")
        if self.path is not None and self.query is not None and self.engine != "duckdb":
            raise ValueError("'query' on a file needs engine: duckdb (or use a database 'url')")
        if self.url is not None and self.engine == "dask":
            raise ValueError(
                "engine: dask reads files ('path', e.g. 'registry/*.parquet'); remove it for a database 'url'"
            )
        return self


class ComputeOptions(_Model):
    """Where the analyses run when ``data.engine`` is dask (docs/scaling.md)."""

    scheduler: str | None = Field(
        None,
        description="Address of a running Dask scheduler, e.g. tcp://scheduler:8786; default: a local cluster "
        "on this machine (the command line's --scheduler overrides it)",
    )
    workers: int | None = Field(None, ge=1, description="Worker processes of the local cluster; default: one per core")
    memory_limit: str | None = Field(
        None, description="Memory per worker of the local cluster, e.g. '2GB'; default: the machine's memory shared"
    )
    partition_rows: int = Field(
        500_000, ge=1_000, description="Rows per partition when reading Parquet (row groups are kept whole)"
    )


class SelectionStep(_Model):
    """One eligibility step, applied in order: rows matching `exclude` are dropped
    (or rows not matching `include` are dropped), and the count goes to the flow diagram."""

    exclude: str | None = Field(None, description="Expression; matching rows are excluded")
    include: str | None = Field(None, description="Expression; rows not matching are excluded")
    reason: str = Field(description="Reason shown in the participant flow")

    @model_validator(mode="after")
    def _one_of(self) -> SelectionStep:
        if (self.exclude is None) == (self.include is None):
            raise ValueError("give exactly one of 'exclude' or 'include'")
        return self


class Group(_Model):
    """The exposure or treatment arm compared in every analysis."""

    column: str = Field(description="Data column holding the group")
    label: str = Field("Group", description="Name of the grouping variable in text and tables")
    reference: Level | None = Field(None, description="Reference level (HR denominators); default: first level")
    levels: list[Level] | None = Field(None, description="Order of levels; default: reference first, then sorted")
    labels: dict[str, str] = Field(default_factory=dict, description="Display label for each level")


class Endpoint(_Model):
    """A time-to-event endpoint: a time column, or a start and an end date column."""

    label: str = Field(description="Name shown in the report, e.g. 'Overall survival'")
    abbreviation: str | None = Field(None, description="Short name, e.g. 'OS'; default: the endpoint id in capitals")
    definition: str | None = Field(None, description="Definition sentence for the Methods")
    time: str | None = Field(None, description="Column with the follow-up time in `time_unit`")
    start: str | None = Field(None, description="Column with the start date (time zero)")
    end: str | None = Field(None, description="Column with the date of the event or of censoring")
    event: str = Field(description="Column with the event indicator")
    event_value: Level = Field(1, description="Value of `event` that means the event happened")
    censor_value: Level = Field(0, description="Value of `event` that means censored")
    time_unit: Literal["days", "weeks", "months", "years"] = Field(
        "months", description="Unit of the time column, or unit to derive from dates (months = days / 30.4375)"
    )

    @model_validator(mode="after")
    def _time_or_dates(self) -> Endpoint:
        if self.time is not None and (self.start is not None or self.end is not None):
            raise ValueError("give either 'time' or both 'start' and 'end', not both")
        if self.time is None and (self.start is None or self.end is None):
            raise ValueError("give either 'time' (a column of times) or both 'start' and 'end' (date columns)")
        return self


class Covariate(_Model):
    """A baseline characteristic: described in Table 1 and available to Cox models."""

    label: str | None = Field(None, description="Display name; default: the column name")
    type: Literal["continuous", "categorical"] = Field(description="continuous or categorical")
    unit: str | None = Field(None, description="Unit of a continuous covariate, e.g. years")
    reference: Level | None = Field(None, description="Reference level of a categorical covariate")
    levels: list[Level] | None = Field(None, description="Order of levels of a categorical covariate")
    labels: dict[str, str] = Field(default_factory=dict, description="Display label for each level")
    per: float = Field(1.0, gt=0, description="HR per `per` units of a continuous covariate (e.g. 10 years)")

    @model_validator(mode="after")
    def _categorical_only(self) -> Covariate:
        if self.type == "continuous" and (self.reference is not None or self.levels):
            raise ValueError("'reference' and 'levels' apply to categorical covariates only")
        return self


class KMOptions(_Model):
    """Kaplan-Meier estimation."""

    conf_type: Literal["log", "log-log", "plain"] = Field(
        "log-log", description="Pointwise CI transform: log (R default), log-log (SAS default), plain"
    )
    conf_level: float = Field(0.95, gt=0.5, lt=1.0, description="Confidence level of every interval")
    landmarks: list[Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: [6.0, 12.0], description="Times (in the endpoint's unit) for survival rates"
    )
    break_time: float | None = Field(None, gt=0, description="Interval between x-axis ticks of KM figures")
    rmst_tau: float | None = Field(
        None,
        gt=0,
        description="Horizon of the restricted mean survival time; default: the smallest of the "
        "groups' largest follow-up times (so every group's curve is defined up to it)",
    )


class TestOptions(_Model):
    """Tests comparing the groups' survival curves."""

    method: Literal["log-rank", "peto-peto", "fleming-harrington"] = Field(
        "log-rank", description="log-rank; Peto-Peto (R's rho = 1); Fleming-Harrington G(rho, gamma)"
    )
    rho: float = Field(0.0, ge=0, description="Fleming-Harrington rho (weights S(t-)^rho)")
    gamma: float = Field(0.0, ge=0, description="Fleming-Harrington gamma (weights (1 - S(t-))^gamma)")
    strata: list[str] = Field(default_factory=list, description="Columns to stratify the test (and Cox models) by")
    trend: bool = Field(False, description="Test for trend across the group levels in their order (> 2 groups)")
    pairwise_adjust: Literal["holm", "bonferroni", "BH", "none"] = Field(
        "holm", description="Multiplicity adjustment of pairwise comparisons (> 2 groups)"
    )


class SelectionRule(_Model):
    """A stated rule that builds the multivariable model from the univariable screen."""

    univariable_p: float = Field(gt=0, le=1, description="Keep covariates whose univariable p is below this")
    always: list[str] = Field(default_factory=lambda: ["group"], description="Terms kept whatever their p")


class CoxOptions(_Model):
    """Cox proportional-hazards regression."""

    ties: Literal["efron", "breslow"] = Field("efron", description="Handling of tied event times")
    multivariable: list[str] = Field(
        default_factory=list, description="Terms of the multivariable model: 'group' and covariate ids"
    )
    select: SelectionRule | None = Field(
        None, description="Instead of a list: select covariates by univariable p (the rule is stated in Methods)"
    )
    interactions: list[Annotated[list[str], Field(min_length=2, max_length=2)]] = Field(
        default_factory=list, description="Pairs of model terms to add as interactions, e.g. [[group, sex]]"
    )

    @model_validator(mode="after")
    def _list_or_rule(self) -> CoxOptions:
        if self.select is not None and self.multivariable:
            raise ValueError("give either 'multivariable' (a list of terms) or 'select' (a rule), not both")
        return self


class Subgroup(_Model):
    """A subgroup variable: a categorical column as it is, or a numeric column cut into bins.

    ``cut: [c1, c2]`` makes the bins x < c1, c1 <= x < c2 and x >= c2 (each cut point
    opens the upper bin); ``labels`` names the bins in that order and must say so
    (e.g. ["<65", ">=65"])."""

    column: str = Field(description="Covariate id or data column")
    label: str | None = Field(None, description="Display name; default: the covariate's label or the column")
    cut: list[float] | None = Field(None, min_length=1, description="Cut points of a numeric column (ascending)")
    labels: list[str] | None = Field(None, description="Labels of the bins (len(cut) + 1), or of the levels")
    levels: list[Level] | None = Field(None, description="Order of the levels of a categorical column")

    @model_validator(mode="after")
    def _cuts(self) -> Subgroup:
        if self.cut is not None:
            if any(b <= a for a, b in zip(self.cut, self.cut[1:], strict=False)):
                raise ValueError("cut points must be strictly ascending")
            if self.labels is not None and len(self.labels) != len(self.cut) + 1:
                raise ValueError(
                    f"{len(self.cut)} cut point(s) make {len(self.cut) + 1} bins, "
                    f"but {len(self.labels)} label(s) were given"
                )
            if self.levels is not None:
                raise ValueError("give either 'cut' (numeric column) or 'levels' (categorical), not both")
        return self


class SubgroupOptions(_Model):
    """How subgroup analyses run."""

    endpoints: list[str] | None = Field(None, description="Endpoint ids to analyse; default: all")
    adjust: bool = Field(False, description="Adjust subgroup HRs for the multivariable model's covariates")
    km_panels: str | None = Field(
        None, description="Subgroup column whose levels get side-by-side Kaplan-Meier panels (by group)"
    )


class Analysis(_Model):
    """Which analyses run, and how."""

    alpha: float = Field(0.05, gt=0, lt=0.5, description="Two-sided significance level")
    qc: bool = Field(
        True, description="Recompute KM, log-rank and the group HR with lifelines and record the differences"
    )
    km: KMOptions = Field(default_factory=KMOptions)
    tests: TestOptions = Field(default_factory=TestOptions)
    cox: CoxOptions = Field(default_factory=CoxOptions)
    subgroup: SubgroupOptions = Field(default_factory=SubgroupOptions)
    landmark_analysis: float | None = Field(
        None, gt=0, description="Also analyse patients event-free at this time, with follow-up restarted there"
    )


class ManuscriptText(_Model):
    """The author's own words for a manuscript; anything not given is marked as a placeholder."""

    background: str | None = Field(None, description="Abstract: Background (1-3 sentences)")
    introduction: str | None = Field(None, description="Introduction text (STROBE items 2-3)")
    objectives: str | None = Field(None, description="Objectives and hypotheses (STROBE item 3)")
    conclusions: str | None = Field(None, description="Abstract and Discussion: conclusions")
    data_sources: str | None = Field(None, description="Where the data came from and how (STROBE item 8)")
    bias: str | None = Field(None, description="Efforts to address bias (STROBE item 9)")
    funding: str | None = Field(None, description="Funding and the funders' role (STROBE item 22)")
    abstract_word_limit: int = Field(350, ge=100, description="Maximum words in the structured abstract")
    supplement: bool = Field(True, description="Also write supplement.html/.pdf (STROBE checklist and more)")


class Period(_Model):
    """A window of diagnosis dates, both ends included."""

    start: date = Field(description="First date of diagnosis in the period")
    end: date = Field(description="Last date of diagnosis in the period")
    label: str | None = Field(None, description="Name in text and tables; default: the years, e.g. '2021-2024'")

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError("the period's end is before its start")
        return self

    def name(self) -> str:
        if self.label:
            return self.label
        if self.start.year == self.end.year:
            return str(self.start.year)
        return f"{self.start.year}\u2013{self.end.year}"


class Unit(_Model):
    """The organisational unit reports are made for and compared between (department, site)."""

    column: str = Field(description="Data column holding the unit")
    label: str = Field("Department", description="Name of the unit in text and tables, e.g. Department")
    labels: dict[str, str] = Field(default_factory=dict, description="Display name of each unit")


class InstitutionalOptions(_Model):
    """A periodic institutional outcome report (kind: institutional): whole institution and each unit."""

    unit: Unit
    period: Period = Field(description="Reporting period: patients diagnosed from start to end")
    previous_period: Period | None = Field(None, description="Earlier period to compare with (diagnosis dates)")
    diagnosis_date: str | None = Field(
        None, description="Column with the date of diagnosis; default: the first endpoint's start column"
    )
    stratifiers: list[str | Subgroup] = Field(
        default_factory=list,
        description="Breakdowns besides diagnosis year (e.g. stage, age band, sex): a column, or a mapping "
        "with column/cut/labels as in subgroups",
    )
    km_by: list[str] | None = Field(
        None, description="Stratifier columns that get Kaplan-Meier figures; default: the first stratifier"
    )
    time_points: list[Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: [1.0, 2.0, 5.0], description="Survival time points, in years since diagnosis"
    )
    case_mix: list[str] = Field(
        default_factory=list, description="Covariate ids adjusted for when units are compared (risk adjustment)"
    )
    suppression_threshold: int = Field(
        5, ge=1, description="Counts below this are shown as '<n', with complementary suppression"
    )
    conf_level: float = Field(0.95, gt=0.5, lt=1.0, description="Confidence level of survival estimates")

    @model_validator(mode="after")
    def _periods(self) -> InstitutionalOptions:
        prev = self.previous_period
        if prev is not None and not (prev.end < self.period.start):
            raise ValueError("institutional.previous_period must end before institutional.period starts")
        return self

    def stratifier_specs(self) -> list[Subgroup]:
        return [Subgroup(column=s) if isinstance(s, str) else s for s in self.stratifiers]


class StudyInfo(_Model):
    """Descriptive facts for the Methods text (STROBE items 4-6)."""

    design: str = Field("retrospective cohort study", description="Study design phrase")
    setting: str | None = Field(None, description="Where, e.g. 'a single tertiary cancer centre'")
    period_start: date | None = Field(None, description="First treatment/enrolment date")
    period_end: date | None = Field(None, description="Last treatment/enrolment date")
    data_cutoff: date | None = Field(None, description="Date of the data cut-off")
    population: str | None = Field(None, description="Who was studied, e.g. 'patients with SCLC and liver metastases'")
    synthetic_data: bool = Field(False, description="Say on the report that the data are synthetic")


class Author(_Model):
    """An author on the title page."""

    name: str = Field(description="Name as printed")
    affiliations: list[int] = Field(default_factory=list, description="Numbers of the author's affiliations (1-based)")
    email: str | None = Field(None, description="E-mail (printed for the corresponding author)")
    corresponding: bool = Field(False, description="The corresponding author")


class Layout(_Model):
    """Page and type settings of the PDF (and of the HTML where they apply)."""

    page_size: Literal["A4", "Letter"] = Field("A4", description="Paper size of the PDF")
    font: Literal["serif", "sans"] = Field("serif", description="Body text typeface")
    line_numbers: bool = Field(False, description="Line numbers in the margin of the PDF, for manuscript review")
    toc: bool = Field(False, description="A table of contents with page numbers after the title")


class FigureOptions(_Model):
    """Figure files for journal submission, besides the report's own figures."""

    submission: bool = Field(
        False, description="Also write every figure at each width as SVG, PDF, PNG and TIFF to figures/submission/"
    )
    widths_mm: list[Annotated[float, Field(ge=40, le=300)]] = Field(
        default_factory=lambda: [85.0, 170.0],
        min_length=1,
        description="Printed widths in mm (85: single column, 170: double column)",
    )
    dpi: list[Annotated[int, Field(ge=300, le=1200)]] = Field(
        default_factory=lambda: [300, 600], min_length=1, description="Resolutions of the PNG and TIFF files"
    )
    formats: list[Literal["svg", "pdf", "png", "tiff"]] = Field(
        default_factory=lambda: ["svg", "pdf", "png", "tiff"],
        min_length=1,
        description="File formats: svg and pdf (vector, fonts embedded in the PDF), png and tiff (at each dpi)",
    )

    @model_validator(mode="after")
    def _no_repeats(self) -> FigureOptions:
        for key in ("widths_mm", "dpi", "formats"):
            values = getattr(self, key)
            if len(set(values)) != len(values):
                raise ValueError(f"figures.{key} lists a value twice: {values}")
        return self


class Study(_Model):
    """A whole study specification."""

    title: str = Field(description="Report title")
    short_title: str | None = Field(None, description="Running head; default: the title")
    kind: Literal["manuscript", "institutional"] = Field(
        "manuscript", description="Report kind (template folder): manuscript, or institutional (outcome report)"
    )
    authors: list[str | Author] = Field(default_factory=list, description="Authors in order: names, or mappings")
    affiliations: list[str] = Field(default_factory=list, description="Affiliations, numbered from 1 in order")
    style: Literal["default", "bmc", "lancet"] = Field(
        "default", description="House style: typography, numbers (e.g. The Lancet's middle-dot decimals), p-values"
    )
    layout: Layout = Field(default_factory=Layout)
    figures: FigureOptions = Field(default_factory=FigureOptions)
    study: StudyInfo = Field(default_factory=StudyInfo)
    data: DataSource
    selection: list[SelectionStep] = Field(default_factory=list, description="Eligibility steps in order")
    group: Group
    endpoints: dict[str, Endpoint] = Field(min_length=1, description="Endpoints by id, e.g. pfs, os")
    covariates: dict[str, Covariate] = Field(default_factory=dict, description="Covariates by data column")
    subgroups: list[str | Subgroup] = Field(
        default_factory=list, description="Subgroup variables: a covariate id, or a mapping with column/cut/labels"
    )
    analysis: Analysis = Field(default_factory=Analysis)
    manuscript: ManuscriptText = Field(default_factory=ManuscriptText)
    institutional: InstitutionalOptions | None = Field(
        None, description="Options of an institutional outcome report (required with kind: institutional)"
    )
    templates: str | None = Field(None, description="Folder of your own templates, searched first")
    compute: ComputeOptions | None = Field(
        None, description="Where the analyses run with data.engine: dask (a Dask scheduler, or a local cluster)"
    )

    @model_validator(mode="before")
    @classmethod
    def _unit_is_the_group(cls, data: object) -> object:
        """An institutional report compares units: its unit column plays the part of ``group``."""
        if not isinstance(data, dict) or data.get("kind") != "institutional":
            return data
        inst = data.get("institutional")
        unit = inst.get("unit") if isinstance(inst, dict) else None
        if "group" in data and isinstance(inst, dict):
            raise ValueError("an institutional report compares units: give institutional.unit instead of group")
        if isinstance(unit, dict) and "column" in unit:
            group = {"column": unit["column"], "label": unit.get("label", "Department")}
            if isinstance(unit.get("labels"), dict):
                group["labels"] = unit["labels"]
            return {**data, "group": group}
        return data

    @model_validator(mode="after")
    def _compute(self) -> Study:
        if self.compute is not None and self.data.engine != "dask":
            raise ValueError("compute: applies to data.engine: dask only (set engine: dask, or remove compute)")
        if self.data.engine == "dask" and self.kind != "manuscript":
            raise ValueError("data.engine: dask is available for kind: manuscript reports only")
        return self

    @model_validator(mode="after")
    def _institutional(self) -> Study:
        inst = self.institutional
        if self.kind != "institutional":
            if inst is not None:
                raise ValueError("institutional: applies to kind: institutional only")
            return self
        if inst is None:
            raise ValueError("kind: institutional needs an 'institutional:' block (unit, period, ...)")
        for cid in inst.case_mix:
            if cid not in self.covariates:
                raise ValueError(
                    f"institutional.case_mix: '{cid}' is not a covariate id "
                    f"(covariates: {', '.join(self.covariates) or 'none'})"
                )
        columns = [s.column for s in inst.stratifier_specs()]
        for col in inst.km_by or []:
            if col not in columns:
                raise ValueError(f"institutional.km_by: '{col}' is not one of the stratifiers ({', '.join(columns)})")
        first = next(iter(self.endpoints.values()))
        if inst.diagnosis_date is None and first.start is None:
            raise ValueError(
                "institutional.diagnosis_date: give the column with the date of diagnosis "
                "(the first endpoint has no start date column to take it from)"
            )
        if self.study.data_cutoff is not None and inst.period.end > self.study.data_cutoff:
            raise ValueError("institutional.period ends after study.data_cutoff")
        return self

    @field_validator("endpoints")
    @classmethod
    def _endpoint_ids(cls, v: dict[str, Endpoint]) -> dict[str, Endpoint]:
        for key in v:
            if not key.replace("_", "").isalnum():
                raise ValueError(f"endpoint id '{key}' may contain only letters, digits and '_'")
        return v

    @model_validator(mode="after")
    def _multivariable_terms(self) -> Study:
        known = {"group", *self.covariates}
        cox = self.analysis.cox
        named = [("multivariable", t) for t in cox.multivariable]
        named += [("select.always", t) for t in (cox.select.always if cox.select else [])]
        named += [("interactions", t) for pair in cox.interactions for t in pair]
        for key, term in named:
            if term not in known:
                raise ValueError(
                    f"analysis.cox.{key}: '{term}' is neither 'group' nor a covariate id "
                    f"(covariates: {', '.join(self.covariates) or 'none'})"
                )
        if cox.interactions and not cox.select:
            for pair in cox.interactions:
                missing = [t for t in pair if t not in cox.multivariable]
                if missing:
                    raise ValueError(f"analysis.cox.interactions: {missing} must also be in analysis.cox.multivariable")
        return self

    @model_validator(mode="after")
    def _subgroup_options(self) -> Study:
        for eid in self.analysis.subgroup.endpoints or []:
            if eid not in self.endpoints:
                raise ValueError(
                    f"analysis.subgroup.endpoints: '{eid}' is not an endpoint id "
                    f"(endpoints: {', '.join(self.endpoints)})"
                )
        if self.analysis.subgroup.adjust and not self.analysis.cox.multivariable:
            raise ValueError(
                "analysis.subgroup.adjust: adjusts for the terms of analysis.cox.multivariable, "
                "which is empty; list the terms there"
            )
        panel = self.analysis.subgroup.km_panels
        if panel is not None and panel not in [s.column for s in self.subgroup_specs()]:
            raise ValueError(f"analysis.subgroup.km_panels: '{panel}' is not one of the subgroups")
        return self

    def subgroup_specs(self) -> list[Subgroup]:
        """Every subgroup entry as a ``Subgroup`` (a bare id becomes ``Subgroup(column=id)``)."""
        return [Subgroup(column=s) if isinstance(s, str) else s for s in self.subgroups]

    def author_list(self) -> list[Author]:
        return [Author(name=a) if isinstance(a, str) else a for a in self.authors]

    def author_names(self) -> list[str]:
        return [a.name for a in self.author_list()]

    @model_validator(mode="after")
    def _affiliation_numbers(self) -> Study:
        for a in self.author_list():
            for k in a.affiliations:
                if not 1 <= k <= len(self.affiliations):
                    raise ValueError(
                        f"authors: {a.name} has affiliation {k}, but {len(self.affiliations)} "
                        "affiliation(s) are listed under 'affiliations'"
                    )
        return self

    def group_label(self, level: str) -> str:
        return self.group.labels.get(level, level)
