"""The store: driftmon's database, and the only code in driftmon that speaks SQL.

`open_store` returns an engine on a database migrated to the newest schema; the repository
functions take a `sqlalchemy.orm.Session` whose transaction the caller owns::

    engine = open_store("sqlite:///driftmon.db")
    with Session(engine) as session, session.begin():   # or: with session_scope(engine) as session
        reference = load_reference(session, "orders")

They return plain frozen dataclasses, never ORM rows.
"""

from __future__ import annotations

from driftmon._lazy import lazy_modules

#: Where the store's names are defined (each module's ``__all__``), cheapest first: `open_store`
#: and the quick `require_active_reference` load neither the ORM nor driftmon's tables.
MODULES = [
    "driftmon.store.engine",
    "driftmon.store.lookup",
    "driftmon.store.claims",
    "driftmon.store.alerts",
    "driftmon.store.outbox",
    "driftmon.store.repository",
]

__getattr__ = lazy_modules(__name__, MODULES)
