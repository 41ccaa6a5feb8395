"""notify against real receivers on 127.0.0.1: an HTTP server for json://, aiosmtpd for mailto://.

No mocks: apprise really connects, so these tests also pin the URL forms and the apprise
behaviour (return values, log lines) that driftmon.notify relies on.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import logging
import socket
import time

import pytest
from receivers import Mailbox, Receiver, free_port

from driftmon.alerts import Message
from driftmon.config import NOTIFY_ENV, targets_from_env
from driftmon.errors import NotificationError
from driftmon.notify import Target, parse_targets, send

SECRET = "s3cr3t"
HEADER_SECRET = "k3yk3y-h3ad3r"
FAST = {"backoff_seconds": (0.01, 0.01), "timeout_seconds": 2.0}


def message(level: str = "warning") -> Message:
    return Message(
        title="driftmon: sales: 1 opened alert in 2024-06-01",
        body="Dataset sales, batch 2024-06-01 (run 7).\n- OPENED [warning] price / kl: drifted",
        level=level,  # type: ignore[arg-type]
        data={"dataset": "sales"},
    )


def only(urls: list[str]) -> Target:
    [target] = parse_targets(urls)
    return target


def assert_secret_nowhere(
    secret: str, target: Target, caplog: pytest.LogCaptureFixture, *texts: str
) -> None:
    assert secret not in target.label
    assert secret not in repr(target)
    assert secret not in str(target)
    for text in texts:
        assert secret not in text
    assert caplog.records, "expected apprise to log something at DEBUG"
    for record in caplog.records:
        assert secret not in record.getMessage(), record.name
    assert secret not in caplog.text


# -- delivery over HTTP ---------------------------------------------------------------------


@pytest.mark.parametrize("level", ["info", "warning", "failure"])
def test_send_posts_title_body_and_level_as_json(receiver: Receiver, level: str) -> None:
    target = only([f"json://127.0.0.1:{receiver.port}/hook"])
    send(target, message(level), **FAST)
    [request] = receiver.requests
    assert request["path"] == "/hook"
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert request["json"]["title"] == message().title
    assert request["json"]["message"] == message().body
    assert request["json"]["type"] == level


def test_send_retries_until_the_receiver_recovers(receiver: Receiver) -> None:
    receiver.statuses[:] = [500, 500]
    target = only([f"json://127.0.0.1:{receiver.port}/hook"])
    made = send(target, message(), attempts=3, **FAST)
    assert [r["status"] for r in receiver.requests] == [500, 500, 200]
    assert made == 3
    assert receiver.requests[-1]["json"]["title"] == message().title


def test_send_raises_after_the_last_attempt_without_leaking_secrets(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.default_status = 500
    url = f"json://user:{SECRET}@127.0.0.1:{receiver.port}/hook?+X-Api-Key={HEADER_SECRET}"
    target = only([url])
    with pytest.raises(NotificationError) as raised:
        send(target, message(), attempts=3, **FAST)
    text = str(raised.value)
    assert len(receiver.requests) == raised.value.attempts == 3
    assert f"`{target.label}`" in text
    assert target.label == f"json://user:****@127.0.0.1:{receiver.port}/hook"
    assert "3 attempt(s)" in text and "error=500" in text
    # The credentials did reach the receiver: they were masked, not dropped.
    headers = receiver.requests[0]["headers"]
    assert (
        headers["Authorization"] == "Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()
    )
    assert headers["X-Api-Key"] == HEADER_SECRET
    for secret in (SECRET, HEADER_SECRET):
        assert_secret_nowhere(secret, target, caplog, text)


def test_send_masks_a_webhook_token_that_apprise_and_urllib3_log_in_the_path(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    # Mattermost puts the webhook token in the request path, which apprise ("POST URL: ...")
    # and urllib3 ('"POST /hooks/<token> HTTP/1.1"') both log at DEBUG.
    caplog.set_level(logging.DEBUG)
    token = "w3bh00kt0k3nw3bh00k"
    target = only([f"mmost://127.0.0.1:{receiver.port}/{token}"])
    send(target, message(), **FAST)
    assert [r["path"] for r in receiver.requests] == [f"/hooks/{token}"]
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert_secret_nowhere(token, target, caplog)


def test_send_to_a_closed_port_fails_after_every_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    target = only([f"json://user:{SECRET}@127.0.0.1:{port}/hook"])
    with pytest.raises(NotificationError) as raised:
        send(target, message(), attempts=2, **FAST)
    text = str(raised.value)
    assert f"`json://user:****@127.0.0.1:{port}/hook`" in text
    assert "2 attempt(s)" in text and "Connection error" in text
    failures = [r for r in caplog.records if r.name == "driftmon.notify"]
    assert [r.levelno for r in failures] == [logging.WARNING, logging.WARNING]
    assert_secret_nowhere(SECRET, target, caplog, text)


def test_send_to_a_receiver_that_never_answers_fails_within_the_timeout() -> None:
    # Connections queue in the backlog and are never accepted, so nothing is ever read.
    with socket.create_server(("127.0.0.1", 0), backlog=8) as silent:
        target = only([f"json://127.0.0.1:{silent.getsockname()[1]}/hook"])
        started = time.monotonic()
        with pytest.raises(NotificationError, match="1 attempt"):
            send(target, message(), attempts=1, timeout_seconds=0.3)
        assert time.monotonic() - started < 2.5


def test_send_rejects_out_of_range_options(receiver: Receiver) -> None:
    from driftmon.errors import ConfigError

    target = only([f"json://127.0.0.1:{receiver.port}/hook"])
    with pytest.raises(ConfigError, match="attempts"):
        send(target, message(), attempts=0)
    with pytest.raises(ConfigError, match="timeout_seconds"):
        send(target, message(), timeout_seconds=0)
    with pytest.raises(ConfigError, match="backoff_seconds"):
        send(target, message(), backoff_seconds=(-1.0,))
    assert receiver.requests == []


# -- delivery over SMTP ---------------------------------------------------------------------


def test_send_mails_title_as_subject_and_body_over_plain_smtp(mailbox: Mailbox) -> None:
    target = only(
        [f"mailto://127.0.0.1:{mailbox.port}?from=driftmon@example.com&to=ops@example.com"]
    )
    send(target, message(), **FAST)
    [envelope] = mailbox.envelopes
    assert envelope.mail_from == "driftmon@example.com"
    assert envelope.rcpt_tos == ["ops@example.com"]
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["Subject"] == message().title
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    assert message().body in text.get_content().replace("\r\n", "\n")


def test_send_logs_in_to_smtp_without_leaking_the_password(
    mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    target = only(
        [
            f"mailto://alerts:{SECRET}@127.0.0.1:{mailbox.port}"
            "?from=driftmon@example.com&to=ops@example.com"
        ]
    )
    send(target, message(), **FAST)
    assert mailbox.logins == [("alerts", SECRET.encode())]
    assert len(mailbox.envelopes) == 1
    assert_secret_nowhere(SECRET, target, caplog)


# -- targets ----------------------------------------------------------------------------------


def test_unsupported_scheme_is_rejected_with_a_helpful_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NotificationError) as raised:
        parse_targets([f"nope://user:{SECRET}@x/tok3n-tok3n"])
    text = str(raised.value)
    assert "`nope://x`" in text
    assert "no `nope://` scheme" in text
    assert "json://" in text and "slack://" in text and "mailto://" in text
    for secret in (SECRET, "tok3n-tok3n"):
        assert secret not in text
        assert secret not in caplog.text


def test_every_invalid_target_is_reported_at_once() -> None:
    with pytest.raises(NotificationError) as raised:
        parse_targets(["json://127.0.0.1/ok", "slack://only-one-token", "no-scheme", " "])
    text = str(raised.value)
    assert text.startswith("3 notification target(s) are invalid")
    assert "target 2 `slack://only-one-token`: apprise could not load it" in text
    assert "target 3 is not a URL" in text
    assert "target 4 is empty" in text


@pytest.mark.parametrize(
    ("url", "secrets", "label"),
    [
        (
            f"json://user:{SECRET}@example.com/hook?+Authorization={HEADER_SECRET}",
            [SECRET, HEADER_SECRET],
            "json://user:****@example.com/hook",
        ),
        (
            "slack://T1234ABCD/B5678EFGH/abcdefghijklmnopqrstuvwx/#drift",
            ["T1234ABCD", "B5678EFGH", "abcdefghijklmnopqrstuvwx"],
            "slack://T...D/B...H/a...x/%23drift",
        ),
        (
            f"mailto://user:{SECRET}@mail.example.com?to=ops@example.com",
            [SECRET],
            "mailto://user:****@mail.example.com/ops%40example.com",
        ),
        (  # a webhook carrying its token in the path, which apprise shows for json://
            "json://hooks.example.com:8443/hooks/PathSecret456/v1",
            ["PathSecret456"],
            "json://hooks.example.com:8443/hooks/P...6/v1",
        ),
        (
            "form://example.com/api/notify/ZXhhbXBsZXRva2VuZm9yYWxlcnRz",
            ["ZXhhbXBsZXRva2VuZm9yYWxlcnRz"],
            "form://example.com/api/notify/Z...z",
        ),
    ],
)
def test_labels_mask_every_secret(url: str, secrets: list[str], label: str) -> None:
    target = only([url])
    assert target.label == label
    for secret in secrets:
        assert secret not in target.label
        assert secret not in repr(target)


def test_keys_are_stable_short_hashes_that_differ_between_urls() -> None:
    urls = ["json://127.0.0.1/a", "json://127.0.0.1/b"]
    first, second = parse_targets(urls)
    assert [t.key for t in parse_targets(urls)] == [first.key, second.key]
    assert first.key != second.key
    assert first.key == hashlib.sha256(urls[0].encode()).hexdigest()[:16]


def test_duplicate_urls_collapse_in_order() -> None:
    targets = parse_targets(["json://h/a", "json://h/b", " json://h/a ", "json://h/b"])
    assert [t.label for t in targets] == ["json://h/a", "json://h/b"]


def test_a_hand_built_target_must_carry_its_urls_key() -> None:
    with pytest.raises(ValueError, match="parse_targets"):
        Target(url="json://h/a", key="0" * 16, label="json://h/a")


def test_targets_from_env_splits_on_whitespace_and_commas() -> None:
    env = {
        NOTIFY_ENV: " json://h/a,json://h/b  slack://T/B/C,\n"
        "mailto://h?to=a@example.com,b@example.com , json://h/c "
    }
    assert targets_from_env(env) == [
        "json://h/a",
        "json://h/b",
        "slack://T/B/C",
        "mailto://h?to=a@example.com,b@example.com",
        "json://h/c",
    ]
    assert targets_from_env({NOTIFY_ENV: "  "}) == []
    assert targets_from_env({}) == []


def test_targets_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NOTIFY_ENV, "json://h/a json://h/b")
    assert targets_from_env() == ["json://h/a", "json://h/b"]
