"""Fixtures shared by the integration and reliability tests: receivers, PostgreSQL, Dask."""

from __future__ import annotations

from collections.abc import Iterator

import postgres
import pytest
from receivers import Mailbox, Receiver, http_receiver, smtp_mailbox


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as running:
        yield running


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_mailbox() as running:
        yield running


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for the session (see `postgres`), or the test is skipped with why."""
    reason = postgres.unavailable_reason()
    if reason:
        pytest.skip(reason)
    with postgres.server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database of its own for one test."""
    return postgres.fresh_database(postgres_server)


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """A 2-worker Dask `LocalCluster` on 127.0.0.1 for a module's tests (idle workers cost a
    few percent of a core each: not for the whole session): its scheduler address."""
    from distributed import LocalCluster

    from driftmon import compute

    with LocalCluster(**compute.local_cluster_options() | {"n_workers": 2}) as cluster:
        yield cluster.scheduler_address
        compute.close_clients()  # before the cluster goes, or its clients try to reconnect
