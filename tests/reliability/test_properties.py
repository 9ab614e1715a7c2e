"""Property tests: random cohorts (1 to 500 patients, random censoring, heavy ties, all-censored and
one-event groups, one or two groups) written as CSV with a generated spec and rendered to HTML. A run
either succeeds or stops with a ``UserError``; on success the numbers keep their invariants (Kaplan-Meier
non-increasing within [0, 1], every CI around its estimate, counts adding up) and the medians in
report.html are those of results.json as displayed."""

from __future__ import annotations

import html
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reportgen.build import build
from reportgen.errors import UserError
from reportgen.format import NumberStyle, ci, num
from reportgen.narrative.words import median_phrase

SPEC = """\
title: Random cohort
data: {path: data.csv, id: pid}
group: {column: arm, reference: A}
endpoints:
  os: {label: Overall survival, time: t, event: e}
analysis:
  km: {landmarks: [1, 4]}
"""

SETTINGS = settings(
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Cohort:
    arm: np.ndarray
    time: np.ndarray
    event: np.ndarray

    def csv(self) -> str:
        rows = [f"id{i},{a},{t:g},{e}" for i, (a, t, e) in enumerate(zip(self.arm, self.time, self.event, strict=True))]
        return "pid,arm,t,e\n" + "\n".join(rows) + "\n"

    def degenerate(self) -> bool:
        """At every event time everyone still at risk has the event: the log-rank variance is 0 (R's
        survdiff stops: "system is exactly singular") and, with one event alone, so is the Cox log
        partial likelihood."""
        times = np.unique(self.time[self.event == 1])
        at_risk = np.array([(self.time >= t).sum() for t in times])
        dying = np.array([((self.time == t) & (self.event == 1)).sum() for t in times])
        return len(set(self.arm)) == 2 and len(times) > 0 and bool(np.all(at_risk == dying))

    def events_in(self, arm: str) -> int:
        return int(self.event[self.arm == arm].sum())


@st.composite
def cohorts(draw: st.DrawFn) -> Cohort:
    n = draw(st.one_of(st.integers(1, 12), st.integers(13, 500)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    share_a = draw(st.sampled_from([0.5, 0.1, 0.9, 0.3, 0.0]))  # 0: a single group
    arm = np.where(rng.random(n) < share_a, "A", "B")
    if share_a > 0 and n >= 2:
        arm[:2] = ["A", "B"]  # two groups however small the cohort
    if draw(st.booleans()):  # heavy ties: a handful of distinct whole times, zero included
        time = rng.integers(0, draw(st.integers(1, 6)), n).astype(float)
    else:
        time = np.round(rng.exponential(draw(st.sampled_from([0.5, 3.0, 20.0])), n), 2)
    p_event = {g: draw(st.sampled_from([0.0, 0.05, 0.5, 0.95, 1.0])) for g in "AB"}
    event = (rng.random(n) < np.where(arm == "A", p_event["A"], p_event["B"])).astype(int)
    if draw(st.booleans()):  # exactly one event in group B
        in_b = np.flatnonzero(arm == "B")
        event[in_b] = 0
        if len(in_b):
            event[rng.choice(in_b)] = 1
    return Cohort(arm, time, event)


def run(cohort: Cohort, folder: Path) -> tuple[dict, str] | UserError:
    (folder / "data.csv").write_text(cohort.csv(), encoding="utf-8")
    (folder / "study.yaml").write_text(SPEC, encoding="utf-8")
    try:
        build(folder / "study.yaml", folder / "out", formats=["html"])
    except UserError as exc:
        return exc
    results = json.loads((folder / "out" / "results.json").read_text(encoding="utf-8"))
    page = (folder / "out" / "report.html").read_text(encoding="utf-8")
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))
    return results, text


def contains(lo: float | None, est: float | None, hi: float | None) -> bool:
    """lo <= est <= hi, a missing limit being open (not reached)."""
    if est is None:
        return True
    return (lo is None or lo <= est + 1e-12) and (hi is None or est <= hi + 1e-12)


def check(cohort: Cohort, results: dict, text: str) -> None:
    n, events = len(cohort.arm), int(cohort.event.sum())
    assert results["cohort"]["n_included"] == n
    assert sum(results["cohort"]["groups"].values()) == n
    ep = results["endpoints"]["os"]
    assert ep["n"] == n and ep["events"] == events
    groups = ep["km"]["groups"]
    assert sum(g["n"] for g in groups.values()) == n
    assert sum(g["events"] for g in groups.values()) == events
    for level, g in groups.items():
        assert g["n"] == int((cohort.arm == level).sum()) and g["events"] == cohort.events_in(level)
        table = g["table"]
        s = np.asarray(table["survival"], dtype=float)
        assert np.all((s >= 0) & (s <= 1)) and np.all(np.diff(s) <= 1e-12), level
        assert sum(table["n_event"]) == g["events"] and sum(table["n_event"]) + sum(table["n_censor"]) == g["n"]
        for lo, est, hi in zip(table["lower"], table["survival"], table["upper"], strict=True):
            assert contains(lo, est, hi)
            assert all(v is None or 0 <= v <= 1 for v in (lo, hi))
        assert contains(g["median_ci"][0], g["median"], g["median_ci"][1]), g["median_ci"]
        if g["median"] is None:
            assert g["median_ci"][1] is None  # an upper limit cannot be reached before the median
        for mark in g["landmarks"]:
            assert contains(*[mark["ci"][0], mark["survival"], mark["ci"][1]])
        # the medians shown equal results.json as displayed: Table 2 and the text
        conf = ep["km"]["conf_level"]
        assert f"{num(g['median'], 1, missing='NR')} ({ci(*g['median_ci'], 1)})" in text, level
        assert f"Median OS was {median_phrase(g, 'months', conf, NumberStyle())}" in text or (
            f"and {median_phrase(g, 'months', conf, NumberStyle())} in the {level} group" in text
        ), level
    fu = ep["followup"]
    assert contains(fu["ci"][0], fu["median"], fu["ci"][1])
    for row in ep["cox"]["univariable"]:
        assert contains(row["ci"][0], row["hr"], row["ci"][1]), row
        assert row["hr"] is None or row["hr"] > 0


@SETTINGS
@given(cohorts())
def test_random_cohorts_render_or_stop_with_a_user_error(cohort: Cohort):
    event(f"{len(set(cohort.arm))} group(s)")
    event("size " + ("1-9" if len(cohort.arm) < 10 else "10-99" if len(cohort.arm) < 100 else "100-500"))
    event(f"{len(np.unique(cohort.time))} distinct times" if len(np.unique(cohort.time)) < 7 else "few ties")
    if cohort.event.sum() == 0:
        event("all censored")
    if 1 in (cohort.events_in("A"), cohort.events_in("B")):
        event("a group with one event")
    with tempfile.TemporaryDirectory() as folder:
        outcome = run(cohort, Path(folder))
    if isinstance(outcome, UserError):
        assert len(set(cohort.arm)) == 1, outcome.render()  # the only problem random data can have
        assert "a comparison needs two" in outcome.render()
        return
    check(cohort, *outcome)
