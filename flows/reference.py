"""Reference flow: read trusted data, fit bins, count it, store it as the active version."""

from __future__ import annotations

from typing import Any

from driftmon.flows._tasks import plain_parameters
from driftmon.flows.check import STEPS
from prefect import flow

from driftmon import jobs


@plain_parameters
@flow(name="driftmon-reference", log_prints=False)
def build_reference_flow(
    dataset: str,
    source: str,
    db_url: str | None = None,
    config_path: str | None = None,
    dask: str | None = None,
) -> dict[str, Any]:
    """Build and store a new reference version for ``dataset`` from ``source``.

    Returns the stored reference's version, row count and feature names, and the features
    with no usable values (not monitored).
    """
    return jobs.build_reference(
        STEPS, dataset=dataset, source=source, db_url=db_url, config_path=config_path, dask=dask
    )
