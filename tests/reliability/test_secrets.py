"""Secrets never leak: a session of commands with secret-bearing notification URLs (user
info, path token, query token, an SMTP password) and a database URL with a password; every
byte any command printed (with -v, and --json), every file the run wrote (reports, metrics)
and every stored row is searched for each secret."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy
from commands import DRIFTMON
from receivers import http_receiver, smtp_mailbox

SECRETS = ("UserSecret123", "PathSecret456", "QuerySecret789", "MailSecret321", "DbSecret654")


def test_no_secret_appears_in_any_output_file_or_stored_row(
    tmp_path: Path, postgres_url: str
) -> None:
    db_url = postgres_url.replace("postgres@", "postgres:DbSecret654@", 1)
    rng = np.random.default_rng(5)
    pd.DataFrame({"x": rng.normal(size=2_000), "c": rng.choice(list("ab"), 2_000)}).to_csv(
        tmp_path / "reference.csv", index=False
    )
    for day, shift in ((1, 0.0), (2, 2.0), (3, 2.0)):
        batch = pd.DataFrame({"x": rng.normal(shift, 1, 500), "c": rng.choice(list("ab"), 500)})
        batch.to_csv(tmp_path / f"2026-11-0{day}.csv", index=False)
    outputs: list[str] = []
    with http_receiver() as receiver, smtp_mailbox() as mailbox:
        receiver.statuses = [500, 500]  # fails first (errors are printed), then works
        targets = " ".join(
            [
                f"json://admin:UserSecret123@127.0.0.1:{receiver.port}/hooks/PathSecret456"
                "?token=QuerySecret789",
                f"mailto://ops:MailSecret321@127.0.0.1:{mailbox.port}?to=team@example.org"
                "&from=driftmon@example.org&secure=no",
            ]
        )
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DRIFTMON_", "PREFECT_API"))
        }
        env.update(DRIFTMON_PREFECT="never", DRIFTMON_NOTIFY=targets, DRIFTMON_DB_URL=db_url)

        def run(*args: str, ok: bool = True) -> None:
            done = subprocess.run(
                [DRIFTMON, "-v", *args], cwd=tmp_path, env=env, capture_output=True, text=True
            )
            outputs.append(done.stdout + done.stderr)
            if ok:
                assert done.returncode == 0, done.stderr

        run("reference", "orders", "-s", "reference.csv")
        run("check", "orders", "-s", "2026-11-01.csv", "--json")
        run("check", "orders", "-s", "2026-11-02.csv")
        run("check", "orders", "-s", "2026-11-03.csv", "--json")
        run("notify")
        run("notify", "--retry", "--json")
        run("history", "orders", "--json")
        run("alerts", "list", "--json")
        run("metrics", "orders", "-o", "metrics.prom")
        run("report", "orders")
        run("check", "orders", "-s", "missing.csv", ok=False)  # an error path too
        run("--db", db_url.replace("127.0.0.1", "127.0.0.2"), "history", ok=False)
    assert receiver.requests and mailbox.envelopes  # the session did reach both targets
    # ... and showed them (masked) and failed with them on the way: there was something to leak
    assert any("json://" in text and "mailto://" in text for text in outputs)
    assert any("failed" in text for text in outputs)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files) and (tmp_path / "metrics.prom").is_file()
    texts = {f"output of command {i}": text for i, text in enumerate(outputs)}
    texts |= {str(p): p.read_bytes().decode("utf-8", "replace") for p in files}
    engine = sqlalchemy.create_engine(postgres_url)
    with engine.connect() as connection:
        for table in sqlalchemy.inspect(connection).get_table_names():
            rows = connection.execute(sqlalchemy.text(f'SELECT * FROM "{table}"')).all()
            texts[f"table {table}"] = repr(rows)
    engine.dispose()
    leaks = {
        (secret, where) for secret in SECRETS for where, text in texts.items() if secret in text
    }
    assert not leaks, sorted(leaks)
