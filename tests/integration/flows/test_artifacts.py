"""What a check publishes to Prefect (artifacts, run logs) is inert and carries no secret.

Names that users control (dataset, batch key, column, category) hold Markdown and HTML
payloads; the artifacts' Markdown is rendered by an independent CommonMark renderer with raw
HTML allowed (the most permissive reader) and must yield no tag or link from them. The
notification URL carries secrets in its user info, path and query: none may reach an artifact
or a log line the Prefect API holds.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
from driftmon.flows import build_reference_flow, check_batch_flow
from markdown_it import MarkdownIt
from receivers import Receiver

SCRIPT = "<script>alert(1)</script>"
DATASET = f"evil` *x* \n\n{SCRIPT} [link](javascript:alert(2))"
BATCH_KEY = "key`\n\n<img src=x onerror=alert(3)>`"
COLUMN = f"col_{SCRIPT}_`|"
CATEGORY = "<b>bold</b>"
SECRETS = ("UserSecret1", "PathSecret456abcdefghijkl", "QuerySecret789")


def _frames(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    reference = pd.DataFrame(
        {COLUMN: rng.normal(size=4_000), "kind": rng.choice([CATEGORY, "plain"], 4_000)}
    )
    batch = pd.DataFrame({COLUMN: rng.normal(2.0, 1.0, 800), "kind": [CATEGORY] * 800})
    return reference, batch


def test_artifacts_and_logs_are_inert_and_hold_no_secret(
    tmp_path: Path, receiver: Receiver
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    reference, batch = _frames(np.random.default_rng(4))
    reference.to_csv(tmp_path / "reference.csv", index=False)
    batch.to_csv(tmp_path / "batch.csv", index=False)
    target = (
        f"json://user:{SECRETS[0]}@127.0.0.1:{receiver.port}/hooks/{SECRETS[1]}?token={SECRETS[2]}"
    )
    config = tmp_path / "driftmon.toml"
    config.write_text(f"[defaults]\nnotify = [{target!r}]\n".replace("'", '"'))
    db_url = f"sqlite:///{tmp_path / 'driftmon.db'}"
    common = {"dataset": DATASET, "db_url": db_url, "config_path": str(config)}
    build_reference_flow(source=str(tmp_path / "reference.csv"), **common)
    # the suite runs Prefect at WARNING; a user's runs log their outcome lines at INFO
    run_loggers = [logging.getLogger(f"prefect.{kind}_runs") for kind in ("flow", "task")]
    levels = [logger.level for logger in run_loggers]
    for logger in run_loggers:
        logger.setLevel(logging.INFO)
    try:
        state = check_batch_flow(
            source=str(tmp_path / "batch.csv"), batch_key=BATCH_KEY, return_state=True, **common
        )
    finally:
        for logger, level in zip(run_loggers, levels, strict=True):
            logger.setLevel(level)
    result = state.result()
    assert result.verdict == "critical"
    assert len(receiver.requests) == 1  # the secrets were really in use
    flow_run_id = state.state_details.flow_run_id
    APILogHandler().flush()  # log lines are shipped in batches: send what is queued now

    with get_client(sync_client=True) as client:
        artifacts = [a for a in client.read_artifacts() if a.flow_run_id == flow_run_id]
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
    # a link artifact is stored as Markdown: its data is a link to the report file
    assert {a.type for a in artifacts} == {"table", "markdown"}
    renderer = MarkdownIt("commonmark", {"html": True})
    renderer.validateLink = lambda url: True  # keep every link, javascript: too, to see it
    for artifact in artifacts:
        markdown = [artifact.description or ""]
        if artifact.type == "markdown":
            markdown.append(str(artifact.data))
        for text in markdown:
            html = renderer.render(text)
            assert "<script" not in html and "<img" not in html, html
            # the only link is the report's own file
            links = re.findall(r"<a [^>]*>", html)
            assert all(link.startswith('<a href="file:///') for link in links), links
    # the table holds the names as data, exactly as written
    [table] = [a for a in artifacts if a.type == "table"]
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert {row["feature"] for row in rows} == {COLUMN, "kind"}

    published = [str(a.data) + (a.description or "") for a in artifacts]
    published += [log.message for log in logs]
    assert any("critical" in log.message for log in logs), "the outcome line reached the API"
    for text in published:
        for secret in SECRETS:
            assert secret not in text, (secret, text)
