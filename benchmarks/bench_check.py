"""`driftmon check` end to end, side by side with the plain script everyone would write first.

Generates 1M- and 10M-row tables of 25 columns (20 float64 numeric, 5 string categorical of
8 to 200 categories) as Parquet and CSV under a work folder, builds a reference with the real
`driftmon reference` command, then times the real `driftmon check` command (a subprocess, no
Prefect server configured: what a user gets) and, in the same run, the baseline: a script that
reads the file with pandas and counts it with `np.histogram` per numeric column (the
reference's edges) and `value_counts` per categorical column. For each it prints wall time,
peak RSS (of the process and its children) and values per second, and the ratio.

Also: counting alone in-process (`pipeline.profile_batch`: values/s per core), `driftmon
--help`, `driftmon check --help`, two `error:` paths (a missing file; a dataset without a
reference, which needs the store), and the reference build of 10M rows.
Each target is printed with PASS / FAIL. Exits 0 either way: it is a report. Timings of 1M
rows, counting and start-up are the best of 3 runs, the same for driftmon and the baseline.

Run: ``.venv/bin/python benchmarks/bench_check.py [--rows 1000000 10000000] [--work DIR]``
(the data is generated once and kept in the work folder; default ``/tmp/driftmon-bench``).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

N_NUMERIC, N_CATEGORICAL = 20, 5
CATEGORY_COUNTS = (8, 20, 50, 100, 200)
DRIFTMON = str(Path(sys.executable).with_name("driftmon"))
BASELINE = """
import sys, json, numpy as np, pandas as pd
path, edges = sys.argv[1], json.loads(sys.argv[2])
frame = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
counts = {}
for name in frame.columns:
    if name in edges:
        counts[name] = np.histogram(frame[name].to_numpy(), bins=np.asarray(edges[name]))[0]
    else:
        counts[name] = frame[name].value_counts(dropna=False)
print(len(frame))
"""


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float
    code: int
    stdout: str = ""
    stderr: str = ""


# Run each command from a small launcher: Linux carries the parent's RSS high-water mark into
# a forked child's ru_maxrss, so measuring from this (large) process would report its own size.
_LAUNCHER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def measure(command: list[str], env: dict[str, str] | None = None) -> Measured:
    """Wall time and peak RSS (kB -> MB, the largest process among the command's tree that
    was waited for) of one command."""
    with tempfile.TemporaryDirectory() as folder:
        rss = Path(folder) / "rss"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, str(rss), *command],
            capture_output=True,
            env=_environment(env),
            text=True,
        )
        seconds = time.perf_counter() - started
        peak = int(rss.read_text()) / 1024 if rss.exists() else float("nan")
    return Measured(seconds, peak, done.returncode, done.stdout, done.stderr)


def _environment(extra: dict[str, str] | None) -> dict[str, str]:
    """This environment plus ``extra``, and Python caching its bytecode as it does on a
    user's machine (a sandbox may turn it off, which would time compiling, not driftmon)."""
    environ = {**os.environ, **(extra or {})}
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    return environ


def best_of(repeats: int, command: list[str], env: dict[str, str] | None = None) -> Measured:
    """The fastest of ``repeats`` runs (peak RSS: the largest): this machine's timings vary by
    a third from run to run, and the fastest is the one least disturbed by the rest of it."""
    runs = [measure(command, env) for _ in range(repeats)]
    best = min(runs, key=lambda m: m.seconds)
    return Measured(
        best.seconds, max(m.peak_rss_mb for m in runs), best.code, best.stdout, best.stderr
    )


def compile_sources() -> None:
    """Compile driftmon's modules to bytecode, as installing a package does, for timings of a
    process's first import that `_environment`'s bytecode caching cannot give: where
    PYTHONDONTWRITEBYTECODE is set, each process would compile ~50 modules, 0.1-0.15 s that no
    installed driftmon pays."""
    root = Path(__file__).resolve().parent.parent
    for folder in ("driftmon", "flows"):
        compileall.compile_dir(root / folder, quiet=1)


