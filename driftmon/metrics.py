"""Drift figures in the Prometheus text format, for the monitoring teams already run.

`exposition` reads each dataset's newest run (in batch time) and its open alerts from the store
and renders them with prometheus_client, so ``driftmon metrics`` can feed node_exporter's
textfile collector or any scraper:

- ``driftmon_verdict{dataset, driftmon_verdict=STATUS}``: 1 for the newest run's verdict, 0
  for the other statuses (a Prometheus enum);
- ``driftmon_feature_kl``, ``driftmon_feature_psi``, ``driftmon_feature_p_value``
  ``{dataset, feature}``: that run's figures (a feature with no figure has no sample);
- ``driftmon_feature_drifted{dataset, feature}``: 1 for a warning or critical feature;
- ``driftmon_open_alerts{dataset}``, ``driftmon_batch_rows{dataset}``,
  ``driftmon_batch_time_seconds{dataset}`` and ``driftmon_checked_time_seconds{dataset}``.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Enum, Gauge, generate_latest
from sqlalchemy.orm import Session

from driftmon import store
from driftmon.policy import Status

__all__ = ["exposition"]


def exposition(session: Session, datasets: Sequence[str]) -> str:
    """The metrics of ``datasets`` (those with no run yet have only their alert count)."""
    registry = CollectorRegistry(auto_describe=True)
    verdict = Enum(
        "driftmon_verdict",
        "Verdict of the newest checked batch (in batch time).",
        ["dataset"],
        states=[str(status) for status in Status],
        registry=registry,
    )
    figures = {
        name: Gauge(
            f"driftmon_feature_{name}", help_text, ["dataset", "feature"], registry=registry
        )
        for name, help_text in (
            ("kl", "Smoothed KL divergence D(reference || batch), nats, of the newest batch."),
            ("psi", "Population stability index of the newest batch."),
            ("p_value", "G-test p-value, corrected across features, of the newest batch."),
            ("drifted", "1 if the feature's status in the newest batch is warning or critical."),
        )
    }
    per_dataset = {
        name: Gauge(f"driftmon_{name}", help_text, ["dataset"], registry=registry)
        for name, help_text in (
            ("open_alerts", "Open or escalated alerts."),
            ("batch_rows", "Rows of the newest checked batch."),
            ("batch_time_seconds", "When the newest batch's data was produced (Unix time)."),
            ("checked_time_seconds", "When the newest batch was checked (Unix time)."),
        )
    }
    for dataset in datasets:
        per_dataset["open_alerts"].labels(dataset).set(len(store.list_alerts(session, dataset)))
        newest = store.list_runs(session, dataset, limit=1)
        if not newest:
            continue
        run = store.load_run(session, newest[0].id, readings=False)
        verdict.labels(dataset).state(str(run.verdict))
        per_dataset["batch_rows"].labels(dataset).set(run.n_rows)
        per_dataset["batch_time_seconds"].labels(dataset).set(run.batch_time.timestamp())
        per_dataset["checked_time_seconds"].labels(dataset).set(run.finished_at.timestamp())
        for feature in run.features:
            for name in ("kl", "psi", "p_value"):
                value = getattr(feature, name)
                if value is not None:
                    figures[name].labels(dataset, feature.feature).set(value)
            drifted = Status(feature.status).is_drift
            figures["drifted"].labels(dataset, feature.feature).set(1 if drifted else 0)
    return generate_latest(registry).decode()
