"""Open the database: URL defaults, engine set-up, SQLite pragmas and automatic migrations.

Every entry point calls `open_store`, so a database is always at the newest schema before it is
used: an empty one is created at head, an older one is upgraded in place (never recreated).
SQLite runs in WAL mode with ``BEGIN IMMEDIATE`` transactions and a 30 s busy timeout, so a
scheduled run and a manual run can write to the same file: the second writer waits instead of
failing with "database is locked".
"""

from __future__ import annotations

import atexit
import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from driftmon.errors import StoreError
from driftmon.sqlite_url import home_hint, sqlite_file

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.orm import Session

__all__ = [
    "BUSY_TIMEOUT_MS",
    "alembic_config",
    "database_label",
    "default_database_url",
    "ensure_writable",
    "open_store",
    "read_scope",
    "redact_url",
    "session_scope",
    "upgrade_database",
]

#: How long a SQLite writer waits for another writer's transaction before giving up.
BUSY_TIMEOUT_MS = 30_000
#: The newest migration (a test checks it is Alembic's head): a database already there is
#: opened without loading Alembic and its scripts, which costs more than the check itself.
HEAD_REVISION = "0007"
MIGRATIONS_FOLDER = Path(__file__).parent / "migrations"
#: PostgreSQL advisory lock key held while migrating: "driftmon" in ASCII.
_MIGRATION_LOCK = 0x6472_6966_746D_6F6E

#: Python module of a database driver -> the PyPI package that provides it.
_DRIVER_PACKAGES = {
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "pg8000": "pg8000",
    "asyncpg": "asyncpg",
    "pymysql": "PyMySQL",
    "MySQLdb": "mysqlclient",
    "mysql": "mysql-connector-python",
    "oracledb": "oracledb",
    "pyodbc": "pyodbc",
    "pymssql": "pymssql",
}
_HOW_TO_CHOOSE = (
    "pass another URL with `--db` (in Python `Monitor(db=...)`) or set `database` in the "
    "configuration"
)


def default_database_url() -> str:
    """``sqlite:///<cwd>/driftmon.db``: a SQLite file in the current working directory."""
    return f"sqlite:///{Path.cwd().resolve() / 'driftmon.db'}"


def redact_url(url: str | URL) -> str:
    """The URL with its password replaced by ``***``, safe to print and log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        # Not parseable as a URL; still hide anything shaped like ``//user:password@``.
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", str(url))


def database_label(url: str | URL) -> str:
    """The database as a page shown to others may name it: dialect, host, port and database
    (a SQLite file's path), without user, password or query parameters (which can hold
    passwords and keys). A SQLite database is named by the file SQLite opens (`sqlite_file`),
    absolute with links resolved, so the label names the same file from any working directory
    and however the URL spells it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(database)"
    database = parsed.database
    path = sqlite_file(parsed)
    if path is not None:
        database = str(path.resolve())
    bare = URL.create(parsed.drivername, host=parsed.host, port=parsed.port, database=database)
    return bare.render_as_string()


def open_store(url: str | None = None, *, create: bool = True) -> Engine:
    """Create an engine for ``url`` (default: `default_database_url`) and migrate it to head.

    With ``create=False`` (commands that read, or need a reference already stored) a SQLite
    file that does not exist is an error, not a new empty database: a mistyped ``--db``
    would otherwise leave a file, and folders, behind.

    Raises
    ------
    StoreError
        The URL is invalid, its driver is not installed, the SQLite folder cannot be created (or,
        without ``create``, the SQLite file does not exist), or the database cannot be reached or
        migrated. The message shows the URL without password.
    """
    url = url or default_database_url()
    shown = redact_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"database URL `{shown}` is not a valid SQLAlchemy URL; use e.g. "
            "`sqlite:///path/to/driftmon.db` or `postgresql+psycopg://user:password@host/db`, "
            f"and {_HOW_TO_CHOOSE}"
        ) from exc
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite:
        path = sqlite_file(parsed)
        tilde = home_hint(parsed)
        if tilde and path is not None and not path.exists():
            raise StoreError(
                f"database `{shown}` would be a file in a folder named `~` under "
                f"`{Path.cwd()}`: {tilde}"
            )
        if not create and path is not None and not path.exists():
            raise StoreError(
                f"database `{shown}` does not exist; check the path, or create it by building "
                f"a reference (`driftmon reference DATASET --source PATH`, in Python "
                f"`Monitor.reference(DATASET, data)`); {_HOW_TO_CHOOSE}"
            )
        _create_sqlite_folder(path, shown)
    engine = _create_engine(parsed, shown, is_sqlite)
    try:
        if _revision(engine) != HEAD_REVISION:
            _upgrade(engine, parsed, shown)
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise StoreError(_migration_failure(parsed, shown, exc)) from exc
    _OPEN_ENGINES.add(engine)
    return engine


