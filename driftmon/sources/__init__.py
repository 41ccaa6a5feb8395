"""Input data: finding sources and their batch times (`locate`, cheap) and reading them in
chunks (`read`). Names load on first use, so checking a path does not load pandas or pyarrow.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    **dict.fromkeys(
        [
            "DATA_SUFFIXES",
            "DEFAULT_CHUNK_ROWS",
            "FileSource",
            "FrameSource",
            "Progress",
            "Source",
            "SqlSource",
            "batch_key",
            "batch_time",
            "batch_time_from_path",
            "describe",
            "parse_batch_time",
            "parse_source",
            "resolve_files",
        ],
        "driftmon.sources.locate",
    ),
    **dict.fromkeys(
        ["column_names", "iter_chunks", "iter_source_chunks", "sample_rows"],
        "driftmon.sources.read",
    ),
}

__all__ = sorted(_EXPORTS, key=lambda n: (not n.isupper(), n))


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'driftmon.sources' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
