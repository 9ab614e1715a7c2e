"""Synthetic cancer registry for the institutional outcome report example.

Takes no input; gives out ``registry.parquet`` beside this file: 20,000 patients diagnosed
2017-2024 in 6 departments, one row each. The data are SYNTHETIC: drawn from simple
parametric models; no row describes a real patient.

Usage::

    python examples/institutional/generate.py     # rewrite registry.parquet (fixed seed)

Model:

- Department sizes and case mix differ: each department has its own stage distribution and
  mean age, so crude survival differs between departments for reasons of case mix alone.
- Survival time (years from diagnosis) is exponential with a hazard that depends on stage
  (5-year survival about 85%, 65%, 35% and 8% for stages I-IV at age 65), age (hazard ratio
  1.03 per year), sex (men 1.1), a small improvement over calendar time (0.97 per year) and
  the department: "Thoracic oncology" has a 35% higher hazard after adjustment for case mix,
  the others none. About 3% of stages are unknown (hazard of stage III).
- Follow-up ends at death, at the data cut-off (2025-03-31), or for about 4% of patients at
  an earlier loss to follow-up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20250331
N = 20_000
CUTOFF = np.datetime64("2025-03-31")
FIRST, LAST = np.datetime64("2017-01-01"), np.datetime64("2024-12-31")
DEPARTMENTS = {  # name: (share, stage probabilities I-IV, mean age, department log hazard ratio)
    "Medical oncology": (0.24, (0.15, 0.25, 0.30, 0.30), 66, 0.0),
    "Surgical oncology": (0.22, (0.40, 0.30, 0.20, 0.10), 63, 0.0),
    "Radiation oncology": (0.16, (0.20, 0.30, 0.35, 0.15), 68, 0.0),
    "Gynaecological oncology": (0.12, (0.35, 0.25, 0.25, 0.15), 60, 0.0),
    "Haematology": (0.14, (0.25, 0.25, 0.25, 0.25), 64, 0.0),
    "Thoracic oncology": (0.12, (0.15, 0.15, 0.30, 0.40), 69, np.log(1.35)),
}
STAGES = np.array(["I", "II", "III", "IV"])
FIVE_YEAR = np.array([0.85, 0.65, 0.35, 0.08])  # at age 65, women, 2017
TREATMENTS = np.array(["Surgery", "Chemotherapy", "Radiotherapy", "Chemoradiotherapy", "Best supportive care"])


def generate(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = list(DEPARTMENTS)
    shares = np.array([DEPARTMENTS[d][0] for d in names])
    dept = rng.choice(len(names), size=N, p=shares / shares.sum())
    stage_probs = np.array([DEPARTMENTS[d][1] for d in names])
    u = rng.random(N)
    stage = (u[:, None] > np.cumsum(stage_probs[dept], axis=1)).sum(axis=1)
    mean_age = np.array([DEPARTMENTS[d][2] for d in names])[dept]
    age = np.clip(np.round(rng.normal(mean_age, 11)), 18, 99).astype(int)
    sex = np.where(rng.random(N) < 0.52, "Female", "Male")
    span = int((LAST - FIRST).astype(int))
    diagnosis = FIRST + rng.integers(0, span + 1, size=N).astype("timedelta64[D]")
    year = diagnosis.astype("datetime64[Y]").astype(int) + 1970

    base = -np.log(FIVE_YEAR) / 5.0  # yearly hazards by stage
    log_hr = (
        0.03 * (age - 65)
        + np.where(sex == "Male", np.log(1.1), 0.0)
        + np.log(0.97) * (year - 2017)
        + np.array([DEPARTMENTS[d][3] for d in names])[dept]
    )
    hazard = base[stage] * np.exp(log_hr)
    survival_days = rng.exponential(1.0 / hazard) * 365.25
    death = diagnosis + np.floor(survival_days).astype("timedelta64[D]")
    lost = rng.random(N) < 0.04
    lost_at = diagnosis + rng.integers(30, 2000, size=N).astype("timedelta64[D]")
    end = np.minimum(death, CUTOFF)
    end = np.where(lost & (lost_at < end), lost_at, end)
    died = (death <= end).astype(int)

    stage_text = STAGES[stage].astype(object)
    stage_text[rng.random(N) < 0.03] = None
    p_treat = np.array(
        [
            [0.70, 0.10, 0.10, 0.05, 0.05],
            [0.45, 0.20, 0.15, 0.15, 0.05],
            [0.15, 0.25, 0.20, 0.30, 0.10],
            [0.02, 0.50, 0.10, 0.13, 0.25],
        ]
    )
    v = rng.random(N)
    treatment = TREATMENTS[(v[:, None] > np.cumsum(p_treat[stage], axis=1)).sum(axis=1)]
    order = np.lexsort((dept, diagnosis))
    frame = pd.DataFrame(
        {
            "patient_id": [f"R{i:06d}" for i in range(1, N + 1)],
            "department": np.array(names)[dept][order],
            "diagnosis_date": pd.to_datetime(diagnosis[order]).date,
            "stage": stage_text[order],
            "age": age[order],
            "sex": sex[order],
            "treatment": treatment[order],
            "last_contact_or_death": pd.to_datetime(end[order]).date,
            "died": died[order],
        }
    )
    return frame


def main() -> None:
    frame = generate()
    out = Path(__file__).resolve().parent / "registry.parquet"
    frame.to_parquet(out, index=False, compression="zstd")


if __name__ == "__main__":
    main()
