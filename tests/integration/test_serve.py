"""`driftmon serve` against a real Prefect server on 127.0.0.1: scheduled runs check each
dropped batch exactly once, say so in their flow-run logs and in serve's output, survive a
restart of the server, and serve stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from commands import DRIFTMON, run_driftmon
from prefect_server import PrefectServer

from driftmon import store
from driftmon.examples import generate_example_data

DATASET = "orders"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PrefectServer]:
    running = PrefectServer(tmp_path / "prefect-home")
    running.start()
    try:
        yield running
    finally:
        running.stop()


class Output:
    """A process's merged output, collected by a thread as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)


def _checked_keys(db: Path) -> list[str]:
    with store.read_scope(store.open_store(f"sqlite:///{db}")) as session:
        return [run.batch_key for run in store.list_runs(session, DATASET, limit=100)]


def _wait_for(condition, timeout: float, what: str, output: Output) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; serve said:\n{output.text()}")


def test_scheduled_runs_check_each_batch_once_and_survive_a_server_restart(
    tmp_path: Path, server: PrefectServer
) -> None:
    example = generate_example_data(tmp_path / "example")
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    db = tmp_path / "driftmon.db"
    run_driftmon(tmp_path, "reference", DATASET, "-s", str(example.reference), db="driftmon.db")
    (tmp_path / "driftmon.toml").write_text(
        f'[datasets.{DATASET}]\nfolder = "{incoming}"\nschedule.interval_seconds = 5\n'
    )  # not shorter: under load each run's start-up outlasts it and runs pile up
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRIFTMON_", "PREFECT_"))}
    env.update(
        PREFECT_API_URL=server.api_url,
        PREFECT_HOME=str(tmp_path / "serve-home"),
        PREFECT_RUNNER_POLL_FREQUENCY="1",
        DRIFTMON_DB_URL=f"sqlite:///{db}",
    )
    serve = subprocess.Popen(
        [DRIFTMON, "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = Output(serve)
    try:
        batches = example.batches[:3]
        for count, batch in enumerate(batches[:2], 1):
            shutil.copy(batch, incoming / batch.name)
            _wait_for(lambda n=count: len(_checked_keys(db)) >= n, 90, f"batch {count}", output)
        # the verdict of each batch is in its flow run's logs, read back through the API
        # (sent when the run ends, after its database commit: wait for them)
        for batch in batches[:2]:
            verdict = "critical" if example.expected_drift[batch.name] else "ok"
            line = f"{DATASET}: batch {batch.name} "

            def logged(line: str = line, verdict: str = verdict) -> bool:
                logs = server.post("/logs/filter", {"limit": 200})
                return any(
                    line in entry["message"] and f"rows: {verdict}" in entry["message"]
                    for entry in logs
                    if entry.get("flow_run_id")
                )

            _wait_for(logged, 30, f"the log line of {batch.name}", output)

            # ... and the same line in serve's own output, once (it comes through the flow
            # run's process and serve's, a channel of its own: under load it can trail the API)
            def printed(line: str = line) -> int:
                return sum(line in out and "rows: " in out for out in output.lines)

            _wait_for(printed, 30, f"serve's line of {batch.name}", output)
            assert printed() == 1, output.text()

        server.stop()
        time.sleep(3)
        server.start()
        shutil.copy(batches[2], incoming / batches[2].name)
        _wait_for(lambda: len(_checked_keys(db)) >= 3, 120, "the batch after a restart", output)
        # its run finished (serve printed its line): under load a run still drawing its report
        # and draining its logs to a restarted server can hold serve's exit past the timeout
        after = f"{DATASET}: batch {batches[2].name} "
        _wait_for(lambda: any(after in out for out in output.lines), 60, "its line", output)

        serve.send_signal(signal.SIGTERM)
        try:  # it cancels the runs in flight through the API first: slow under load
            code = serve.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve did not stop within 120 s of SIGTERM:\n{output.text()}")
        assert code == 0, output.text()
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
    keys = _checked_keys(db)
    assert len(keys) == len(set(keys)) == 3  # each batch exactly once
    # while the server was down Prefect's runner printed its connection errors; nothing of
    # driftmon's failed, and serve printed one line per batch, nothing per idle run
    frames = [line for line in output.lines if line.lstrip().startswith("File ")]
    assert not [frame for frame in frames if "/driftmon/" in frame], frames
    assert not [line for line in output.lines if "no new batches" in line or "another run" in line]
    assert "stopped" in output.lines[-1]
