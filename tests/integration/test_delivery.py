"""Delivering the outbox within a budget: a hung receiver costs a check one timeout, not one
per pending message, and what is not delivered in time stays pending (real receivers on
127.0.0.1, a real SQLite store)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
from receivers import http_receiver

import driftmon
from driftmon import pipeline, store
from driftmon.alerts import Message
from driftmon.notify import parse_targets


def _outbox(tmp_path: Path, targets: list, n_each: int) -> object:
    """A store whose dataset `shop` has ``n_each`` pending messages per target, in turn."""
    engine = store.open_store(f"sqlite:///{tmp_path / 'd.db'}")
    profile = driftmon.profile(pd.DataFrame({"x": np.arange(100.0)}))
    message = Message("driftmon: shop: 1 opened alert in b.csv", "body", "warning", {"changes": []})
    with store.session_scope(engine) as session:
        store.save_reference(session, "shop", profile, source="test", settings={})
        for i in range(n_each):
            for target in targets:
                store.enqueue_notification(
                    session,
                    dataset="shop",
                    run_id=None,  # type: ignore[arg-type]
                    target_key=target.key,
                    target_label=target.label,
                    dedupe_key=f"{target.key}|{i}",
                    payload={
                        "title": message.title,
                        "body": message.body,
                        "level": message.level,
                        "data": message.data,
                    },
                )
    return engine


def test_a_hung_receiver_is_waited_for_once_and_the_others_still_get_theirs(
    tmp_path: Path,
) -> None:
    # connections to `silent` queue in its backlog and are never answered
    with socket.create_server(("127.0.0.1", 0), backlog=16) as silent, http_receiver() as good:
        targets = parse_targets(
            [
                f"json://127.0.0.1:{silent.getsockname()[1]}/hook",
                f"json://127.0.0.1:{good.port}/hook",
            ]
        )
        engine = _outbox(tmp_path, targets, n_each=3)

        started = time.monotonic()
        report = pipeline.deliver_notifications(
            engine, targets, dataset="shop", attempts=1, budget_seconds=3.0
        )
        elapsed = time.monotonic() - started

    assert (report.sent, report.pending) == (3, 3)
    assert len(good.requests) == 3
    assert elapsed < 3.0 + 1.5  # one timeout of the hung receiver, not three
    with store.session_scope(engine) as session:
        items = store.list_notifications(session, dataset="shop")
    silent_items = [i for i in items if i.target_key == targets[0].key]
    assert sorted(i.attempts for i in silent_items) == [0, 0, 1]
    assert {i.status for i in silent_items} == {"pending"}


def test_a_spent_budget_leaves_messages_pending_untried(tmp_path: Path) -> None:
    with http_receiver() as good:
        targets = parse_targets([f"json://127.0.0.1:{good.port}/hook"])
        engine = _outbox(tmp_path, targets, n_each=2)
        report = pipeline.deliver_notifications(
            engine, targets, dataset="shop", attempts=1, budget_seconds=0.0
        )
        assert (report.sent, report.pending) == (0, 2) and good.requests == []

        later = pipeline.deliver_notifications(engine, targets, dataset="shop", attempts=1)
        assert (later.sent, later.pending) == (2, 0) and len(good.requests) == 2


def test_attempts_count_every_request_made_to_the_target(tmp_path: Path) -> None:
    """A receiver that fails three times: a round of 1 attempt (a check's) makes one failing
    request, a round of 2 two failing ones, a round of 3 (`notify --retry`'s) one that
    succeeds. The outbox's ``attempts`` follows the receiver's count of requests, not the
    rounds."""
    with http_receiver() as receiver:
        receiver.statuses[:] = [500, 500, 500]
        targets = parse_targets([f"json://127.0.0.1:{receiver.port}/hook"])
        engine = _outbox(tmp_path, targets, n_each=1)

        def deliver(attempts: int) -> tuple[int, str, int]:
            report = pipeline.deliver_notifications(
                engine, targets, dataset="shop", attempts=attempts, honour_backoff=False
            )
            with store.session_scope(engine) as session:
                [item] = store.list_notifications(session, dataset="shop")
            assert report.sent == (item.status == "sent")
            return len(receiver.requests), item.status, item.attempts

        assert deliver(attempts=1) == (1, "pending", 1)
        assert deliver(attempts=2) == (3, "pending", 3)
        assert deliver(attempts=3) == (4, "sent", 4)
    assert [r["status"] for r in receiver.requests] == [500, 500, 500, 200]
