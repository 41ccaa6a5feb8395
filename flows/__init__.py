"""Prefect flows that orchestrate driftmon: build a reference, check a batch, check new batches.

The flows hold no logic of their own: every task calls one driftmon function. Tasks are
coarse (a whole source, not a feature or a row), never cache or persist frames, and only the
I/O tasks retry, and not on user mistakes (a `DriftmonError`).
"""

from __future__ import annotations

from driftmon.flows.check import check_batch_flow, check_new_batches_flow
from driftmon.flows.reference import build_reference_flow

__all__ = ["build_reference_flow", "check_batch_flow", "check_new_batches_flow"]
