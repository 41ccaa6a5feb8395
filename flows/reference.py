"""Reference flow: read trusted data, fit bins, count it, store it as the active version."""

from __future__ import annotations

from prefect import flow, task

from driftmon import pipeline, store
from driftmon.config import load_settings
from flows._tasks import IO_TASK

build_reference_profile = task(name="read and profile reference", **IO_TASK)(
    pipeline.build_reference_profile
)
save_reference = task(name="save reference", **IO_TASK)(pipeline.save_reference)


@flow(name="driftmon-reference", log_prints=False)
def build_reference_flow(
    dataset: str, source: str, db_url: str | None = None, config_path: str | None = None
) -> dict:
    """Build and store a new reference version for ``dataset`` from ``source``.

    Returns the stored reference's version, row count and feature names, and the features
    with no usable values (not monitored).
    """
    options = load_settings(config_path).dataset(dataset)
    engine = store.open_store(db_url)
    profile, description, calibrated = build_reference_profile(source, options)
    info = save_reference(engine, dataset, profile, description, options, calibrated)
    return {
        "dataset": dataset,
        "version": info.version,
        "n_rows": info.n_rows,
        "features": list(profile.features),
        "unmonitored": pipeline.unmonitored_features(profile),
        "source": description,
        "calibrated": calibrated is not None,
    }
