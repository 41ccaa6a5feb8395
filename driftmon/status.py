"""Where a feature, a batch or a finding stands: the statuses every layer shares.

Apart from `driftmon.policy`, which decides them, so that code that only stores, lists or
prints statuses (the store, ``driftmon history``, ``driftmon alerts``) does not import the
statistics.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

__all__ = ["SEVERITIES", "Severity", "Status"]


class Status(StrEnum):
    """Where a feature, a batch or a finding stands, from least to most severe.

    ``unmonitored``: the reference has no usable values of the feature; ``empty``: the batch
    had no rows of it to judge. Members are strings (``Status.OK == "ok"``), as stored and
    printed.
    """

    UNMONITORED = "unmonitored"
    EMPTY = "empty"
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position from least (0, unmonitored) to most severe (4, critical)."""
        return _STATUS_RANK[self]

    @property
    def is_drift(self) -> bool:
        """Whether this status means the feature drifted (a warning or worse)."""
        return self in SEVERITIES


_STATUS_RANK = {status: rank for rank, status in enumerate(Status)}
#: The statuses a finding can have, and that mean drift.
SEVERITIES = (Status.WARNING, Status.CRITICAL)
Severity = Literal[Status.WARNING, Status.CRITICAL]
