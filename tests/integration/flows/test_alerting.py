"""Alerts reach people exactly once: the check flow against real receivers on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from driftmon.flows import build_reference_flow, check_batch_flow
from receivers import Mailbox, Receiver, free_port, http_receiver

from driftmon import store
from driftmon.examples import ExampleData, generate_example_data

DATASET = "orders"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> ExampleData:
    return generate_example_data(tmp_path_factory.mktemp("example"))


def _batch(example: ExampleData, changed: str | None, index: int = 0) -> str:
    names = [
        b for b in example.batches if (changed in example.expected_drift[b.name])
        or (changed is None and not example.expected_drift[b.name])
    ]  # fmt: skip
    return str(names[index])


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Alerts and the outbox on a SQLite file and on a real PostgreSQL database."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'driftmon.db'}"


def _setup(tmp_path: Path, example: ExampleData, target: str, db_url: str) -> dict[str, str]:
    config = tmp_path / "driftmon.toml"
    config.write_text(f'[datasets.orders]\nnotify = ["{target}"]\nresolve_after = 2\n')
    build_reference_flow(
        dataset=DATASET, source=str(example.reference), db_url=db_url, config_path=str(config)
    )
    return {"dataset": DATASET, "db_url": db_url, "config_path": str(config)}


def test_webhook_gets_one_message_per_state_change_and_none_for_healthy_or_repeated_runs(
    tmp_path: Path, example: ExampleData, receiver: Receiver, db_url: str
) -> None:
    run = _setup(tmp_path, example, f"json://127.0.0.1:{receiver.port}/hook", db_url)

    check_batch_flow(source=_batch(example, None, 0), **run)
    assert receiver.requests == []  # healthy: nothing to say

    drifted = check_batch_flow(source=_batch(example, "order_value"), **run)
    assert drifted.notifications == {"sent": 1, "pending": 0}
    [opened] = receiver.requests
    drifted_name = Path(_batch(example, "order_value")).name
    assert opened["json"]["title"] == f"driftmon: orders: 1 opened alert in {drifted_name}"
    assert "OPENED [critical] order_value / kl" in opened["json"]["message"]
    assert "order_value: critical, KL" in opened["json"]["message"]
    assert opened["json"]["type"] == "failure"

    check_batch_flow(source=_batch(example, "order_value"), **run)
    assert len(receiver.requests) == 1  # the same state again: no repeat

    # clear batches newer than the drifted one (in batch time) move the alert; older ones not
    check_batch_flow(source=_batch(example, None, 1), **run)
    assert len(receiver.requests) == 1  # a batch older than the drifted one changes nothing
    check_batch_flow(source=_batch(example, None, 0), batch_time="2026-11-10", **run)
    assert len(receiver.requests) == 1  # one clear batch is not yet a resolution
    check_batch_flow(source=_batch(example, None, 1), batch_time="2026-11-11", **run)
    assert len(receiver.requests) == 2
    resolved = receiver.requests[1]["json"]
    clear_name = Path(_batch(example, None, 1)).name
    assert resolved["title"] == f"driftmon: orders: 1 resolved alert in {clear_name}"
    assert (
        "RESOLVED order_value / kl: order_value back within thresholds for 2 batches: KL"
        in (resolved["message"])
    )
    assert "[critical]" not in resolved["message"]
    assert resolved["type"] == "info"


def test_a_notification_for_a_down_receiver_stays_pending_and_is_delivered_once_later(
    tmp_path: Path, example: ExampleData, db_url: str
) -> None:
    port = free_port()  # nothing listens here yet
    run = _setup(tmp_path, example, f"json://127.0.0.1:{port}/hook", db_url)

    state = check_batch_flow(source=_batch(example, "order_value"), return_state=True, **run)
    assert state.is_completed()  # an undelivered message is not a failed check
    assert state.result().notifications == {"sent": 0, "pending": 1}
    with store.session_scope(store.open_store(run["db_url"])) as session:
        [pending] = store.list_notifications(session, dataset=DATASET)
    assert (pending.status, pending.attempts) == ("pending", 1)
    assert "127.0.0.1" in (pending.last_error or "")

    with http_receiver(port) as receiver:
        later = check_batch_flow(source=_batch(example, None, 0), **run)
        assert later.notifications == {"sent": 1, "pending": 0}
        assert [r["json"]["title"] for r in receiver.requests] == [
            f"driftmon: orders: 1 opened alert in {Path(_batch(example, 'order_value')).name}"
        ]
        check_batch_flow(source=_batch(example, "order_value"), **run)  # state unchanged
        assert len(receiver.requests) == 1
    with store.session_scope(store.open_store(run["db_url"])) as session:
        [sent] = store.list_notifications(session, dataset=DATASET)
    assert sent.status == "sent"


def test_the_email_form_reaches_a_real_smtp_server(
    tmp_path: Path, example: ExampleData, mailbox: Mailbox, db_url: str
) -> None:
    target = f"mailto://127.0.0.1:{mailbox.port}?from=driftmon@example.com&to=ops@example.com"
    run = _setup(tmp_path, example, target, db_url)

    check_batch_flow(source=_batch(example, "country"), **run)

    [envelope] = mailbox.envelopes
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["Subject"] == (
        f"driftmon: orders: 2 opened alerts in {Path(_batch(example, 'country')).name}"
    )
    assert envelope.rcpt_tos == ["ops@example.com"]
    body = mail.get_body(preferencelist=("plain", "html")).get_content()
    assert "country / new_categories" in body
    assert "BR" in body
