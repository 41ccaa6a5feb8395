"""Task options shared by the flows."""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NO_CACHE

from driftmon.errors import DriftmonError


def _retry_unless_user_error(task: Any, task_run: Any, state: Any) -> bool:
    """Retry transient failures (network, locked files), never a `DriftmonError`.

    A missing file or a malformed config will not fix itself; retrying only delays the message.
    """
    try:
        state.result()
    except DriftmonError:
        return False
    except Exception:
        return True
    return False


#: Tasks that read or write: retried with backoff on transient errors.
IO_TASK = {
    "cache_policy": NO_CACHE,
    "persist_result": False,
    "retries": 2,
    "retry_delay_seconds": [1, 5],
    "retry_condition_fn": _retry_unless_user_error,
}
#: Pure computation: no retries (a bug does not go away), nothing cached or persisted.
PURE_TASK = {"cache_policy": NO_CACHE, "persist_result": False}
