"""Where a feature, a batch or a finding stands: the statuses every layer shares.

Apart from `driftmon.policy`, which decides them, so that code that only stores, lists or
prints statuses (the store, ``driftmon history``, ``driftmon alerts``) does not import the
statistics.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Literal

__all__ = ["SEVERITIES", "Severity", "Status", "severity_order"]


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


def severity_order(status: str, kl: float | None, name: str) -> tuple[int, float, str]:
    """The sort key of features wherever they are listed (the check's table and verdict line,
    ``--json``, reports): most severe status first, then larger KL (none last), then name.

    >>> rows = [("ok", 0.9, "a"), ("critical", 0.2, "b"), ("critical", 0.7, "c"), ("ok", None, "d")]
    >>> [name for *_, name in sorted(rows, key=lambda row: severity_order(*row))]
    ['c', 'b', 'a', 'd']
    """
    known = kl is not None and math.isfinite(kl)
    return (-Status(status).rank, -kl if known else math.inf, name)  # type: ignore[operator]


#: The statuses a finding can have, and that mean drift.
SEVERITIES = (Status.WARNING, Status.CRITICAL)
Severity = Literal[Status.WARNING, Status.CRITICAL]
