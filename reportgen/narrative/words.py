"""Language rules for report text: Results numbers -> phrases, used as Jinja filters.

Centralised so that every sentence follows the same rules: "significant" only when
p < alpha; "associated with", never causal verbs; singular/plural agreement; a
median that was not reached is written "not reached"; no "trend towards significance".
"""

from __future__ import annotations

from typing import Any

from ..format import NumberStyle, ci, num, p_text
from ..format.numbers import is_missing

_SINGULAR = {"days": "day", "weeks": "week", "months": "month", "years": "year"}


def plural(n: int | float, word: str, plural_form: str | None = None) -> str:
    """'1 patient', '74 patients', '1 event', '0 events'."""
    many = plural_form or (word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s")
    return f"{n:g} {word if n == 1 else many}" if isinstance(n, float) else f"{n} {word if n == 1 else many}"


def time_unit_singular(unit: str) -> str:
    return _SINGULAR.get(unit, unit)


def landmark_label(t: float, unit: str) -> str:
    """'6-month', '1-year', '1.5-year' (a compound adjective is singular)."""
    return f"{t:g}-{time_unit_singular(unit)}"


def duration(t: float | None, unit: str, style: NumberStyle) -> str:
    """'5.1 months', '1.0 month'? -> a value shown with decimals keeps the plural except exactly 1."""
    if is_missing(t):
        return style.not_reached_text
    shown = num(t, style.time_digits, style)
    return f"{shown} {time_unit_singular(unit) if shown in ('1', '1.0') else unit}"


def cap_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    """'Overall survival' -> 'overall survival' (keeps acronyms such as 'PFS' intact)."""
    if len(text) > 1 and text[:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def conf_pct(level: float) -> str:
    return f"{level * 100:g}%"


def median_phrase(km_group: dict[str, Any], unit: str, conf_level: float, style: NumberStyle) -> str:
    """'5.1 months (95% CI 4.2-6.0)' or 'not reached (95% CI 8.1-NR)'."""
    est = km_group["median"]
    lo, hi = km_group["median_ci"]
    head = duration(est, unit, style)
    if is_missing(lo) and is_missing(hi):
        return head
    return f"{head} ({conf_pct(conf_level)} CI {ci(lo, hi, style.time_digits, style)})"


def rate_phrase(mark: dict[str, Any], conf_level: float, style: NumberStyle) -> str:
    """'45.2% (95% CI 30.1-59.0%)'."""
    if mark["survival"] is None:
        return style.not_estimable_text
    lo, hi = (None if v is None else v * 100 for v in mark["ci"])
    if lo is None and hi is None:  # e.g. S = 1 with the log-log transform: the interval does not exist
        return f"{num(mark['survival'] * 100, style.percent_digits, style)}% (CI not estimable)"
    return (
        f"{num(mark['survival'] * 100, style.percent_digits, style)}% "
        f"({conf_pct(conf_level)} CI {ci(lo, hi, style.percent_digits, style)}%)"
    )


def hr_phrase(row: dict[str, Any] | None, conf_level: float, style: NumberStyle, with_p: bool = True) -> str:
    """'HR 0.62, 95% CI 0.38-1.01, p = 0.052'."""
    if row is None or row.get("hr") is None:
        return "HR not estimable"
    text = (
        f"HR {num(row['hr'], style.hr_digits, style)}, {conf_pct(conf_level)} CI "
        f"{ci(*row['ci'], style.hr_digits, style)}"
    )
    return f"{text}, {p_text(row['p'], style)}" if with_p else text


def significant(p: float | None, alpha: float) -> bool:
    return p is not None and not is_missing(p) and p < alpha


def joined(items: list[str], conj: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conj} {items[-1]}"


def direction(hr: float | None, higher: str, lower: str) -> str:
    if hr is None:
        return ""
    return higher if hr > 1 else lower
