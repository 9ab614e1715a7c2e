"""Selection expressions: a small, safe filter language for cohort inclusion/exclusion steps.

Takes in: the text of a selection step from the study spec, such as
``"cycles_received < 2 or cycles_received is missing"``, and a pandas DataFrame.
Gives out: a parsed expression tree (frozen dataclasses), a boolean Series with one value
per row, and, for a list of steps, the kept rows plus the participant flow (rows before,
excluded and after each step).

The text is tokenised and parsed here, by hand. Nothing is passed to Python's ``eval`` or to
``pandas.eval`` / ``DataFrame.query``: an expression can only compare columns with values.

Grammar, loosest binding first (so ``not`` binds tighter than ``and``, ``and`` tighter than
``or``; use parentheses to group otherwise)::

    expression := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" or ")" | condition
    condition  := operand ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
                | column ["not"] "in" "[" literal ("," literal)* [","] "]"
                | column "is" ["not"] "missing"
    operand    := column | literal
    column     := identifier | `any name, in backquotes`
    identifier := [A-Za-z_][A-Za-z0-9_.]*
    literal    := number | 'text' | "text" | true | false | date('YYYY-MM-DD')

A comparison needs a column on at least one side (``5 < age`` is read as ``age > 5``).
Keywords are lowercase. ``and or not in is true false`` are reserved (``and or not in is``
in any letter case, so ``AND`` gets a clear error): a column with one of those names must
be written in backquotes. ``date`` is a keyword only when followed by
``(`` and ``missing`` only after ``is``, so columns called ``date`` or ``missing`` work.
A dot belongs to the identifier (``lab.alt`` is one column name): there is no attribute
access, no function call other than ``date()``, and no arithmetic. ``&&``, ``||`` and ``!``
are refused with a pointer to ``and``, ``or`` and ``not``.

Semantics:

- A comparison that involves a missing value is FALSE, for every operator, including
  ``!=`` and ``not in``. So ``histology != 'SCLC'`` is false for a patient whose histology is
  missing, and an ``exclude`` step written that way KEEPS that patient. Write
  ``histology != 'SCLC' or histology is missing`` to exclude them too.
- ``not`` simply flips true and false (there is no third "unknown" value), so
  ``not histology == 'SCLC'`` is TRUE when histology is missing, unlike ``histology != 'SCLC'``.
- Missing means NaN, None, NaT or pd.NA. Empty text is a value, not missing: what counts as
  missing is decided when the data are read.
- The types of both sides must match: a numeric column with numbers, a text column with
  quoted text, a true/false column with ``true``/``false`` (``==`` and ``!=`` only), a date
  column with ``date(...)``. Anything else (``age == '65'``, ``histology == 1``) raises
  ``ExprError`` naming the column and its dtype; it is never a silent false. A column with no
  value at all among the rows evaluated is compatible with anything (every comparison is false).
- ``date('YYYY-MM-DD')`` compared with a column compares calendar dates: a datetime column is
  cut to its date (time of day dropped), a text column is parsed from ``YYYY-MM-DD`` (optionally
  followed by a time); text that is not such a date is an error, not a missing value.
  Two datetime columns compared with each other keep their time of day.
- Text compares exactly: case-sensitive, no trimming of spaces; ``<`` and ``>`` on text
  compare by character code.
- In ``apply_selection``, an ``exclude`` step drops the rows where the expression is true; an
  ``include`` step keeps the rows where it is true, so it drops rows where it is false,
  including those where it is false because a value is missing. Steps run in order, each on
  the rows kept by the steps before it.
"""

from __future__ import annotations

import datetime
import operator
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd

from reportgen.errors import did_you_mean

__all__ = [
    "And",
    "Column",
    "Compare",
    "Expr",
    "ExprError",
    "InList",
    "IsMissing",
    "Literal",
    "Not",
    "Or",
    "apply_selection",
    "evaluate",
    "parse",
]


