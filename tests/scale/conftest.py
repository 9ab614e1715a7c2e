"""Shared fixtures for the scale-out tests: one real Dask cluster (a scheduler and two worker
processes on the loopback interface) for the whole session, and partitioned Parquet copies of the
main example and of a seeded synthetic cohort (benchmarks/synth.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sclc_ldrt"
sys.path.insert(0, str(ROOT / "benchmarks"))

import synth  # noqa: E402  (benchmarks/synth.py: the seeded synthetic cohort)


@pytest.fixture(scope="session")
def cluster() -> Iterator[object]:
    """A LocalCluster: processes=True, n_workers=2, threads_per_worker=1, on 127.0.0.1."""
    pytest.importorskip("distributed")
    from reportgen.scale.cluster import open_client

    with open_client(n_workers=2) as client:
        yield client


def write_parts(frame, folder: Path, n_files: int) -> None:  # type: ignore[no-untyped-def]
    """The rows in ``n_files`` Parquet files (consecutive slices, file order = row order)."""
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-len(frame) // n_files)
    for i in range(n_files):
        frame.iloc[i * size : (i + 1) * size].to_parquet(folder / f"part-{i:03d}.parquet", index=False)


def dask_spec(spec: dict, path: str, **extra: object) -> dict:
    out = dict(spec)
    out["data"] = {"path": path, "id": spec["data"].get("id"), "engine": "dask", **extra}
    return out


@pytest.fixture(scope="session")
def example_parts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The main example's CSV (read as the in-memory path reads it: text) as 4 Parquet files, with a
    spec that reads them with engine: dask; returns the spec path."""
    from reportgen.data.readers import read_table

    folder = tmp_path_factory.mktemp("example")
    write_parts(read_table(EXAMPLE / "cohort.csv").frame, folder / "parts", 4)
    spec = yaml.safe_load((EXAMPLE / "study.yaml").read_text(encoding="utf-8"))
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(dask_spec(spec, "parts/*.parquet"), sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def synth_1e5(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """10^5 seeded synthetic patients: (in-memory spec on a CSV, dask spec on 5 typed Parquet files)."""
    folder = tmp_path_factory.mktemp("synth")
    frame = synth.synthetic_cohort(100_000)
    frame.to_csv(folder / "cohort.csv", index=False, na_rep="", float_format="%.10g")
    write_parts(frame, folder / "parts", 5)
    (folder / "study.yaml").write_text(synth.study_yaml("cohort.csv"), encoding="utf-8")
    spec = yaml.safe_load(synth.study_yaml("cohort.csv"))
    (folder / "scale.yaml").write_text(yaml.safe_dump(dask_spec(spec, "parts/*.parquet"), sort_keys=False))
    return folder / "study.yaml", folder / "scale.yaml"
