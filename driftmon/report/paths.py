"""Where report pages go: plain path arithmetic, importable without drawing anything.

A run's page path is known before the page exists, so a notification written with the run can
link to the report that is drawn after the run is committed.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

__all__ = ["dataset_folder_name", "run_report_path"]


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


def run_report_path(reports_dir: str | Path, dataset: str, run_id: int) -> Path:
    """``reports_dir/<dataset folder>/run-<id>.html``, absolute.

    Examples
    --------
    >>> run_report_path("/r", "orders", 7).as_posix()
    '/r/orders/run-7.html'
    """
    return Path(reports_dir).resolve() / dataset_folder_name(dataset) / f"run-{run_id}.html"
