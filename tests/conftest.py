"""Shared fixtures: small specs and data written to a temporary folder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sclc_ldrt" / "study.yaml"

SMALL_CSV = """\
pid,arm,start,end,died,months,age,sex
p1,A,2020-01-01,2020-07-01,1,6.0,60,M
p2,A,2020-01-15,2021-01-15,0,12.0,55,F
p3,A,2020-02-01,2020-05-01,1,3.0,70,M
p4,B,2020-02-10,2020-12-10,1,10.0,65,F
p5,B,2020-03-01,2021-03-01,0,12.0,,M
p6,B,2020-03-05,2020-09-05,1,6.0,58,F
"""

SMALL_SPEC = """\
title: Small study
data: {path: data.csv, id: pid}
group: {column: arm, reference: A}
endpoints:
  os: {label: Overall survival, start: start, end: end, event: died}
  pfs: {label: Progression-free survival, time: months, event: died}
covariates:
  age: {label: Age, type: continuous, unit: years}
  sex: {label: Sex, type: categorical, reference: M}
"""


@pytest.fixture
def make_study(tmp_path: Path):
    """Write a spec (and data) into tmp_path; returns the spec path."""

    def make(spec: str = SMALL_SPEC, csv: str = SMALL_CSV, name: str = "data.csv") -> Path:
        (tmp_path / name).write_text(textwrap.dedent(csv), encoding="utf-8")
        path = tmp_path / "study.yaml"
        path.write_text(textwrap.dedent(spec), encoding="utf-8")
        return path

    return make
