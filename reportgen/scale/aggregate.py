"""Distributed aggregations (scale-out stage): coded pieces in, small exact tables out.

Every function here named ``*_part`` runs on a worker on one coded piece (``cohort.code_piece``)
and returns a small table; ``reduce`` adds the tables of all pieces on the client as they arrive
(so the client holds one running total, never every piece's table at once). The tables:

- ``counts_part``: events and censorings per (keys..., time), the only thing Kaplan-Meier curves,
  log-rank tests, landmark rates, RMST and reverse Kaplan-Meier follow-up need;
- ``Rows``: which rows an aggregation uses (an endpoint's patients, those event-free past a
  landmark with time restarted there, a subgroup level, complete cases of some columns).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from dask.distributed import Future

    from .cohort import ScaledCohort

STRATUM = "stratum"


@dataclass(frozen=True)
class Rows:
    """Rows used by an aggregation: with ``landmark`` only patients whose time exceeds it, with time
    restarted there; ``equals`` keeps rows where a coded column has a given code; ``complete`` keeps
    rows where each column is known (code >= 0, or a number); ``strata`` (columns ``st.<name>``) is
    combined into one stratum code, -1 where any is unknown (``known_strata`` drops those rows)."""

    eid: str
    landmark: float | None = None
    equals: tuple[tuple[str, int], ...] = ()
    complete: tuple[str, ...] = ()
    strata: tuple[tuple[str, int], ...] = ()  # (column, number of levels)
    known_strata: bool = False


def known(values: np.ndarray) -> np.ndarray:
    """True where a coded or numeric column has a value."""
    if values.dtype.kind == "f":
        return ~np.isnan(values)
    return values >= 0


def stratum_codes(part: pd.DataFrame, strata: tuple[tuple[str, int], ...]) -> np.ndarray:
    """One integer per row combining the stratification columns (mixed radix), -1 if any is unknown."""
    code = np.zeros(len(part), dtype=np.int64)
    missing = np.zeros(len(part), dtype=bool)
    for column, size in strata:
        c = part[column].to_numpy().astype(np.int64)
        missing |= c < 0
        code = code * size + np.maximum(c, 0)
    return np.where(missing, -1, code)


def select(part: pd.DataFrame, rows: Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mask, time, event, stratum) of the rows used; time restarted at the landmark if any."""
    t = part[f"t.{rows.eid}"].to_numpy(dtype=float)
    e = part[f"e.{rows.eid}"].to_numpy()
    mask = np.ones(len(part), dtype=bool)
    if rows.landmark is not None:
        mask &= t > rows.landmark
    for column, code in rows.equals:
        mask &= part[column].to_numpy() == code
    for column in rows.complete:
        mask &= known(part[column].to_numpy())
    strata = stratum_codes(part, rows.strata) if rows.strata else np.zeros(len(part), dtype=np.int64)
    if rows.known_strata:
        mask &= strata >= 0
    time = t[mask]
    if rows.landmark is not None:
        time = time - rows.landmark
    return mask, time, e[mask], strata[mask]


def counts_part(part: pd.DataFrame, rows: Rows, keys: tuple[str, ...], admin: bool = False) -> pd.DataFrame:
    """Events and censorings per (keys..., time) among the rows used; ``keys`` are coded columns or
    ``STRATUM``. With ``admin`` also the censorings at or after the data cut-off (``n_admin``)."""
    mask, time, event, strata = select(part, rows)
    frame = {k: (strata if k == STRATUM else part[k].to_numpy()[mask]) for k in keys}
    frame["time"] = time
    frame["n_event"] = event.astype(np.int64)
    frame["n_censor"] = 1 - frame["n_event"]
    if admin:
        adm = part[f"a.{rows.eid}"].to_numpy()[mask]
        frame["n_admin"] = ((event == 0) & adm).astype(np.int64)
    df = pd.DataFrame(frame)
    values = [c for c in df.columns if c.startswith("n_")]
    return df.groupby([*keys, "time"], sort=False)[values].sum().reset_index()


def add_counts(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Count tables of several pieces added cell by cell (sorted by the keys, then time)."""
    tables = [t for t in tables if t is not None]
    df = pd.concat(tables, ignore_index=True)
    keys = [c for c in df.columns if not c.startswith("n_")]
    return df.groupby(keys, sort=True).sum().reset_index()


def reduce(futures: list[Future], combine: Callable[[list[Any]], Any], batch: int = 16) -> Any:
    """Combine the pieces' results in piece order, ``batch`` at a time, keeping one running total
    (the order is fixed, so sums of floats come out the same on every run and every cluster)."""
    if not futures:
        raise ValueError("nothing to combine: the cohort has no pieces")
    client = futures[0].client
    total: Any = None
    for start in range(0, len(futures), batch):
        chunk = futures[start : start + batch]
        results = client.gather(chunk)
        for fut in chunk:
            fut.release()
        total = combine(results if total is None else [total, *results])
    return total


def count_table(cohort: ScaledCohort, rows: Rows, keys: tuple[str, ...], admin: bool = False) -> pd.DataFrame:
    """The whole cohort's count table (exact): one task per piece, added on the client."""
    futures = cohort.map(counts_part, rows, keys, admin, key=f"counts-{rows.eid}")
    return reduce(futures, add_counts)
