"""Counting on Dask against counting in the command's process, and the client's memory.

Generates feeds of 8 Parquet files (25 columns as in ``bench_check.py``, 1M-row row groups) at
two sizes, builds a reference from 1M rows, then times the real ``driftmon check-new`` over
each feed: in-process (the baseline of this run), and with ``--dask`` on a scheduler and two
single-threaded workers started here as separate processes (as on a cluster, so the command's
peak RSS is the client's alone). Prints wall time, the command's peak RSS, the ratio to the
in-process run, and whether the client's peak RSS stays flat (within 25%) from the small feed to
the large one. Both runs store the same results (checked here on the drift verdicts and KL).

Run: ``.venv/bin/python benchmarks/bench_dask.py [--rows 8000000 40000000] [--work DIR]``
(data generated once and kept; default ``/tmp/driftmon-bench-dask``). On two cores the cluster
shares the cores the in-process run uses alone: expect a ratio near or above 1; the cluster
pays off with machines added, not here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from bench_check import DRIFTMON, _environment, _frame, measure

N_FILES = 8
LOOPBACK = ("--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0")


def generate(folder: Path, rows: int) -> Path:
    """``N_FILES`` Parquet files of ``rows`` rows in all under ``folder/feed-<rows>``."""
    feed = folder / f"feed-{rows}"
    if feed.exists() and len(list(feed.glob("*.parquet"))) == N_FILES:
        return feed
    feed.mkdir(parents=True, exist_ok=True)
    per_file = rows // N_FILES
    for i in range(N_FILES):
        path = feed / f"2026-11-{i + 1:02d}.parquet"
        writer = None
        for start in range(0, per_file, 1_000_000):
            n = min(1_000_000, per_file - start)
            part = _frame(np.random.default_rng(1_000 * i + start), n, 0.02 * i)
            table = pa.Table.from_pandas(part, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=1_000_000)
        writer.close()
    return feed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def cluster(n_workers: int = 2):
    """A scheduler and workers as separate processes on 127.0.0.1: the scheduler's address."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    python = sys.executable
    common = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(
            [
                python,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                "127.0.0.1:0",
            ],
            **common,
        )
    ]
    time.sleep(2)
    processes += [
        subprocess.Popen(
            [
                python,
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--dashboard-address",
                "127.0.0.1:0",
            ],
            env=_environment(None),
            **common,
        )
        for _ in range(n_workers)
    ]
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(n_workers, timeout=60)
    try:
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _verdicts(output: str) -> list[tuple[str, list[float]]]:
    runs = json.loads(output)
    return [(r["batch_key"], [f["kl"] for f in r["features"]]) for r in runs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs=2, default=[8_000_000, 40_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/driftmon-bench-dask"))
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    env = {"PREFECT_API_URL": "", "DRIFTMON_PREFECT": "never", "DRIFTMON_DASK_ADDRESS": ""}
    reference = args.work / "reference.parquet"
    if not reference.exists():
        _frame(np.random.default_rng(0), 1_000_000, 0.0).to_parquet(reference, index=False)
    base_db = args.work / "reference.db"
    if not base_db.exists():
        done = measure(
            [DRIFTMON, "--db", f"sqlite:///{base_db}", "reference", "bench", "-s", str(reference)],
            env,
        )
        assert done.code == 0, done.stderr
    print(f"driftmon check-new over {N_FILES} Parquet files x 25 columns, 2 cores")
    client_rss: list[float] = []
    with cluster() as address:
        for rows in args.rows:
            feed = generate(args.work, rows)
            measured = {}
            for mode, extra in (("in-process", []), ("dask", ["--dask", address])):
                db = args.work / f"run-{mode}-{rows}.db"
                shutil.copy(base_db, db)
                command = [DRIFTMON, "--db", f"sqlite:///{db}", *extra, "check-new", "bench"]
                measured[mode] = measure([*command, "--folder", str(feed), "--json"], env)
                assert measured[mode].code == 0, measured[mode].stderr
                os.unlink(db)
            local, dask = measured["in-process"], measured["dask"]
            same = _verdicts(local.stdout) == _verdicts(dask.stdout)
            values = rows * 25 / 1e6
            print(f"  {rows:>11,} rows:")
            for mode, m in measured.items():
                print(
                    f"    {mode:<11} {m.seconds:7.2f} s  peak RSS {m.peak_rss_mb:6.0f} MB  "
                    f"{values / m.seconds:6.1f} M values/s"
                )
            print(f"    dask / in-process: {dask.seconds / local.seconds:.2f}x; same KL: {same}")
            client_rss.append(dask.peak_rss_mb)
    flat = client_rss[1] <= 1.25 * client_rss[0]
    verdict = "PASS" if flat else "FAIL"
    print(
        f"  client peak RSS {client_rss[0]:.0f} MB -> {client_rss[1]:.0f} MB for "
        f"{args.rows[1] / args.rows[0]:.0f}x the data: {verdict} (flat: <= 1.25x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
