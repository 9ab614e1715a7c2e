"""Cohort building: typing, derivation of times from dates, and every data error named precisely."""

import numpy as np
import pytest

from reportgen.build import validate
from reportgen.errors import UserError
from tests.conftest import SMALL_CSV, SMALL_SPEC


def _problems(make_study, csv=SMALL_CSV, spec=SMALL_SPEC) -> str:
    with pytest.raises(UserError) as exc:
        validate(make_study(spec=spec, csv=csv))
    return str(exc.value)


def test_small_cohort_is_typed_and_derived(make_study):
    study, cohort = validate(make_study())
    assert cohort.n == 6
    assert cohort.group_levels == ["A", "B"]
    os_ = cohort.endpoints["os"]
    # 2020-01-01 -> 2020-07-01 is 182 days; months = days / 30.4375
    assert os_.time[0] == pytest.approx(182 / 30.4375)
    assert os_.derived_from_dates
    np.testing.assert_array_equal(os_.event, [1, 0, 1, 1, 0, 1])
    assert list(cohort.frame["sex"].cat.categories) == ["M", "F"]  # reference first
    assert cohort.frame["age"].isna().sum() == 1  # missing covariates are allowed


def test_missing_column_with_suggestion(make_study):
    msg = _problems(make_study, spec=SMALL_SPEC.replace("event: died}", "event: dead}", 1))
    assert "column 'dead' (from endpoints.os.event) is not in the data" in msg
    assert "did you mean 'died'?" in msg


def test_unparsable_dates_name_rows_and_values(make_study):
    csv = SMALL_CSV.replace("2020-07-01", "01/07/2020").replace("2021-01-15", "soon")
    msg = _problems(make_study, csv=csv)
    assert "data.csv: end: values are not dates; first values: '01/07/2020', 'soon' (rows 2, 3)" in msg
    assert "YYYY-MM-DD" in msg


def test_end_before_start(make_study):
    msg = _problems(make_study, csv=SMALL_CSV.replace("2020-02-01,2020-05-01", "2020-02-01,2019-05-01"))
    assert "end date (end) is before start date (start): 2020-02-01 -> 2019-05-01 (row 4)" in msg


def test_negative_time(make_study):
    msg = _problems(make_study, csv=SMALL_CSV.replace(",3.0,", ",-3.0,"))
    assert "months: follow-up time is negative; first values: '-3.0' (row 4)" in msg


def test_event_codes_outside_declared(make_study):
    csv = SMALL_CSV.replace("2020-07-01,1,", "2020-07-01,2,").replace("2020-12-10,1,", "2020-12-10,yes,")
    msg = _problems(make_study, csv=csv)
    assert "died: event codes other than the declared 1 (event) and 0 (censored)" in msg
    assert "'2', 'yes' (rows 2, 5)" in msg


def test_group_reference_not_in_data(make_study):
    msg = _problems(make_study, spec=SMALL_SPEC.replace("reference: A", "reference: a"))
    assert "reference level 'a' (from group.reference) is not in the data" in msg
    assert "did you mean 'A'?" in msg


def test_group_label_for_absent_level(make_study):
    msg = _problems(make_study, spec=SMALL_SPEC.replace("reference: A}", "reference: A, labels: {C: x}}"))
    assert "group.labels names level 'C', which is not in the data" in msg


def test_single_group(make_study):
    msg = _problems(make_study, csv=SMALL_CSV.replace(",B,", ",A,"))
    assert "only one group ('A')" in msg


def test_duplicate_ids(make_study):
    msg = _problems(make_study, csv=SMALL_CSV.replace("p5,", "p4,"))
    assert "1 identifier(s) occur more than once" in msg and "(rows 5, 6)" in msg


def test_non_numeric_covariate(make_study):
    msg = _problems(make_study, csv=SMALL_CSV.replace(",60,M", ",sixty,M"))
    assert "age: values are not numbers; first values: 'sixty' (row 2)" in msg


def test_numeric_group_levels_match_spec_numbers(make_study):
    csv = SMALL_CSV.replace(",A,", ",1,").replace(",B,", ",2,")
    study, cohort = validate(make_study(spec=SMALL_SPEC.replace("reference: A", "reference: 2"), csv=csv))
    assert cohort.group_levels == ["2", "1"]


def test_all_problems_at_once(make_study):
    csv = SMALL_CSV.replace("p5,", "p4,").replace(",3.0,", ",-3.0,")
    msg = _problems(make_study, csv=csv)
    assert msg.startswith("2 problems found:")


def test_missing_data_file(make_study, tmp_path):
    msg = _problems(make_study, spec=SMALL_SPEC.replace("data.csv", "other.csv"))
    assert "other.csv: data.path: data file not found" in msg


def test_semicolon_latin1_and_bom_files_read(make_study, tmp_path):
    path = make_study()
    text = SMALL_CSV.replace(",", ";").replace("p1;", "pé;")
    (tmp_path / "data.csv").write_bytes(text.encode("latin-1"))
    assert validate(path)[1].n == 6
    (tmp_path / "data.csv").write_bytes(b"\xef\xbb\xbf" + SMALL_CSV.encode("utf-8"))
    assert validate(path)[1].n == 6


def test_data_cutoff_censors_later_dates(make_study):
    """p2 (2020-01-15 -> 2021-01-15, censored) and p5 (2020-03-01 -> 2021-03-01, censored) end after a
    2020-12-31 cut-off; p4's death on 2020-12-10 stays. With the cut-off, p2 is censored at 351 days."""
    spec = SMALL_SPEC + "study: {data_cutoff: 2020-12-31}\n"
    csv = SMALL_CSV.replace("2020-01-15,2021-01-15,0", "2020-01-15,2021-01-15,1")  # p2 now dies after the cut-off
    study, cohort = validate(make_study(spec=spec, csv=csv))
    os_ = cohort.endpoints["os"]
    assert os_.n_truncated_at_cutoff == 2
    assert os_.event[1] == 0 and os_.time[1] == pytest.approx(351 / 30.4375)
    assert os_.event[3] == 1  # p4 died before the cut-off
    assert os_.end_dates[4] == np.datetime64("2020-12-31")


def test_start_after_cutoff_is_an_error(make_study):
    msg = _problems(make_study, spec=SMALL_SPEC + "study: {data_cutoff: 2020-02-15}\n")
    assert "start date is after the data cut-off (2020-02-15)" in msg
