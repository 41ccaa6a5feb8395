"""Misbehaving receivers (real ones on 127.0.0.1): refused connections, HTTP 500, a receiver
that hangs, one that recovers after some runs. Every notification is delivered exactly once
after recovery, each attempt carries the same idempotency key, a target that keeps failing
is backed off in the store, and no delivery round outlasts its budget whatever the backlog."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from receivers import free_port, http_receiver

import driftmon
from driftmon import pipeline, store
from driftmon.notify import parse_targets
from driftmon.store.outbox import BACKOFF_FIRST


def _outbox(db_url: str, targets: list, n_each: int, dataset: str = "shop") -> object:
    """A store whose ``dataset`` has ``n_each`` pending messages per target."""
    engine = store.open_store(db_url)
    profile = driftmon.profile(pd.DataFrame({"x": np.arange(100.0)}))
    with store.session_scope(engine) as session:
        store.save_reference(session, dataset, profile, source="test", settings={})
        for i in range(n_each):
            for target in targets:
                store.enqueue_notification(
                    session,
                    dataset=dataset,
                    run_id=None,  # type: ignore[arg-type]
                    target_key=target.key,
                    target_label=target.label,
                    dedupe_key=f"{dataset}|{target.key}|{i}",
                    payload={"title": f"alert {i}", "body": "body", "level": "warning", "data": {}},
                )
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'd.db'}"


def _deliver(engine: object, targets: list, **options: object) -> pipeline.DeliveryReport:
    return pipeline.deliver_notifications(
        engine, targets, dataset="shop", attempts=1, budget_seconds=5.0, **options
    )


def test_a_receiver_that_recovers_gets_every_message_once_with_one_key_per_message(
    db_url: str,
) -> None:
    """HTTP 500 twice, then the target is backed off (checks skip it, `notify --retry` does
    not), then it answers: each message arrives once, and the repeated attempts of a message
    carry the same key, in a header and in the body."""
    with http_receiver() as receiver:
        receiver.default_status = 500
        targets = parse_targets([f"json://127.0.0.1:{receiver.port}/hook"])
        engine = _outbox(db_url, targets, n_each=3)

        first = _deliver(engine, targets)  # one failure: retried by the next run
        second = _deliver(engine, targets)  # a second in a row: backed off
        assert (first.sent, first.pending, second.sent, second.pending) == (0, 3, 0, 3)
        assert len(receiver.requests) == 2  # one attempt per round, not one per message
        with store.read_scope(engine) as session:
            [(key, until)] = store.backed_off_targets(session).items()
        assert key == targets[0].key
        assert until == pytest.approx(datetime.now(UTC) + BACKOFF_FIRST, abs=timedelta(seconds=30))

        skipped = _deliver(engine, targets)  # a check while backed off: no attempt
        assert (skipped.sent, skipped.pending) == (0, 3) and len(receiver.requests) == 2
        assert "wait until" in skipped.errors[0] and "notify --retry" in skipped.errors[0]

        receiver.default_status = 200  # recovered; a person retries now
        retried = _deliver(engine, targets, honour_backoff=False)
        assert (retried.sent, retried.pending) == (3, 0)
        again = _deliver(engine, targets)
        assert (again.sent, again.pending) == (0, 0)

    delivered = [r for r in receiver.requests if r["status"] == 200]
    assert sorted(r["json"]["title"] for r in delivered) == ["alert 0", "alert 1", "alert 2"]
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert keys[0] == keys[1] == keys[2]  # the first message's three attempts: one key
    assert len(set(keys)) == 3
    for request in receiver.requests:
        assert request["json"]["message"].endswith(
            f"Notification id: {request['headers']['Idempotency-Key']}"
        )
    with store.read_scope(engine) as session:
        assert store.backed_off_targets(session) == {}  # a success forgets the failures


def test_refused_and_hung_receivers_never_hold_a_round_past_its_budget(db_url: str) -> None:
    """Whatever the backlog (1 or 30 pending messages per target), one round to a refused
    port and a receiver that never answers takes about one timeout and connects to the hung
    one once; a working receiver gets all its messages meanwhile, not after the timeout."""
    elapsed = {}
    with socket.create_server(("127.0.0.1", 0), backlog=64) as silent, http_receiver() as good:
        silent.setblocking(False)
        for backlog in (1, 30):
            targets = parse_targets(
                [
                    f"json://127.0.0.1:{free_port()}/refused",
                    f"json://127.0.0.1:{silent.getsockname()[1]}/hung",
                    f"json://127.0.0.1:{good.port}/hook?n={backlog}",
                ]
            )
            dataset = f"shop-{backlog}"
            engine = _outbox(db_url, targets, n_each=backlog, dataset=dataset)
            earlier, started = len(good.requests), time.monotonic()
            report = pipeline.deliver_notifications(
                engine, targets, dataset=dataset, attempts=1, budget_seconds=3.0
            )
            elapsed[backlog] = time.monotonic() - started
            assert report.sent == backlog  # the working receiver got all of its own
            assert report.pending == 2 * backlog
            assert _connections(silent) == 1  # the hung one is waited for once a round
            # its timeout is half the budget (1.5 s): the working receiver did not queue behind
            first = good.requests[earlier]["at"]
            assert first - started < 1.5, first - started
    assert elapsed[1] < 3.0 + 1.5 and elapsed[30] < 3.0 + 1.5, elapsed
    assert abs(elapsed[30] - elapsed[1]) < 1.5, elapsed  # independent of the backlog


def _connections(server: socket.socket) -> int:
    """Connections made to a listening socket that never accepted them (they are closed)."""
    count = 0
    while True:
        try:
            connection, _ = server.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1