#: Engines not yet dropped: their connections are closed at exit, not whenever the garbage
#: collector gets to them (the console script skips its last collection). Closing the last
#: connection to a SQLite file folds its write-ahead log back into the file, so a copy of the
#: file alone holds every run.
_OPEN_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


@atexit.register
def _close_open_engines() -> None:
    for engine in list(_OPEN_ENGINES):
        engine.dispose()


def _upgrade(engine: Engine, parsed: URL, shown: str) -> None:
    from alembic.util.exc import CommandError

    try:
        upgrade_database(engine)
    except CommandError as exc:
        engine.dispose()
        raise StoreError(_migration_failure(parsed, shown, exc)) from exc


def _revision(engine: Engine) -> str | None:
    """The database's Alembic revision, or None for a new (or foreign) database."""
    with engine.connect() as connection:
        reading = connection.execution_options(driftmon_read_only=True)
        try:
            return reading.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except SQLAlchemyError:
            return None


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Apply the packaged Alembic migrations up to ``revision``, in one transaction.

    Concurrent callers migrate one after the other (engines from `open_store` on SQLite begin
    with ``BEGIN IMMEDIATE``; on PostgreSQL an advisory lock is held). On SQLite, foreign keys
    are switched off while migrating (batch migrations copy and drop tables, which would
    otherwise cascade deletes) and checked before committing.
    """
    from alembic import command

    config = alembic_config()
    with engine.connect() as connection:
        is_sqlite = connection.dialect.name == "sqlite"
        if is_sqlite:
            _set_sqlite_foreign_keys(connection, enabled=False)
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Two processes opening a new database must not both create the tables.
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if is_sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StoreError(
                            f"migration to `{revision}` left rows with dangling foreign keys "
                            f"(table, rowid, parent): {broken[:5]}; nothing was changed"
                        )
        finally:
            if is_sqlite:
                _set_sqlite_foreign_keys(connection, enabled=True)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for the packaged migrations; no ``alembic.ini`` is needed.

    With ``url`` it also works for Alembic commands run by hand, e.g. writing a new revision:
    ``command.revision(alembic_config(url), autogenerate=True, message="...")``.
    """
    from alembic.config import Config

    config = Config()
    # Config values go through ConfigParser interpolation, so a literal "%" must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One session in one transaction: committed on success, rolled back on any exception.

    Shorthand for ``with Session(engine) as session, session.begin():``.
    """
    from sqlalchemy.orm import Session  # the ORM only where a session is (0.1 s an import)

    try:
        with Session(engine) as session, session.begin():
            yield session
    except OperationalError as error:
        raise StoreError(_write_failure(engine, error)) from error


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A session that only reads: on SQLite its transaction is deferred, so it takes no write
    lock and never makes a writer wait (drawing a report takes seconds); rolled back at the end.
    """
    from sqlalchemy.orm import Session

    try:
        with engine.connect() as connection:
            reading = connection.execution_options(driftmon_read_only=True)
            with Session(bind=reading) as session:
                with session.begin():
                    yield session
                    session.rollback()
    except OperationalError as error:
        raise StoreError(_write_failure(engine, error)) from error


def ensure_writable(engine: Engine) -> None:
    """Fail now, with a clear message, if the database cannot be written.

    A check reads and counts its whole batch before it writes; finding a read-only database
    only then would waste the work and end in a driver traceback.
    """
    with session_scope(engine) as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS driftmon_write_probe (x INTEGER)"))
        session.execute(text("DROP TABLE driftmon_write_probe"))
        session.rollback()


