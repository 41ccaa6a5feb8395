"""Task options shared by the flows."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from prefect import Flow, task
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


#: Values Prefect's encoder returns as they are: a flow run's parameters made only of these
#: are recorded without it.
_JSON_SCALARS = (str, int, float, bool, type(None))

FlowT = TypeVar("FlowT", bound=Flow[Any, Any])


def plain_parameters(flow: FlowT) -> FlowT:
    """``flow``, recording a run's parameters without FastAPI when they are JSON scalars.

    Prefect records a flow run's parameters through FastAPI's ``jsonable_encoder``, whose
    import (all of FastAPI) costs 0.2-0.3 s of every command run through Prefect; it returns
    strings, numbers, booleans and None unchanged, and driftmon's flows take only those.
    Anything else still goes through Prefect's own encoding. `Flow.with_options` makes a new
    flow: apply this to it again.
    """
    encode = flow.serialize_parameters

    def serialize_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
        if all(type(value) in _JSON_SCALARS for value in parameters.values()):
            return dict(parameters)
        return encode(parameters)

    flow.serialize_parameters = serialize_parameters  # type: ignore[method-assign]
    return flow
