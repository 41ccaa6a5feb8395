"""Scheduled checks: one "check new batches" deployment per dataset with a schedule.

Schedules fire only when a real Prefect server runs (`prefect server start`, then
``PREFECT_API_URL``); Prefect's temporary local server never runs served deployments.
"""

from __future__ import annotations

from typing import Any

from driftmon.flows.check import check_new_batches_flow

from driftmon.config import Settings


def build_deployments(
    settings: Settings, *, db_url: str | None, config_path: str | None
) -> list[Any]:
    """A `RunnerDeployment` per scheduled dataset, named ``check-new-<dataset>``."""
    deployments = []
    for name, dataset in settings.scheduled_datasets().items():
        schedule = dataset.schedule
        deployments.append(
            check_new_batches_flow.to_deployment(
                name=f"check-new-{name}",
                cron=schedule.cron,
                interval=schedule.interval_seconds,
                parameters={
                    "dataset": name,
                    "folder": dataset.folder,
                    "db_url": db_url,
                    "config_path": config_path,
                },
                description=f"Check new batches of {name} in {dataset.folder}",
                tags=["driftmon", name],
            )
        )
    return deployments


def serve(settings: Settings, *, db_url: str | None, config_path: str | None) -> None:
    """Serve every scheduled dataset's deployment until interrupted (blocks)."""
    from prefect import serve as prefect_serve

    prefect_serve(*build_deployments(settings, db_url=db_url, config_path=config_path))
