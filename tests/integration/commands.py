"""The `driftmon` command as a user runs it: a subprocess with the user's environment minus
driftmon's own settings, in-process (no Prefect), on a SQLite file in the given folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DRIFTMON = str(Path(sys.executable).with_name("driftmon"))


def database_url(cwd: Path, db: str) -> str:
    """``db`` if it is a URL, else a SQLite file of that name in ``cwd``."""
    return db if "://" in db else f"sqlite:///{cwd / db}"


def run_driftmon(cwd: Path, *args: str, db: str = "driftmon.db") -> str:
    """Run ``driftmon --db URL ARGS...`` (`database_url`); its standard output (it must
    succeed)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DRIFTMON_CONFIG", "PREFECT_API_URL")}
    env["DRIFTMON_PREFECT"] = "never"
    done = subprocess.run(
        [DRIFTMON, "--db", database_url(cwd, db), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
