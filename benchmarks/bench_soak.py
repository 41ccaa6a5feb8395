"""Soak: many consecutive checks against one SQLite database, in one process.

Runs ``--checks`` checks (default 1,000) of small batches (5,000 rows x 6 columns, every
tenth drifted so alerts open and resolve) through the same job the command runs, with reports,
and prints the mean time per check of the first and last 100 (their ratio: growth beyond noise
means something accumulates; a dataset page lists the newest 200 runs, so the first 200 checks
are cheaper by design, and checks 301-400 are compared with the last 100 as well), the
process's peak RSS after the first 100 and at the end (a leak grows it), and the database's
and the reports folder's size per run.

Run: ``.venv/bin/python benchmarks/bench_soak.py [--checks 1000] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=1_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/driftmon-bench-soak"))
    args = parser.parse_args(argv)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    from driftmon import jobs

    rng = np.random.default_rng(0)

    def frame(n: int, shift: float) -> pd.DataFrame:
        columns = {f"x{i}": rng.normal(shift, 1, n) for i in range(4)}
        columns["country"] = rng.choice(["DE", "FR", "GB", "IT", "ES"], n)
        columns["channel"] = rng.choice(["web", "app", "store"], n)
        return pd.DataFrame(columns)

    frame(50_000, 0.0).to_parquet(args.work / "reference.parquet")
    for i in range(10):
        frame(5_000, 0.5 if i == 9 else 0.0).to_parquet(args.work / f"batch-{i}.parquet")
    db_url = f"sqlite:///{args.work / 'soak.db'}"
    steps = jobs.local_steps()
    jobs.build_reference(
        steps, dataset="soak", source=str(args.work / "reference.parquet"), db_url=db_url
    )
    seconds: list[float] = []
    rss_after_first = 0.0
    for i in range(args.checks):
        started = time.perf_counter()
        jobs.check_batch(
            steps,
            dataset="soak",
            source=str(args.work / f"batch-{i % 10}.parquet"),
            batch_key=f"b{i}",
            batch_time="2026-01-01T00:00:00+00:00",
            db_url=db_url,
            reports_dir=str(args.work / "reports"),
        )
        seconds.append(time.perf_counter() - started)
        if i == 99:
            rss_after_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if (i + 1) % 100 == 0:
            print(f"  {i + 1:5d} checks, last 100: {np.mean(seconds[-100:]) * 1000:6.0f} ms each")
    rss_end = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    first, last = np.mean(seconds[:100]), np.mean(seconds[-100:])
    db_bytes = _size(args.work / "soak.db") + _size(args.work / "soak.db-wal")
    print(f"{args.checks} checks against one SQLite database:")
    print(
        f"  per check: first 100 {first * 1000:.0f} ms, last 100 {last * 1000:.0f} ms "
        f"({last / first:.2f}x; {'PASS' if last <= 1.25 * first else 'FAIL'}: <= 1.25x)"
    )
    if args.checks >= 500:
        # a dataset page lists the newest 200 runs: from there on nothing a check reads grows
        plateau = np.mean(seconds[300:400])
        verdict = "PASS" if last <= 1.25 * plateau else "FAIL"
        print(
            f"  per check once the dataset page is full, checks 301-400: {plateau * 1000:.0f} "
            f"ms, last 100 {last * 1000:.0f} ms ({last / plateau:.2f}x; {verdict}: <= 1.25x)"
        )
    print(
        f"  peak RSS: {rss_after_first:.0f} MB after 100 checks, {rss_end:.0f} MB at the end "
        f"({'PASS' if rss_end <= 1.25 * rss_after_first else 'FAIL'}: <= 1.25x)"
    )
    print(
        f"  per run: database {db_bytes / args.checks / 1024:.1f} KB, "
        f"reports {_size(args.work / 'reports') / args.checks / 1024:.1f} KB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
