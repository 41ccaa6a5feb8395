"""An ID-like column: what it adds to `driftmon reference` and `driftmon check`.

A trial found a 1M-row check twice as slow, and twice as large in memory, when the file held a
customer-ID column (hundreds of thousands of distinct strings) beside ordinary ones. This
takes `bench_check.py`'s 1M x 25 Parquet tables and adds a `customer` column: the reference's
IDs drawn from 2M values, the batch's from 2M others (all new), 1M-row row groups, as a
writer with default settings lays them out. It times the real commands (new processes, no
Prefect API) on the file with and without the column, in the same run, and prints the ratio:
what the column costs. The check's report draws the ID feature's chart (it drifted), so
matplotlib's import is part of the difference.

Run: ``.venv/bin/python benchmarks/bench_id_column.py [--work DIR] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_check import DRIFTMON, Measured, best_of, generate

ROWS = 1_000_000
NO_PREFECT = {"PREFECT_API_URL": "", "DRIFTMON_PREFECT": ""}  # what a new user has


def with_ids(source: Path, target: Path, seed: int, first_id: int) -> Path:
    """``source`` plus a `customer` column of IDs drawn from 2M values from ``first_id``."""
    if target.exists():
        return target
    table = pq.read_table(source)
    ids = np.random.default_rng(seed).integers(first_id, first_id + 2_000_000, table.num_rows)
    table = table.append_column("customer", pa.array([f"customer-{i:08d}" for i in ids]))
    pq.write_table(table, target, row_group_size=ROWS)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/driftmon-bench"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    plain = generate(args.work / "data", ROWS)
    files = {
        "without": (plain["reference"], plain["parquet"]),
        "with": (
            with_ids(plain["reference"], args.work / "data" / "reference-ids.parquet", 1, 0),
            with_ids(plain["parquet"], args.work / "data" / "batch-ids.parquet", 2, 2_000_000),
        ),
    }
    timed: dict[str, dict[str, Measured]] = {}
    for label, (reference, batch) in files.items():
        db_path = args.work / f"bench-ids-{label}.db"
        db_path.unlink(missing_ok=True)
        db = f"sqlite:///{db_path}"
        built = best_of(
            1, [DRIFTMON, "--db", db, "reference", "ids", "--source", str(reference)], NO_PREFECT
        )
        checked = best_of(
            args.repeats, [DRIFTMON, "--db", db, "check", "ids", "--source", str(batch)], NO_PREFECT
        )
        timed[label] = {"reference": built, "check": checked}
        for step, measured in timed[label].items():
            print(
                f"  {step:<9} {label:<7} the ID column  {measured.seconds:6.2f} s  "
                f"{measured.peak_rss_mb:5.0f} MB  exit {measured.code}"
            )
    for step in ("reference", "check"):
        with_column, without = timed["with"][step], timed["without"][step]
        print(
            f"{step}: the ID column costs {with_column.seconds - without.seconds:+.2f} s "
            f"(x{with_column.seconds / without.seconds:.2f}) and "
            f"{with_column.peak_rss_mb - without.peak_rss_mb:+.0f} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
