"""Synthetic source cohort for the SCLC liver-metastasis example (LDRT+CIT vs CIT).

Takes no input; gives out ``cohort.csv`` beside this file: 92 screened patients,
one row each, of whom 74 meet the eligibility criteria (histology SCLC, liver
metastasis present, at least 2 cycles received). The data are SYNTHETIC: drawn
from simple parametric models tuned so that the Kaplan-Meier medians resemble a
published retrospective cohort; no row describes a real patient.

Usage::

    python examples/sclc_ldrt/generate.py            # rewrite cohort.csv
    python examples/sclc_ldrt/generate.py --check    # summarise cohort.csv (needs lifelines)

The seed is fixed, so a run rewrites ``cohort.csv`` byte for byte.

Outcome model (times in months, 1 month = 30.4375 days):

- PFS time is Weibull (shape ``PFS_SHAPE``) in accelerated-failure-time form:
  scale = ``PFS_SCALE`` * exp(sum of log time ratios for arm, line, ECOG and
  number of metastatic organs).
- A fraction ``P_DEATH_FIRST`` of patients die without prior progression (the
  PFS event is death); the others live a post-progression time that is Weibull
  (shape ``PPS_SHAPE``) with a scale set by line of therapy and arm, scaled by
  ECOG and organ count, so death always follows (or equals) the PFS event.
- Follow-up ends at the data cutoff (administrative censoring) or, for a few
  patients, at an earlier loss to follow-up. A censored PFS ends at the last
  tumour assessment (every 6 weeks from treatment start) on or before the last
  contact.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

# Chosen once, offline, as a seed whose Kaplan-Meier medians land near the published
# ones (see README.md); the generator never searches seeds when it runs.
SEED = 9305

HERE = Path(__file__).resolve().parent
OUT_PATH = HERE / "cohort.csv"

DAYS_PER_MONTH = 30.4375
ACCRUAL_START = np.datetime64("2019-09-01")
ACCRUAL_END = np.datetime64("2024-09-30")
DATA_CUTOFF = np.datetime64("2024-12-31")
ACCRUAL_POWER = 0.7  # start = accrual start + U**power * accrual length; < 1 skews to later years
ASSESSMENT_INTERVAL_DAYS = 42

N_ELIGIBLE = 74
N_LDRT = 30  # among the eligible; the other 44 receive CIT alone
# Exclusion reasons in the order they are applied; each excluded row fails only its own.
EXCLUSIONS = {"histology": 6, "liver": 5, "cycles": 7}

COLUMNS = [
    "patient_id",
    "arm",
    "age",
    "sex",
    "ecog",
    "smoking",
    "line_of_therapy",
    "n_metastatic_organs",
    "brain_metastases",
    "histology",
    "liver_metastasis",
    "cycles_received",
    "treatment_start",
    "progression_date",
    "pfs_end_date",
    "pfs_event",
    "death_or_last_contact_date",
    "died",
    "pfs_months",
]

# Covariate distributions.
AGE_MEAN, AGE_SD, AGE_MIN, AGE_MAX = 63.0, 7.5, 45, 80
P_MALE = 0.75
ECOG_LEVELS, ECOG_P = np.array([0, 1, 2]), np.array([0.30, 0.55, 0.15])
SMOKING_LEVELS, SMOKING_P = np.array(["Never", "Former", "Current"]), np.array([0.15, 0.45, 0.40])
P_FIRST_LINE = 0.60
ORGAN_LEVELS, ORGAN_P = np.array([1, 2, 3, 4, 5]), np.array([0.15, 0.30, 0.30, 0.17, 0.08])
P_BRAIN = 0.20
CYCLE_LEVELS, CYCLE_P = np.array([2, 3, 4, 5, 6]), np.array([0.12, 0.13, 0.45, 0.15, 0.15])
NON_SCLC_HISTOLOGY = np.array(["NSCLC", "LCNEC"])
P_LDRT_EXCLUDED = 0.4
N_MISSING = {"ecog": 3, "smoking": 4, "brain_metastases": 2}  # among the eligible

# Outcome model: log time ratios (accelerated failure time; > 0 lengthens survival).
PFS_SHAPE = 1.5
PFS_SCALE = 7.0  # months, CIT, first line, ECOG 0, one metastatic organ
PFS_LOG_TR = {
    "ldrt": np.log(1.28),
    "later": np.log(0.82),
    "ecog": np.log(0.88),
    "organ": np.log(0.93),
}
P_DEATH_FIRST = 0.08
PPS_SHAPE = 1.2
# Post-progression survival scale (months) by (line, arm), before ECOG/organ factors.
PPS_SCALE = {
    ("First", "CIT"): 16.0,
    ("First", "LDRT+CIT"): 17.0,
    ("Later", "CIT"): 3.8,
    ("Later", "LDRT+CIT"): 10.8,
}
PPS_LOG_TR = {"ecog": np.log(0.85), "organ": np.log(0.92)}
P_LOST = 0.08
LOST_MIN_DAYS = 60


def _exact_labels(rng: np.random.Generator, counts: dict[str, int]) -> np.ndarray:
    """A random permutation holding each label exactly ``counts[label]`` times."""
    return rng.permutation(np.repeat(list(counts), list(counts.values())))


def _draw_covariates(rng: np.random.Generator, reason: np.ndarray) -> pd.DataFrame:
    """Baseline characteristics; each excluded row fails only its own criterion."""
    n = reason.size
    eligible = reason == "eligible"
    arm = np.where(rng.random(n) < P_LDRT_EXCLUDED, "LDRT+CIT", "CIT")
    arm[eligible] = _exact_labels(rng, {"CIT": N_ELIGIBLE - N_LDRT, "LDRT+CIT": N_LDRT})
    age = np.clip(np.rint(rng.normal(AGE_MEAN, AGE_SD, n)), AGE_MIN, AGE_MAX).astype(int)
    histology = np.where(reason == "histology", rng.choice(NON_SCLC_HISTOLOGY, n), "SCLC")
    cycles = np.where(reason == "cycles", 1, rng.choice(CYCLE_LEVELS, n, p=CYCLE_P))
    return pd.DataFrame(
        {
            "arm": arm,
            "age": age,
            "sex": np.where(rng.random(n) < P_MALE, "Male", "Female"),
            "ecog": rng.choice(ECOG_LEVELS, n, p=ECOG_P),
            "smoking": rng.choice(SMOKING_LEVELS, n, p=SMOKING_P),
            "line_of_therapy": np.where(rng.random(n) < P_FIRST_LINE, "First", "Later"),
            "n_metastatic_organs": rng.choice(ORGAN_LEVELS, n, p=ORGAN_P),
            "brain_metastases": np.where(rng.random(n) < P_BRAIN, "Yes", "No"),
            "histology": histology,
            "liver_metastasis": np.where(reason == "liver", 0, 1),
            "cycles_received": cycles,
        }
    )


def _draw_true_times(rng: np.random.Generator, cov: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Uncensored PFS and OS times in whole days (OS >= PFS for every patient)."""
    n = len(cov)
    ldrt = (cov["arm"] == "LDRT+CIT").to_numpy()
    later = (cov["line_of_therapy"] == "Later").to_numpy()
    ecog = cov["ecog"].to_numpy()
    extra_organs = cov["n_metastatic_organs"].to_numpy() - 1
    pfs_lp = (
        PFS_LOG_TR["ldrt"] * ldrt
        + PFS_LOG_TR["later"] * later
        + PFS_LOG_TR["ecog"] * ecog
        + PFS_LOG_TR["organ"] * extra_organs
    )
    pfs_months = PFS_SCALE * np.exp(pfs_lp) * rng.weibull(PFS_SHAPE, n)
    line = cov["line_of_therapy"].to_numpy()
    arm = cov["arm"].to_numpy()
    pps_base = np.zeros(n)
    for (line_level, arm_level), scale in PPS_SCALE.items():
        pps_base[(line == line_level) & (arm == arm_level)] = scale
    pps_lp = PPS_LOG_TR["ecog"] * ecog + PPS_LOG_TR["organ"] * extra_organs
    pps_months = pps_base * np.exp(pps_lp) * rng.weibull(PPS_SHAPE, n)
    death_first = rng.random(n) < P_DEATH_FIRST
    pfs_days = np.maximum(np.rint(pfs_months * DAYS_PER_MONTH), 7).astype(int)
    pps_days = np.maximum(np.rint(pps_months * DAYS_PER_MONTH), 7).astype(int)
    os_days = np.where(death_first, pfs_days, pfs_days + pps_days)
    return pfs_days, os_days


