"""Task options shared by the flows."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import BaseAnnotation, opaque

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


def step_task(function: Callable[..., Any], name: str, **options: Any) -> Callable[..., Any]:
    """``function`` as a Prefect task, called with every argument wrapped in `opaque`.

    Prefect walks a task's arguments looking for the futures and results of other tasks, to
    draw the run's graph. A profile or comparison holds thousands of category names and bins:
    that walk cost 50-60 ms an argument, 0.2-0.3 s a check. `opaque` keeps the link to the
    task that returned the argument and skips the walk inside it (a step's arguments are
    plain values, never nested futures); an argument already annotated keeps its annotation.
    """
    step = task(name=name, **options)(function)

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        return step(*map(_opaque, args), **{key: _opaque(v) for key, v in kwargs.items()})

    return call


def _opaque(value: Any) -> Any:
    return value if isinstance(value, BaseAnnotation) else opaque(value)
