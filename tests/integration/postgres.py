"""A throwaway PostgreSQL server for the tests: ``DRIFTMON_TEST_POSTGRES_URL`` if set, else a
cluster made with Debian's ``postgresql`` binaries (``make test`` installs them when it runs as
root) in a temporary folder, on a free port on 127.0.0.1, as the ``postgres`` system user
(PostgreSQL refuses to run as root), removed at the end. Each test gets a database of its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

URL_ENV = "DRIFTMON_TEST_POSTGRES_URL"


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable_reason() -> str | None:
    """Why no server can be had here (None: one can)."""
    if os.environ.get(URL_ENV):
        return None
    if _binaries() is None:
        return (
            f"no PostgreSQL: install Debian's postgresql (make test does, as root) or set {URL_ENV}"
        )
    if os.geteuid() == 0 and shutil.which("su") is None:
        return "PostgreSQL cannot run as root and `su` is missing"
    return None


def _as_server_user(command: str) -> None:
    if os.geteuid() == 0:
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", command], check=True)
    else:
        subprocess.run(["/bin/sh", "-c", command], check=True)


@contextmanager
def server() -> Iterator[str]:
    """The URL of a server's maintenance database, running for the duration."""
    given = os.environ.get(URL_ENV)
    if given:
        yield given
        return
    binaries = _binaries()
    assert binaries is not None
    folder = Path(tempfile.mkdtemp(prefix="driftmon-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        _as_server_user(f"{binaries}/initdb -D {data} -A trust -U postgres >/dev/null")
        options = f"-p {port} -k {folder} -h 127.0.0.1"
        _as_server_user(
            f"{binaries}/pg_ctl -D {data} -o '{options}' -w -l {folder}/log start >/dev/null"
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if data.exists():
            _as_server_user(f"{binaries}/pg_ctl -D {data} -m fast stop >/dev/null 2>&1 || true")
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server; its URL."""
    import sqlalchemy

    name = f"driftmon_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"
