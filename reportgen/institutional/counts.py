"""Published counts: ``Registry`` -> every count an institutional report may show, protected together.

The counts are patients and, per endpoint, events ("deaths"), cross-classified by unit and one
other dimension: diagnosis year (both periods), period, and each stratifier (current period), with
all their margins, plus the participant flow. Every report of a batch (the institution's and each
unit's) shows only numbers from this one protected set, so no report can undo another's
suppression. Keys are tuples ``(measure, scope, unit, dimension, level)``; ``None`` marks a margin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .prepare import CURRENT, Registry
from .suppression import CountSystem, Protection, protect

PATIENTS = "patients"
ALL, CUR = "all", "current"
Key = tuple[str, str, str | None, str | None, str | None]


def events_measure(eid: str) -> str:
    return f"events:{eid}"


@dataclass(frozen=True)
class Counts:
    """The protected counts, with look-ups that canonicalise keys."""

    protection: Protection
    system: CountSystem
    two_periods: bool
    reasons: tuple[str, ...]  # the flow's exclusion steps

    def key(
        self, measure: str, scope: str, unit: str | None = None, dim: str | None = None, level: object = None
    ) -> Key:
        """Canonical key: the current period's totals are the period dimension's 'current' cells; with one
        period (or for diagnosis years) the current period is everything."""
        lvl = None if level is None else str(level)
        if scope == CUR:
            if dim is None:
                return (measure, ALL, unit, "period", CURRENT) if self.two_periods else (measure, ALL, unit, None, None)
            if not self.two_periods or dim == "year":
                scope = ALL
        return (measure, scope, unit, dim, lvl)

    def public(
        self, measure: str, scope: str, unit: str | None = None, dim: str | None = None, level: object = None
    ) -> int | str:
        """The count as published: the number, "<t" or "[c]"."""
        return self.protection.public(self.key(measure, scope, unit, dim, level))

    def shown(
        self, measure: str, scope: str, unit: str | None = None, dim: str | None = None, level: object = None
    ) -> bool:
        return self.protection.shown(self.key(measure, scope, unit, dim, level))

    def flow_public(self) -> list[dict[str, object]]:
        return [
            {"reason": reason, "n_excluded": self.protection.public(("flow", str(i)))}
            for i, reason in enumerate(self.reasons)
        ]

    def assessed(self) -> int | str:
        return self.protection.public(("flow", "assessed"))


def _codes(values: np.ndarray, levels: list[object]) -> np.ndarray:
    lookup = {str(v): i for i, v in enumerate(levels)}
    return np.array([lookup[str(v)] for v in values], dtype=np.intp) if values.size else np.zeros(0, dtype=np.intp)


def _table(
    system: CountSystem,
    measure: str,
    scope: str,
    dim: str,
    levels: list[str],
    unit_codes: np.ndarray,
    units: list[str],
    level_codes: np.ndarray,
    weight: np.ndarray,
    total_key: Callable[[str | None], Key],
) -> None:
    """Unit x dimension cells, their per-level margins, and the relations to the unit totals."""
    cells = np.zeros((len(units), len(levels)), dtype=np.int64)
    np.add.at(cells, (unit_codes, level_codes), weight)
    for j, lvl in enumerate(levels):
        system.add((measure, scope, None, dim, lvl), int(cells[:, j].sum()))
        for i, u in enumerate(units):
            system.add((measure, scope, u, dim, lvl), int(cells[i, j]))
    for u in units:
        system.relate(total_key(u), [(measure, scope, u, dim, lvl) for lvl in levels])
    system.relate(total_key(None), [(measure, scope, None, dim, lvl) for lvl in levels])
    for lvl in levels:
        system.relate((measure, scope, None, dim, lvl), [(measure, scope, u, dim, lvl) for u in units])


def build_counts(reg: Registry) -> Counts:
    """Count everything the reports may show and protect it (threshold from the spec)."""
    t = reg.options.suppression_threshold
    system = CountSystem(threshold=t)
    units = reg.units
    ucodes = _codes(reg.unit, units)
    two = len(reg.periods) == 2
    cur = reg.period == CURRENT
    measures: list[tuple[str, np.ndarray]] = [(PATIENTS, np.ones(reg.n, dtype=np.int64))]
    for eid in reg.study.endpoints:
        _, event = reg.endpoint(eid)
        measures.append((events_measure(eid), event.astype(np.int64)))

    def all_total(measure: str) -> Callable[[str | None], Key]:
        return lambda u: (measure, ALL, u, None, None)

    def cur_total(measure: str) -> Callable[[str | None], Key]:
        if two:
            return lambda u: (measure, ALL, u, "period", CURRENT)
        return lambda u: (measure, ALL, u, None, None)

    years = [str(y) for y in reg.years]
    ycodes = _codes(reg.year.astype(str), years)
    for measure, w in measures:
        system.add((measure, ALL, None, None, None), int(w.sum()))
        for i, u in enumerate(units):
            system.add((measure, ALL, u, None, None), int(w[ucodes == i].sum()))
        system.relate((measure, ALL, None, None, None), [(measure, ALL, u, None, None) for u in units])
        _table(system, measure, ALL, "year", years, ucodes, units, ycodes, w, all_total(measure))
        if two:
            pcodes = _codes(reg.period, reg.periods)
            _table(system, measure, ALL, "period", list(reg.periods), ucodes, units, pcodes, w, all_total(measure))
            for p in reg.periods:  # diagnosis years add up to their period when no year is split between two
                in_p = {str(y) for y in np.unique(reg.year[reg.period == p])}
                elsewhere = {str(y) for y in np.unique(reg.year[reg.period != p])}
                if in_p and not in_p & elsewhere:
                    for u in [*units, None]:
                        system.relate(
                            (measure, ALL, u, "period", p), [(measure, ALL, u, "year", y) for y in sorted(in_p)]
                        )
        scope = CUR if two else ALL
        for column, st in reg.strata.items():
            _table(
                system,
                measure,
                scope,
                column,
                st.levels,
                ucodes[cur],
                units,
                _codes(st.values[cur], st.levels),
                w[cur],
                cur_total(measure),
            )
    for measure, _ in measures[1:]:
        for key in list(system.values):
            if key[0] == measure:
                system.bound(key, (PATIENTS, *key[1:]))
    reasons = [str(f["reason"]) for f in reg.flow]
    system.add(("flow", "assessed"), reg.n_assessed)
    for i, f in enumerate(reg.flow):
        system.add(("flow", str(i)), int(f["n_excluded"]))  # type: ignore[call-overload]
    system.relate(
        ("flow", "assessed"), [("flow", str(i)) for i in range(len(reg.flow))] + [(PATIENTS, ALL, None, None, None)]
    )
    protection = protect(system)
    return Counts(protection, system, two, tuple(reasons))
