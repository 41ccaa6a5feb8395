"""`driftmon metrics`: the stored drift figures in the Prometheus text format, parsed back with
prometheus_client's own parser and compared with what `check --json` and `alerts --json` say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from commands import run_driftmon
from prometheus_client.parser import text_string_to_metric_families

from driftmon.examples import ExampleData, generate_example_data

DATASET = 'orders "eu" \\ 注文'  # quotes, a backslash and CJK must survive label escaping


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> ExampleData:
    return generate_example_data(tmp_path_factory.mktemp("data"))


def _driftmon(cwd: Path, *args: str) -> str:
    return run_driftmon(cwd, *args, db="m.db")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_are_the_newest_batch_and_the_open_alerts(
    example: ExampleData, tmp_path: Path
) -> None:
    _driftmon(tmp_path, "reference", DATASET, "--source", str(example.reference))
    newest = example.batches[2]  # drifted on purpose
    checked = {}
    for batch in (newest, example.batches[0]):  # the older batch is checked last
        checked[batch.name] = json.loads(
            _driftmon(tmp_path, "check", DATASET, "--source", str(batch), "--json")
        )
    alerts = json.loads(_driftmon(tmp_path, "alerts", DATASET, "--json"))

    samples = _samples(_driftmon(tmp_path, "metrics"))

    newest_check = checked[newest.name]  # the newest in batch time, though checked first
    verdict = {
        state: samples[("driftmon_verdict", (("dataset", DATASET), ("driftmon_verdict", state)))]
        for state in ("unmonitored", "empty", "ok", "warning", "critical")
    }
    assert verdict == {s: float(s == newest_check["verdict"]) for s in verdict}
    for feature in newest_check["features"]:
        labels = (("dataset", DATASET), ("feature", feature["name"]))
        assert samples[("driftmon_feature_kl", labels)] == feature["kl"]
        assert samples[("driftmon_feature_psi", labels)] == feature["psi"]
        assert samples[("driftmon_feature_drifted", labels)] == (
            1.0 if feature["name"] in newest_check["drifted"] else 0.0
        )
    assert samples[("driftmon_open_alerts", (("dataset", DATASET),))] == len(alerts) > 0
    assert samples[("driftmon_batch_rows", (("dataset", DATASET),))] == newest_check["n_rows"]


def test_metrics_to_a_file_for_the_textfile_collector(example: ExampleData, tmp_path: Path) -> None:
    _driftmon(tmp_path, "reference", "orders", "--source", str(example.reference))
    target = tmp_path / "driftmon.prom"

    printed = _driftmon(tmp_path, "metrics", "orders", "--output", str(target))

    assert printed == ""
    families = {f.name for f in text_string_to_metric_families(target.read_text())}
    assert {"driftmon_open_alerts", "driftmon_verdict"} <= families
    assert not list(tmp_path.glob(".*.partial"))


def test_the_metrics_server_reads_the_store_on_every_scrape(
    example: ExampleData, tmp_path: Path
) -> None:
    import socket
    import urllib.request

    from driftmon import store
    from driftmon.metrics import serve_metrics

    _driftmon(tmp_path, "reference", "orders", "--source", str(example.reference))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = serve_metrics(port, store.open_store(f"sqlite:///{tmp_path / 'm.db'}"))
    try:

        def scrape() -> dict:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as page:
                return _samples(page.read().decode())

        before = scrape()
        _driftmon(tmp_path, "check", "orders", "--source", str(example.batches[2]))
        after = scrape()
    finally:
        server.shutdown()

    alerts = ("driftmon_open_alerts", (("dataset", "orders"),))
    assert before[alerts] == 0.0 and after[alerts] > 0
    assert not [key for key in before if key[0] == "driftmon_feature_kl"]
    assert after == _samples(_driftmon(tmp_path, "metrics"))


def test_alerts_flags_hold_before_or_after_the_dataset(
    example: ExampleData, tmp_path: Path
) -> None:
    _driftmon(tmp_path, "reference", "orders", "--source", str(example.reference))
    _driftmon(tmp_path, "check", "orders", "--source", str(example.batches[2]))

    before = json.loads(_driftmon(tmp_path, "alerts", "--json", "orders"))
    after = json.loads(_driftmon(tmp_path, "alerts", "orders", "--json"))

    def ids(listed: list[dict]) -> list[tuple]:
        return [(a["id"], a["feature"], a["signal"], a["state"]) for a in listed]

    assert ids(before) == ids(after) and len(before) > 0


def test_a_monitored_column_missing_from_the_batch_is_drifted_in_the_metrics(
    tmp_path: Path,
) -> None:
    """A dashboard keyed on ``driftmon_feature_drifted`` shows the missing column as drifted
    (its schema finding is critical) and has no figures of it; when the column is back, its
    series follows its status again."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"amt": rng.integers(1, 100, 2_000), "cat": rng.choice(["a", "b"], 2_000)})
    frame.to_csv(tmp_path / "reference.csv", index=False)
    frame.iloc[:1_000].drop(columns=["cat"]).to_csv(tmp_path / "without.csv", index=False)
    frame.iloc[1_000:].to_csv(tmp_path / "with.csv", index=False)
    _driftmon(tmp_path, "reference", "feed", "--source", "reference.csv")
    _driftmon(tmp_path, "check", "feed", "--source", "without.csv", "--batch-time", "2026-01-01")

    missing = _samples(_driftmon(tmp_path, "metrics"))
    _driftmon(tmp_path, "check", "feed", "--source", "with.csv", "--batch-time", "2026-01-02")
    back = _samples(_driftmon(tmp_path, "metrics"))

    def series(samples: dict, name: str) -> dict[str, float]:
        return {
            dict(labels)["feature"]: value for (n, labels), value in samples.items() if n == name
        }

    assert series(missing, "driftmon_feature_drifted") == {"amt": 0.0, "cat": 1.0}
    assert set(series(missing, "driftmon_feature_kl")) == {"amt"}
    assert (
        missing[("driftmon_verdict", (("dataset", "feed"), ("driftmon_verdict", "critical")))] == 1
    )
    assert series(back, "driftmon_feature_drifted") == {"amt": 0.0, "cat": 0.0}
    assert set(series(back, "driftmon_feature_kl")) == {"amt", "cat"}
