"""Fixtures shared by the integration tests (this folder is on sys.path for `receivers`)."""

from __future__ import annotations

from collections.abc import Iterator

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
