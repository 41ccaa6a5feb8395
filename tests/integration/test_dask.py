"""Partitions and counting on a real Dask cluster (2 worker processes on 127.0.0.1).

Every source kind is cut into partitions whose counts add up exactly to the whole; counted
on the cluster, a batch and a reference come out identical to the last bit to counting in
this process, also when a worker dies mid-run or the data are larger than a worker's memory.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from commands import DRIFTMON, database_url, run_driftmon

from driftmon import compute, pipeline, sources, store
from driftmon.options import DatasetOptions
from driftmon.profile import add_partitions, profile_chunks


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": rng.normal(10 + shift, 2, n),
            "items": rng.integers(1, 9, n).astype(float),
            "country": rng.choice(["DE", "FR", "GB", "IT", "ES"], n),
            "user": [f"u{i}" for i in rng.integers(0, 5_000, n)],
        }
    )


@pytest.fixture
def reference_specs(rng: np.random.Generator) -> dict:
    fitted, _, _ = pipeline.build_reference_profile(
        sources.FrameSource(_frame(rng, 20_000)), DatasetOptions()
    )
    return fitted.specs


def _sources(tmp_path: Path, rng: np.random.Generator) -> dict[str, object]:
    frame = _frame(rng, 23_456, shift=0.5)
    frame.to_parquet(tmp_path / "groups.parquet", row_group_size=2_000, index=False)
    for i, start in enumerate(range(0, len(frame), 8_000)):
        frame.iloc[start : start + 8_000].to_parquet(
            tmp_path / f"part-{i}.parquet", row_group_size=3_000, index=False
        )
    frame.to_csv(tmp_path / "batch.csv", index=False)
    frame.to_csv(tmp_path / "batch.csv.gz", index=False)
    with sqlite3.connect(tmp_path / "feed.db") as connection:
        keyed = frame.assign(id=np.arange(len(frame), dtype=float))
        keyed.loc[keyed.index % 7 == 0, "id"] = np.nan  # rows without a key: a partition too
        keyed.to_sql("orders", connection, index=False)
    return {
        "parquet row groups": sources.parse_source(tmp_path / "groups.parquet")[0],
        "parquet files": sources.parse_source(tmp_path / "part-*.parquet"),
        "csv": sources.parse_source(tmp_path / "batch.csv")[0],
        "csv.gz": sources.parse_source(tmp_path / "batch.csv.gz")[0],
        "sql": sources.SqlSource(f"sqlite:///{tmp_path / 'feed.db'}", "SELECT * FROM orders"),
        "sql key ranges": sources.parse_source(
            f"sqlite:///{tmp_path / 'feed.db'}?query=SELECT * FROM orders WHERE items >= :low"
            "&param.low=0&partition_by=id"
        )[0],
        "frame": sources.FrameSource(frame),
    }


def _count_whole(source: object, specs: dict) -> object:
    chunks = sources.iter_source_chunks(
        source if isinstance(source, list) else [source],
        columns=list(specs),
        chunk_rows=5_000,
        numeric=[name for name, spec in specs.items() if spec.kind == "numeric"],
        categorical=[name for name, spec in specs.items() if spec.kind == "categorical"],
        as_chunks=True,
    )
    return profile_chunks(chunks, specs)


@pytest.mark.parametrize(
    "kind",
    ["parquet row groups", "parquet files", "csv", "csv.gz", "sql", "sql key ranges", "frame"],
)
def test_partitions_add_up_to_the_whole_source(
    kind: str, tmp_path: Path, rng: np.random.Generator, reference_specs: dict
) -> None:
    source = _sources(tmp_path, rng)[kind]
    parts = sources.partitions(source, target_rows=5_000)
    counted = add_partitions(
        [pipeline.count_partition(p, specs=reference_specs, chunk_rows=1_500) for p in parts],
        reference_specs,
    ).profile
    whole = _count_whole(source, reference_specs)
    assert counted.n_rows == whole.n_rows == 23_456
    for name, feature in whole.features.items():
        assert counted.features[name].counts.tolist() == feature.counts.tolist(), name
        assert counted.features[name].tally.n_unseen == feature.tally.n_unseen
    # 20,105 keyed rows in ranges of about 5,000, and the 3,351 rows without a key
    expected = {"parquet row groups": 4, "parquet files": 6, "sql key ranges": 6}.get(kind, 1)
    assert len(parts) == expected
    assert [p.index for p in parts] == list(range(expected))


def test_parquet_row_groups_are_grouped_up_to_the_target(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": np.arange(10_000, dtype=float)})
    frame.to_parquet(tmp_path / "f.parquet", row_group_size=1_000, index=False)
    parts = sources.partitions(sources.FileSource(tmp_path / "f.parquet"), target_rows=2_500)
    assert [p.subset for p in parts] == [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9,)]
    assert [p.n_rows for p in parts] == [3_000, 3_000, 3_000, 1_000]
    whole = sources.partitions(sources.FileSource(tmp_path / "f.parquet"), target_rows=50_000)
    assert [(p.subset, p.n_rows) for p in whole] == [(None, 10_000)]


def test_a_batch_counted_on_the_cluster_is_identical_to_the_last_bit(
    dask_scheduler: str, tmp_path: Path, rng: np.random.Generator
) -> None:
    reference, _, _ = pipeline.build_reference_profile(
        sources.FrameSource(_frame(rng, 20_000)), DatasetOptions()
    )
    _frame(rng, 50_000, shift=0.3).to_parquet(tmp_path / "b.parquet", row_group_size=4_000)
    plan = pipeline.plan_batch(str(tmp_path / "b.parquet"))
    options = DatasetOptions(chunk_rows=3_000)
    local = pipeline.profile_batch(plan, reference, options)
    clustered = pipeline.profile_batch(plan, reference, options, dask=dask_scheduler)
    assert json.dumps(clustered.to_dict()) == json.dumps(local.to_dict())
    assert clustered.n_rows == 50_000


def test_a_reference_counted_on_the_cluster_is_identical_to_the_last_bit(
    dask_scheduler: str, tmp_path: Path, rng: np.random.Generator
) -> None:
    """A multi-file dataset, sampled (so the counting pass runs) with vocabularies merged
    across partitions past their cap."""
    for i in range(4):
        _frame(rng, 6_000).to_parquet(tmp_path / f"ref-{i}.parquet", row_group_size=2_500)
    options = DatasetOptions(reference_sample_rows=5_000, vocabulary_cap=1_000, chunk_rows=2_000)
    local, _, _ = pipeline.build_reference_profile(str(tmp_path / "ref-*.parquet"), options)
    clustered, _, _ = pipeline.build_reference_profile(
        str(tmp_path / "ref-*.parquet"), options, dask=dask_scheduler
    )
    assert json.dumps(clustered.to_dict()) == json.dumps(local.to_dict())
    seen = clustered.features["user"].spec.seen
    assert seen is not None and seen.approximate  # 5,000 users, a cap of 1,000
    assert seen.to_bytes() == local.features["user"].spec.seen.to_bytes()
    assert clustered.n_rows == 24_000


def test_the_cli_counts_on_the_cluster_it_is_given(
    dask_scheduler: str, tmp_path: Path, rng: np.random.Generator
) -> None:
    """`reference` and `check` with ``--dask`` store exactly what they store without it."""
    _frame(rng, 30_000).to_parquet(tmp_path / "ref.parquet", row_group_size=5_000)
    _frame(rng, 20_000, 0.4).to_parquet(tmp_path / "batch.parquet", row_group_size=5_000)
    for db, extra in (("local.db", []), ("dask.db", ["--dask", dask_scheduler])):
        run_driftmon(tmp_path, *extra, "reference", "orders", "-s", "ref.parquet", db=db)
        run_driftmon(
            tmp_path, *extra, "check", "orders", "-s", "batch.parquet", "--batch-key", "b", db=db
        )
    stored = {}
    for db in ("local.db", "dask.db"):
        engine = store.open_store(database_url(tmp_path, db))
        with store.read_scope(engine) as session:
            run = store.load_latest_run(session, "orders")
            stored[db] = (
                store.load_reference(session, "orders").profile.to_dict(),
                [(f.name, f.kl, f.p_value, f.current_counts) for f in run.features],
            )
    assert stored["dask.db"] == stored["local.db"]


def test_a_worker_killed_mid_run_still_gives_identical_counts(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    from distributed import Client, LocalCluster

    reference, _, _ = pipeline.build_reference_profile(
        sources.FrameSource(_frame(rng, 20_000)), DatasetOptions()
    )
    _frame(rng, 60_000).to_parquet(tmp_path / "b.parquet", row_group_size=2_000)
    parts = sources.partitions(sources.FileSource(tmp_path / "b.parquet"), target_rows=2_000)
    options = {"specs": reference.specs, "chunk_rows": 1_000, "vocabulary_cap": None}
    local = add_partitions([pipeline.count_partition(p, **options) for p in parts], reference.specs)
    with (
        LocalCluster(**compute.local_cluster_options() | {"n_workers": 2}) as cluster,
        Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        counter = compute.dask_counter(cluster.scheduler_address)
        results = counter(parts, **options)
        first = next(results)
        os.kill(next(iter(pids.values())), signal.SIGKILL)  # a worker dies with work queued
        try:
            clustered = add_partitions([first, *results], reference.specs)
            assert set(client.run(os.getpid).values()) != set(pids.values())  # one replaced
        finally:
            compute.close_clients()
    assert len(parts) == 30
    assert json.dumps(clustered.profile.to_dict()) == json.dumps(local.profile.to_dict())


def test_data_larger_than_a_workers_memory_is_counted_in_bounded_slices(tmp_path: Path) -> None:
    """One row group of 8M rows x 8 columns (512 MB decoded) on a worker limited to 400 MB,
    which Dask would restart above 95% of it: the partition is read in slices of chunk_rows."""
    from distributed import LocalCluster

    rng = np.random.default_rng(7)
    columns = {f"x{i}": np.round(rng.normal(size=8_000_000), 1) for i in range(8)}
    pd.DataFrame(columns).to_parquet(tmp_path / "big.parquet", row_group_size=8_000_000)
    del columns
    reference, _, _ = pipeline.build_reference_profile(
        sources.FrameSource(pd.DataFrame({f"x{i}": rng.normal(size=5_000) for i in range(8)})),
        DatasetOptions(),
    )
    plan = pipeline.plan_batch(str(tmp_path / "big.parquet"))
    loopback = compute.local_cluster_options()
    with LocalCluster(**loopback | {"n_workers": 1, "memory_limit": "400MB"}) as cluster:
        counted = pipeline.profile_batch(
            plan, reference, DatasetOptions(chunk_rows=250_000), dask=cluster.scheduler_address
        )
    assert counted.n_rows == 8_000_000
    assert all(f.counts.sum() == 8_000_000 for f in counted.features.values())


def test_an_unreachable_scheduler_is_one_error_line(tmp_path: Path) -> None:
    pd.DataFrame({"x": [1.0, 2.0, 3.0]}).to_csv(tmp_path / "ref.csv", index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRIFTMON_", "PREFECT_API"))}
    env["DRIFTMON_PREFECT"] = "never"
    for address, expected in (
        ("tcp://127.0.0.1:9", "error: the Dask scheduler at `tcp://127.0.0.1:9` does not answer"),
        ("nowhere", "error: --dask is `nowhere`; give a Dask scheduler address"),
    ):
        started = time.monotonic()
        done = subprocess.run(
            [
                DRIFTMON,
                "--db",
                f"sqlite:///{tmp_path / 'd.db'}",
                "--dask",
                address,
                "reference",
                "orders",
                "-s",
                "ref.csv",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1
        assert done.stderr.startswith(expected), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert time.monotonic() - started < 30


def test_the_address_comes_from_the_flag_the_environment_or_the_config(
    tmp_path: Path, dask_scheduler: str
) -> None:
    assert compute.dask_address(None, "local", {compute.DASK_ENV: "tcp://e:1"}) == "tcp://e:1"
    assert compute.dask_address("local", None, {compute.DASK_ENV: "tcp://e:1"}) == "local"
    assert compute.dask_address(None, "tcp://h:8786", {}) == "tcp://h:8786"
    assert compute.dask_address(None, None, {}) is None
    # the configuration's [compute] dask, as the command reads it
    pd.DataFrame({"x": np.arange(100.0)}).to_csv(tmp_path / "ref.csv", index=False)
    (tmp_path / "driftmon.toml").write_text(f'[compute]\ndask = "{dask_scheduler}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRIFTMON_", "PREFECT_API"))}
    env["DRIFTMON_PREFECT"] = "never"
    done = subprocess.run(
        [
            DRIFTMON,
            "-v",
            "--db",
            f"sqlite:///{tmp_path / 'd.db'}",
            "reference",
            "orders",
            "-s",
            "ref.csv",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"counting on the Dask cluster at {dask_scheduler}" in done.stderr
