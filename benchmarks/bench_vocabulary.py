"""A reference that saw a million categories: load it from the store and check a batch.

The reference remembers every category it saw (`driftmon.vocabulary.Vocabulary`, one compact
blob per feature), so a check can tell the long tail from values never seen. This measures what
that costs on a column with 1,000,000 distinct values:

- building the reference (fitting, counting, the vocabulary) and storing it in SQLite;
- loading it back and checking a 100,000-row batch (half values seen, half never seen): the
  issue's target is under 1 s of library time for load + check;
- as a baseline in the same run, the naive design: the categories as one JSON list parsed per
  check, then a Python set for membership.

Run: ``.venv/bin/python benchmarks/bench_vocabulary.py [--distinct N] [--batch-rows N]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import driftmon
from driftmon import store
from driftmon.policy import evaluate

TARGET_SECONDS = 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distinct", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)

    ids = np.array([f"id-{i:08d}" for i in range(args.distinct)], dtype=object)
    reference = pd.DataFrame({"product": ids[rng.permutation(args.distinct)]})
    seen_half = ids[rng.integers(0, args.distinct, args.batch_rows // 2)]
    new_half = np.array(
        [f"new-{i:08d}" for i in range(args.batch_rows - seen_half.size)], dtype=object
    )
    batch = pd.DataFrame({"product": np.concatenate([seen_half, new_half])})

    with tempfile.TemporaryDirectory() as folder:
        engine = store.open_store(f"sqlite:///{Path(folder) / 'bench.db'}")
        started = time.perf_counter()
        specs = driftmon.fit_specs(reference)
        profile = driftmon.profile_frame(reference, specs)
        with store.session_scope(engine) as session:
            store.save_reference(session, "products", profile, source="bench", settings={})
        build = time.perf_counter() - started
        blob = profile.features["product"].spec.seen.to_bytes()

        # warm up once (first-use imports and allocations), as a long-running process would be
        with store.session_scope(engine) as session:
            warm = store.load_reference(session, "products").profile
        driftmon.profile_frame(batch.iloc[:100], warm.specs)

        started = time.perf_counter()
        with store.session_scope(engine) as session:
            loaded = store.load_reference(session, "products").profile
        load = time.perf_counter() - started
        started = time.perf_counter()
        current = driftmon.profile_frame(batch, loaded.specs)
        comparison = driftmon.compare(loaded, current)
        verdict = evaluate(comparison)
        check = time.perf_counter() - started
        engine.dispose()

    result = comparison.features[0]
    expected_new = new_half.size / args.batch_rows

    # Baseline: the categories as one JSON list, parsed per check, and a Python set.
    as_json = json.dumps(ids.tolist())
    started = time.perf_counter()
    known = set(json.loads(as_json))
    keys = pd.unique(batch["product"])
    never = sum(1 for key in keys if key not in known)
    baseline = time.perf_counter() - started
    assert never == new_half.size

    total = load + check
    print(f"reference: {args.distinct:,} distinct values; batch: {args.batch_rows:,} rows")
    print(f"  build + store reference      {build:8.2f} s   blob {len(blob) / 1e6:.1f} MB")
    print(f"  load reference from SQLite   {load:8.3f} s")
    print(f"  count + compare + evaluate   {check:8.3f} s")
    print(f"  load + check (library)       {total:8.3f} s")
    print(f"  baseline: JSON list + set    {baseline:8.3f} s (membership only, no counting)")
    print(f"  ratio driftmon / baseline    {total / baseline:8.2f}")
    print(
        f"  never seen: {result.unseen_share_current:.1%} (true {expected_new:.1%}); "
        f"findings: {[f.signal for f in verdict.findings]}"
    )
    ok = total < TARGET_SECONDS and abs(result.unseen_share_current - expected_new) < 1e-12
    print(f"target load + check < {TARGET_SECONDS:g} s: {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
