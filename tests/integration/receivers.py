"""Real notification receivers on 127.0.0.1 for the tests: an HTTP endpoint and an SMTP server."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope


@dataclass
class Receiver:
    """A loopback HTTP endpoint: answers ``statuses`` in turn, then ``default_status``."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200


@contextmanager
def http_receiver(port: int = 0) -> Iterator[Receiver]:
    """A loopback HTTP server recording every POST (on ``port``, or a free one)."""
    state = Receiver(port=port)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = state.statuses.pop(0) if state.statuses else state.default_status
            state.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "json": json.loads(raw),
                    "status": status,
                    "at": time.monotonic(),
                }
            )
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Mailbox:
    port: int
    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[tuple[str, bytes]] = field(default_factory=list)


@contextmanager
def smtp_mailbox(port: int | None = None) -> Iterator[Mailbox]:
    """A plain (no TLS) SMTP server on loopback that accepts any login and keeps every mail."""
    box = Mailbox(port=port or free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
            box.envelopes.append(envelope)
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
        box.logins.append((data.login.decode(), data.password))
        return AuthResult(success=True)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=box.port,
        auth_require_tls=False,
        authenticator=authenticator,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
