"""Selection expressions: parsing, evaluation on small hand-made frames, errors, and the flow."""

from __future__ import annotations

import dataclasses
import datetime

import numpy as np
import pandas as pd
import pytest

from reportgen.data.expr import (
    And,
    Column,
    Compare,
    ExprError,
    InList,
    IsMissing,
    Literal,
    Not,
    Or,
    apply_selection,
    evaluate,
    parse,
)


@pytest.fixture
def df() -> pd.DataFrame:
    """Six patients; row 2 has a missing histology, row 3 a missing cycle count."""
    return pd.DataFrame(
        {
            "histology": ["SCLC", "NSCLC", None, "SCLC", "sclc", "SCLC"],
            "cycles": [4, 1, 2, np.nan, 6, 0],
            "age": [60, 71, 55, 80, 45, 66],
            "start": ["2019-08-31", "2019-09-01", "2024-09-30", "2024-10-01", None, "2021-05-05"],
            "start_dt": pd.to_datetime(
                ["2019-08-31", "2019-09-01 08:00", "2024-09-30 23:59", "2024-10-01", None, None],
                format="ISO8601",
            ),
            "smoker": [True, False, None, True, False, True],
            "ecog ps": [0, 1, 2, 0, 1, 2],
            "lab.alt": [10.5, 20.0, np.nan, 40.0, 50.0, 60.0],
            "empty": [None] * 6,
        },
        index=[11, 12, 13, 14, 15, 16],
    )


def rows(expression: str, frame: pd.DataFrame) -> list[int]:
    """Index labels of the rows where the expression is true."""
    mask = evaluate(parse(expression), frame)
    assert mask.dtype == bool and mask.index.equals(frame.index)
    return frame.index[mask.to_numpy()].tolist()


def error_of(expression: str, frame: pd.DataFrame | None = None) -> str:
    with pytest.raises(ExprError) as info:
        expr = parse(expression)
        if frame is not None:
            evaluate(expr, frame)
    return str(info.value)


# --------------------------------------------------------------------------- parsing


def test_precedence_not_over_and_over_or() -> None:
    a, b, c = (Compare(Column(n), "==", Literal(1)) for n in "abc")
    assert parse("a == 1 or b == 1 and not c == 1") == Or((a, And((b, Not(c)))))
    assert parse("not a == 1 and b == 1 or c == 1") == Or((And((Not(a), b)), c))


def test_parentheses_override_precedence() -> None:
    a, b, c = (Compare(Column(n), "==", Literal(1)) for n in "abc")
    assert parse("(a == 1 or b == 1) and c == 1") == And((Or((a, b)), c))
    assert parse("not (a == 1 or b == 1)") == Not(Or((a, b)))


def test_literal_on_the_left_is_mirrored() -> None:
    assert parse("5 < age") == Compare(Column("age"), ">", Literal(5))
    assert parse("date('2020-01-01') >= d") == Compare(Column("d"), "<=", Literal(datetime.date(2020, 1, 1)))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("-3", -3),
        ("2.5", 2.5),
        ("-0.5", -0.5),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("'SCLC'", "SCLC"),
        ('"it\'s"', "it's"),
        ("'it\\'s'", "it's"),
        ("true", True),
        ("false", False),
        ("date('2019-09-01')", datetime.date(2019, 9, 1)),
    ],
)
def test_literals(text: str, value: object) -> None:
    node = parse(f"x == {text}")
    assert isinstance(node, Compare)
    assert isinstance(node.right, Literal)
    assert node.right.value == value and type(node.right.value) is type(value)


def test_lists_missing_and_columns() -> None:
    node = parse("`ecog ps` not in [0, 1,] and lab.alt is not missing or date is missing")
    assert node == Or(
        (
            And(
                (
                    InList(Column("ecog ps"), (Literal(0), Literal(1)), negated=True),
                    IsMissing(Column("lab.alt"), negated=True),
                )
            ),
            IsMissing(Column("date")),
        )
    )
    assert node.columns() == frozenset({"ecog ps", "lab.alt", "date"})


def test_date_and_missing_are_ordinary_column_names() -> None:
    node = parse("date >= date('2020-01-01') and missing == 1 and a == b")
    assert node.columns() == frozenset({"date", "missing", "a", "b"})


def test_tree_is_frozen() -> None:
    node = parse("a == 1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.op = "!="  # type: ignore[misc]


# --------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cycles == 2", [13]),
        ("cycles != 2", [11, 12, 15, 16]),  # row 14 (missing) is not "!= 2"
        ("cycles < 2", [12, 16]),
        ("cycles <= 2", [12, 13, 16]),
        ("cycles > 2", [11, 15]),
        ("cycles >= 2", [11, 13, 15]),
        ("cycles >= 1.5", [11, 13, 15]),
        ("age > -1 and age < 60", [13, 15]),
    ],
)
def test_numeric_comparisons_missing_is_false(df: pd.DataFrame, text: str, expected: list) -> None:
    assert rows(text, df) == expected


