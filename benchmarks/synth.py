"""Synthetic registry cohorts for the benchmark: (n, seed) in, a CSV and a study spec on disk out.

One row per patient: two arms, ten baseline covariates (five continuous, five categorical,
two with a few per cent missing values), overall survival in whole days with about 30 %
censoring. Event times are Weibull with a proportional-hazards linear predictor, so a Cox
model recovers the coefficients below; censoring is uniform, its upper bound calibrated on
the draws so that the censored fraction is 30 %. Everything is vectorised and seeded: the
same (n, seed) gives the same bytes.

``ensure_cohort`` writes ``<cache>/synth_<n>/cohort.csv`` and ``study.yaml`` once and reuses
them on later runs (the cache folder is not committed).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

GENERATOR_VERSION = 1  # bump when the data change, so cached files are rewritten
CENSORED_FRACTION = 0.30
TIME_COLUMN = "os_days"
EVENT_COLUMN = "os_event"

#: log hazard ratios of the data-generating model, per design column as the spec codes them
TRUE_LOG_HR = {
    "arm=Experimental": -0.25,
    "age": 0.03,
    "sex=Female": -0.15,
    "ecog=1": 0.30,
    "ecog=2": 0.70,
    "stage=III": 0.40,
    "stage=IV": 0.90,
    "bmi": -0.02,
    "smoking=Former": 0.10,
    "smoking=Current": 0.25,
    "diabetes=Yes": 0.15,
    "ldh": 0.002,
    "albumin": -0.04,
    "comorbidities": 0.10,
}

#: categorical covariates: levels (the first is the reference) and their probabilities
CATEGORICAL = {
    "sex": (["Male", "Female"], [0.55, 0.45]),
    "ecog": (["0", "1", "2"], [0.40, 0.40, 0.20]),
    "stage": (["II", "III", "IV"], [0.25, 0.35, 0.40]),
    "smoking": (["Never", "Former", "Current"], [0.35, 0.40, 0.25]),
    "diabetes": (["No", "Yes"], [0.80, 0.20]),
}
CONTINUOUS = ("age", "bmi", "ldh", "albumin", "comorbidities")
COVARIATES = ("age", "sex", "ecog", "stage", "bmi", "smoking", "diabetes", "ldh", "albumin", "comorbidities")

_LABELS = {
    "age": ("Age", "years"),
    "sex": ("Sex", None),
    "ecog": ("ECOG performance status", None),
    "stage": ("Stage", None),
    "bmi": ("Body-mass index", "kg/m2"),
    "smoking": ("Smoking history", None),
    "diabetes": ("Diabetes", None),
    "ldh": ("Lactate dehydrogenase", "U/L"),
    "albumin": ("Albumin", "g/L"),
    "comorbidities": ("Number of comorbidities", None),
}


def _categorical(rng: np.random.Generator, name: str, n: int) -> np.ndarray:
    levels, probs = CATEGORICAL[name]
    return np.asarray(levels, dtype=object)[rng.choice(len(levels), size=n, p=probs)]


def _calibrated_censoring(rng: np.random.Generator, event_time: np.ndarray) -> np.ndarray:
    """Uniform(0, c) censoring times with c such that P(C < T) = CENSORED_FRACTION on these draws."""
    u = rng.random(event_time.size)
    lo, hi = 0.0, float(np.max(event_time)) * 50
    for _ in range(60):  # bisection on the censored fraction, which falls as c grows
        mid = (lo + hi) / 2
        if np.mean(u * mid < event_time) > CENSORED_FRACTION:
            lo = mid
        else:
            hi = mid
    return u * hi


def synthetic_cohort(n: int, seed: int = 20240601) -> pd.DataFrame:
    """A cohort of ``n`` patients as a DataFrame (categorical levels as text, missing as NaN)."""
    rng = np.random.default_rng([seed, n])
    arm = np.where(rng.random(n) < 0.5, "Control", "Experimental").astype(object)
    frame = {
        "patient_id": np.char.add("P", np.char.zfill(np.arange(1, n + 1).astype(str), 7)),
        "arm": arm,
        "age": np.clip(np.round(rng.normal(64, 10, n)), 18, 95),
        "sex": _categorical(rng, "sex", n),
        "ecog": _categorical(rng, "ecog", n),
        "stage": _categorical(rng, "stage", n),
        "bmi": np.round(np.clip(rng.normal(26, 4.5, n), 14, 60), 1),
        "smoking": _categorical(rng, "smoking", n),
        "diabetes": _categorical(rng, "diabetes", n),
        "ldh": np.round(np.exp(rng.normal(np.log(220), 0.35, n))),
        "albumin": np.round(rng.normal(40, 5, n), 1),
        "comorbidities": rng.poisson(1.2, n).astype(float),
    }
    lp = np.zeros(n)
    for key, beta in TRUE_LOG_HR.items():
        column, _, level = key.partition("=")
        column = "arm" if column == "arm" else column
        values = frame[column]
        lp += beta * ((values == level).astype(float) if level else values)
    lp -= lp.mean()
    shape, median_days = 1.2, 730.0
    scale = median_days / np.log(2) ** (1 / shape)
    event_time = scale * (-np.log(rng.random(n)) * np.exp(-lp)) ** (1 / shape)
    censor_time = _calibrated_censoring(rng, event_time)
    days = np.maximum(np.ceil(np.minimum(event_time, censor_time)), 1.0)
    frame[TIME_COLUMN] = days.astype(np.int64)
    frame[EVENT_COLUMN] = (event_time <= censor_time).astype(np.int64)
    for column, fraction in (("bmi", 0.02), ("ldh", 0.03)):  # missing at random, a few per cent
        frame[column] = np.where(rng.random(n) < fraction, np.nan, frame[column])
    return pd.DataFrame(frame)


def study_yaml(csv_name: str = "cohort.csv") -> str:
    """The study spec of a synthetic cohort: one endpoint (OS), Table 1, KM, log-rank, Cox on every covariate."""
    lines = [
        "# Synthetic registry cohort for the benchmark (benchmarks/synth.py); the data are not real.",
        'title: "Synthetic registry cohort: overall survival by treatment arm"',
        "study: {design: registry-based cohort study, synthetic_data: true}",
        f"data: {{path: {csv_name}, id: patient_id}}",
        "group: {column: arm, label: Treatment, reference: Control}",
        "endpoints:",
        f"  os: {{label: Overall survival, abbreviation: OS, time: {TIME_COLUMN}, event: {EVENT_COLUMN}, "
        "time_unit: days}",
        "covariates:",
    ]
    for name in COVARIATES:
        label, unit = _LABELS[name]
        if name in CATEGORICAL:
            levels = ", ".join(f'"{lvl}"' for lvl in CATEGORICAL[name][0])
            lines.append(f'  {name}: {{label: "{label}", type: categorical, levels: [{levels}]}}')
        else:
            unit_part = f', unit: "{unit}"' if unit else ""
            lines.append(f'  {name}: {{label: "{label}", type: continuous{unit_part}}}')
    lines += [
        "analysis:",
        "  km: {conf_type: log-log, conf_level: 0.95, landmarks: [365, 730, 1095], break_time: 365}",
        f"  cox: {{ties: efron, multivariable: [group, {', '.join(COVARIATES)}]}}",
    ]
    return "\n".join(lines) + "\n"


def _fingerprint(n: int, seed: int) -> str:
    return hashlib.sha256(f"{GENERATOR_VERSION}:{n}:{seed}".encode()).hexdigest()[:16]


def ensure_cohort(cache: Path, n: int, seed: int = 20240601) -> Path:
    """Write (once) and return the spec path of the synthetic cohort of ``n`` patients."""
    folder = cache / f"synth_{n}"
    spec, csv, stamp = folder / "study.yaml", folder / "cohort.csv", folder / "generator.txt"
    key = _fingerprint(n, seed)
    if spec.is_file() and csv.is_file() and stamp.is_file() and stamp.read_text().strip() == key:
        return spec
    folder.mkdir(parents=True, exist_ok=True)
    tmp = csv.with_suffix(".csv.tmp")
    synthetic_cohort(n, seed).to_csv(tmp, index=False, na_rep="", float_format="%.10g")
    tmp.replace(csv)
    spec.write_text(study_yaml(csv.name), encoding="utf-8")
    stamp.write_text(key + "\n", encoding="utf-8")
    return spec
