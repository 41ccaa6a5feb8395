"""Reads a command makes before its work, in SQL text rather than through the ORM, whose
import (with driftmon's tables, 0.15-0.2 s) a mistake such as a dataset's name mistyped
would otherwise wait for: the answer comes at once, and the work that follows loads it."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from sqlalchemy import Engine, text

from driftmon.errors import ReferenceNotFoundError

__all__ = ["no_reference_error", "require_active_reference"]


def require_active_reference(engine: Engine, dataset: str) -> None:
    """Raise the `ReferenceNotFoundError` of `repository.require_reference` when ``dataset``
    has no active reference, naming the known datasets; nothing when it has one."""
    with engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT 1 FROM reference_profiles AS r JOIN datasets AS d ON d.id = r.dataset_id"
                " WHERE d.name = :name AND r.is_active"
            ),
            {"name": dataset},
        ).first()
        if found is None:
            known = connection.execute(text("SELECT name FROM datasets ORDER BY name")).scalars()
            raise no_reference_error(dataset, list(known))


def no_reference_error(dataset: str, known: Sequence[str]) -> ReferenceNotFoundError:
    """What a dataset without an active reference is told, with the datasets there are."""
    hint = f" (known datasets: {', '.join(known)})" if known else ""
    if not dataset.strip():
        return ReferenceNotFoundError(f"the dataset name is empty; give the dataset's name{hint}")
    return ReferenceNotFoundError(
        f"dataset `{dataset}` has no reference yet; build one with "
        f"`driftmon reference {shlex.quote(dataset)} --source PATH` (in Python: "
        f"`Monitor.reference({dataset!r}, data)`){hint}"
    )
