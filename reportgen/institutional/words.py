"""Plain words for a board: protected results -> short sentences without jargon.

Numbers come only from the protected results: a count is written as itself, "fewer than 5"
for a small count, and a sentence that would need a withheld count is left out. Survival is
said as "about 7 in 10 patients were alive 1 year after diagnosis". A difference is called a
change only when its confidence interval excludes no change; units are called out only when
they lie outside the funnel plot's control limits.
"""

from __future__ import annotations

from typing import Any

from ..format import num, round_half_up

ESTIMATED = "estimated"


def count_text(value: int | str) -> str:
    """A protected count in a sentence: '1,234', 'fewer than 5'; '' when withheld."""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, str) and value.startswith("<"):
        return f"fewer than {value[1:]}"
    return ""


def count_cell(value: int | str) -> str:
    """A protected count in a table: '1,234', '<5' or '[c]'."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def percent_words(s: float | None) -> str:
    return "" if s is None else f"{num(s * 100, 0)}%"


def in_ten(s: float) -> str:
    """0.72 -> 'about 7 in 10'."""
    n = int(round_half_up(s * 10, 0))
    if n >= 10:
        return "more than 9 in 10"
    if n <= 0:
        return "fewer than 1 in 10"
    return f"about {n} in 10"


def year_phrase(years: float) -> str:
    if float(years).is_integer():
        n = int(years)
        return f"{n} year" if n == 1 else f"{n} years"
    months = round(years * 12)
    return f"{months} months"


def _survival_sentence(points: list[dict[str, Any]], who: str) -> list[str]:
    shown = [p for p in points if p["status"] == ESTIMATED]
    out = []
    if shown:
        first, rest = shown[0], shown[1:]
        text = (
            f"{in_ten(first['survival']).capitalize()} {who} were alive {year_phrase(first['years'])} after diagnosis"
        )
        if rest:
            text += ", and " + ", and ".join(f"{in_ten(p['survival'])} after {year_phrase(p['years'])}" for p in rest)
        out.append(text + ".")
    late = [p for p in points if p["status"] == "not_estimable"]
    if late:
        y = year_phrase(late[0]["years"])
        out.append(
            f"It is too early to say how many were alive {y} after diagnosis: most were diagnosed less than {y} ago."
        )
    return out


def _comparison(section: dict[str, Any], periods: dict[str, Any]) -> list[str]:
    comp = section.get("comparison")
    if not comp:
        return []
    prev = periods["previous"]["label"]
    out = []
    for d, cur, old in zip(
        comp["survival_difference"],
        section["by_period"]["current"]["survival"],
        section["by_period"]["previous"]["survival"],
        strict=True,
    ):
        if d["status"] != ESTIMATED:
            continue
        when = year_phrase(d["years"])
        pair = f"({percent_words(cur['survival'])} against {percent_words(old['survival'])})"
        lo, hi = d["ci"]
        if lo > 0:
            out.append(
                f"More patients were alive {when} after diagnosis than in {prev} {pair}. This is unlikely to be chance."
            )
        elif hi < 0:
            out.append(
                f"Fewer patients were alive {when} after diagnosis than in {prev} {pair}. This is unlikely to be chance."
            )
        else:
            out.append(f"Survival {when} after diagnosis was about the same as in {prev} {pair}.")
        break  # the first time point that can be compared is enough for a summary
    return out


def _units_sentences(results: dict[str, Any], focus: str | None) -> list[str]:
    eid = next(iter(results["endpoints"]))
    ra = results["endpoints"][eid]["risk_adjustment"]
    if not ra:
        return []
    labels = results["unit"]["labels"]
    unit = results["unit"]["label"].lower()
    mix = [results["covariate_labels"].get(c, c).lower() for c in ra["case_mix"]]
    out = [
        f"We compared each {unit} with what we would expect for its patients, taking into account their "
        + (", ".join(mix[:-1]) + " and " + mix[-1] if len(mix) > 1 else (mix[0] if mix else "case mix"))
        + "."
    ]
    rows = ra["units"]
    if focus is not None:
        rows = {focus: rows[focus]}
    above, below, within = [], [], []
    for u, r in rows.items():
        if r["position"] is None:
            continue
        (above if r["position"].startswith("above") else below if r["position"].startswith("below") else within).append(
            u
        )
    for u in above:
        r = rows[u]
        strength = "clearly " if r["position"] == "above_99.8" else ""
        out.append(
            f"In {labels[u]}, {strength}more patients died than expected: {count_text(r['observed'])} deaths where "
            f"about {num(r['expected'], 0)} were expected. This needs a closer look."
        )
    for u in below:
        r = rows[u]
        out.append(
            f"In {labels[u]}, fewer patients died than expected: {count_text(r['observed'])} deaths where about "
            f"{num(r['expected'], 0)} were expected."
        )
    if within:
        if focus is not None:
            out.append(f"In {labels[focus]}, the number of deaths was in the expected range.")
        elif len(within) == len(ra["units"]):
            out.append(f"Every {unit} had about the number of deaths we would expect.")
        else:
            out.append(
                f"The other {len(within)} {unit + 's' if len(within) != 1 else unit} had about the number of deaths we would expect."
            )
    return out


def summary(results: dict[str, Any], focus: str | None) -> list[str]:
    """The plain-language summary: a list of short sentences."""
    eid = next(iter(results["endpoints"]))
    ep = results["endpoints"][eid]
    periods = results["periods"]
    cur = periods["current"]["label"]
    section = ep["institution"] if focus is None else ep["units"][focus]
    who_name = results["setting"] if focus is None else results["unit"]["labels"][focus]
    out = []
    n = count_text(section["current"]["patients"])
    if n and focus is None:
        out.append(f"In {cur}, {n} patients were diagnosed at {who_name}.")
    elif n:
        out.append(f"In {cur}, {who_name} saw {n} newly diagnosed patients.")
    if "previous" in periods and "by_period" in section:
        m = count_text(section["by_period"]["previous"]["patients"])
        if m:
            out.append(f"In {periods['previous']['label']}, there were {m}.")
    out += _survival_sentence(section["current"]["survival"], "patients")
    if focus is not None:
        inst = [p for p in ep["institution"]["current"]["survival"] if p["status"] == ESTIMATED]
        if inst:
            out.append(
                f"Across the whole institution, {in_ten(inst[0]['survival'])} were alive "
                f"{year_phrase(inst[0]['years'])} after diagnosis."
            )
    out += _comparison(section, periods)
    out += _units_sentences(results, focus)
    out.append(
        "Survival depends strongly on how far the cancer had spread at diagnosis (stage), so differences "
        "between groups of patients are not always differences in care."
    )
    return out