class ExprError(ValueError):
    """A selection expression that cannot be parsed or evaluated.

    ``message`` says what is wrong; ``position`` is the 0-based character offset in the
    expression it applies to (or None); ``text`` is the expression itself when known and
    ``step`` the 1-based selection step it came from. ``str()`` gives the message, then the
    expression and a caret line under ``position``.
    """

    def __init__(
        self,
        message: str,
        position: int | None = None,
        text: str | None = None,
        step: int | None = None,
    ) -> None:
        self.message = message
        self.position = position
        self.text = text
        self.step = step
        super().__init__(message, position)

    def located(self, text: str, step: int | None = None) -> ExprError:
        """The same error, attached to the expression text (and step) it belongs to."""
        return ExprError(self.message, self.position, text, self.step if step is None else step)

    def render(self) -> str:
        head = f"step {self.step}: {self.message}" if self.step is not None else self.message
        if self.text is None:
            return head
        # One character out per character in, so the caret stays under its position.
        shown = re.sub(r"\s", " ", self.text)
        lines = [head, f"    {shown}"]
        if self.position is not None:
            lines.append("    " + " " * self.position + "^")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


# --------------------------------------------------------------------------- tree


class Expr:
    """A boolean expression node: ``Compare``, ``InList``, ``IsMissing``, ``Not``, ``And``, ``Or``."""

    __slots__ = ()

    def columns(self) -> frozenset[str]:
        """The names of the data columns the expression reads."""
        raise NotImplementedError


@dataclass(frozen=True)
class Column:
    """A data column, by name; ``pos`` is where it was written (ignored by ``==``)."""

    name: str
    pos: int = field(default=0, compare=False, repr=False)

    def columns(self) -> frozenset[str]:
        return frozenset({self.name})


@dataclass(frozen=True)
class Literal:
    """A constant: bool, int, float, str, or ``datetime.date`` from ``date('YYYY-MM-DD')``."""

    value: bool | int | float | str | datetime.date
    pos: int = field(default=0, compare=False, repr=False)

    def columns(self) -> frozenset[str]:
        return frozenset()

    @property
    def kind(self) -> str:
        """One of "bool", "number", "text", "date"."""
        return _literal_kind(self.value)

    def __str__(self) -> str:
        return _show_value(self.value)


@dataclass(frozen=True)
class Compare(Expr):
    """``left op right``; the parser always puts a column on the left."""

    left: Column
    op: str
    right: Column | Literal

    def columns(self) -> frozenset[str]:
        return self.left.columns() | self.right.columns()


@dataclass(frozen=True)
class InList(Expr):
    """``column in [values]``, or ``column not in [values]`` when ``negated``."""

    column: Column
    values: tuple[Literal, ...]
    negated: bool = False

    def columns(self) -> frozenset[str]:
        return self.column.columns()


@dataclass(frozen=True)
class IsMissing(Expr):
    """``column is missing``, or ``column is not missing`` when ``negated``."""

    column: Column
    negated: bool = False

    def columns(self) -> frozenset[str]:
        return self.column.columns()


@dataclass(frozen=True)
class Not(Expr):
    """``not operand``."""

    operand: Expr

    def columns(self) -> frozenset[str]:
        return self.operand.columns()


@dataclass(frozen=True)
class And(Expr):
    """All operands true (two or more)."""

    operands: tuple[Expr, ...]

    def columns(self) -> frozenset[str]:
        return frozenset().union(*(o.columns() for o in self.operands))


@dataclass(frozen=True)
class Or(Expr):
    """Any operand true (two or more)."""

    operands: tuple[Expr, ...]

    def columns(self) -> frozenset[str]:
        return frozenset().union(*(o.columns() for o in self.operands))


def _literal_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return "date"


def _show_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return f"date('{value.isoformat()}')"
    if isinstance(value, str):
        return f'"{value}"' if "'" in value else f"'{value}'"
    return repr(value)


# --------------------------------------------------------------------------- tokens

