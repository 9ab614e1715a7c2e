"""Small-number protection: counts with the additive relations between them -> which counts may be shown.

Input: every count an institutional report publishes (keyed by any hashable), the relations that
tie them together (a total equals the sum of its parts, across every table: margins, aggregations
of years into periods, the flow), upper bounds (deaths <= patients), and a threshold t.

Output: a status per count: ``shown``, ``small`` (primary suppression: the count is below t; shown
as "<t") or ``withheld`` (shown as "[c]": complementary suppression, or deaths withheld because
fewer than t patients survived).

Method.
1. Primary: every count below t; every death count whose patients minus deaths is below t.
2. Complementary, by pairs: a relation (a total and its parts) with exactly one hidden member would
   give it away by subtraction, so the smallest shown part (else the total) is hidden too; repeated
   until no relation has exactly one hidden member.
3. Audit, by linear programming over all relations at once (an attacker who knows every published
   table and that "<t" means 0 to t - 1): for each protected quantity (a small count, or patients
   minus deaths) its least and greatest value consistent with everything published. A quantity
   whose range is a single value would be recovered; then one more count (the smallest that helps)
   is hidden, and steps 2-3 repeat.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

SHOWN, SMALL, WITHHELD = "shown", "small", "withheld"
WITHHELD_SYMBOL = "[c]"


@dataclass
class CountSystem:
    """Counts and the relations between them (all counts that appear in any output)."""

    threshold: int
    values: dict[Hashable, int] = field(default_factory=dict)
    relations: list[tuple[Hashable, tuple[Hashable, ...]]] = field(default_factory=list)  # total, parts
    bounded_by: list[tuple[Hashable, Hashable]] = field(default_factory=list)  # (deaths, patients)

    def add(self, key: Hashable, value: int) -> None:
        value = int(value)
        if key in self.values and self.values[key] != value:
            raise ValueError(f"count {key!r} given twice with different values")
        self.values[key] = value

    def relate(self, total: Hashable, parts: Iterable[Hashable]) -> None:
        parts = tuple(parts)
        for k in (total, *parts):
            if k not in self.values:
                raise KeyError(f"relation names an unknown count {k!r}")
        self.relations.append((total, parts))

    def bound(self, deaths: Hashable, patients: Hashable) -> None:
        self.bounded_by.append((deaths, patients))


@dataclass(frozen=True)
class Protection:
    """The outcome: the status of every count, and the audit's ranges of the protected quantities."""

    threshold: int
    status: dict[Hashable, str]
    values: dict[Hashable, int]
    ranges: list[tuple[str, tuple[float, float]]]  # (description, (min, max)) per protected quantity

    def shown(self, key: Hashable) -> bool:
        return self.status[key] == SHOWN

    def public(self, key: Hashable) -> int | str:
        """The count as it may be published: the number, "<t", or "[c]"."""
        status = self.status[key]
        if status == SHOWN:
            return self.values[key]
        return f"<{self.threshold}" if status == SMALL else WITHHELD_SYMBOL


def _primary(system: CountSystem) -> dict[Hashable, str]:
    t = system.threshold
    status = {k: (SMALL if v < t else SHOWN) for k, v in system.values.items()}
    for d, p in system.bounded_by:
        if status[d] == SHOWN and system.values[p] - system.values[d] < t:
            status[d] = WITHHELD
    return status


def _pair(system: CountSystem, status: dict[Hashable, str]) -> bool:
    """Hide one more member of every relation with exactly one hidden member; True if anything changed."""
    changed = False
    again = True
    while again:
        again = False
        for total, parts in system.relations:
            members = (total, *parts)
            hidden = [k for k in members if status[k] != SHOWN]
            if len(hidden) != 1:
                continue
            candidates = [k for k in parts if status[k] == SHOWN] or [total]
            pick = min(candidates, key=lambda k: (system.values[k], str(k)))
            status[pick] = WITHHELD
            again = changed = True
    return changed


def _sensitive(system: CountSystem, status: dict[Hashable, str]) -> list[tuple[str, dict[Hashable, float]]]:
    """Quantities that must not be recoverable: small counts, and patients minus deaths when small."""
    t = system.threshold
    forms: list[tuple[str, dict[Hashable, float]]] = []
    for k, v in system.values.items():
        if v < t:
            forms.append((f"count {k!r}", {k: 1.0}))
    for d, p in system.bounded_by:
        if system.values[p] - system.values[d] < t and system.values[d] >= t:
            forms.append((f"survivors {p!r} - {d!r}", {p: 1.0, d: -1.0}))
    return forms


