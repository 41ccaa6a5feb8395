"""What Prefect costs a check, against a real Prefect server on this machine.

Starts ``prefect server start`` on a free local port with a throw-away ``PREFECT_HOME``, then
measures, in fresh processes:

- importing Prefect (what every command run through the flows pays first);
- a flow of 7 no-op tasks plus a table artifact (the shape of a check: one task per pipeline
  step): its first run in a process (what a command pays: it runs one flow) and the median of
  5 more runs in the same process, without flow-run heartbeats (as driftmon's commands run
  them) and with them; medians over 3 processes each, after one that registers the flow;
- the real ``driftmon check`` of the 1M-row Parquet batch of ``bench_check.py`` through the
  server (``PREFECT_API_URL``) and in-process (``DRIFTMON_PREFECT=never``), best of 3 each.

Prints the overhead of the Prefect run against the issue's target (<= 1 s per check) and
exits 0 either way: it is a report.

Run: ``.venv/bin/python benchmarks/bench_prefect.py [--work DIR]`` (about two minutes; the
server needs up to a minute to start on a small machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_check import DRIFTMON, best_of, generate, measure

PREFECT = str(Path(sys.executable).with_name("prefect"))
FLOWS = """
import json, statistics, sys, time
started = time.perf_counter()
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
imported = time.perf_counter() - started
heartbeats = sys.argv[1] == "on"

@task
def step(i: int) -> int:
    return i

@flow
def check_shaped() -> None:
    for i in range(7):
        step(i)
    create_table_artifact(table=[{"feature": "x", "kl": 0.1}], key="bench-prefect")

def timed() -> float:
    started = time.perf_counter()
    if heartbeats:
        check_shaped()
    else:  # as driftmon's commands run their flows
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            check_shaped()
    return time.perf_counter() - started

first = timed()  # what a command pays: its one flow run
repeated = statistics.median(timed() for _ in range(5))
print(json.dumps({"import": imported, "first": first, "repeated": repeated}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(home: Path, port: int, timeout: float = 120.0) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit(f"the Prefect server did not answer within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> int:
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/driftmon-bench"))
    args = parser.parse_args(argv)
    paths = generate(args.work / "data", 1_000_000)
    home = Path(tempfile.mkdtemp(prefix="driftmon-prefect-"))
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    started = time.perf_counter()
    server = start_server(home, port)
    print(f"Prefect server ready in {time.perf_counter() - started:.1f} s at {api}")
    try:
        env = {"PREFECT_HOME": str(home), "PREFECT_API_URL": api, "DRIFTMON_PREFECT": ""}
        runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
        # the first process registers the flow and its tasks with the server: not counted
        for heartbeats in ["off"] + ["off", "on"] * 3:
            flows = subprocess.run(
                [sys.executable, "-c", FLOWS, heartbeats],
                capture_output=True,
                text=True,
                env={**os.environ, **env, "PREFECT_LOGGING_LEVEL": "CRITICAL"},
                check=True,
            )
            runs[heartbeats].append(json.loads(flows.stdout.strip().splitlines()[-1]))
        runs["off"] = runs["off"][1:]
        costs = {
            heartbeats: {key: statistics.median(r[key] for r in measured) for key in measured[0]}
            for heartbeats, measured in runs.items()
        }
        db = f"sqlite:///{args.work / 'bench-prefect.db'}"
        Path(db.removeprefix("sqlite:///")).unlink(missing_ok=True)
        reference = [DRIFTMON, "--db", db, "reference", "bench", "--source"]
        measure([*reference, str(paths["reference"])], {**env, "DRIFTMON_PREFECT": "never"})
        check = [DRIFTMON, "--db", db, "check", "bench", "--source", str(paths["parquet"])]
        through = best_of(3, check, env)
        local = best_of(3, check, {**env, "DRIFTMON_PREFECT": "never"})
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)

    per_run = costs["off"]["first"]
    overhead = through.seconds - local.seconds
    print(f"  import prefect                           {costs['off']['import']:6.2f} s")
    for heartbeats, label in (("off", "heartbeats off, as driftmon"), ("on", "heartbeats on")):
        print(
            f"  7 tasks + artifact flow, {label:<27} first run {costs[heartbeats]['first']:5.2f} s,"
            f" then {costs[heartbeats]['repeated']:5.2f} s a run"
        )
    print(f"  driftmon check, through the server  {through.seconds:6.2f} s (best of 3)")
    print(f"  driftmon check, in-process          {local.seconds:6.2f} s (best of 3)")
    print(f"  Prefect's cost per check command    {overhead:6.2f} s")
    beyond = overhead - costs["off"]["import"]
    # information, not a target: the import is the median of other processes' (which import
    # less of Prefect than a command), the difference a best of 3
    print(f"    beyond `import prefect` (about)    {beyond:6.2f} s: its other modules and")
    print("      driftmon's flows, the client, the flow run, tasks, artifact, logs, exit drains")
    print("\ntargets")
    verdict = "PASS" if per_run <= 1.0 else "FAIL"
    print(f"  {verdict}  a command's flow run of a check's shape {per_run:.2f} s <= 1 s")
    print(
        f"  {'PASS' if overhead <= 1.0 else 'FAIL'}  check command through Prefect - in-process "
        f"{overhead:.2f} s <= 1 s (includes importing Prefect)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