def test_not_equal_is_false_for_missing_text(df: pd.DataFrame) -> None:
    assert rows("histology != 'SCLC'", df) == [12, 15]
    assert rows("histology != 'SCLC' or histology is missing", df) == [12, 13, 15]


def test_is_missing_and_is_not_missing(df: pd.DataFrame) -> None:
    assert rows("cycles is missing", df) == [14]
    assert rows("cycles is not missing", df) == [11, 12, 13, 15, 16]
    assert rows("start_dt is missing", df) == [15, 16]


def test_not_flips_so_missing_becomes_true(df: pd.DataFrame) -> None:
    assert rows("not histology == 'SCLC'", df) == [12, 13, 15]
    assert rows("not (cycles < 2 or cycles is missing)", df) == [11, 13, 15]


def test_text_is_case_sensitive(df: pd.DataFrame) -> None:
    assert rows("histology == 'sclc'", df) == [15]
    assert rows("histology == 'SCLC'", df) == [11, 14, 16]
    assert rows("histology < 'S'", df) == [12]


def test_in_and_not_in_with_missing(df: pd.DataFrame) -> None:
    assert rows("histology in ['SCLC', 'sclc']", df) == [11, 14, 15, 16]
    assert rows("histology not in ['SCLC', 'sclc']", df) == [12]  # 13 is missing
    assert rows("cycles in [0, 6.0]", df) == [15, 16]
    assert rows("cycles not in [0, 6]", df) == [11, 12, 13]


def test_date_literal_parses_a_text_column(df: pd.DataFrame) -> None:
    text = "start >= date('2019-09-01') and start <= date('2024-09-30')"
    assert rows(text, df) == [12, 13, 16]


def test_date_literal_drops_time_of_day_of_a_datetime_column(df: pd.DataFrame) -> None:
    assert rows("start_dt <= date('2024-09-30')", df) == [11, 12, 13]
    assert rows("start_dt == date('2019-09-01')", df) == [12]
    assert rows("start_dt in [date('2019-08-31'), date('2024-10-01')]", df) == [11, 14]


def test_text_dates_with_a_time_part_are_accepted() -> None:
    frame = pd.DataFrame({"d": ["2020-01-01T10:00:00", "2020-01-02 00:00", "2019-12-31"]})
    assert rows("d == date('2020-01-01')", frame) == [0]
    assert rows("d > date('2020-01-01')", frame) == [1]


def test_boolean_column(df: pd.DataFrame) -> None:
    assert rows("smoker == true", df) == [11, 14, 16]
    assert rows("smoker != true", df) == [12, 15]  # 13 is missing


def test_backquoted_and_dotted_column_names(df: pd.DataFrame) -> None:
    assert rows("`ecog ps` >= 2", df) == [13, 16]
    assert rows("lab.alt > 30 or lab.alt is missing", df) == [13, 14, 15, 16]


def test_column_against_column(df: pd.DataFrame) -> None:
    assert rows("cycles > `ecog ps`", df) == [11, 15]
    assert rows("cycles != `ecog ps`", df) == [11, 15, 16]


def test_extension_and_categorical_dtypes() -> None:
    frame = pd.DataFrame(
        {
            "n": pd.array([1, None, 3], dtype="Int64"),
            "s": pd.array(["a", None, "b"], dtype="string"),
            "c": pd.Categorical(["x", "y", None]),
            "b": pd.array([True, None, False], dtype="boolean"),
        }
    )
    assert rows("n >= 1", frame) == [0, 2]
    assert rows("s != 'a'", frame) == [2]
    assert rows("c in ['y']", frame) == [1]
    assert rows("b == false", frame) == [2]


def test_all_missing_column_compares_false_with_anything(df: pd.DataFrame) -> None:
    assert rows("empty == 'A' or empty > 3 or empty in [1]", df) == []
    assert rows("empty is missing", df) == df.index.tolist()


# --------------------------------------------------------------------------- errors


def test_error_is_a_value_error_with_position() -> None:
    with pytest.raises(ValueError) as info:
        parse("a == 1 and b == 2)")
    err = info.value
    assert isinstance(err, ExprError)
    assert err.position == 17 and err.text == "a == 1 and b == 2)"


def test_error_quotes_expression_with_caret() -> None:
    assert error_of("age > 18 and (x == 1))") == (
        "unexpected ')' at column 22; expected 'and', 'or' or the end of the expression\n"
        "    age > 18 and (x == 1))\n"
        "                         ^"
    )


