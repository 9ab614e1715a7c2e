"""Fixtures for institutional reports: a small crafted registry (with small cells), its spec, and a
throwaway PostgreSQL server.

The PostgreSQL fixture needs the server binaries (Debian: ``apt-get install postgresql``; .ci/run
installs them). It initialises a cluster in a fresh temporary folder (as the ``postgres`` user when
running as root, since the server refuses to run as root), starts it on 127.0.0.1 at a free port with
password authentication, and stops it and deletes the folder at the end of the session. Without the
binaries the tests that need it are skipped with the reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

SECRET_ID = "SECRETID"
PG_USER = "rg_secret_user"
PG_PASSWORD = "S3cr3t-pw-XYZ"  # distinctive strings that must never reach an output


def registry_rows() -> list[dict[str, object]]:
    """A small registry with deliberate small cells, made by arithmetic (no random numbers).

    Units A and B are large; unit C has 3 patients in the current period (2021-2022) and 12 before;
    stage IV is rare in unit B. Follow-up to the cut-off 2023-12-31.
    """
    rows = []
    plan = {"A": (40, 40), "B": (36, 34), "C": (12, 3)}  # (previous, current) patients
    k = 0
    for unit, (n_prev, n_cur) in plan.items():
        for period, n in (("previous", n_prev), ("current", n_cur)):
            for i in range(n):
                k += 1
                year = (2019 if i % 2 == 0 else 2020) if period == "previous" else (2021 if i % 2 == 0 else 2022)
                diag = date(year, 1 + (i * 5) % 12, 1 + (i * 7) % 27)
                stage = "IV" if (unit == "B" and i % 17 == 3) else ["I", "II", "III", "I", "II", "III", "IV"][i % 7]
                days = 60 + (k * 97) % 1400
                end = min(diag + timedelta(days=days), date(2023, 12, 31))
                died = int(k % 3 != 0 and end < date(2023, 12, 31))
                rows.append(
                    {
                        "pid": f"{SECRET_ID}-{k:04d}",
                        "unit": unit,
                        "diagnosed": diag.isoformat(),
                        "stage": stage,
                        "age": 40 + (k * 13) % 45,
                        "sex": "F" if k % 2 else "M",
                        "end_date": end.isoformat(),
                        "dead": died,
                    }
                )
    return rows


def registry_csv() -> str:
    rows = registry_rows()
    head = list(rows[0])
    return "\n".join([",".join(head)] + [",".join(str(r[c]) for c in head) for r in rows]) + "\n"


SPEC = """\
title: Small registry report
kind: institutional
study: {data_cutoff: 2023-12-31}
data: {path: registry.csv, id: pid}
endpoints:
  os: {label: Overall survival, start: diagnosed, end: end_date, event: dead, time_unit: years}
covariates:
  age: {label: Age, type: continuous, per: 10}
  stage: {label: Stage, type: categorical}
  sex: {label: Sex, type: categorical}
institutional:
  unit: {column: unit, label: Unit}
  period: {start: 2021-01-01, end: 2022-12-31}
  previous_period: {start: 2019-01-01, end: 2020-12-31}
  stratifiers: [stage, sex]
  time_points: [1, 2]
  case_mix: [age, stage, sex]
"""


@pytest.fixture
def small_registry(tmp_path: Path):
    """Write the crafted registry and a spec (``data`` replaced when given); returns the spec path."""

    def make(spec: str = SPEC, data: str | None = None, name: str = "registry.csv") -> Path:
        (tmp_path / name).write_text(registry_csv() if data is None else data, encoding="utf-8")
        path = tmp_path / "study.yaml"
        path.write_text(textwrap.dedent(spec), encoding="utf-8")
        return path

    return make


def _pg_bin() -> Path | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(d, "initdb").exists() and Path(d, "pg_ctl").exists():
            return Path(d)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PgServer:
    port: int
    database: str


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """A throwaway PostgreSQL server on 127.0.0.1 with the crafted registry in table ``registry``."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (Debian: apt-get install postgresql; .ci/run does it)")
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="reportgen-pg-", dir="/tmp"))
    if as_root:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base, ignore_errors=True)
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    pwfile = base / "pw"
    pwfile.write_text(PG_PASSWORD + "\n", encoding="utf-8")
    if as_root:
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, "-A", "scram-sha-256", f"--pwfile={pwfile}"],
        **run,
    )
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start"], **run
    )
    try:
        import psycopg

        conninfo = f"host=127.0.0.1 port={port} user={PG_USER} password={PG_PASSWORD}"
        with psycopg.connect(conninfo + " dbname=postgres", autocommit=True) as conn:
            conn.execute("create database registry")
        with psycopg.connect(conninfo + " dbname=registry", autocommit=True) as conn:
            conn.execute(
                "create table registry (pid text, unit text, diagnosed date, stage text, age integer, "
                "sex text, end_date date, dead integer)"
            )
            rows = registry_rows()
            with conn.cursor() as cur:
                cur.executemany(
                    "insert into registry values (%s, %s, %s, %s, %s, %s, %s, %s)",
                    [tuple(r.values()) for r in rows],
                )
        yield PgServer(port=port, database="registry")
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)
