"""Batch benchmark: a quality team's run of many unit reports, serial versus both cores.

Takes the synthetic registry of examples/institutional, spreads its patients over N units
(seeded), and times ``render_batch`` (HTML reports, institution + one per unit) with one worker
and with one per core. Prints the times and the speed-up; the target is >= 1.7 x on 2 cores.

    python benchmarks/batch.py [--units 50] [--formats html]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "institutional"


def prepare(folder: Path, units: int, seed: int = 20261130) -> Path:
    frame = pd.read_parquet(EXAMPLE / "registry.parquet")
    rng = np.random.default_rng(seed)
    frame["department"] = [f"Unit {k:02d}" for k in rng.integers(1, units + 1, len(frame))]
    frame.to_parquet(folder / "registry.parquet", index=False)
    shutil.copy(EXAMPLE / "study.yaml", folder / "study.yaml")
    return folder / "study.yaml"


def run(spec: Path, out: Path, jobs: int, formats: list[str]) -> float:
    from reportgen.batch import render_batch

    start = time.perf_counter()
    outcome = render_batch(spec, out, "department", formats=formats, jobs=jobs)
    elapsed = time.perf_counter() - start
    if outcome.failed:
        raise SystemExit(f"{len(outcome.failed)} unit(s) failed: {outcome.failed[:3]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--formats", default="html")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "batch.json")
    args = parser.parse_args()
    formats = args.formats.split(",")
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        spec = prepare(Path(tmp), args.units)
        serial = run(spec, Path(tmp) / "serial", 1, formats)
        parallel = run(spec, Path(tmp) / "parallel", cores, formats)
    speedup = serial / parallel
    result = {
        "units": args.units,
        "reports": args.units + 1,
        "formats": formats,
        "cores": cores,
        "serial_s": round(serial, 2),
        "parallel_s": round(parallel, 2),
        "speedup": round(speedup, 2),
        "target": 1.7,
        "met": speedup >= 1.7,
    }
    print(f"batch of {args.units} unit reports + the institution ({','.join(formats)}), {cores} cores:")
    print(
        f"  serial {serial:.1f} s, parallel {parallel:.1f} s, speed-up {speedup:.2f} x "
        f"[{'pass' if speedup >= 1.7 else 'FAIL'}] target >= 1.7 x"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