def test_unknown_column_suggests_spelling(df: pd.DataFrame) -> None:
    assert error_of("histolgy == 'SCLC'", df) == "unknown column 'histolgy'; did you mean 'histology'?"


def test_unknown_column_without_close_match_lists_columns(df: pd.DataFrame) -> None:
    message = error_of("zzz == 1", df)
    assert message.startswith("unknown column 'zzz'; the data has columns: histology, cycles")


def test_attribute_access_is_just_an_unknown_column(df: pd.DataFrame) -> None:
    assert parse("age.__class__ == 1") == Compare(Column("age.__class__"), "==", Literal(1))
    assert error_of("age.__class__ == 1", df).startswith("unknown column 'age.__class__'")


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("a == 1 && b == 2", "'&&' is not supported at column 8; write 'and'"),
        ("a == 1 || b == 2", "'||' is not supported at column 8; write 'or'"),
        ("!(a == 1)", "'!' is not supported at column 1; write 'not'"),
        ("a = 1", "'=' is not supported at column 3; write '=='"),
        ("a <> 1", "'<>' is not supported at column 3; write '!='"),
    ],
)
def test_operators_from_other_languages(text: str, start: str) -> None:
    assert error_of(text).startswith(start)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("__import__('os')", "__import__"),
        ("a == 1 or __import__('os').system('ls') == 0", "__import__"),
        ("age.__class__() == 1", "age.__class__"),
        ("len(histology) > 3", "len"),
    ],
)
def test_function_calls_are_refused(text: str, name: str) -> None:
    message = error_of(text)
    assert f"function calls are not supported ('{name}('" in message
    assert "the only function is date('YYYY-MM-DD')" in message


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("a + 1 > 2", "unexpected '+' at column 3; arithmetic is not supported"),
        ("a - 1 > 2", "unexpected '-' at column 3; arithmetic is not supported"),
        ("'x'.upper() == 'X'", "unexpected '.' at column 4; attribute access is not supported"),
        ("a == $x", "unexpected character '$' at column 6"),
        ("größe > 1", "unexpected character 'ö' at column 3; write column names with spaces"),
        ("a == 1 AND b == 2", "unexpected 'AND' at column 8; keywords are written in lowercase"),
        (
            "flag",
            "unexpected end of expression at column 5; expected a comparison after column 'flag'",
        ),
        ("1 < a < 3", "unexpected '<' at column 7; chained comparisons are not supported"),
        ("1 == 1", "'1 == 1' at column 1 compares two values; one side must be a column"),
        ("d == 2019-09-01", "unquoted date at column 6; write dates as date('2019-09-01')"),
        ("h in ('a', 'b')", "lists are written in square brackets at column 6"),
        ("h in []", "empty list at column 6"),
        ("h in [a]", "list items must be values, found column 'a' at column 7; put text in quotes"),
        ("h == 'SCLC", "unclosed text at column 6"),
        ("`ecog ps == 1", "unclosed backquote at column 1"),
        ("   ", "empty expression"),
        ("a is None", "unexpected 'None' at column 6; expected 'missing' or 'not missing'"),
        ("d < date('2019-02-30')", "'2019-02-30' at column 10 is not a valid date"),
        ("d < date('1/2/2019')", "'1/2/2019' at column 10 is not a date in the form YYYY-MM-DD"),
        ("d < date(2019)", "date() takes one quoted date"),
        ("a == 12abc", "invalid number '12abc' at column 6"),
    ],
)
def test_syntax_errors(text: str, start: str) -> None:
    assert error_of(text).startswith(start)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "cycles < '2'",
            "cannot compare numeric column 'cycles' (float64) with the text '2'; numbers are written without quotes",
        ),
        (
            "histology == 1",
            "cannot compare text column 'histology' (object) with the number 1; write text in quotes: '1'",
        ),
        ("age == true", "cannot compare numeric column 'age' (int64) with true; write 1 or 0"),
        (
            "smoker > false",
            "'>' does not apply to true/false column 'smoker' (object); use == or !=",
        ),
        (
            "start_dt >= '2020-01-01'",
            "cannot compare date column 'start_dt' (datetime64[ns]) with the text '2020-01-01'; "
            "write dates as date('YYYY-MM-DD')",
        ),
        (
            "age < date('2020-01-01')",
            "cannot compare numeric column 'age' (int64) with date('2020-01-01')",
        ),
        ("histology in ['SCLC', 1]", "the list after 'in' mixes number and text values"),
        (
            "histology == age",
            "cannot compare text column 'histology' (object) with numeric column 'age'",
        ),
        ("x == True", "unknown column 'True'; write true/false in lowercase"),
        ("cycles == None", "unknown column 'None'; to test for missing values write 'is missing'"),
    ],
)
def test_type_errors_name_column_and_dtype(df: pd.DataFrame, text: str, message: str) -> None:
    frame = df.assign(x=1)
    assert error_of(text, frame).startswith(message)


