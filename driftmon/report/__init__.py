"""HTML reports: the only code in driftmon that draws.

`write_reports` writes one run's page and refreshes its dataset's history page and the overview;
`render_run_report` returns the run page as a string. Pages are single self-contained files:
figures are embedded PNG data URIs, styles inline, no scripts, nothing fetched.
"""

from __future__ import annotations

from driftmon.report.pages import (
    DEFAULT_HISTORY,
    dataset_folder_name,
    render_dataset_index,
    render_overview,
    render_run_report,
    write_reports,
)

__all__ = [
    "DEFAULT_HISTORY",
    "dataset_folder_name",
    "render_dataset_index",
    "render_overview",
    "render_run_report",
    "write_reports",
]