def generate(folder: Path, rows: int) -> dict[str, Path]:
    """The table as Parquet (1M-row row groups) and CSV; generated once, then reused."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "reference": folder / f"reference-{rows}.parquet",
        "parquet": folder / f"2026-11-25-{rows}.parquet",
        "csv": folder / f"2026-11-25-{rows}.csv",
    }
    if all(p.exists() for p in paths.values()):
        return paths
    for name, seed, shift in (("reference", 1, 0.0), ("parquet", 2, 0.05)):
        writer = None
        for start in range(0, rows, 1_000_000):
            part = _frame(np.random.default_rng(seed + start), min(1_000_000, rows - start), shift)
            table = pa.Table.from_pandas(part, preserve_index=False)
            writer = writer or pq.ParquetWriter(paths[name], table.schema)
            writer.write_table(table, row_group_size=1_000_000)
        writer.close()
    with paths["csv"].open("w") as out:
        for i, batch in enumerate(pq.ParquetFile(paths["parquet"]).iter_batches(500_000)):
            batch.to_pandas().to_csv(out, index=False, header=i == 0)
    return paths


def _frame(rng: np.random.Generator, n: int, shift: float) -> pd.DataFrame:
    columns: dict[str, object] = {}
    for i in range(N_NUMERIC):
        kind = i % 4
        if kind == 0:
            values = rng.normal(shift, 1.0 + i / 10, n)
        elif kind == 1:
            values = rng.lognormal(1.0, 0.5, n)
        elif kind == 2:
            values = rng.gamma(2.0, 2.0, n)
        else:
            values = rng.integers(0, 1000, n).astype(np.float64)
        values[rng.random(n) < 0.01] = np.nan
        columns[f"num_{i:02d}"] = values
    for i, k in enumerate(CATEGORY_COUNTS):
        names = np.array([f"c{i}_{j:03d}" for j in range(k)], dtype=object)
        weights = 1.0 / np.arange(1, k + 1)
        columns[f"cat_{i}"] = names[rng.choice(k, n, p=weights / weights.sum())]
    return pd.DataFrame(columns)


def reference_edges(db: str) -> dict[str, list[float]]:
    from driftmon import store

    engine = store.open_store(db)
    with store.session_scope(engine) as session:
        profile = store.load_reference(session, "bench").profile
    engine.dispose()
    return {
        name: list(feature.spec.edges)
        for name, feature in profile.features.items()
        if feature.spec.kind == "numeric"
    }


def counting_rate(db: str, path: Path) -> tuple[float, int]:
    """Seconds and values counted by the library's read + count step, in this process."""
    from driftmon import pipeline, store
    from driftmon.options import DatasetOptions

    engine = store.open_store(db)
    reference = pipeline.load_reference(engine, "bench")
    plan = pipeline.plan_batch(str(path))
    pipeline.profile_batch(plan, reference.profile, DatasetOptions())  # warm
    seconds = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        profile = pipeline.profile_batch(plan, reference.profile, DatasetOptions())
        seconds = min(seconds, time.perf_counter() - started)
    engine.dispose()
    return seconds, profile.n_rows * len(profile.features)


def reading_seconds(path: Path) -> float:
    """Seconds for Arrow only to read and decode the file, in slices as driftmon reads it
    (strings as dictionaries), best of 3: the floor under any counting of it."""
    parquet = pq.ParquetFile(path)
    strings = [f.name for f in parquet.schema_arrow if pa.types.is_string(f.type)]
    seconds = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        reader = pq.ParquetFile(path, read_dictionary=strings, buffer_size=1 << 20)
        for _batch in reader.iter_batches(240_000):
            pass
        seconds = min(seconds, time.perf_counter() - started)
    return seconds


