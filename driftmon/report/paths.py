"""Where report pages go, importable without drawing anything.

A run's page path is known before the page exists, so a notification written with the run can
link to the report that is drawn after the run is committed. Databases may share a reports
folder (one status board for a team); a dataset's folder records the database whose pages it
holds (`OWNER_FILE`), and another database's dataset of the same name gets a folder of its own.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

__all__ = [
    "OWNER_FILE",
    "claim_dataset_folder",
    "dataset_folder",
    "dataset_folder_name",
    "run_page_name",
    "run_report_path",
]

#: In a dataset folder: the database (`driftmon.store.database_label`) whose pages it holds.
OWNER_FILE = ".database"


def dataset_folder_name(dataset: str) -> str:
    """A file-system-safe folder name for a dataset, distinct for distinct names.

    Names of letters, digits, ``.``, ``_`` and ``-`` are kept; others are replaced and get a
    short hash of the original so ``a/b`` and ``a_b`` never share a folder.

    Examples
    --------
    >>> dataset_folder_name("orders")
    'orders'
    >>> dataset_folder_name("../etc/passwd")[:14]
    '.._etc_passwd-'
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", dataset)[:80]
    if safe == dataset and safe not in ("", ".", "..", "index.html"):
        return safe
    digest = hashlib.sha256(dataset.encode()).hexdigest()[:8]
    return f"{safe or 'dataset'}-{digest}"


def dataset_folder(reports_dir: str | Path, dataset: str, database: str) -> Path:
    """The folder, absolute, of ``dataset``'s pages from ``database`` under ``reports_dir``:
    ``<dataset folder>``, unless that folder holds another database's pages; then
    ``<dataset folder>-<hash of the database>``, so two databases with a dataset of the same
    name never overwrite each other's pages. A folder without an owner (new, or written
    before owners were recorded) is free.

    Examples
    --------
    >>> dataset_folder("/nonexistent", "orders", "sqlite:////a.db").as_posix()
    '/nonexistent/orders'
    """
    name = dataset_folder_name(dataset)
    plain = Path(reports_dir).resolve() / name
    if _owner(plain) in (None, database):
        return plain
    digest = hashlib.sha256(database.encode()).hexdigest()[:8]
    return plain.with_name(f"{name}-{digest}")


def claim_dataset_folder(reports_dir: str | Path, dataset: str, database: str) -> Path:
    """`dataset_folder`, created and recorded as ``database``'s. The record is made with an
    exclusive create: of two databases claiming a new folder at once, the one that loses
    gets a folder of its own, never the other's pages."""
    folder = dataset_folder(reports_dir, dataset, database)
    for attempt in range(2):
        folder.mkdir(parents=True, exist_ok=True)
        try:
            with (folder / OWNER_FILE).open("x", encoding="utf-8") as marker:
                marker.write(database + "\n")
        except FileExistsError:
            if attempt == 0 and _owner(folder) != database:  # claimed by another meanwhile
                folder = dataset_folder(reports_dir, dataset, database)
                continue
        return folder
    return folder


def _owner(folder: Path) -> str | None:
    try:
        return (folder / OWNER_FILE).read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def run_report_path(reports_dir: str | Path, dataset: str, run_id: int, database: str) -> Path:
    """``<dataset_folder>/run-<id>.html``, absolute.

    Examples
    --------
    >>> run_report_path("/r", "orders", 7, "sqlite:////a.db").as_posix()
    '/r/orders/run-7.html'
    """
    return dataset_folder(reports_dir, dataset, database) / run_page_name(run_id)


def run_page_name(run_id: int) -> str:
    """A run's page in its dataset folder: ``run-<id>.html``."""
    return f"run-{run_id}.html"
