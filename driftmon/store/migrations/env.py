"""Alembic environment for driftmon's packaged migrations.

`driftmon.store.upgrade_database` runs it with an open connection (in
``config.attributes["connection"]``) so migrations share the caller's transaction and, on
SQLite, its ``BEGIN IMMEDIATE`` lock. Without one it connects to ``sqlalchemy.url`` (see
`driftmon.store.alembic_config`), or renders SQL in offline mode for a DBA to apply.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from driftmon.store.engine import default_database_url
from driftmon.store.models import Base


def run_migrations_offline(url: str) -> None:
    """Emit the migration SQL instead of running it (``alembic upgrade --sql``)."""
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_on(connection: Connection) -> None:
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url") or default_database_url()
    if context.is_offline_mode():
        run_migrations_offline(url)
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations_on(connection)
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as new_connection:
            run_migrations_on(new_connection)
    finally:
        engine.dispose()


# Alembic installs `context.config` before executing this file; a plain import (for example
# pytest's doctest collection) has none and must not run anything.
if getattr(context, "config", None) is not None:
    run_migrations()
