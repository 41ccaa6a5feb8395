"""Where jobs run: Prefect's API URL found where Prefect looks for it, and the mode it implies."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from commands import run_driftmon

from driftmon.bins import UNSEEN_KEPT
from driftmon.errors import ConfigError, DriftmonError
from driftmon.runner import check_api, choose_mode, heartbeats_wanted, prefect_api_url
from driftmon.store import list_runs, load_run, open_store, session_scope

URL = "http://127.0.0.1:4200/api"


def _profiles(home: Path, text: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "profiles.toml").write_text(text)
    return {"PREFECT_HOME": str(home)}


def test_no_api_anywhere_means_in_process(tmp_path: Path) -> None:
    environ = {"PREFECT_HOME": str(tmp_path / "home")}
    assert prefect_api_url(environ, tmp_path) == (None, "no Prefect API configured")
    mode = choose_mode(None, environ)
    assert (mode.kind, mode.api_url) == ("local", None)
    assert mode.describe().startswith("running in-process, without Prefect")


def test_the_environment_wins_and_an_empty_value_means_none(tmp_path: Path) -> None:
    environ = _profiles(
        tmp_path / "home",
        f'active = "dev"\n[profiles.dev]\nPREFECT_API_URL = "{URL}"\n',
    )
    assert prefect_api_url({**environ, "PREFECT_API_URL": "http://x/api"}, tmp_path)[0] == (
        "http://x/api"
    )
    assert prefect_api_url({**environ, "PREFECT_API_URL": ""}, tmp_path)[0] is None


def test_the_active_profile_is_read_as_prefect_config_set_writes_it(tmp_path: Path) -> None:
    environ = _profiles(
        tmp_path / "home",
        f'active = "dev"\n\n[profiles.ephemeral]\n\n[profiles.dev]\nPREFECT_API_URL = "{URL}"\n',
    )
    url, where = prefect_api_url(environ, tmp_path)
    assert url == URL and "profile `dev`" in where
    mode = choose_mode(None, environ)
    assert (mode.kind, mode.api_url) == ("prefect", URL)
    assert "PREFECT_PROFILE" not in environ
    assert prefect_api_url({**environ, "PREFECT_PROFILE": "ephemeral"}, tmp_path)[0] is None


def test_prefect_toml_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "prefect.toml").write_text(f'[api]\nurl = "{URL}"\n')
    assert prefect_api_url({"PREFECT_HOME": str(tmp_path / "none")}, tmp_path)[0] == URL


def test_driftmon_prefect_forces_or_forbids_prefect(tmp_path: Path) -> None:
    environ = _profiles(tmp_path / "home", f'[profiles.ephemeral]\nPREFECT_API_URL = "{URL}"\n')
    assert choose_mode(None, {**environ, "DRIFTMON_PREFECT": "never"}).kind == "local"
    bare = {"PREFECT_HOME": str(tmp_path / "empty")}
    forced = choose_mode(None, {**bare, "DRIFTMON_PREFECT": "always"})
    assert (forced.kind, forced.api_url) == ("prefect", None)
    assert "temporary server" in forced.describe()
    assert choose_mode("always", bare).reason == "--prefect"
    with pytest.raises(ConfigError, match="DRIFTMON_PREFECT is `sometimes`"):
        choose_mode(None, {**bare, "DRIFTMON_PREFECT": "sometimes"})


def test_heartbeats_stay_off_for_commands_unless_the_user_set_them(tmp_path: Path) -> None:
    bare = {"PREFECT_HOME": str(tmp_path / "none")}
    assert not heartbeats_wanted(bare, cwd=tmp_path)
    assert heartbeats_wanted({**bare, "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "60"}, cwd=tmp_path)
    assert heartbeats_wanted({**bare, "PREFECT_RUNNER_HEARTBEAT_FREQUENCY": "60"}, cwd=tmp_path)
    profile = _profiles(
        tmp_path / "home",
        'active = "team"\n[profiles.team]\nPREFECT_FLOWS_HEARTBEAT_FREQUENCY = "90"\n',
    )
    assert heartbeats_wanted(profile, cwd=tmp_path)
    (tmp_path / "prefect.toml").write_text("[flows]\nheartbeat_frequency = 30\n")
    assert heartbeats_wanted(bare, cwd=tmp_path)


def test_an_unreachable_api_is_one_clear_error() -> None:
    with pytest.raises(DriftmonError) as raised:
        check_api("http://127.0.0.1:9/api", timeout=2)
    message = str(raised.value)
    assert "the Prefect API at `http://127.0.0.1:9/api` does not answer" in message
    assert "prefect server start" in message and "DRIFTMON_PREFECT=never" in message
    assert "\n" not in message


def test_a_healthy_api_passes_the_check() -> None:
    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/api/health" else 404)
            self.end_headers()
            self.wfile.write(b"true")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        check_api(f"http://127.0.0.1:{server.server_address[1]}/api")
    finally:
        server.shutdown()


_LOADED = """
import json, sys
from driftmon.cli import app
sys.argv = ["driftmon", *sys.argv[1:]]
try:
    app()
