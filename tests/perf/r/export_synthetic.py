"""Write the ties-heavy synthetic cohort of the perf tests (10^5 rows, whole months) to CSV for R.

Usage: python tests/perf/r/export_synthetic.py OUT.csv
Then:  Rscript tests/perf/r/perf_fixture.R OUT.csv tests/perf/fixtures/synthetic_1e5_months.json
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cohort import csv_text, data_fingerprint, months_cohort  # noqa: E402


def main(out: str) -> None:
    frame = months_cohort()
    Path(out).write_bytes(csv_text(frame).encode("utf-8"))
    print(f"{out}: {len(frame)} rows, fingerprint {data_fingerprint(frame)}")


if __name__ == "__main__":
    main(sys.argv[1])
