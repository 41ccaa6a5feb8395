"""Counting on a Dask cluster: each partition is read and counted by a worker, which sends
back only its counts; this process adds them in partition order.

Histograms merge by addition, so scaling out is a map (count a partition where it lies) and a
reduce (add the counts). The scheduler is named by ``--dask``, else ``DRIFTMON_DASK_ADDRESS``,
else ``[compute] dask`` in the configuration: a ``tcp://host:port`` address of a running
scheduler, or ``local`` for a `distributed.LocalCluster` of this machine's cores bound to
127.0.0.1. Workers must be able to import driftmon and to read the partitions' paths (a shared
file system, or the same paths on every machine).

Under Prefect the same counting runs through Prefect's Dask task runner (`driftmon.flows`);
this module serves in-process runs and imports `distributed` only when a cluster is named.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from driftmon.errors import ConfigError, DriftmonError

if TYPE_CHECKING:
    from distributed import Client

    from driftmon.pipeline import PartitionCounter
    from driftmon.profile import PartitionCounts
    from driftmon.sources import Partition

__all__ = [
    "DASK_ENV",
    "LOCAL",
    "close_clients",
    "dask_address",
    "dask_client",
    "dask_counter",
    "local_cluster_options",
    "task_runner",
]

#: The environment variable naming the Dask scheduler (between ``--dask`` and the config).
DASK_ENV = "DRIFTMON_DASK_ADDRESS"
#: The address that starts a cluster on this machine.
LOCAL = "local"
#: Seconds to wait for a scheduler to answer before saying so.
CONNECT_TIMEOUT_SECONDS = 5

_clients: dict[str, Client] = {}
_lock = threading.Lock()


def dask_address(
    explicit: str | None = None,
    configured: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The Dask scheduler to count on, None to count in this process: ``explicit``
    (``--dask``) wins over ``DRIFTMON_DASK_ADDRESS``, which wins over ``configured``
    (``[compute] dask``). An empty value, ``none`` or ``off`` means this process.

    Examples
    --------
    >>> dask_address("tcp://10.0.0.5:8786", "local", {})
    'tcp://10.0.0.5:8786'
    >>> dask_address(None, "local", {"DRIFTMON_DASK_ADDRESS": "none"}) is None
    True
    >>> dask_address(None, " LOCAL ", {})
    'local'
    """
    environ = os.environ if environ is None else environ
    for value, where in (
        (explicit, "--dask"),
        (environ.get(DASK_ENV), DASK_ENV),
        (configured, "[compute] dask"),
    ):
        if value is None:
            continue
        text = value.strip()
        if text.lower() in ("", "none", "off"):
            return None
        if text.lower() == LOCAL:
            return LOCAL
        if "://" not in text and ":" not in text:
            raise ConfigError(
                f"{where} is `{value}`; give a Dask scheduler address such as "
                f"`tcp://scheduler:8786`, or `{LOCAL}` for a cluster on this machine"
            )
        return text
    return None


def local_cluster_options() -> dict[str, Any]:
    """A `LocalCluster` of one single-threaded worker process per core (at most 4), bound to
    127.0.0.1 with its dashboard on a free loopback port: nothing listens beyond this
    machine."""
    return {
        "n_workers": max(1, min(os.cpu_count() or 1, 4)),
        "threads_per_worker": 1,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": "127.0.0.1:0",
    }


def dask_client(address: str) -> Client:
    """A client of the scheduler at ``address`` (or of a local cluster), one per address for
    the life of the process: a command checking many batches connects once.

    Raises
    ------
    DriftmonError
        The scheduler does not answer.
    """
    with _lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise DriftmonError(
                f"counting on Dask (`{address}`) needs the `dask` extra: "
                "pip install 'driftmon[dask]'"
            ) from None
        if address == LOCAL:
            _quiet_dask()

        try:
            if address == LOCAL:
                cluster = LocalCluster(**local_cluster_options())
                client = Client(cluster)
            else:
                client = Client(address, timeout=CONNECT_TIMEOUT_SECONDS)
        except (OSError, TimeoutError) as error:
            raise DriftmonError(
                f"the Dask scheduler at `{address}` does not answer ({error}); start it "
                "(`dask scheduler`), fix --dask / DRIFTMON_DASK_ADDRESS / `[compute] dask`, or "
                "count in this process by leaving them unset"
            ) from None
        _clients[address] = client
        return client


def _quiet_dask() -> None:
    """A cluster started for one command logs every worker's start and stop at INFO: only its
    warnings are the user's business."""
    for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.core"):
        logger = logging.getLogger(name)
        if logger.level in (logging.NOTSET, logging.INFO):
            logger.setLevel(logging.WARNING)


@atexit.register
def close_clients() -> None:
    """Close every client this process opened (and the local clusters it started)."""
    with _lock:
        for client in _clients.values():
            cluster = client.cluster if hasattr(client, "cluster") else None
            client.close()
            if cluster is not None:
                cluster.close()
        _clients.clear()


def dask_counter(address: str) -> PartitionCounter:
    """A `driftmon.pipeline.PartitionCounter` that counts each partition as one task on the
    cluster, yielding the counts in partition order as they are fetched (one at a time, so the
    client holds one partition's counts beside the running total)."""
    client = dask_client(address)

    def count(parts: Sequence[Partition], **options: Any) -> Iterator[PartitionCounts]:
        from driftmon.pipeline import count_partition

        # the bins (with a reference's vocabularies, megabytes) go to each worker once
        specs = client.scatter([options.pop("specs")], broadcast=True)[0]
        run = uuid.uuid4().hex[:12]
        futures = client.map(
            count_partition,
            list(parts),
            key=[f"driftmon-count-{run}-{part.index}" for part in parts],
            pure=False,
            specs=specs,
            **options,
        )
        try:
            for future in futures:
                yield future.result()
                future.release()
        finally:
            client.cancel(futures)

    return count


def task_runner(address: str) -> Any:
    """Prefect's Dask task runner for ``address`` (a local cluster for ``local``)."""
    from prefect_dask import DaskTaskRunner

    if address == LOCAL:
        return DaskTaskRunner(cluster_kwargs=local_cluster_options())
    return DaskTaskRunner(address=address)