_RESERVED = frozenset({"and", "or", "not", "in", "is", "true", "false"})
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")
_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_PUNCT = "()[],"
# Operators people bring from other languages, longest first, with what to write instead.
_REFUSED = (
    ("&&", "write 'and' to require both conditions"),
    ("||", "write 'or' to accept either condition"),
    ("<>", "write '!=' for 'not equal'"),
    ("=>", "write '>=' for 'greater than or equal'"),
    ("=<", "write '<=' for 'less than or equal'"),
    ("&", "write 'and' to require both conditions"),
    ("|", "write 'or' to accept either condition"),
    ("!", "write 'not' to negate a condition"),
    ("~", "write 'not' to negate a condition"),
    ("=", "write '==' to test equality"),
)
_ARITHMETIC = "+-*/%^"
_NUMBER = re.compile(r"-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_BARE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class _Token:
    kind: str  # "name", "quoted", "number", "text", "op", "punct", "end"
    value: Any
    pos: int
    source: str

    def is_word(self, word: str) -> bool:
        return self.kind == "name" and self.value == word

    def is_punct(self, char: str) -> bool:
        return self.kind == "punct" and self.value == char

    def is_value_end(self) -> bool:
        """True when the token can end an operand (so a following '-' is subtraction)."""
        if self.kind == "name":
            return self.value not in _RESERVED
        return self.kind in ("quoted", "number", "text") or self.kind == "punct" and self.value in ")]"

    def describe(self) -> str:
        return "end of expression" if self.kind == "end" else f"'{self.source}'"


def _at(pos: int) -> str:
    return f"at column {pos + 1}"


def _tokenize(text: str) -> Iterator[_Token]:
    """Tokens, produced lazily so that the parser reports the leftmost problem first."""
    previous: _Token | None = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in _PUNCT:
            previous = _Token("punct", c, i, c)
            yield previous
            i += 1
            continue
        op = next((o for o in _COMPARISONS if text.startswith(o, i)), None)
        refused = next(((o, hint) for o, hint in _REFUSED if text.startswith(o, i)), None)
        if refused and (op is None or len(refused[0]) > len(op)):
            raise ExprError(f"'{refused[0]}' is not supported {_at(i)}; {refused[1]}", i)
        if op is not None:
            previous = _Token("op", op, i, op)
            yield previous
            i += len(op)
            continue
        if c in "'\"":
            value, end = _read_text(text, i)
            previous = _Token("text", value, i, text[i:end])
            yield previous
            i = end
            continue
        if c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ExprError(f"unclosed backquote {_at(i)}; end the column name with `", i)
            if end == i + 1 or not text[i + 1 : end].strip():
                raise ExprError(f"empty column name in backquotes {_at(i)}", i)
            previous = _Token("quoted", text[i + 1 : end], i, text[i : end + 1])
            yield previous
            i = end + 1
            continue
        previous_is_value = previous is not None and previous.is_value_end()
        if _BARE_DATE.match(text, i):
            raise ExprError(f"unquoted date {_at(i)}; write dates as date('{text[i : i + 10]}')", i)
        number = _NUMBER.match(text, i)
        if number and not (c == "-" and previous_is_value):
            end = number.end()
            tail = _NUMBER_TAIL.match(text, end)
            if tail:
                raise ExprError(f"invalid number '{text[i : tail.end()]}' {_at(i)}", i)
            source = number.group()
            number_value = float(source) if any(ch in source for ch in ".eE") else int(source)
            previous = _Token("number", number_value, i, source)
            yield previous
            i = end
            continue
        name = _NAME.match(text, i)
        if name:
            previous = _Token("name", name.group(), i, name.group())
            yield previous
            i = name.end()
            continue
        if c == ".":
            raise ExprError(f"unexpected '.' {_at(i)}; attribute access is not supported", i)
        if c in _ARITHMETIC:
            raise ExprError(
                f"unexpected '{c}' {_at(i)}; arithmetic is not supported in selection "
                "expressions (compare a column with a value; derive computed values "
                "as a column in the data)",
                i,
            )
        hint = "; write column names with spaces or other characters in backquotes: `name`" if c.isalpha() else ""
        raise ExprError(f"unexpected character '{c}' {_at(i)}{hint}", i)
    yield _Token("end", None, n, "")


def _read_text(text: str, start: int) -> tuple[str, int]:
    """The value of the quoted text starting at ``start``, and the offset just past it.

    A backslash escapes the quote character or another backslash; elsewhere it is kept.
    """
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
            continue
        if c == quote:
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise ExprError(f"unclosed text {_at(start)}; end it with {quote}", start)


# --------------------------------------------------------------------------- parser


def parse(text: str) -> Expr:
    """Parse a selection expression; raise ``ExprError`` pointing at the first problem."""
    if not isinstance(text, str):
        raise TypeError(f"expression must be a str, not {type(text).__name__}")
    try:
        if not text.strip():
            raise ExprError("empty expression", 0)
        return _Parser(_tokenize(text)).parse()
    except ExprError as err:
        raise err.located(text) from None


class _Parser:
    def __init__(self, tokens: Iterator[_Token]) -> None:
        self.tokens = tokens
        self.ahead: list[_Token] = []

    def peek(self, ahead: int = 0) -> _Token:
        while len(self.ahead) <= ahead:
            if self.ahead and self.ahead[-1].kind == "end":
                return self.ahead[-1]
            self.ahead.append(next(self.tokens))
        return self.ahead[ahead]

    def take(self) -> _Token:
        tok = self.peek()
        if tok.kind != "end":
            self.ahead.pop(0)
        return tok

    def unexpected(self, tok: _Token, expected: str) -> ExprError:
        if tok.kind == "name" and tok.value != tok.value.lower() and tok.value.lower() in _RESERVED:
            return ExprError(
                f"unexpected '{tok.value}' {_at(tok.pos)}; keywords are written in lowercase: '{tok.value.lower()}'",
                tok.pos,
            )
        return ExprError(f"unexpected {tok.describe()} {_at(tok.pos)}; expected {expected}", tok.pos)

    def parse(self) -> Expr:
        expr = self.parse_or()
        tok = self.peek()
        if tok.kind != "end":
            raise self.unexpected(tok, "'and', 'or' or the end of the expression")
        return expr

    def parse_or(self) -> Expr:
        operands = [self.parse_and()]
        while self.peek().is_word("or"):
            self.take()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def parse_and(self) -> Expr:
        operands = [self.parse_not()]
        while self.peek().is_word("and"):
            self.take()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def parse_not(self) -> Expr:
        tok = self.peek()
        if tok.is_word("not"):
            self.take()
            return Not(self.parse_not())
        if tok.is_punct("("):
            self.take()
            inner = self.parse_or()
            close = self.peek()
            if not close.is_punct(")"):
                raise self.unexpected(close, f"')' to close the '(' {_at(tok.pos)}")
            self.take()
            return inner
        return self.parse_condition()

    def parse_condition(self) -> Expr:
        left = self.parse_operand()
        tok = self.peek()
        node: Expr
        if tok.kind == "op":
            self.take()
            right = self.parse_operand()
            if isinstance(left, Literal):
                if isinstance(right, Literal):
                    raise ExprError(
                        f"'{left} {tok.value} {right}' {_at(left.pos)} compares two values; one side must be a column",
                        left.pos,
                    )
                node = Compare(right, _MIRROR[tok.value], left)
            else:
                node = Compare(left, tok.value, right)
        elif tok.is_word("in") or (tok.is_word("not") and self.peek(1).is_word("in")):
            negated = tok.is_word("not")
            self.take()
            if negated:
                self.take()
            column = self.require_column(left, "'in'")
            node = InList(column, self.parse_list(), negated)
        elif tok.is_word("is"):
            self.take()
            negated = self.peek().is_word("not")
            if negated:
                self.take()
            word = self.peek()
            if not word.is_word("missing"):
                raise self.unexpected(word, "'missing' or 'not missing' after 'is'")
            self.take()
            node = IsMissing(self.require_column(left, "'is missing'"), negated)
        else:
            what = f"column '{left.name}'" if isinstance(left, Column) else str(left)
            raise self.unexpected(tok, f"a comparison after {what} (==, !=, <, <=, >, >=, in, not in, is missing)")
        after = self.peek()
        if after.kind == "op":
            raise ExprError(
                f"unexpected '{after.value}' {_at(after.pos)}; chained comparisons are not "
                "supported: write 'a < x and x < b'",
                after.pos,
            )
        return node

    def require_column(self, operand: Column | Literal, what: str) -> Column:
        if isinstance(operand, Literal):
            raise ExprError(
                f"{what} needs a column on its left, found {operand} {_at(operand.pos)}",
                operand.pos,
            )
        return operand

    def parse_operand(self) -> Column | Literal:
        tok = self.take()
        if tok.kind == "quoted":
            return Column(tok.value, tok.pos)
        if tok.kind in ("number", "text"):
            return Literal(tok.value, tok.pos)
        if tok.kind == "name":
            if self.peek().is_punct("("):
                if tok.value == "date":
                    return self.parse_date(tok)
                raise ExprError(
                    f"function calls are not supported ('{tok.value}(' {_at(tok.pos)}); "
                    "the only function is date('YYYY-MM-DD')",
                    tok.pos,
                )
            if tok.value in ("true", "false"):
                return Literal(tok.value == "true", tok.pos)
            if tok.value.lower() in _RESERVED - {"true", "false"}:
                raise self.unexpected(tok, "a column or a value")
            return Column(tok.value, tok.pos)
        if tok.is_punct("["):
            raise ExprError(f"a list [...] {_at(tok.pos)} is only allowed after 'in'", tok.pos)
        raise self.unexpected(tok, "a column or a value")

    def parse_date(self, name: _Token) -> Literal:
        self.take()  # "("
        arg = self.take()
        usage = "date() takes one quoted date, as in date('2019-09-01')"
        if arg.kind != "text":
            raise ExprError(f"{usage}; found {arg.describe()} {_at(arg.pos)}", arg.pos)
        close = self.take()
        if not close.is_punct(")"):
            raise ExprError(f"{usage}; found {close.describe()} {_at(close.pos)}", close.pos)
        if not _BARE_DATE.fullmatch(arg.value):
            raise ExprError(f"{arg.source} {_at(arg.pos)} is not a date in the form YYYY-MM-DD", arg.pos)
        try:
            value = datetime.date.fromisoformat(arg.value)
        except ValueError:
            raise ExprError(f"{arg.source} {_at(arg.pos)} is not a valid date", arg.pos) from None
        return Literal(value, name.pos)

    def parse_list(self) -> tuple[Literal, ...]:
        tok = self.take()
        if not tok.is_punct("["):
            if tok.is_punct("("):
                raise ExprError(
                    f"lists are written in square brackets {_at(tok.pos)}, as in x in [1, 2]",
                    tok.pos,
                )
            raise self.unexpected(tok, "'[' to start a list after 'in'")
        if self.peek().is_punct("]"):
            raise ExprError(f"empty list {_at(tok.pos)}; give at least one value", tok.pos)
        values: list[Literal] = []
        while True:
            item = self.parse_operand()
            if isinstance(item, Column):
                raise ExprError(
                    f"list items must be values, found column '{item.name}' {_at(item.pos)}; put text in quotes",
                    item.pos,
                )
            values.append(item)
            sep = self.take()
            if sep.is_punct(",") and self.peek().is_punct("]"):
                self.take()
                break
            if sep.is_punct("]"):
                break
            if not sep.is_punct(","):
                raise self.unexpected(sep, "',' or ']'")
        return tuple(values)


# --------------------------------------------------------------------------- evaluation

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_KIND_WORDS = {"number": "numeric", "text": "text", "bool": "true/false", "datetime": "date"}
_OBJECT_KINDS = {
    "string": "text",
    "empty": "empty",
    "boolean": "bool",
    "integer": "number",
    "floating": "number",
    "mixed-integer-float": "number",
    "decimal": "number",
    "date": "datetime",
    "datetime": "datetime",
    "datetime64": "datetime",
}
# Words that are unlikely column names but likely attempts at a constant.
_NOT_COLUMNS = {
    "true": "write true/false in lowercase",
    "false": "write true/false in lowercase",
    "none": "to test for missing values write 'is missing'",
    "null": "to test for missing values write 'is missing'",
    "nan": "to test for missing values write 'is missing'",
    "na": "to test for missing values write 'is missing'",
    "missing": "to test for missing values write 'is missing'",
}


@dataclass(frozen=True)
class _Values:
    """A column ready to compare: ``kind`` plus a numpy array whose missing slots are filled.

    ``kind`` is "number", "text", "bool", "datetime", "empty" (no value at all) or "mixed".
    """

    column: Column
    dtype: str
    kind: str
    array: np.ndarray
    valid: np.ndarray

    def label(self) -> str:
        return f"{_KIND_WORDS.get(self.kind, self.kind)} column '{self.column.name}' ({self.dtype})"


def evaluate(expr: Expr, df: pd.DataFrame) -> pd.Series:
    """The rows of ``df`` where ``expr`` is true, as a boolean Series on ``df``'s index.

    Raises ``ExprError`` for an unknown column (with a did-you-mean) or mismatched types.
    """
    return pd.Series(_eval(expr, df), index=df.index, dtype=bool)


def _eval(expr: Expr, df: pd.DataFrame) -> np.ndarray:
    match expr:
        case And(operands):
            return reduce(np.logical_and, (_eval(o, df) for o in operands))
        case Or(operands):
            return reduce(np.logical_or, (_eval(o, df) for o in operands))
        case Not(operand):
            return ~_eval(operand, df)
        case IsMissing(column, negated):
            missing = _lookup(df, column).isna().to_numpy(dtype=bool)
            return ~missing if negated else missing
        case InList():
            return _in_list(expr, df)
        case Compare():
            return _compare(expr, df)
    raise TypeError(f"not an expression node: {expr!r}")


def _lookup(df: pd.DataFrame, column: Column) -> pd.Series:
    name = column.name
    if name not in df.columns:
        choices = [str(c) for c in df.columns]
        hint = _NOT_COLUMNS.get(name.lower())
        guess = None if hint else did_you_mean(name, choices)
        if hint:
            message = f"unknown column '{name}'; {hint}"
        elif guess:
            message = f"unknown column '{name}'; did you mean '{guess}'?"
        else:
            shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
            message = f"unknown column '{name}'; the data has columns: {shown}"
        raise ExprError(message, column.pos)
    found = df[name]
    if isinstance(found, pd.DataFrame):
        raise ExprError(f"column '{name}' appears more than once in the data", column.pos)
    return found


def _values(df: pd.DataFrame, column: Column) -> _Values:
    series = _lookup(df, column)
    dtype = str(series.dtype)
    valid = series.notna().to_numpy(dtype=bool)
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    kind = _kind(series, valid)
    if kind == "number":
        if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":
            array = series.to_numpy()
        else:
            array = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    elif kind == "text":
        array = np.where(valid, series.to_numpy(dtype=object), "")
    elif kind == "bool":
        array = np.where(valid, series.to_numpy(dtype=object), False).astype(bool)
    elif kind == "datetime":
        stamps = pd.to_datetime(series) if pd.api.types.is_object_dtype(series.dtype) else series
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_localize(None)
        array = stamps.to_numpy()
    else:
        array = np.zeros(len(series), dtype=bool)
    return _Values(column, dtype, kind, array, valid)


def _kind(series: pd.Series, valid: np.ndarray) -> str:
    if not valid.any():
        return "empty"
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_object_dtype(dtype):
        return _OBJECT_KINDS.get(pd.api.types.infer_dtype(series, skipna=True), "mixed")
    if pd.api.types.is_string_dtype(dtype):
        return "text"
    return "mixed"


def _usable(values: _Values) -> _Values:
    if values.kind == "mixed":
        raise ExprError(
            f"column '{values.column.name}' ({values.dtype}) holds values of more than one "
            "type (such as text and numbers), so it cannot be compared; make the column one "
            "type in the data",
            values.column.pos,
        )
    return values


def _as_dates(values: _Values) -> np.ndarray:
    """The column as calendar dates (datetime64[D], NaT where missing) for a date() comparison."""
    if values.kind == "datetime":
        return values.array.astype("datetime64[D]")
    text = pd.Series(values.array, dtype=object)
    looks_like_date = text.str.match(r"\d{4}-\d{2}-\d{2}(?:[T ]|$)").to_numpy(dtype=bool)
    parsed = pd.to_datetime(text.str.slice(0, 10).where(looks_like_date), format="%Y-%m-%d", errors="coerce")
    dates = parsed.to_numpy().astype("datetime64[D]")
    bad = values.valid & np.isnat(dates)
    if bad.any():
        examples = ", ".join(f"'{v}'" for v in pd.unique(values.array[bad])[:3])
        raise ExprError(
            f"text column '{values.column.name}' ({values.dtype}) is compared with a date, but "
            f"{int(bad.sum())} of its values are not dates written YYYY-MM-DD (e.g. {examples})",
            values.column.pos,
        )
    return dates


def _check_literal(values: _Values, literal: Literal, op: str) -> None:
    """Raise ``ExprError`` unless ``literal`` can be compared with the column by ``op``."""
    kind = literal.kind
    allowed = {
        "number": {"number"},
        "text": {"text", "date"},
        "bool": {"bool"},
        "datetime": {"date"},
    }[values.kind]
    if kind not in allowed:
        hints = {
            ("number", "text"): "; numbers are written without quotes",
            ("number", "bool"): "; write 1 or 0",
            ("text", "number"): f"; write text in quotes: '{literal.value}'",
            ("bool", "number"): "; write true or false",
            ("datetime", "text"): "; write dates as date('YYYY-MM-DD')",
            ("datetime", "number"): "; write dates as date('YYYY-MM-DD')",
        }
        described = {"number": "the number ", "text": "the text "}.get(kind, "")
        raise ExprError(
            f"cannot compare {values.label()} with {described}{literal}" + hints.get((values.kind, kind), ""),
            literal.pos,
        )
    if values.kind == "bool" and op not in ("==", "!="):
        raise ExprError(f"'{op}' does not apply to {values.label()}; use == or !=", values.column.pos)


def _literal_array_value(literal: Literal) -> Any:
    value = literal.value
    if isinstance(value, datetime.date):
        return np.datetime64(value.isoformat(), "D")
    return value


def _compare(node: Compare, df: pd.DataFrame) -> np.ndarray:
    left = _usable(_values(df, node.left))
    if isinstance(node.right, Column):
        right = _usable(_values(df, node.right))
        if left.kind == "empty" or right.kind == "empty":
            return np.zeros(len(df), dtype=bool)
        if left.kind != right.kind:
            raise ExprError(f"cannot compare {left.label()} with {right.label()}", node.right.pos)
        if left.kind == "bool" and node.op not in ("==", "!="):
            raise ExprError(f"'{node.op}' does not apply to {left.label()}; use == or !=", node.left.pos)
        result = _OPS[node.op](left.array, right.array)
        return np.asarray(result, dtype=bool) & left.valid & right.valid
    if left.kind == "empty":
        return np.zeros(len(df), dtype=bool)
    _check_literal(left, node.right, node.op)
    array = _as_dates(left) if node.right.kind == "date" else left.array
    result = _OPS[node.op](array, _literal_array_value(node.right))
    return np.asarray(result, dtype=bool) & left.valid


def _in_list(node: InList, df: pd.DataFrame) -> np.ndarray:
    values = _usable(_values(df, node.column))
    if values.kind == "empty":
        return np.zeros(len(df), dtype=bool)
    kinds = {literal.kind for literal in node.values}
    if len(kinds) > 1:
        raise ExprError(
            f"the list after 'in' mixes {' and '.join(sorted(kinds))} values; use one type",
            node.values[0].pos,
        )
    for literal in node.values:
        _check_literal(values, literal, "==")
    items = [_literal_array_value(literal) for literal in node.values]
    if kinds == {"date"}:
        found = np.isin(_as_dates(values), np.array(items, dtype="datetime64[D]"))
    elif values.kind == "text":
        found = pd.Series(values.array, dtype=object).isin(items).to_numpy(dtype=bool)
    else:
        found = np.isin(values.array, np.array(items))
    return (~found if node.negated else found) & values.valid


# --------------------------------------------------------------------------- selection steps


def apply_selection(
    df: pd.DataFrame, steps: Sequence[tuple[str, str, str]]
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Apply inclusion/exclusion steps in order; return the kept rows and the flow.

    ``steps`` holds ``(kind, expression, reason)`` with kind "exclude" (drop rows where the
    expression is true) or "include" (keep rows where it is true). Every expression is parsed
    before any is evaluated. The kept frame keeps ``df``'s index. Each flow entry is
    ``{"step", "kind", "expression", "reason", "n_before", "n_excluded", "n_after"}`` with
    ``step`` counted from 1. An ``ExprError`` carries the expression text and the step number.
    """
    parsed: list[Expr] = []
    for number, (kind, text, _reason) in enumerate(steps, start=1):
        if kind not in ("exclude", "include"):
            raise ValueError(f"step {number}: kind must be 'exclude' or 'include', not {kind!r}")
        try:
            parsed.append(parse(text))
        except ExprError as err:
            raise err.located(text, number) from None
    kept = df
    flow: list[dict[str, Any]] = []
    for number, ((kind, text, reason), expr) in enumerate(zip(steps, parsed, strict=True), start=1):
        try:
            mask = _eval(expr, kept)
        except ExprError as err:
            raise err.located(text, number) from None
        keep = ~mask if kind == "exclude" else mask
        n_before = len(kept)
        kept = kept.loc[keep]
        flow.append(
            {
                "step": number,
                "kind": kind,
                "expression": text,
                "reason": reason,
                "n_before": n_before,
                "n_excluded": n_before - len(kept),
                "n_after": len(kept),
            }
        )
    return kept, flow
