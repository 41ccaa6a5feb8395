"""HTML reports: the only code in driftmon that draws.

`write_reports` writes one run's page and refreshes its dataset's history page and the status board;
`render_run_report` returns the run page as a string. Pages are single self-contained files:
figures are embedded PNG data URIs, styles inline, no scripts, nothing fetched. Names load on
first use, so importing this package (say, for `run_report_path`) does not load matplotlib.
"""

from __future__ import annotations

from driftmon._lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_HISTORY": "driftmon.report.pages",
    "dataset_folder_name": "driftmon.report.paths",
    "render_dataset_index": "driftmon.report.pages",
    "dataset_status": "driftmon.report.pages",
    "render_run_report": "driftmon.report.pages",
    "render_status_board": "driftmon.report.pages",
    "render_summary": "driftmon.report.pages",
    "run_report_path": "driftmon.report.paths",
    "write_reports": "driftmon.report.pages",
}

__all__ = sorted(_EXPORTS, key=lambda n: (not n.isupper(), n))


__getattr__ = lazy_exports(__name__, _EXPORTS)
