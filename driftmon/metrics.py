"""Drift figures for Prometheus, read from the store on every scrape.

`DriftCollector` is a prometheus_client collector over a store: each collection reads every
dataset's newest run (in batch time) and its open alerts. ``driftmon metrics`` renders it once
(`exposition`, for node_exporter's textfile collector); ``driftmon serve --metrics-port``
serves it at ``/metrics`` (`serve_metrics`). Metrics:

- ``driftmon_verdict{dataset, driftmon_verdict=STATUS}``: 1 for the newest run's verdict, 0
  for the other statuses;
- ``driftmon_feature_kl``, ``driftmon_feature_psi``, ``driftmon_feature_p_value``
  ``{dataset, feature}``: that run's figures (a feature with no figure has no sample);
- ``driftmon_feature_drifted{dataset, feature}``: 1 for a warning or critical feature, and
  for a monitored column missing from the batch (a critical schema finding, though the batch
  has no figures of it), 0 for the others;
- ``driftmon_open_alerts{dataset}``, ``driftmon_batch_rows{dataset}``,
  ``driftmon_batch_time_seconds{dataset}`` and ``driftmon_checked_time_seconds{dataset}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine

from driftmon import store
from driftmon.policy import Status

__all__ = ["DriftCollector", "exposition", "serve_metrics"]

_FEATURE_FIGURES = (
    ("kl", "Smoothed KL divergence D(reference || batch), nats, of the newest batch."),
    ("psi", "Population stability index of the newest batch."),
    ("p_value", "G-test p-value, corrected across features, of the newest batch."),
)


class DriftCollector:
    """The store's drift figures as Prometheus metric families (``datasets``: None for all)."""

    def __init__(self, engine: Engine, datasets: Sequence[str] | None = None) -> None:
        self.engine = engine
        self.datasets = datasets

    def collect(self) -> Iterator[GaugeMetricFamily]:
        verdict = GaugeMetricFamily(
            "driftmon_verdict",
            "Verdict of the newest checked batch (in batch time): 1 for its status.",
            labels=["dataset", "driftmon_verdict"],
        )
        figures = {
            name: GaugeMetricFamily(f"driftmon_feature_{name}", text, labels=["dataset", "feature"])
            for name, text in _FEATURE_FIGURES
        }
        drifted = GaugeMetricFamily(
            "driftmon_feature_drifted",
            "1 if the feature's status in the newest batch is warning or critical, or the "
            "monitored column is missing from that batch.",
            labels=["dataset", "feature"],
        )
        per_dataset = {
            name: GaugeMetricFamily(f"driftmon_{name}", text, labels=["dataset"])
            for name, text in (
                ("open_alerts", "Open or escalated alerts."),
                ("batch_rows", "Rows of the newest checked batch."),
                ("batch_time_seconds", "When the newest batch's data was produced (Unix time)."),
                ("checked_time_seconds", "When the newest batch was checked (Unix time)."),
            )
        }
        with store.read_scope(self.engine) as session:
            datasets = self.datasets or store.list_datasets(session)
            for dataset in datasets:
                alerts = store.list_alerts(session, dataset)
                per_dataset["open_alerts"].add_metric([dataset], len(alerts))
                newest = store.list_runs(session, dataset, limit=1)
                if not newest:
                    continue
                run = store.load_run(session, newest[0].id, readings=False)
                for status in Status:
                    verdict.add_metric([dataset, str(status)], float(run.verdict == status))
                per_dataset["batch_rows"].add_metric([dataset], run.n_rows)
                per_dataset["batch_time_seconds"].add_metric([dataset], _seconds(run.batch_time))
                per_dataset["checked_time_seconds"].add_metric([dataset], _seconds(run.finished_at))
                for feature in run.features:
                    for name, _ in _FEATURE_FIGURES:
                        value = getattr(feature, name)
                        if value is not None:
                            figures[name].add_metric([dataset, feature.feature], value)
                    is_drift = Status(feature.status).is_drift
                    drifted.add_metric([dataset, feature.feature], 1.0 if is_drift else 0.0)
                # a missing column has no feature result, only its critical schema finding
                measured = {feature.feature for feature in run.features}
                for name in run.schema_diff.get("missing", ()):
                    if name not in measured:
                        drifted.add_metric([dataset, name], 1.0)
        yield verdict
        yield from figures.values()
        yield drifted
        yield from per_dataset.values()


def exposition(engine: Engine, datasets: Sequence[str] | None = None) -> str:
    """The metrics in the Prometheus text format, read now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DriftCollector(engine, datasets))  # type: ignore[arg-type]
    return generate_latest(registry).decode()


def serve_metrics(port: int, engine: Engine, host: str = "127.0.0.1") -> Any:
    """Serve the metrics at ``http://HOST:PORT/metrics`` from a background thread, read from
    the store on each scrape; the server (``.shutdown()`` stops it)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DriftCollector(engine))  # type: ignore[arg-type]
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server


def _seconds(moment: Any) -> float:
    return float(moment.timestamp())
