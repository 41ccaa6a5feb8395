"""Fixtures shared by the integration tests (this folder is on sys.path for `receivers`)."""

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