def _write_failure(engine: Engine, error: OperationalError) -> str:
    shown = redact_url(engine.url)
    reason = _scrub(str(error.orig), engine.url).splitlines()[0]
    if "readonly" in reason or "read-only" in reason:
        return (
            f"database `{shown}` is read-only ({reason}); make the file and its folder "
            "writable, or pass another database with --db"
        )
    if "locked" in reason:
        return (
            f"database `{shown}` stayed locked by another process for longer than the busy "
            f"timeout ({reason}); retry when the other run has finished"
        )
    return f"database `{shown}` failed: {reason}"


def _create_sqlite_folder(path: Path | None, shown: str) -> None:
    if path is None:
        return
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the folder `{folder}` for the SQLite database `{shown}` "
            f"({exc.strerror or exc}); choose a writable location: {_HOW_TO_CHOOSE}"
        ) from exc


def _create_engine(url: URL, shown: str, is_sqlite: bool) -> Engine:
    options: dict[str, Any] = {}
    if is_sqlite:
        options["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
    try:
        if url.get_dialect().is_async:
            raise StoreError(
                f"database URL `{shown}` names the asyncio driver `{url.get_driver_name()}`; "
                "driftmon needs a synchronous one, e.g. `sqlite:///...` or "
                f"`postgresql+psycopg://...`: {_HOW_TO_CHOOSE}"
            )
        engine = create_engine(url, **options)
    except NoSuchModuleError as exc:
        raise StoreError(
            f"database URL `{shown}`: unknown database type `{url.drivername}`; use e.g. "
            f"`sqlite:///...` or `postgresql+psycopg://...`, and {_HOW_TO_CHOOSE}"
        ) from exc
    except ImportError as exc:
        module = (exc.name or url.drivername).split(".")[0]
        package = _DRIVER_PACKAGES.get(module, module)
        raise StoreError(
            f"database URL `{shown}` needs the driver `{module}`, which is not installed; "
            f"install it with `pip install {package}`"
        ) from exc
    except (ArgumentError, SQLAlchemyError, TypeError, ValueError) as exc:
        raise StoreError(
            f"cannot create a database engine for `{shown}`: {_scrub(str(exc), url)}; "
            f"check the URL's driver and options, or {_HOW_TO_CHOOSE}"
        ) from exc
    if is_sqlite:
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_immediate)
    elif engine.dialect.name == "postgresql":
        from driftmon.store.models import declare_postgresql_options

        declare_postgresql_options()
    return engine


def _set_sqlite_foreign_keys(connection: Connection, *, enabled: bool) -> None:
    """Run outside any transaction, on the driver's connection: SQLite ignores it inside one."""
    driver_connection: Any = connection.connection.driver_connection
    driver_connection.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    """Set the pragmas on every new SQLite connection and take over BEGIN from the driver.

    The busy timeout comes first so that switching to WAL also waits for other writers.
    ``isolation_level = None`` stops the sqlite3 driver from emitting its own deferred BEGIN;
    `_begin_immediate` emits one that takes the write lock up front.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _begin_immediate(connection: Any) -> None:
    """Take the write lock when the transaction starts, not at its first write.

    A deferred transaction that reads and then writes cannot wait for a concurrent writer (it
    would read a stale snapshot), so SQLite fails it at once with "database is locked"; an
    immediate one waits on the busy timeout instead. Read-only sessions (`read_scope`) begin
    deferred: they never write, so they need no lock.
    """
    if connection.get_execution_options().get("driftmon_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _migration_failure(url: URL, shown: str, exc: BaseException) -> str:
    from alembic.util.exc import CommandError

    detail = _scrub(str(getattr(exc, "orig", None) or exc), url).strip().splitlines()
    reason = detail[0] if detail else type(exc).__name__
    if isinstance(exc, CommandError):
        return (
            f"cannot migrate the database `{shown}`: {reason}; it may have been written by a "
            "newer driftmon: upgrade driftmon, or " + _HOW_TO_CHOOSE
        )
    if url.get_backend_name() == "sqlite":
        return (
            f"cannot open the SQLite database `{shown}`: {reason}; check that the file and its "
            f"folder exist and are writable, or {_HOW_TO_CHOOSE}"
        )
    return (
        f"cannot connect to the database `{shown}`: {reason}; check that the server is running "
        f"and reachable and that the user, password and database name are right, or "
        f"{_HOW_TO_CHOOSE}"
    )


def _scrub(text: str, url: URL) -> str:
    """Driver messages may echo connection parameters; never let the password through."""
    if url.password:
        text = text.replace(str(url.password), "***")
    return text
