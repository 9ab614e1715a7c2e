"""The institutional spec block: required with kind institutional, unit as the group, checked keys."""

from __future__ import annotations

import pytest

from reportgen.errors import UserError
from reportgen.spec import parse_study


def _spec(**changes: object) -> dict:
    spec = {
        "title": "T",
        "kind": "institutional",
        "data": {"path": "x.csv"},
        "endpoints": {"os": {"label": "OS", "start": "d", "end": "e", "event": "dead"}},
        "covariates": {"age": {"type": "continuous"}},
        "institutional": {
            "unit": {"column": "dept", "label": "Department"},
            "period": {"start": "2021-01-01", "end": "2022-12-31"},
            "case_mix": ["age"],
        },
    }
    spec.update(changes)
    return spec


def test_defaults_and_unit_as_group() -> None:
    study = parse_study(_spec())
    inst = study.institutional
    assert inst.time_points == [1.0, 2.0, 5.0] and inst.suppression_threshold == 5
    assert study.group.column == "dept" and study.group.label == "Department"
    assert inst.period.name() == "2021\u20132022"


def test_block_required_and_checked() -> None:
    with pytest.raises(UserError, match="kind: institutional needs an 'institutional:' block"):
        parse_study({k: v for k, v in _spec().items() if k != "institutional"} | {"group": {"column": "g"}})
    bad = _spec()
    bad["institutional"] = {**bad["institutional"], "case_mix": ["stage"]}
    with pytest.raises(UserError, match="institutional.case_mix: 'stage' is not a covariate id"):
        parse_study(bad)
    bad = _spec()
    bad["institutional"] = {**bad["institutional"], "previous_period": {"start": "2020-01-01", "end": "2021-06-30"}}
    with pytest.raises(UserError, match="previous_period must end before"):
        parse_study(bad)
    with pytest.raises(UserError, match="give institutional.unit instead of group"):
        parse_study(_spec(group={"column": "g"}))