except SystemExit as exit:
    code = exit.code
watched = ["prefect", "pandas", "matplotlib", "numba", "apprise", "scipy", "pydantic"]
watched += ["pyarrow.compute", "sqlalchemy.dialects.postgresql", "sqlalchemy.orm"]
print(json.dumps({"code": code, "loaded": [m for m in watched if m in sys.modules]}))
"""


def _reference_by_command(tmp_path: Path, reference: pd.DataFrame) -> Path:
    """`driftmon reference shop` of the frame, written as ``reference.parquet``, into
    ``tmp_path/d.db``; the file's path."""
    path = tmp_path / "reference.parquet"
    reference.to_parquet(path, index=False)
    run_driftmon(tmp_path, "reference", "shop", "--source", str(path), db="d.db")
    return path


def _loaded_by_check(tmp_path: Path, batch: pd.DataFrame, name: str) -> dict[str, object]:
    path = tmp_path / name
    batch.to_parquet(path, index=False)
    loaded, stderr = _loaded(tmp_path, "check", "shop", "--source", str(path))
    assert loaded["code"] == 0, stderr[-2000:]
    return loaded


def _loaded(tmp_path: Path, *command: str) -> tuple[dict[str, object], str]:
    """A command on ``tmp_path/d.db`` in a new process: its exit code and the watched modules
    it loaded (`_LOADED`), and its stderr."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED, "--db", f"sqlite:///{tmp_path / 'd.db'}", *command],
        capture_output=True,
        text=True,
        env={**os.environ, "PREFECT_API_URL": "", "DRIFTMON_PREFECT": ""},
        cwd=tmp_path,
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_a_file_check_loads_only_what_it_needs(tmp_path: Path) -> None:
    """No Prefect without an API, no pandas for a file, no matplotlib unless a chart is
    drawn (a feature moved), no numba for a few categories, no pydantic without a
    configuration file, no scipy at all (`driftmon.tails`), no Arrow compute functions for
    dictionary-encoded strings, no PostgreSQL dialect for a SQLite store: each costs a large
    share of a one-second check."""
    rng = np.random.default_rng(5)

    def frame(n: int, shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "amount": rng.normal(shift, 1.0, n),
                "tier": rng.choice(["gold", "silver", "bronze"], n),
                "sku": [f"sku-{i}" for i in rng.zipf(1.3, n) % 5_000],  # a long tail
            }
        )

    _reference_by_command(tmp_path, frame(20_000, 0.0))

    quiet = _loaded_by_check(tmp_path, frame(5_000, 0.0), "2026-11-01.parquet")
    moved = _loaded_by_check(tmp_path, frame(5_000, 1.0), "2026-11-02.parquet")

    assert quiet == {"code": 0, "loaded": ["sqlalchemy.orm"]}  # the run is stored
    assert moved == {"code": 0, "loaded": ["matplotlib", "sqlalchemy.orm"]}  # and a chart


def test_a_dataset_without_a_reference_is_answered_before_the_orm_loads(
    tmp_path: Path,
) -> None:
    """A mistyped dataset name is found in the database with SQL text: its `error:` line
    does not wait for SQLAlchemy's ORM and driftmon's tables (0.15-0.2 s)."""
    path = _reference_by_command(tmp_path, pd.DataFrame({"amount": np.arange(1_000.0)}))

    loaded, stderr = _loaded(tmp_path, "check", "shpo", "--source", str(path))

    assert loaded == {"code": 1, "loaded": []}
    assert "dataset `shpo` has no reference yet" in stderr
    assert "(known datasets: shop)" in stderr


def test_an_id_like_column_is_checked_without_numba_or_pandas(tmp_path: Path) -> None:
    """An ID column of 20,000 distinct keys, half of a batch's never seen, read in chunks of
    one growing Parquet dictionary: the vocabulary lookups run in numpy (numba costs ~1 s a
    process), and neither pandas nor Arrow's compute functions load; the run records exactly
    how many rows hold a never-seen ID."""
    (tmp_path / "driftmon.toml").write_text("[defaults]\nchunk_rows = 5000\n")
    ids = np.array([f"customer-{i:07d}" for i in range(30_000)], dtype=object)
    rng = np.random.default_rng(11)
    _reference_by_command(tmp_path, pd.DataFrame({"customer": rng.permutation(ids[:20_000])}))
    batch = pd.DataFrame({"customer": rng.permutation(ids[10_000:30_000])})

    loaded = _loaded_by_check(tmp_path, batch, "2026-11-01.parquet")

    assert not {"numba", "pandas", "pyarrow.compute"} & set(loaded["loaded"])
    engine = open_store(f"sqlite:///{tmp_path / 'd.db'}")
    with session_scope(engine) as session:
        [customer] = load_run(session, list_runs(session, "shop")[0].id).features
    engine.dispose()
    assert customer.result.n_unseen_current == 10_000  # customer-0020000 .. customer-0029999
    # the most frequent new IDs, ties by key: every ID occurs once, so the first ones
    first_new = {f"customer-{i:07d}": 1 for i in range(20_000, 20_000 + UNSEEN_KEPT)}
    assert customer.result.top_unseen == first_new


def test_a_check_against_an_unreachable_api_is_one_error_line(tmp_path: Path) -> None:
    """The CLI checks the configured API before any work: one `error:` line, exit 1, no
    Prefect traceback (the port is one nothing listens on)."""
    reference = _reference_by_command(tmp_path, pd.DataFrame({"amount": np.arange(1_000.0)}))
    executable = str(Path(sys.executable).with_name("driftmon"))
    driftmon = [executable, "--db", f"sqlite:///{tmp_path / 'd.db'}"]
    local = {**os.environ, "PREFECT_API_URL": "", "DRIFTMON_PREFECT": ""}

    done = subprocess.run(
        [*driftmon, "check", "shop", "--source", str(reference)],
        capture_output=True,
        text=True,
        env={**local, "PREFECT_API_URL": "http://127.0.0.1:9/api"},
        cwd=tmp_path,
    )

    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: the Prefect API at `http://127.0.0.1:9/api` does not answer")
    assert "DRIFTMON_PREFECT=never" in lines[0]


_FROZEN_AT_EXIT = """
import atexit, gc, sys
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
from driftmon.cli import run
sys.argv = ["driftmon", *sys.argv[1:]]
run()
"""


def test_the_console_script_skips_the_last_collection_and_keeps_the_exit_code(
    tmp_path: Path,
) -> None:
    """`driftmon` is `driftmon.cli.run`: the command's exit code and `error:` line as `app`
    gives them, and the heap frozen before the interpreter's last collection (which walked
    every object Prefect and SQLAlchemy made: 0.1-0.6 s a command)."""
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="driftmon")
    assert script.value == "driftmon.cli:run"

    missing = tmp_path / "missing.csv"
    done = subprocess.run(
        [sys.executable, "-c", _FROZEN_AT_EXIT, "check", "shop", "--source", str(missing)],
        capture_output=True,
        text=True,
        env={**os.environ, "PREFECT_API_URL": "", "DRIFTMON_PREFECT": ""},
        cwd=tmp_path,
    )

    assert done.returncode == 1
    assert done.stderr.startswith(f"error: `{missing}` does not exist"), done.stderr
    assert done.stdout.strip().splitlines()[-1] == "frozen at exit: True"


def test_store_only_commands_do_not_load_the_statistics(tmp_path: Path) -> None:
    """``driftmon history`` and a dataset without a reference need the store, not numpy (the
    statuses they print live in `driftmon.status`, apart from the policy)."""
    db = f"sqlite:///{tmp_path / 'd.db'}"
    reference = _reference_by_command(tmp_path, pd.DataFrame({"amount": np.arange(1_000.0)}))
    local = {**os.environ, "PREFECT_API_URL": "", "DRIFTMON_PREFECT": ""}
    script = _LOADED.replace("watched = [", 'watched = ["numpy", ')

    def loaded(*command: str) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-c", script, "--db", db, *command],
            capture_output=True, text=True, env=local, cwd=tmp_path,
        )  # fmt: skip
        return json.loads(done.stdout.strip().splitlines()[-1])

    assert loaded("history", "shop") == {"code": 0, "loaded": ["sqlalchemy.orm"]}
    assert loaded("check", "nope", "--source", str(reference)) == {"code": 1, "loaded": []}


def test_a_command_leaves_its_sqlite_file_whole(tmp_path: Path) -> None:
    """Every connection is closed by the end of a console-script command (which skips the
    last garbage collection): SQLite folds its write-ahead log back into the file, so the
    file copied on its own holds what the command stored."""
    import shutil
    import sqlite3

    reference = tmp_path / "reference.parquet"
    pd.DataFrame({"amount": np.arange(1_000.0)}).to_parquet(reference, index=False)
    db = tmp_path / "d.db"
    driftmon = [str(Path(sys.executable).with_name("driftmon")), "--db", f"sqlite:///{db}"]
    local = {**os.environ, "PREFECT_API_URL": "", "DRIFTMON_PREFECT": ""}
    for command in (["reference", "shop"], ["check", "shop"]):
        subprocess.run(
            [*driftmon, *command, "--source", str(reference)],
            check=True, capture_output=True, env=local, cwd=tmp_path,
        )  # fmt: skip

    assert sorted(p.name for p in tmp_path.glob("d.db*")) == ["d.db"]
    alone = tmp_path / "copy" / "d.db"
    alone.parent.mkdir()
    shutil.copy(db, alone)
    with sqlite3.connect(alone) as copy:
        assert copy.execute("SELECT count(*) FROM reference_profiles").fetchone() == (1,)
        assert copy.execute("SELECT count(*) FROM runs").fetchone() == (1,)


_INTERRUPTED_JOB = """
import sys
import driftmon.runner
def interrupted(*args, **kwargs):
    raise KeyboardInterrupt  # what Ctrl-C raises in the job
driftmon.runner.run_job = interrupted
from driftmon.cli import run
sys.argv = ["driftmon", *sys.argv[1:]]
run()
"""


def test_ctrl_c_is_exit_130_with_a_line_saying_what_was_kept(tmp_path: Path) -> None:
    """typer turns Ctrl-C into exit status 130 and says nothing; the command says it was
    interrupted, that stored work is kept, and how to draw a page a stored run lacks."""
    reference = _reference_by_command(tmp_path, pd.DataFrame({"amount": np.arange(1_000.0)}))
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}"]
    local = {**os.environ, "PREFECT_API_URL": "", "DRIFTMON_PREFECT": ""}

    done = subprocess.run(
        [sys.executable, "-c", _INTERRUPTED_JOB, *db, "check", "shop", "--source", str(reference)],
        capture_output=True, text=True, env=local, cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 130
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted: what was stored before is kept")
    assert "`driftmon report DATASET --run ID`" in lines[0]
