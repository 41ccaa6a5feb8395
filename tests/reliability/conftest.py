"""The reliability suite: driftmon attacked the way production attacks it (bad data, kills,
concurrency, misbehaving receivers), each outcome asserted exactly. Shares the integration
tests' helpers (real subprocesses, receivers, a throwaway PostgreSQL)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))

from fixtures import mailbox, postgres_server, postgres_url, receiver

__all__ = ["mailbox", "postgres_server", "postgres_url", "receiver"]