def test_text_that_is_not_a_date_is_an_error() -> None:
    frame = pd.DataFrame({"d": ["2020-01-01", "01/02/2020", None, "soon"]})
    assert error_of("d > date('2019-01-01')", frame) == (
        "text column 'd' (object) is compared with a date, but 2 of its values are not dates "
        "written YYYY-MM-DD (e.g. '01/02/2020', 'soon')"
    )


def test_mixed_type_column_is_an_error() -> None:
    frame = pd.DataFrame({"m": ["A", 2, None]})
    assert error_of("m == 'A'", frame).startswith("column 'm' (object) holds values of more than one type")
    assert rows("m is missing", frame) == [2]


# --------------------------------------------------------------------------- apply_selection

STEPS = [
    ("exclude", "histology != 'SCLC'", "Histology other than SCLC"),
    ("exclude", "liver_metastasis == 0", "No liver metastasis"),
    ("exclude", "cycles_received < 2 or cycles_received is missing", "Fewer than 2 cycles of CIT"),
    (
        "include",
        "treatment_start >= date('2019-09-01') and treatment_start <= date('2024-09-30')",
        "Treated outside the study period",
    ),
]


@pytest.fixture
def cohort() -> pd.DataFrame:
    """Ten patients (ids 101-110); comments say which step removes each one."""
    return pd.DataFrame(
        {
            "histology": [
                "SCLC",
                "NSCLC",
                None,
                "SCLC",
                "SCLC",
                "SCLC",
                "SCLC",
                "SCLC",
                "SCLC",
                "SCLC",
            ],
            "liver_metastasis": [1, 1, 1, 0, np.nan, 1, 1, 1, 1, 1],
            "cycles_received": [4, 4, 4, 4, 4, 1, np.nan, 2, 3, 6],
            "treatment_start": [
                "2019-10-01",  # 101 kept
                "2020-01-01",  # 102 step 1 (NSCLC)
                "2020-01-01",  # 103 kept: missing histology is not "!= 'SCLC'"
                "2020-01-01",  # 104 step 2
                "2020-01-01",  # 105 kept: missing liver_metastasis is not "== 0"
                "2020-01-01",  # 106 step 3 (1 cycle)
                "2020-01-01",  # 107 step 3 (cycles missing)
                "2019-08-31",  # 108 step 4 (before the period)
                "2024-09-30",  # 109 kept (last day of the period)
                None,  # 110 step 4 (missing date: the include condition is false)
            ],
        },
        index=range(101, 111),
    )


def test_apply_selection_flow_counts(cohort: pd.DataFrame) -> None:
    kept, flow = apply_selection(cohort, STEPS)
    assert kept.index.tolist() == [101, 103, 105, 109]
    counts = [(f["step"], f["n_before"], f["n_excluded"], f["n_after"]) for f in flow]
    assert counts == [(1, 10, 1, 9), (2, 9, 1, 8), (3, 8, 2, 6), (4, 6, 2, 4)]
    assert flow[3] == {
        "step": 4,
        "kind": "include",
        "expression": STEPS[3][1],
        "reason": "Treated outside the study period",
        "n_before": 6,
        "n_excluded": 2,
        "n_after": 4,
    }


def test_apply_selection_with_no_steps_keeps_everything(cohort: pd.DataFrame) -> None:
    kept, flow = apply_selection(cohort, [])
    assert kept.equals(cohort) and flow == []


def test_apply_selection_error_names_step_and_quotes_expression(cohort: pd.DataFrame) -> None:
    steps = [STEPS[0], ("exclude", "liver_mets == 0", "No liver metastasis")]
    with pytest.raises(ExprError) as info:
        apply_selection(cohort, steps)
    assert info.value.step == 2
    assert str(info.value) == (
        "step 2: unknown column 'liver_mets'; did you mean 'liver_metastasis'?\n    liver_mets == 0\n    ^"
    )


def test_apply_selection_parses_every_step_before_evaluating(cohort: pd.DataFrame) -> None:
    steps = [("exclude", "nope == 1", "a"), ("include", "age > 1 &&", "b")]
    with pytest.raises(ExprError, match=r"^step 2: '&&' is not supported"):
        apply_selection(cohort, steps)


def test_apply_selection_rejects_unknown_kind(cohort: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="kind must be 'exclude' or 'include'"):
        apply_selection(cohort, [("drop", "histology == 'SCLC'", "x")])
