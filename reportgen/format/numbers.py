"""Number formatting: raw floats -> display strings, driven by an explicit ``NumberStyle``.

This is the only place where numbers are rounded. Rounding is half-up on the
decimal value a reader sees (2.675 -> 2.68, 0.125 -> 0.13), not Python's
round-half-to-even on binary floats. Values that could not be estimated
(None/NaN) print as the style's ``not_reached`` or ``not_estimable`` text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


@dataclass(frozen=True)
class NumberStyle:
    """How numbers look in one report (one object per report, passed explicitly)."""

    decimal_mark: str = "."
    ci_separator: str = "\u2013"  # en dash: 4.2-6.0 (text) / (4.2-6.0) (tables)
    ci_separator_negative: str = " to "  # used when a limit is negative
    p_digits: int = 3
    p_threshold: float = 0.001  # below it: "<0.001"
    p_prefix_space: bool = True  # "p = 0.032" vs "p=0.032"
    hr_digits: int = 2
    time_digits: int = 1
    percent_digits: int = 1
    stat_digits: int = 2
    not_reached: str = "NR"
    not_reached_text: str = "not reached"
    not_estimable: str = "NE"
    not_estimable_text: str = "not estimable"


DEFAULT = NumberStyle()


def is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def round_half_up(x: float, digits: int) -> Decimal:
    """Round the shortest decimal representation of ``x`` half-up to ``digits`` places."""
    quant = Decimal(1).scaleb(-digits)
    return Decimal(repr(float(x))).quantize(quant, rounding=ROUND_HALF_UP)


def num(x: float | None, digits: int, style: NumberStyle = DEFAULT, missing: str | None = None) -> str:
    """A number with a fixed count of decimals (half-up); ``missing`` text for None/NaN."""
    if is_missing(x):
        return style.not_estimable if missing is None else missing
    if math.isinf(x):  # type: ignore[arg-type]
        return "\u221e" if x > 0 else "-\u221e"  # type: ignore[operator]
    d = round_half_up(x, digits)  # type: ignore[arg-type]
    if d == 0:
        d = abs(d)  # no "-0.0"
    text = f"{d:.{digits}f}"
    return text.replace(".", style.decimal_mark) if style.decimal_mark != "." else text


def pvalue(p: float | None, style: NumberStyle = DEFAULT) -> str:
    """A p-value as printed in a table: '0.032', '<0.001', '>0.99'."""
    if is_missing(p):
        return style.not_estimable
    if p < style.p_threshold:  # type: ignore[operator]
        return "<" + num(style.p_threshold, style.p_digits, style)
    text = num(p, style.p_digits, style)
    upper = 1 - 10 ** (-2)
    if p > upper and style.p_digits >= 2:  # type: ignore[operator]
        return ">" + num(upper, 2, style)
    return text


def p_text(p: float | None, style: NumberStyle = DEFAULT) -> str:
    """A p-value in running text: 'p = 0.032', 'p < 0.001'."""
    shown = pvalue(p, style)
    eq = " " if style.p_prefix_space else ""
    if shown.startswith(("<", ">")):
        return f"p{eq}{shown[0]}{eq}{shown[1:]}"
    return f"p{eq}={eq}{shown}"


def ci(
    lo: float | None, hi: float | None, digits: int, style: NumberStyle = DEFAULT, missing: str | None = None
) -> str:
    """'4.2-6.0' (separator from the style); a limit not reached prints as NR."""
    miss = style.not_reached if missing is None else missing
    a, b = num(lo, digits, style, miss), num(hi, digits, style, miss)
    negative = (not is_missing(lo) and lo < 0) or (not is_missing(hi) and hi < 0)  # type: ignore[operator]
    sep = style.ci_separator_negative if negative else style.ci_separator
    return f"{a}{sep}{b}"


def percent(x: float | None, style: NumberStyle = DEFAULT, digits: int | None = None) -> str:
    """A proportion (0-1) as a percentage number without the sign: 0.4521 -> '45.2'."""
    if is_missing(x):
        return style.not_estimable
    return num(x * 100.0, style.percent_digits if digits is None else digits, style)  # type: ignore[operator]


def count_percent(n: int, total: int, style: NumberStyle = DEFAULT) -> str:
    """'12 (40.0%)' — percent of a non-zero total, else just the count."""
    if total <= 0:
        return f"{n}"
    return f"{n} ({percent(n / total, style)}%)"
