"""Benchmark: whole-process time and peak memory of ``reportgen render``, stage by stage, at every cohort size.

Cases: the main example (examples/sclc_ldrt, n = 74, HTML + PDF) and seeded synthetic
registry cohorts of 10^4, 10^5 and 10^6 patients (benchmarks/synth.py: 2 groups, 10
covariates, 30 % censoring; HTML, as the 10^6 target is stated). Each case runs in a fresh
Python process, ``--repeats`` times (default 3); the medians are reported.

Inside the process the real command line (``reportgen.cli.main``) runs with thin timers
wrapped around the pipeline's stage functions, so the stages add up to the whole run:
start-up/imports, load + derive, Table 1, KM + tests, Cox (univariable + multivariable,
with cox.zph), subgroups, figures, HTML, results.json, PDF, writing the files. Peak memory
is the process's maximum resident set size after each stage (so it never falls).

In the same run the bare import floor of the dependencies is measured (fresh processes
importing numpy, scipy.stats, pandas, matplotlib, jinja2, WeasyPrint, pydantic, PyYAML and
nothing else), and, where ``Rscript`` with the survival package is installed, R's read.csv
+ survfit + survdiff + coxph on the same CSV (benchmarks/r_bench.R). The figures are
printed as tables, checked against the performance targets, and written to
benchmarks/results/latest.json.

    python benchmarks/run.py                       # everything (10^6 takes a few minutes with R)
    python benchmarks/run.py --sizes example,1e4   # a subset
    python benchmarks/run.py --repeats 1 --no-r    # quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results" / "latest.json"
EXAMPLE = ROOT / "examples" / "sclc_ldrt" / "study.yaml"

STAGES = [
    ("imports", "start-up + imports"),
    ("load", "load + derive"),
    ("table1", "Table 1"),
    ("km", "KM + tests"),
    ("cox", "Cox (uni + multi, zph)"),
    ("subgroups", "subgroups"),
    ("analysis_other", "other analysis"),
    ("figures", "figures"),
    ("html", "HTML (tables, text)"),
    ("results_json", "results.json"),
    ("outputs", "other outputs (xlsx, docx, imports)"),
    ("pdf", "PDF (WeasyPrint)"),
    ("supplement", "supplement (HTML, figures)"),
    ("write", "write files"),
    ("other", "other"),
    ("exit", "interpreter exit"),
]

FLOOR_MODULES = [
    "numpy",
    "scipy.stats",
    "pandas",
    "matplotlib.figure",
    "matplotlib.backends.backend_svg",
    "matplotlib.backends.backend_agg",
    "jinja2",
    "weasyprint",
    "pydantic",
    "yaml",
]

TARGETS = {
    "example_vs_floor": 2.0,
    "example_vs_floor_stretch": 1.5,
    "figure_seconds": 0.3,
    "figure_svg_bytes": 500_000,
    "n1e6_seconds": 15.0,
    "n1e6_peak_mb": 1500.0,
    "coef_rtol": 5e-4,  # "the same coefficients to 3 significant digits"
}

# ---------------------------------------------------------------------------------------------
# worker: one instrumented run of the command line, in its own process


def _on_import(name: str, patch: Any) -> None:
    """Call ``patch(module)`` right after module ``name`` is first imported (it may never be: the
    PDF module, which imports WeasyPrint, is loaded only when a PDF is written)."""
    import importlib.abc
    import importlib.util

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
            if fullname != name:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(fullname)
            if spec is None or spec.loader is None:
                return spec
            loader = spec.loader
            run = loader.exec_module

            def exec_module(module: Any) -> None:
                run(module)
                patch(module)

            loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, Finder())


def _worker(spec: str, out: str, formats: str, launched: float, report_path: str) -> int:
    """Run ``reportgen render`` with stage timers; write the timings as JSON to ``report_path``."""
    import resource

    def rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    marks: dict[str, Any] = {"stages": {}, "peak_mb": {}, "figures": [], "cox_fits": [], "zph": []}
    stack: list[str] = []

    def add(stage: str, seconds: float) -> None:
        marks["stages"][stage] = marks["stages"].get(stage, 0.0) + seconds
        marks["peak_mb"][stage] = rss_mb()

    def timed(module: Any, name: str, stage: str | None, record: Any = None, optional: bool = False) -> None:
        """Wrap ``module.name``: add its wall time to ``stage`` (the caller's stage loses it)."""
        inner = getattr(module, name, None)
        if inner is None:
            if not optional:
                marks.setdefault("missing_hooks", []).append(f"{module.__name__}.{name}")
            return

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if stage is not None:
                stack.append(stage)
            start = time.perf_counter()
            try:
                result = inner(*args, **kwargs)
            finally:
                seconds = time.perf_counter() - start
                if stage is not None:
                    stack.pop()
                    add(stage, seconds)
                    if stack:  # nested: take it out of the enclosing stage
                        add(stack[-1], -seconds)
            if record is not None:
                record(seconds, args, kwargs, result)
            return result

        setattr(module, name, wrapper)

    import reportgen.analysis.cox as cox_mod
    import reportgen.analysis.runner as runner
    import reportgen.build as build_mod
    import reportgen.cli as cli
    import reportgen.figures.report_figures as figs
    import reportgen.render.report as report_mod

    add("imports", time.monotonic() - launched)

    def fig_record(seconds: float, args: Any, kwargs: Any, result: Any) -> None:
        if result is not None:
            marks["figures"].append(
                {"id": result.id, "seconds": seconds, "svg_bytes": len(result.svg), "png_bytes": len(result.png)}
            )

    def shape(args: Any, kwargs: Any) -> tuple[int, int]:
        X = args[2] if len(args) > 2 else kwargs["X"]
        return int(X.shape[0]), int(X.shape[1]) if X.ndim == 2 else 1

    def cox_record(seconds: float, args: Any, kwargs: Any, result: Any) -> None:
        n, p = shape(args, kwargs)
        marks["cox_fits"].append({"n": n, "p": p, "seconds": seconds})

    def zph_record(seconds: float, args: Any, kwargs: Any, result: Any) -> None:
        n, p = (len(args[1]), int(args[0].coef.size)) if len(args) > 1 else (0, 0)
        marks["zph"].append({"n": n, "p": p, "seconds": seconds})

    timed(build_mod, "validate", "load")
    timed(runner, "run_analyses", "analysis_other")
    timed(runner, "table1", "table1")
    timed(runner, "km_results", "km")
    timed(runner, "cox_results", "cox")
    timed(runner, "subgroup_results", "subgroups")
    timed(cox_mod, "fit_cox", None, cox_record)
    timed(cox_mod, "cox_zph", None, zph_record)
    timed(report_mod, "build_report", "html")
    timed(report_mod, "all_figures", "figures")
    for name in ("km_endpoint_figure", "km_panel_figure", "forest_endpoint_figure"):
        timed(figs, name, None, fig_record)
    timed(build_mod, "render_files", "outputs")
    timed(build_mod, "results_json", "results_json")
    timed(build_mod, "_supplement_files", "supplement", optional=True)
    _on_import("reportgen.render.pdf", lambda module: timed(module, "render_pdf", "pdf"))
    timed(build_mod, "write_atomically", "write")

    code = cli.main(["render", spec, "--out", out, "--format", formats, "--quiet"])
    marks["exit_code"] = code
    marks["in_process_seconds"] = time.monotonic() - launched  # the rest of the total is the interpreter's exit
    marks["peak_mb"]["end"] = rss_mb()
    out_dir = Path(out)
    marks["output_bytes"] = {
        p.relative_to(out_dir).as_posix(): p.stat().st_size for p in sorted(out_dir.rglob("*")) if p.is_file()
    }
    results_file = out_dir / "results.json"
    if results_file.is_file():
        marks["multivariable_coef"] = multivariable_coefs(json.loads(results_file.read_text(encoding="utf-8")))
    Path(report_path).write_text(json.dumps(marks), encoding="utf-8")
    return code


# ---------------------------------------------------------------------------------------------
# parent: processes, R, tables, targets


def _env(tree: Path = ROOT) -> dict[str, str]:
    """The environment of a measured process: ``tree`` (the checkout whose reportgen is measured) first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("MPLBACKEND", "agg")
    return env


def _run_timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[int, float, float, str]:
    """Run ``cmd``; return (exit code, wall seconds, the child's peak RSS in MB, stderr)."""
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return proc.returncode, wall, usage.ru_maxrss / 1024.0, err.read().decode("utf-8", "replace")


def measure_floor(repeats: int) -> dict[str, Any]:
    """Bare import of the dependencies, with and without lifelines (the issue's definition includes it)."""
    out: dict[str, Any] = {"modules": FLOOR_MODULES}
    for key, modules in (("seconds", FLOOR_MODULES), ("seconds_with_lifelines", [*FLOOR_MODULES, "lifelines"])):
        code = "import " + ", ".join(modules)
        runs = []
        for _ in range(repeats):
            rc, wall, _, err = _run_timed([sys.executable, "-c", code], _env())
            if rc != 0:
                raise SystemExit(f"import floor failed ({key}): {err.strip()}")
            runs.append(wall)
        out[key] = statistics.median(runs)
        out[key + "_runs"] = runs
    return out


def run_case(name: str, spec: Path, formats: str, repeats: int, tree: Path = ROOT) -> dict[str, Any]:
    runs = []
    for i in range(repeats):
        with tempfile.TemporaryDirectory(prefix="reportgen-bench-") as tmp:
            report = Path(tmp) / "marks.json"
            out = Path(tmp) / "out"
            launched = time.monotonic()
            cmd = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--worker",
                str(spec),
                str(out),
                formats,
                repr(launched),
                str(report),
            ]
            rc, wall, peak, err = _run_timed(cmd, _env(tree))
            if rc != 0 or not report.is_file():
                raise SystemExit(f"{name}: run {i + 1} failed (exit {rc}):\n{err.strip()}")
            marks = json.loads(report.read_text(encoding="utf-8"))
        marks["total_seconds"] = wall
        marks["peak_rss_mb"] = peak
        accounted = sum(marks["stages"].values())
        marks["stages"]["exit"] = max(wall - marks["in_process_seconds"], 0.0)
        marks["stages"]["other"] = max(marks["in_process_seconds"] - accounted, 0.0)
        runs.append(marks)
        print(f"  {name}: run {i + 1}/{repeats}: {wall:.2f} s, peak {peak:.0f} MB", flush=True)
    return _summarise(name, spec, formats, runs)


def _median_by_key(rows: list[list[dict[str, Any]]], key: str, field: str) -> list[dict[str, Any]]:
    """Per position (figure, fit), the median ``field`` over the repeats."""
    out = []
    for items in zip(*rows, strict=False):
        first = dict(items[0])
        first[field] = statistics.median(it[field] for it in items)
        out.append(first)
    return out


def _summarise(name: str, spec: Path, formats: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    stages = {s: statistics.median(r["stages"].get(s, 0.0) for r in runs) for s, _ in STAGES}
    present = {s for r in runs for s in r["stages"]}
    peak = {
        s: max(r["peak_mb"].get(s, 0.0) for r in runs) for s, _ in STAGES if s in present and s not in ("other", "exit")
    }
    fits = _median_by_key([r["cox_fits"] for r in runs], "n", "seconds")
    return {
        "case": name,
        "spec": str(spec.relative_to(ROOT)) if spec.is_relative_to(ROOT) else str(spec),
        "formats": formats,
        "repeats": len(runs),
        "total_seconds": statistics.median(r["total_seconds"] for r in runs),
        "total_seconds_runs": [r["total_seconds"] for r in runs],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "stages_seconds": {s: v for s, v in stages.items() if s in present},
        "stages_peak_rss_mb": peak,
        "figures": _median_by_key([r["figures"] for r in runs], "id", "seconds"),
        "cox_fits": fits,
        "zph": _median_by_key([r["zph"] for r in runs], "n", "seconds"),
        "output_bytes": runs[-1]["output_bytes"],
        "multivariable_coef": runs[-1].get("multivariable_coef", {}),
        "missing_hooks": sorted({h for r in runs for h in r.get("missing_hooks", [])}),
    }


def _have_r() -> str | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    probe = subprocess.run(
        [rscript, "-e", "quit(status = if (requireNamespace('survival', quietly = TRUE)) 0 else 1)"],
        capture_output=True,
    )
    return rscript if probe.returncode == 0 else None


def run_r(rscript: str, csv: Path, repeats: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="reportgen-bench-r-") as tmp:
            out = Path(tmp) / "r.json"
            rc, wall, peak, err = _run_timed([rscript, str(HERE / "r_bench.R"), str(csv), str(out)])
            if rc != 0:
                raise SystemExit(f"R benchmark failed on {csv}:\n{err.strip()}")
            res = json.loads(out.read_text(encoding="utf-8"))
        res["process_seconds"] = wall
        res["peak_rss_mb"] = peak
        runs.append(res)
    secs = {k: statistics.median(r["seconds"][k] for r in runs) for k in runs[0]["seconds"]}
    return {
        **{k: v for k, v in runs[0].items() if k not in ("seconds", "process_seconds", "peak_rss_mb")},
        "seconds": secs,
        "seconds_runs": [r["seconds"] for r in runs],
        "process_seconds": statistics.median(r["process_seconds"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
    }


def multivariable_coefs(results: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per endpoint, the multivariable coefficients named as R names them (``armExperimental``, ``ecog1``)."""
    out: dict[str, dict[str, float | None]] = {}
    for eid, ep in results.get("endpoints", {}).items():
        multi = (ep.get("cox") or {}).get("multivariable") or {}
        names = {}
        for t in multi.get("terms", []):
            var = "arm" if t["variable"] == "group" else t["variable"]
            names[var + (t["level"] or "")] = t["coef"]
        out[eid] = names
    return out


def compare_coefficients(py: dict[str, float | None], r_coef: dict[str, float]) -> dict[str, Any]:
    """Largest relative difference between our multivariable coefficients and R's."""
    rel = {k: abs(py[k] - v) / abs(v) for k, v in r_coef.items() if py.get(k) is not None}
    return {
        "max_rel_diff": max(rel.values()) if rel else math.nan,
        "missing": sorted(set(r_coef) - set(rel)),
        "per_coefficient_rel_diff": rel,
    }


# ---------------------------------------------------------------------------------------------
# report


def _fmt_s(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
    return "\n".join(out)


def print_report(data: dict[str, Any]) -> None:
    cases = data["cases"]
    names = [c["case"] for c in cases]
    print()
    print(f"Wall time in seconds (median of {data['repeats']}); '-' = stage not run")
    rows = []
    for key, label in STAGES:
        if not any(key in c["stages_seconds"] for c in cases):
            continue
        rows.append([label, *(_fmt_s(c["stages_seconds"].get(key)) for c in cases)])
    rows.append(["whole process", *(_fmt_s(c["total_seconds"]) for c in cases)])
    print(_table(["stage", *names], rows))
    print()
    print("Peak resident memory in MB after each stage (the process's high-water mark)")
    rows = []
    for key, label in STAGES:
        if not any(key in c["stages_peak_rss_mb"] for c in cases):
            continue
        rows.append(
            [label, *(f"{c['stages_peak_rss_mb'][key]:.0f}" if key in c["stages_peak_rss_mb"] else "-" for c in cases)]
        )
    rows.append(["whole process", *(f"{c['peak_rss_mb']:.0f}" for c in cases)])
    print(_table(["stage", *names], rows))
    print()
    print("Figures: seconds (SVG + PNG) / SVG size in kB")
    fig_ids = sorted({f["id"] for c in cases for f in c["figures"]})
    rows = []
    for fid in fig_ids:
        cells = []
        for c in cases:
            f = next((f for f in c["figures"] if f["id"] == fid), None)
            cells.append("-" if f is None else f"{f['seconds']:.2f} / {f['svg_bytes'] / 1000:.0f}")
        rows.append([fid, *cells])
    print(_table(["figure", *names], rows))
    print()
    print("Output sizes in kB: results.json / report.html")
    print(
        _table(
            ["", *names],
            [
                [
                    "kB",
                    *(
                        f"{c['output_bytes'].get('results.json', 0) / 1000:.0f} / "
                        f"{c['output_bytes'].get('report.html', 0) / 1000:.0f}"
                        for c in cases
                    ),
                ]
            ],
        )
    )
    r = data.get("r")
    print()
    if not r or r.get("skipped"):
        print(f"R comparison skipped: {r.get('skipped') if r else 'not requested'}")
    else:
        print(f"R {r['version']} survival {r['survival_version']}: same CSV, seconds (median of {data['repeats']})")
        rows = []
        for c in cases:
            rr = r["by_case"].get(c["case"])
            if rr is None:
                continue
            multi = max(c["cox_fits"], key=lambda f: f["p"]) if c["cox_fits"] else None
            rows.append(
                [
                    c["case"],
                    _fmt_s(rr["seconds"]["read"]),
                    _fmt_s(rr["seconds"]["survfit_survdiff"]),
                    _fmt_s(rr["seconds"]["coxph"]),
                    _fmt_s(rr["seconds"]["total"]),
                    _fmt_s(rr["process_seconds"]),
                    _fmt_s(c["total_seconds"]),
                    f"{c['total_seconds'] / rr['seconds']['total']:.2f}",
                    _fmt_s(multi["seconds"]) if multi else "-",
                    f"{multi['seconds'] / rr['seconds']['coxph']:.2f}" if multi else "-",
                    f"{rr['coef_check']['max_rel_diff']:.1e}" if "coef_check" in rr else "-",
                ]
            )
        print(
            _table(
                [
                    "case",
                    "R read",
                    "R km+lr",
                    "R coxph",
                    "R sum",
                    "Rscript",
                    "reportgen",
                    "ratio",
                    "fit_cox",
                    "Cox ratio",
                    "coef rel.diff",
                ],
                rows,
            )
        )
        print(
            "ratio = reportgen whole process (HTML) / R read+survfit+survdiff+coxph; Cox ratio = our multivariable fit / coxph"
        )
    print()
    print("Targets")
    for t in data["targets"]:
        print(f"  [{t['status']:>4}] {t['target']}: {t['measured']}")


def evaluate_targets(data: dict[str, Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []

    def add(target: str, ok: bool | None, measured: str) -> None:
        out.append(
            {"target": target, "status": "n/a" if ok is None else ("pass" if ok else "FAIL"), "measured": measured}
        )

    cases = {c["case"]: c for c in data["cases"]}
    floor = data["floor"]
    ex = cases.get("example")
    if ex is not None:
        ratio = ex["total_seconds"] / floor["seconds"]
        ratio_ll = ex["total_seconds"] / floor["seconds_with_lifelines"]
        measured = (
            f"{ex['total_seconds']:.2f} s = {ratio:.2f} x the floor of {floor['seconds']:.2f} s "
            f"({ratio_ll:.2f} x {floor['seconds_with_lifelines']:.2f} s with lifelines in the floor)"
        )
        add("main example HTML+PDF <= 2x import floor", ratio <= TARGETS["example_vs_floor"], measured)
        add(
            "main example HTML+PDF <= 1.5x import floor (stretch)",
            ratio <= TARGETS["example_vs_floor_stretch"],
            measured,
        )
    figs = [(c["case"], f) for c in data["cases"] for f in c["figures"]]
    if figs:
        slow = max(figs, key=lambda cf: cf[1]["seconds"])
        big = max(figs, key=lambda cf: cf[1]["svg_bytes"])
        add(
            "each figure <= 0.3 s (SVG + PNG)",
            slow[1]["seconds"] <= TARGETS["figure_seconds"],
            f"slowest {slow[1]['id']} at {slow[0]}: {slow[1]['seconds']:.2f} s",
        )
        add(
            "each figure SVG <= 0.5 MB",
            big[1]["svg_bytes"] <= TARGETS["figure_svg_bytes"],
            f"largest {big[1]['id']} at {big[0]}: {big[1]['svg_bytes'] / 1e6:.2f} MB",
        )
    big_case = cases.get("1e6")
    r = data.get("r") or {}
    if big_case is not None:
        add(
            "10^6: whole process < 15 s",
            big_case["total_seconds"] < TARGETS["n1e6_seconds"],
            f"{big_case['total_seconds']:.2f} s",
        )
        add(
            "10^6: peak memory < 1.5 GB",
            big_case["peak_rss_mb"] < TARGETS["n1e6_peak_mb"],
            f"{big_case['peak_rss_mb']:.0f} MB",
        )
        rr = (r.get("by_case") or {}).get("1e6")
        if rr is None:
            add("10^6: faster than R read+survfit+survdiff+coxph", None, "R not run")
            add("10^6: Cox fit faster than R's coxph, same coefficients", None, "R not run")
        else:
            add(
                "10^6: faster than R read+survfit+survdiff+coxph",
                big_case["total_seconds"] < rr["seconds"]["total"],
                f"{big_case['total_seconds']:.2f} s vs R {rr['seconds']['total']:.2f} s",
            )
            multi = max(big_case["cox_fits"], key=lambda f: f["p"])
            check = rr.get("coef_check", {})
            same = check.get("max_rel_diff", math.inf) <= TARGETS["coef_rtol"] and not check.get("missing")
            add(
                "10^6: Cox fit faster than R's coxph, same coefficients to 3 significant digits",
                multi["seconds"] < rr["seconds"]["coxph"] and same,
                f"fit_cox {multi['seconds']:.2f} s vs coxph {rr['seconds']['coxph']:.2f} s; "
                f"max relative difference of coefficients {check.get('max_rel_diff', math.nan):.1e}",
            )
    add(
        "batch of 50 unit reports uses both cores (>= 1.7x)",
        None,
        "measured by benchmarks/batch.py (make bench runs it next)",
    )
    return out


def _parse_sizes(text: str) -> list[str]:
    out = []
    for item in text.split(","):
        item = item.strip().lower()
        if not item:
            continue
        if item == "example":
            out.append(item)
            continue
        n = int(float(item))
        out.append(f"1e{round(math.log10(n))}" if n > 0 and 10 ** round(math.log10(n)) == n else str(n))
    return out


def _size_n(name: str) -> int:
    return int(float(name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="example,1e4,1e5,1e6", help="comma-separated: example and/or n values")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case (the median is reported)")
    parser.add_argument("--no-r", action="store_true", help="skip the R comparison")
    parser.add_argument("--pdf", action="store_true", help="also write the PDF for the synthetic cohorts")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON results")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the synthetic cohorts")
    parser.add_argument(
        "--tree", type=Path, default=ROOT, help="measure the reportgen package of another checkout (before/after)"
    )
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        spec, out, formats, launched, report = args.worker
        return _worker(spec, out, formats, float(launched), report)

    sys.path.insert(0, str(HERE))
    from synth import ensure_cohort

    sizes = _parse_sizes(args.sizes)
    print(f"reportgen benchmark: {', '.join(sizes)}; {args.repeats} run(s) each; {os.cpu_count()} CPU(s)", flush=True)
    floor = measure_floor(max(args.repeats, 3))
    print(
        f"  import floor: {floor['seconds']:.2f} s ({floor['seconds_with_lifelines']:.2f} s with lifelines)",
        flush=True,
    )
    rscript = None if args.no_r else _have_r()
    r_data: dict[str, Any] = {"by_case": {}}
    if args.no_r:
        r_data = {"skipped": "--no-r given"}
    elif rscript is None:
        r_data = {"skipped": "Rscript with the survival package is not installed here"}
        print(f"  R comparison skipped: {r_data['skipped']}", flush=True)
    cases = []
    for name in sizes:
        if name == "example":
            spec, formats = args.tree.resolve() / EXAMPLE.relative_to(ROOT), "html,pdf"
        else:
            print(f"  preparing the synthetic cohort of {_size_n(name)} patients", flush=True)
            spec, formats = ensure_cohort(CACHE, _size_n(name), args.seed), "html,pdf" if args.pdf else "html"
        cases.append(run_case(name, spec, formats, args.repeats, args.tree.resolve()))
        if rscript is not None and name != "example":
            print(f"  {name}: R survfit + survdiff + coxph", flush=True)
            rr = run_r(rscript, spec.parent / "cohort.csv", args.repeats)
            rr["coef_check"] = compare_coefficients(cases[-1]["multivariable_coef"].get("os", {}), rr.pop("coef"))
            r_data["by_case"][name] = rr
            r_data["version"], r_data["survival_version"] = rr["r_version"], rr["survival_version"]
    data = {
        "schema": 1,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "repeats": args.repeats,
        "tree": str(args.tree.resolve()),
        "floor": floor,
        "cases": cases,
        "r": r_data,
    }
    data["targets"] = evaluate_targets(data)
    print_report(data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"\nWritten to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
