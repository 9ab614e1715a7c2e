"""The perf tests' data: benchmarks/synth.py's seeded cohort of 10^5 patients, times in whole months.

Whole months (ceiling of days / 30.4375) leave about 110 distinct times for 10^5 patients, so
nearly every event time is tied: the case where Efron's correction, the risk-set blocks and the
merged rows of the concordance count most.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
N = 100_000
COLUMNS = ["months", "os_event", "arm", "age", "sex", "ecog", "ldh"]


def _synth():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("reportgen_bench_synth", ROOT / "benchmarks" / "synth.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def months_cohort(n: int = N) -> pd.DataFrame:
    """The seeded synthetic cohort with follow-up in whole months; ldh keeps its missing values."""
    frame = _synth().synthetic_cohort(n)
    frame["months"] = np.ceil(frame["os_days"] / 30.4375)
    return frame[COLUMNS].reset_index(drop=True)


def csv_text(frame: pd.DataFrame) -> str:
    """The CSV that R reads (tests/perf/r/export_synthetic.py writes exactly this)."""
    return frame.to_csv(index=False, na_rep="NA", float_format="%.17g")


def data_fingerprint(frame: pd.DataFrame) -> str:
    """MD5 of that CSV (R's tools::md5sum): the fixture holds it, so a changed generator is caught."""
    return hashlib.md5(csv_text(frame).encode("utf-8")).hexdigest()


def design(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(time, event, X, names) on complete cases, coded as R codes arm + age + sex + ecog + ldh."""
    rows = frame.dropna()
    X = np.column_stack(
        [
            (rows["arm"] == "Experimental").to_numpy(float),
            rows["age"].to_numpy(float),
            (rows["sex"] == "Female").to_numpy(float),
            (rows["ecog"].astype(str) == "1").to_numpy(float),
            (rows["ecog"].astype(str) == "2").to_numpy(float),
            rows["ldh"].to_numpy(float),
        ]
    )
    names = ["armExperimental", "age", "sexFemale", "ecog1", "ecog2", "ldh"]
    return rows["months"].to_numpy(float), rows["os_event"].to_numpy(int), X, names
