"""Write lifelines' `lung` and `gbsg2` datasets as CSV so that R computes on exactly the same rows.

Usage: python tests/stats/r/export_datasets.py OUTDIR
lung: status is 1 = death, 0 = censored (lifelines recodes R's 2/1); sex 1 = male, 2 = female.
"""

import sys
from pathlib import Path

from lifelines.datasets import load_gbsg2, load_lung

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
load_lung().to_csv(out / "lung.csv", index=False)
load_gbsg2().to_csv(out / "gbsg2.csv", index=False)
print(f"wrote {out / 'lung.csv'} and {out / 'gbsg2.csv'}")
