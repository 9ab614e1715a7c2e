"""Scale-out benchmark: ``reportgen render`` with ``data.engine: dask`` on 10^7 synthetic patients in
partitioned Parquet, on a local Dask cluster, next to the in-memory path at 10^6.

The 10^7 rows are generated partition by partition (benchmarks/synth.py's seeded generator, one
seed per partition, patient identifiers numbered across partitions) and written as one Parquet
file per partition, so neither generating nor analysing them ever holds the whole table. Each run
is a fresh ``reportgen render ... --format html`` process; its wall time and the peak resident
memory of its whole process tree (the command, the Dask scheduler, the nannies and the worker
processes, sampled every 0.1 s with psutil) are reported. The target: peak under 4 GB at 10^7.

    python benchmarks/scale.py                      # 10^7 at scale, 10^6 at scale and in memory
    python benchmarks/scale.py --rows 1000000       # a quicker look
    python benchmarks/scale.py --no-in-memory       # skip the in-memory comparison

Files go to benchmarks/.cache/ (not committed) and are reused; results to results/scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results" / "scale.json"
sys.path.insert(0, str(HERE))

import synth  # noqa: E402

PEAK_TARGET_GB = 4.0
GENERATOR_KEY = f"scale-v1-synth-v{synth.GENERATOR_VERSION}"


def ensure_partitioned(n: int, partition_rows: int, workers: int, memory_limit: str | None, seed: int) -> Path:
    """Write (once) ``n`` synthetic patients as Parquet files of ``partition_rows`` rows, one
    partition at a time, and a spec reading them with engine: dask; returns the spec path."""
    folder = CACHE / f"scale_{n}_{partition_rows}"
    parts = folder / "parts"
    stamp = folder / "generator.txt"
    key = f"{GENERATOR_KEY}:{n}:{partition_rows}:{seed}"
    if not (stamp.is_file() and stamp.read_text().strip() == key):
        shutil.rmtree(folder, ignore_errors=True)
        parts.mkdir(parents=True)
        done = 0
        for i in range((n + partition_rows - 1) // partition_rows):
            size = min(partition_rows, n - done)
            frame = synth.synthetic_cohort(size, seed=seed + i)
            frame["patient_id"] = [f"P{k:09d}" for k in range(done + 1, done + size + 1)]
            tmp = parts / f".part-{i:05d}.tmp"
            frame.to_parquet(tmp, index=False, row_group_size=partition_rows)
            tmp.replace(parts / f"part-{i:05d}.parquet")
            done += size
            del frame
        stamp.write_text(key + "\n")
    spec = yaml.safe_load(synth.study_yaml())
    spec["data"] = {"path": "parts/*.parquet", "id": "patient_id", "engine": "dask"}
    spec["compute"] = {"workers": workers, "partition_rows": partition_rows}
    if memory_limit:
        spec["compute"]["memory_limit"] = memory_limit
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def tree_rss(proc: psutil.Process) -> int:
    """Resident memory of a process and all its descendants (bytes)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def run_render(spec: Path, label: str) -> dict[str, Any]:
    """One ``reportgen render`` process: wall seconds and peak memory of its process tree."""
    out = Path(tempfile.mkdtemp(prefix="reportgen-bench-")) / "report"
    cmd = [sys.executable, "-m", "reportgen", "render", str(spec), "--out", str(out), "--format", "html", "--quiet"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, tree_rss(ps))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    _, err = proc.communicate()
    ok = proc.returncode == 0
    result: dict[str, Any] = {
        "case": label,
        "seconds": round(seconds, 2),
        "peak_memory_gb": round(peak / 1e9, 3),
        "ok": ok,
    }
    if ok:
        res = json.loads((out / "results.json").read_text())
        multi = res["endpoints"]["os"]["cox"]["multivariable"]
        result["n"] = res["cohort"]["n_included"]
        result["logrank_statistic"] = res["endpoints"]["os"]["logrank"]["statistic"]
        result["multivariable_coef"] = [t["coef"] for t in multi["terms"]]
    else:
        result["error"] = err.decode("utf-8", "replace")[-2000:]
    shutil.rmtree(out.parent, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000, help="patients at scale (default 10^7)")
    ap.add_argument("--in-memory-rows", type=int, default=1_000_000, help="patients for the comparison (10^6)")
    ap.add_argument("--partition-rows", type=int, default=250_000, help="rows per Parquet file and partition")
    ap.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster")
    ap.add_argument("--memory-limit", default="1.5GB", help="memory limit per worker (Dask spills beyond it)")
    ap.add_argument("--no-in-memory", action="store_true", help="skip the in-memory path")
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args(argv)

    rows: list[dict[str, Any]] = []
    t = time.perf_counter()
    big = ensure_partitioned(args.rows, args.partition_rows, args.workers, args.memory_limit, args.seed)
    print(f"data: {args.rows:,} rows in {big.parent / 'parts'} ({time.perf_counter() - t:.1f} s)", flush=True)
    rows.append(run_render(big, f"dask, {args.rows:,} rows"))
    print(rows[-1], flush=True)
    if args.in_memory_rows:
        small = ensure_partitioned(args.in_memory_rows, args.partition_rows, args.workers, args.memory_limit, args.seed)
        rows.append(run_render(small, f"dask, {args.in_memory_rows:,} rows"))
        print(rows[-1], flush=True)
        if not args.no_in_memory:
            mem_spec = synth.ensure_cohort(CACHE, args.in_memory_rows)
            rows.append(run_render(mem_spec, f"in memory, {args.in_memory_rows:,} rows"))
            print(rows[-1], flush=True)

    print()
    print("| case | seconds | peak memory, process tree (GB) |")
    print("| --- | ---: | ---: |")
    for r in rows:
        print(f"| {r['case']} | {r['seconds']:.1f} | {r['peak_memory_gb']:.2f} |")
    big_row = rows[0]
    ok = big_row["ok"] and big_row["peak_memory_gb"] < PEAK_TARGET_GB
    print(
        f"\ntarget: {args.rows:,} rows at scale with peak memory < {PEAK_TARGET_GB:g} GB: "
        + ("passes" if ok else "fails")
        + f" ({big_row['peak_memory_gb']:.2f} GB)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "settings": vars(args),
                "runs": rows,
                "target_peak_gb": PEAK_TARGET_GB,
                "target_met": ok,
            },
            indent=2,
        )
        + "\n"
    )
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
