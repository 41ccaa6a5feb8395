"""Test-wide environment: Prefect offline, quiet and isolated from the user's own profile.

Set before any test module imports prefect (settings are read at import).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="driftmon-prefect-home-")
os.environ.pop("DRIFTMON_CONFIG", None)
os.environ.pop("DRIFTMON_DB_URL", None)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test's random data is the same on every run."""
    return np.random.default_rng(20240611)


@pytest.fixture(autouse=True, scope="session")
def _nothing_written_to_the_working_directory() -> object:
    """Tests write reports and databases under their own temporary folders: one that wrote
    into the folder pytest runs from (a dropped ``reports_dir``) would leave pages in the
    repository's ``reports/`` on every run."""
    cwd = Path.cwd()
    kinds = (".html", ".json", ".db", ".database")

    def written() -> set[Path]:
        top = [path for path in cwd.iterdir() if path.is_file()]
        return {path for path in [*top, *cwd.glob("reports/**/*")] if path.name.endswith(kinds)}

    before = written()
    yield
    assert written() <= before, f"tests wrote into {cwd}: {sorted(map(str, written() - before))}"