def _iso(dates: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """ISO date strings; empty where ``keep`` is False."""
    text = np.datetime_as_string(dates.astype("datetime64[D]"), unit="D")
    return text if keep is None else np.where(keep, text, "")


def build_cohort(seed: int = SEED) -> pd.DataFrame:
    """The full screened population (92 rows) as a data frame with ``COLUMNS``."""
    rng = np.random.default_rng(seed)
    reason = _exact_labels(rng, {"eligible": N_ELIGIBLE, **EXCLUSIONS})
    n = reason.size
    cov = _draw_covariates(rng, reason)

    accrual_days = int((ACCRUAL_END - ACCRUAL_START).astype(int))
    # Accrual grows over the period (more patients in later years).
    offset = np.floor(accrual_days * rng.random(n) ** ACCRUAL_POWER).astype(int)
    start = ACCRUAL_START + offset.astype("timedelta64[D]")
    pfs_true, os_true = _draw_true_times(rng, cov)

    # Follow-up: administrative cutoff, or an earlier loss to follow-up for a few.
    admin_days = (DATA_CUTOFF - start).astype(int)
    lost = rng.random(n) < P_LOST
    lost_days = LOST_MIN_DAYS + np.floor(rng.random(n) * (admin_days - LOST_MIN_DAYS)).astype(int)
    contact_days = np.where(lost, lost_days, admin_days)

    died = os_true <= contact_days
    os_days = np.where(died, os_true, contact_days)
    pfs_event = pfs_true <= contact_days
    last_assessment = ASSESSMENT_INTERVAL_DAYS * (contact_days // ASSESSMENT_INTERVAL_DAYS)
    pfs_days = np.where(pfs_event, pfs_true, last_assessment)

    # Hide a few baseline values among the eligible (recorded as empty cells).
    ecog = cov["ecog"].astype("Int64")
    eligible_idx = np.flatnonzero(reason == "eligible")
    for column, k in N_MISSING.items():
        hidden = rng.choice(eligible_idx, k, replace=False)
        if column == "ecog":
            ecog.iloc[hidden] = pd.NA
        else:
            cov.iloc[hidden, cov.columns.get_loc(column)] = ""
    cov["ecog"] = ecog

    pfs_end = start + pfs_days.astype("timedelta64[D]")
    out = cov.assign(
        treatment_start=_iso(start),
        progression_date=_iso(pfs_end, pfs_event),
        pfs_end_date=_iso(pfs_end),
        pfs_event=pfs_event.astype(int),
        death_or_last_contact_date=_iso(start + os_days.astype("timedelta64[D]")),
        died=died.astype(int),
        pfs_months=np.round(pfs_days / DAYS_PER_MONTH, 2),
    )
    # Patient numbers follow the order of treatment start.
    out = out.iloc[np.lexsort((np.arange(n), start))].reset_index(drop=True)
    out.insert(0, "patient_id", [f"SCLC-{i:03d}" for i in range(1, n + 1)])
    return out[COLUMNS]


def to_csv_text(df: pd.DataFrame) -> str:
    """The CSV text written to disk (LF line ends, two decimals for ``pfs_months``)."""
    return df.to_csv(index=False, lineterminator="\n", float_format="%.2f")


def eligible_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows meeting all three eligibility criteria."""
    keep = (df["histology"] == "SCLC") & (df["liver_metastasis"] == 1) & (df["cycles_received"] >= 2)
    return df[keep]


def _r_median(time: np.ndarray, surv: np.ndarray, t_max: float, tol: float = 1.49e-8) -> float:
    """Kaplan-Meier median by R survival's rule (``quantile.survfit``).

    ``time``/``surv`` is the step function (ascending time, survival after each
    time). Where the curve sits exactly at 0.5 over an interval, R takes the
    midpoint of that interval (up to ``t_max``, the last follow-up time, when
    the curve ends there); lifelines takes its left end. NaN if not reached.
    """
    drops = np.flatnonzero(np.diff(surv, prepend=1.0) < 0)  # times where the curve steps down
    below = drops[surv[drops] <= 0.5 + tol]
    if below.size == 0:
        return float("nan")
    first = below[0]
    if abs(surv[first] - 0.5) >= tol:
        return float(time[first])
    later_drops = drops[drops > first]
    end = time[later_drops[0]] if later_drops.size else t_max
    return float((time[first] + end) / 2)


def check(path: Path = OUT_PATH) -> str:
    """A plain-text summary of ``path``: flow counts, invariants and Kaplan-Meier medians."""
    from lifelines import KaplanMeierFitter

    df = pd.read_csv(path, dtype={"smoking": str, "brain_metastases": str}, keep_default_na=False)
    fresh = to_csv_text(build_cohort()).encode("utf-8")
    lines = [f"file matches a fresh run: {path.read_bytes() == fresh}"]

    sclc = df[df["histology"] == "SCLC"]
    liver = sclc[sclc["liver_metastasis"] == 1]
    elig = liver[liver["cycles_received"] >= 2]
    lines += [
        f"screened: {len(df)}",
        f"excluded, histology not SCLC: {len(df) - len(sclc)}",
        f"excluded, no liver metastasis: {len(sclc) - len(liver)}",
        f"excluded, fewer than 2 cycles: {len(liver) - len(elig)}",
        f"included: {len(elig)}  " + "  ".join(f"{k}: {v}" for k, v in elig["arm"].value_counts().sort_index().items()),
        f"line of therapy: {elig['line_of_therapy'].value_counts().sort_index().to_dict()}",
        "missing among included: " + ", ".join(f"{c} {int((elig[c].astype(str) == '').sum())}" for c in N_MISSING),
    ]

    start = pd.to_datetime(df["treatment_start"])
    pfs_end = pd.to_datetime(df["pfs_end_date"])
    os_end = pd.to_datetime(df["death_or_last_contact_date"])
    prog = pd.to_datetime(df["progression_date"].where(df["progression_date"] != ""))
    cutoff = pd.Timestamp(str(DATA_CUTOFF))
    n_failed = (df["histology"] != "SCLC").astype(int) + (df["liver_metastasis"] != 1) + (df["cycles_received"] < 2)
    checks = {
        "end dates on or before cutoff": (pfs_end <= cutoff).all() and (os_end <= cutoff).all(),
        "PFS end <= OS end": (pfs_end <= os_end).all(),
        "death implies PFS event": (df["pfs_event"] >= df["died"]).all(),
        "progression date iff PFS event": (prog.notna() == (df["pfs_event"] == 1)).all(),
        "each excluded row fails exactly one criterion": (n_failed[n_failed > 0] == 1).all(),
        "pfs_months matches dates": np.allclose(
            df["pfs_months"], ((pfs_end - start).dt.days / DAYS_PER_MONTH).round(2)
        ),
    }
    lines += [f"check {name}: {'ok' if bool(ok) else 'FAILED'}" for name, ok in checks.items()]

    e = elig.assign(
        os_months=(os_end[elig.index] - start[elig.index]).dt.days / DAYS_PER_MONTH,
    )
    lines.append(
        f"events among included: PFS {e['pfs_event'].sum()}/{len(e)} ({e['pfs_event'].mean():.0%}), "
        f"OS {e['died'].sum()}/{len(e)} ({e['died'].mean():.0%})"
    )

    def median(rows: pd.DataFrame, time: str, event: str) -> str:
        kmf = KaplanMeierFitter().fit(rows[time], rows[event])
        t = kmf.survival_function_.index.to_numpy()
        surv = kmf.survival_function_.iloc[:, 0].to_numpy()
        r_median = _r_median(t, surv, float(rows[time].max()))
        text = f"{r_median:.2f}"
        if not np.isclose(r_median, kmf.median_survival_time_, equal_nan=True):
            text += f" [lifelines {kmf.median_survival_time_:.2f}]"
        return text

    organs = np.where(e["n_metastatic_organs"] <= 2, "organs 1-2", "organs >=3")
    groups = (
        [("all", e)]
        + [(f"line {k}", g) for k, g in e.groupby("line_of_therapy")]
        + [(str(k), g) for k, g in e.groupby(organs)]
    )
    for label, rows in groups:
        for endpoint, time, event in (
            ("PFS", "pfs_months", "pfs_event"),
            ("OS", "os_months", "died"),
        ):
            parts = [f"overall {median(rows, time, event)}"] + [
                f"{arm} {median(g, time, event)} (n={len(g)}, events={g[event].sum()})"
                for arm, g in rows.groupby("arm")
            ]
            lines.append(f"median {endpoint} [{label}]: " + "; ".join(parts))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="summarise cohort.csv instead of writing it")
    args = parser.parse_args(argv)
    if args.check:
        print(check())
        return 0
    OUT_PATH.write_bytes(to_csv_text(build_cohort()).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
