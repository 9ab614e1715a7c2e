"""Dask cluster connection (scale-out stage): a scheduler address or nothing in, a ``dask.distributed.Client`` out.

With an address (``compute.scheduler`` in the spec, or ``--scheduler``) the client connects to
that existing cluster; without one it starts a ``LocalCluster`` on this machine: worker
processes (one thread each) on the loopback interface, no dashboard, a scratch folder that is
removed on exit. Either way the caller gets the client inside a ``with`` block and the cluster it
started (never one it only connected to) is shut down at the end.

A task whose worker dies is run again on another worker (Dask reschedules it from its recipe:
every result here is computed from the data files, never scattered from this process), up to
Dask's ``distributed.scheduler.allowed-failures`` times.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..errors import fail

if TYPE_CHECKING:
    from dask.distributed import Client


def require_dask() -> None:
    """Raise a user error naming the extra to install when Dask is missing."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise fail(
            "data.engine: dask needs Dask, which is not installed",
            key="data.engine",
            hint="install the optional extra: pip install 'reportgen[scale]'",
        ) from None


def default_workers() -> int:
    """One worker process per core (at least one)."""
    return max(1, os.cpu_count() or 1)


@contextmanager
def open_client(
    scheduler: str | None = None,
    *,
    n_workers: int | None = None,
    memory_limit: str | None = None,
    quiet: bool = True,
) -> Iterator[Client]:
    """A client of the cluster at ``scheduler``, or of a new local cluster (closed on exit).

    ``n_workers`` and ``memory_limit`` (per worker, e.g. "2GB"; default: the machine's memory
    shared among the workers) apply to the local cluster only.
    """
    require_dask()
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise fail(
                f"cannot reach the Dask scheduler at {scheduler}: {exc}",
                key="compute.scheduler",
                hint="check the address (tcp://host:8786) and that the scheduler and its workers are running; "
                "remove compute.scheduler to use a local cluster",
            ) from None
        try:
            yield client
        finally:
            client.close()
        return

    with tempfile.TemporaryDirectory(prefix="reportgen-dask-") as scratch:
        cluster = LocalCluster(
            n_workers=n_workers or default_workers(),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit=memory_limit or "auto",
            local_directory=scratch,
            silence_logs=logging.ERROR if quiet else logging.WARNING,
        )
        try:
            client = Client(cluster)
            try:
                yield client
            finally:
                client.close()
        finally:
            cluster.close()