def _line(label: str, measured: Measured, values: int, extra: str = "") -> str:
    rate = values / measured.seconds / 1e6
    return (
        f"  {label:<18} {measured.seconds:7.2f} s  {measured.peak_rss_mb:7.0f} MB  "
        f"{rate:7.1f} M values/s  exit {measured.code}{extra}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/driftmon-bench"))
    args = parser.parse_args(argv)
    env = {"PREFECT_API_URL": "", "DRIFTMON_PREFECT": ""}  # what a new user has: no server
    targets: list[tuple[str, bool]] = []

    def target(text: str, ok: bool) -> None:
        targets.append((text, ok))

    for rows in args.rows:
        paths = generate(args.work / "data", rows)
        db = f"sqlite:///{args.work / f'bench-{rows}.db'}"
        Path(db.removeprefix("sqlite:///")).unlink(missing_ok=True)
        values = rows * (N_NUMERIC + N_CATEGORICAL)
        print(f"\n{rows:,} rows x {N_NUMERIC + N_CATEGORICAL} columns")
        reference = str(paths["reference"])
        built = measure([DRIFTMON, "--db", db, "reference", "bench", "--source", reference], env)
        print(_line("reference build", built, values))
        if rows >= 10_000_000:
            target(
                f"reference build {rows:,}: {built.peak_rss_mb:.0f} MB < 1500 MB",
                built.peak_rss_mb < 1500,
            )
        edges = json.dumps(reference_edges(db))
        for kind in ("parquet", "csv"):
            path = str(paths[kind])
            repeats = 3 if rows <= 1_000_000 else 1
            command = [DRIFTMON, "--db", db, "check", "bench", "--source", path]
            check = best_of(repeats, command, env)
            base = best_of(repeats, [sys.executable, "-c", BASELINE, path, edges])
            ratio = check.seconds / base.seconds
            print(_line(f"{kind} check", check, values))
            print(_line(f"{kind} baseline", base, values, f"  ratio {ratio:.2f}"))
            if check.code and check.stderr.strip():
                print("    " + check.stderr.strip().splitlines()[-1])
            if rows == 1_000_000 and kind == "parquet":
                target(f"1M parquet check {check.seconds:.2f} s <= 2.0 s", check.seconds <= 2.0)
                target(f"1M parquet check / baseline {ratio:.2f} <= 1.0", ratio <= 1.0)
            if rows == 1_000_000 and kind == "csv":
                target(f"1M csv check / baseline {ratio:.2f} <= 1.5", ratio <= 1.5)
            if rows >= 10_000_000:
                rss = check.peak_rss_mb
                target(f"{rows:,} {kind} check peak RSS {rss:.0f} MB < 1000 MB", rss < 1000)
        seconds, counted = counting_rate(db, paths["parquet"])
        rate = counted / seconds / 1e6
        print(
            f"  counting (library) {seconds:7.2f} s  {rate:7.1f} M values/s, {os.cpu_count()} cores"
        )
        reading = reading_seconds(paths["parquet"])
        print(
            f"  reading alone      {reading:7.2f} s  {counted / reading / 1e6:7.1f} M values/s "
            f"(Arrow decoding the file, nothing counted: the floor; counting adds "
            f"{seconds - reading:.2f} s)"
        )
        if rows == 1_000_000:
            target(f"counting {rate:.0f} M values/s >= 200 M/s on 2 cores", rate >= 200)
        if rows >= 10_000_000:
            target(f"{rows:,} counting {seconds:.2f} s <= 3 s", seconds <= 3.0)

    print("\nstart-up (best of 3)")
    for label, command in (
        ("driftmon --help", [DRIFTMON, "--help"]),
        ("driftmon check --help", [DRIFTMON, "check", "--help"]),
        ("error: path", [DRIFTMON, "check", "nope", "--source", "/nonexistent.csv"]),
        # found only in the database: the store's import is in it
        ("error: no reference", [DRIFTMON, "--db", db, "check", "nope", "--source", path]),
    ):
        best = min(measure(command, env).seconds for _ in range(3))
        print(f"  {label:<22} {best:6.2f} s")
        target(f"{label} {best:.2f} s <= 0.5 s", best <= 0.5)

    print("\ntargets")
    for text, ok in targets:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    print(f"\n{sum(ok for _, ok in targets)} of {len(targets)} targets met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
