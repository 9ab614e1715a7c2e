"""Scale-out: the analyses of a spec with ``data.engine: dask`` run on a Dask cluster, from partitioned files.

Input: a ``Study`` whose data are Parquet (or CSV) files too large for one machine, and a Dask
client (``cluster.open_client``: a scheduler's address, or a local cluster). Output: the Results
mapping of ``analysis.runner.run_analyses``, computed by distributed aggregation (counts per time,
per-time risk-set sums, moments and value counts) and finished on the client with the in-memory
estimators' own code, so figures, tables and text are made as always. docs/scaling.md says when to
switch, how to point at a cluster, and what is exact and what is approximate.

Modules: ``cluster`` (client), ``source`` (files into pieces), ``cohort`` (selection, checks and
coding on the workers), ``aggregate`` (count tables, reduction), ``survival`` (Kaplan-Meier and
tests), ``cox`` (distributed Newton-Raphson), ``models`` (Cox, landmark and subgroup results),
``table1`` (Table 1), ``runner`` (the whole mapping). Dask is imported only when used.
"""

from .runner import analyse_at_scale, run_analyses_scaled

__all__ = ["analyse_at_scale", "run_analyses_scaled"]
