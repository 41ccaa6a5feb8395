"""Every SQLite URL form names the file SQLite really opens, in every place that reads one:
`sqlite_file`, the store (its folder, its refusal of a missing file, its label on pages) and
the SQL source (its refusal of a missing file). Real files in a temporary working folder, with
``HOME`` elsewhere so that an expanded ``~`` would show."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, make_url

from driftmon.errors import SourceError, StoreError
from driftmon.sources import SqlSource, column_names
from driftmon.sqlite_url import sqlite_file
from driftmon.store import database_label, open_store

#: A URL (``{tmp}``: the temporary folder) and the file SQLite opens, under ``{tmp}``; the
#: working folder is ``work`` and ``HOME`` is ``home``.
FILE_FORMS = [
    ("sqlite:///relative.db", "work/relative.db"),
    ("sqlite:///sub/../dotted.db", "work/dotted.db"),
    ("sqlite:///~/tilde.db", "work/~/tilde.db"),
    ("sqlite:///{tmp}/absolute.db", "absolute.db"),
    ("sqlite:///file:named.db", "work/file:named.db"),
    ("sqlite:///file:named.db?uri=false", "work/file:named.db"),
    ("sqlite:///file:uri.db?uri=true", "work/uri.db"),
    ("sqlite:///file:~/uri-tilde.db?uri=true", "work/~/uri-tilde.db"),
    ("sqlite:///file:with%2520space.db?uri=true", "work/with space.db"),
    ("sqlite:///file:{tmp}/uri-absolute.db?uri=true", "uri-absolute.db"),
    ("sqlite:///file://{tmp}/uri-no-host.db?uri=true", "uri-no-host.db"),
    ("sqlite:///file://localhost{tmp}/uri-localhost.db?uri=true", "uri-localhost.db"),
    ("sqlite:///file:fragment.db%23part?uri=true", "work/fragment.db"),
    ("sqlite:///file:shared.db?uri=true&cache=shared", "work/shared.db"),
    ("sqlite:///plain.db?uri=true", "work/plain.db"),
    ("sqlite:///plain.db?uri=true&cache=shared", "work/plain.db?cache=shared"),
]
#: URLs of a database in memory, or a temporary one SQLite deletes on closing: no file.
MEMORY_FORMS = [
    "sqlite://",
    "sqlite:///",
    "sqlite:///:memory:",
    "sqlite:///:memory:?uri=true",
    "sqlite:///file::memory:?uri=true",
    "sqlite:///file:in-memory.db?uri=true&mode=memory",
    "sqlite:///file:in-memory.db?uri=true&vfs=memdb",
    "sqlite:///file:?uri=true",
    "sqlite:///?uri=true",
]


@pytest.fixture
def tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder, with the working folder ``work`` and ``HOME`` at ``home``."""
    tmp = tmp_path.resolve()
    (tmp / "work").mkdir()
    (tmp / "home").mkdir()
    monkeypatch.chdir(tmp / "work")
    monkeypatch.setenv("HOME", str(tmp / "home"))
    return tmp


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


@pytest.mark.parametrize(("url", "opened"), FILE_FORMS)
def test_sqlite_file_is_the_file_sqlite_opens(tmp: Path, url: str, opened: str) -> None:
    parsed = make_url(url.format(tmp=tmp))
    expected = tmp / opened
    expected.parent.mkdir(exist_ok=True)  # SQLite creates no folder
    engine = create_engine(parsed)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            main = connection.exec_driver_sql("PRAGMA database_list").one()
    finally:
        engine.dispose()

    assert Path(main.file) == expected
    assert _files(tmp) == [expected]
    assert sqlite_file(parsed) == expected


@pytest.mark.parametrize(
    ("url", "opened"), [form for form in FILE_FORMS if not form[0].startswith("sqlite:///~")]
)
def test_the_store_and_the_sql_source_agree_on_the_file(tmp: Path, url: str, opened: str) -> None:
    """A missing file is refused by both, leaving nothing behind; the store creates the file
    (and its folder) where SQLite opens it, and its label names that file."""
    url = url.format(tmp=tmp)
    expected = tmp / opened
    source = SqlSource(url, "SELECT 1 AS x")

    with pytest.raises(StoreError, match="does not exist; check the path"):
        open_store(url, create=False)
    with pytest.raises(SourceError) as raised:
        column_names(source)
    assert f"the SQLite database file `{expected}` does not exist" in str(raised.value)
    assert sorted(tmp.rglob("*")) == [tmp / "home", tmp / "work"]

    engine = open_store(url)
    try:
        assert expected.is_file()
        label = URL.create("sqlite", database=str(expected)).render_as_string()
        assert database_label(engine.url) == database_label(url) == label
    finally:
        engine.dispose()
    assert _files(tmp) == [expected]
    assert column_names(source) == ["x"]
    open_store(url, create=False).dispose()


def test_a_path_starting_with_a_tilde_is_refused_with_the_home_folder_spelled_out(
    tmp: Path,
) -> None:
    """``sqlite:///~/x.db`` means home to its writer, but SQLite opens ``./~/x.db``: refused
    by the store (building or reading) and the SQL source, naming the URL to write instead,
    leaving nothing behind; a folder really named ``~`` holding the file is used as it is."""
    url = "sqlite:///~/tilde.db"
    spelled_out = f"sqlite:///{tmp}/home/tilde.db"

    for create in (True, False):
        with pytest.raises(StoreError) as refused:
            open_store(url, create=create)
        assert "SQLite does not expand `~`" in str(refused.value)
        assert f"`{spelled_out}`" in str(refused.value)
    with pytest.raises(SourceError) as refused_source:
        column_names(SqlSource(url, "SELECT 1 AS x"))
    assert f"SQLite does not expand `~`: write the home folder out, `{spelled_out}`" in str(
        refused_source.value
    )
    assert sorted(tmp.rglob("*")) == [tmp / "home", tmp / "work"]

    (tmp / "work" / "~").mkdir()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    open_store(url).dispose()
    assert column_names(SqlSource(url, "SELECT 1 AS x")) == ["x"]


@pytest.mark.parametrize("url", MEMORY_FORMS)
def test_a_database_in_memory_has_no_file(tmp: Path, url: str) -> None:
    assert sqlite_file(make_url(url)) is None
    assert column_names(SqlSource(url, "SELECT 1 AS x")) == ["x"]
    assert str(tmp) not in database_label(url)
    assert _files(tmp) == []


def test_a_file_uri_on_another_host_is_refused_by_sqlite_itself(tmp: Path) -> None:
    url = f"sqlite:///file://elsewhere{tmp}/x.db?uri=true"
    assert sqlite_file(make_url(url)) is None
    with pytest.raises(StoreError, match="invalid uri authority: elsewhere"):
        open_store(url)
    with pytest.raises(SourceError, match="invalid uri authority: elsewhere"):
        column_names(SqlSource(url, "SELECT 1 AS x"))
    assert _files(tmp) == []


def test_urls_of_other_databases_have_no_sqlite_file() -> None:
    assert sqlite_file(make_url("postgresql+psycopg://user:pw@host/sqlite.db")) is None
