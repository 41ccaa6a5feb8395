"""The file a SQLite URL opens, read as SQLAlchemy's driver and SQLite read it.

Shared by the store (creating the folder, refusing a missing file, naming the database on
pages) and the SQL source (refusing a missing file), so all of them name the file SQLite
really opens. Apart from both so that neither imports the other: the store loads SQLAlchemy's
ORM, the sources load SQLAlchemy only to read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from sqlalchemy import URL

__all__ = ["home_hint", "sqlite_file"]


def sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL opens, absolute; None when its database is in memory or
    temporary, or the URL is not SQLite.

    Neither SQLAlchemy nor SQLite expands ``~``: ``sqlite:///~/x.db`` is ``x.db`` in a folder
    named ``~`` under the working folder. With ``uri=true``, a name starting ``file:`` is a
    SQLite URI (``%XX``-decoded; ``mode=memory`` or ``vfs=memdb`` keep no file); without it,
    ``file:x.db`` is a file of that name.
    """
    from sqlalchemy.exc import ArgumentError
    from sqlalchemy.util import asbool

    if url.get_backend_name() != "sqlite":
        return None
    try:
        uri = asbool(url.query.get("uri", False))
        if uri:  # the name the driver gets: the database, then SQLite's URI arguments
            (name,), _ = url.get_dialect()().create_connect_args(url)
        else:  # as the dialect does; asking it would repeat its warning on other arguments
            name = url.database or ":memory:"
    except (ArgumentError, ValueError):
        return None  # the engine says why
    if uri and isinstance(name, str) and name.startswith("file:"):
        return _uri_file(name)
    if name in (None, "", ":memory:"):
        return None
    return Path(os.path.abspath(name))


def home_hint(url: URL) -> str | None:
    """When a SQLite URL's path starts with ``~`` (which nothing expands), what to write
    instead, said for an error message. None for any other URL.

    >>> from sqlalchemy import make_url
    >>> home_hint(make_url("sqlite:///~/d.db")) == (
    ...     f"SQLite does not expand `~`: write the home folder out, `sqlite:///{Path.home()}/d.db`"
    ... )
    True
    >>> home_hint(make_url("sqlite:///d.db")) is None
    True
    """
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or not database.startswith("~"):
        return None
    spelled_out = url.set(database=os.path.expanduser(database)).render_as_string()
    return f"SQLite does not expand `~`: write the home folder out, `{spelled_out}`"


def _uri_file(uri: str) -> Path | None:
    """The file of a SQLite ``file:`` URI, as SQLite parses it (None: in memory, temporary,
    or a host other than ``localhost``, which SQLite refuses)."""
    path, _, query = uri.removeprefix("file:").partition("#")[0].partition("?")
    if path.startswith("//"):
        host, slash, path = path[2:].partition("/")
        if host not in ("", "localhost"):
            return None
        path = slash + path
    arguments = dict(
        (unquote(name), unquote(value))
        for name, _, value in (pair.partition("=") for pair in query.split("&"))
    )
    if arguments.get("mode") == "memory" or arguments.get("vfs") == "memdb":
        return None
    path = unquote(path)
    if path in ("", ":memory:"):
        return None
    return Path(os.path.abspath(path))