def _ranges(
    system: CountSystem, status: dict[Hashable, str], forms: list[tuple[str, dict[Hashable, float]]]
) -> list[tuple[float, float]]:
    """Least and greatest value of each form over everything consistent with the published counts."""
    hidden = sorted((k for k, s in status.items() if s != SHOWN), key=str)
    index = {k: i for i, k in enumerate(hidden)}
    n = len(hidden)
    t = system.threshold
    a_eq, b_eq = [], []
    for total, parts in system.relations:
        row = np.zeros(n)
        rhs = 0.0
        for k, sign in ((total, -1.0), *((p, 1.0) for p in parts)):
            if k in index:
                row[index[k]] += sign
            else:
                rhs -= sign * system.values[k]
        if row.any():
            a_eq.append(row)
            b_eq.append(rhs)
    a_ub, b_ub = [], []
    for d, p in system.bounded_by:
        row = np.zeros(n)
        rhs = 0.0
        for k, sign in ((d, 1.0), (p, -1.0)):
            if k in index:
                row[index[k]] += sign
            else:
                rhs -= sign * system.values[k]
        if row.any():
            a_ub.append(row)
            b_ub.append(rhs)
    bounds = [(0.0, float(t - 1)) if status[k] == SMALL else (0.0, None) for k in hidden]
    out = []
    for _, form in forms:
        c = np.zeros(n)
        const = 0.0
        for k, w in form.items():
            if k in index:
                c[index[k]] += w
            else:
                const += w * system.values[k]
        if not c.any():
            out.append((const, const))
            continue
        ends = []
        for sign in (1.0, -1.0):
            res = linprog(
                sign * c,
                A_ub=np.array(a_ub) if a_ub else None,
                b_ub=np.array(b_ub) if b_ub else None,
                A_eq=np.array(a_eq) if a_eq else None,
                b_eq=np.array(b_eq) if b_eq else None,
                bounds=bounds,
                method="highs",
            )
            if res.status == 3:  # unbounded
                ends.append(-np.inf if sign > 0 else np.inf)
            elif res.status != 0:
                raise RuntimeError(f"suppression audit failed: {res.message}")
            else:
                ends.append(sign * res.fun + const)
        out.append((float(ends[0]), float(ends[1])))
    return out


def _neighbours(system: CountSystem, keys: Iterable[Hashable]) -> set[Hashable]:
    keys = set(keys)
    out: set[Hashable] = set()
    for total, parts in system.relations:
        members = {total, *parts}
        if members & keys:
            out |= members
    return out


def protect(system: CountSystem, max_rounds: int = 200) -> Protection:
    """Primary and complementary suppression, audited (see the module docstring)."""
    status = _primary(system)
    forms = _sensitive(system, status)
    for _ in range(max_rounds):
        _pair(system, status)
        ranges = _ranges(system, status, forms)
        exposed = [i for i, (lo, hi) in enumerate(ranges) if hi - lo < 1.0 - 1e-9]
        if not exposed:
            return Protection(
                system.threshold, status, dict(system.values), list(zip([f[0] for f in forms], ranges, strict=True))
            )
        target = forms[exposed[0]]
        candidates = sorted(
            (k for k in _neighbours(system, target[1]) if status[k] == SHOWN),
            key=lambda k: (system.values[k], str(k)),
        )
        if not candidates:
            candidates = sorted((k for k, s in status.items() if s == SHOWN), key=lambda k: (system.values[k], str(k)))
        if not candidates:
            break
        chosen = candidates[0]
        for k in candidates:
            trial = dict(status)
            trial[k] = WITHHELD
            lo, hi = _ranges(system, trial, [target])[0]
            if hi - lo >= 1.0 - 1e-9:
                chosen = k
                break
        status[chosen] = WITHHELD
    raise RuntimeError("small-number protection did not converge")


def audit(protection: Protection, system: CountSystem) -> list[tuple[str, tuple[float, float]]]:
    """The range of every protected quantity given the published counts (for tests and the appendix)."""
    forms = _sensitive(system, protection.status)
    return list(zip([f[0] for f in forms], _ranges(system, dict(protection.status), forms), strict=True))
