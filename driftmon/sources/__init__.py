"""Input data: finding sources and their batch times (`locate`, cheap) and reading them in
chunks (`read`). Reading names load on first use, so checking a path does not load pandas or
pyarrow.
"""

from __future__ import annotations

from driftmon._lazy import lazy_exports
from driftmon.sources.locate import *  # noqa: F403 - the cheap half, as it is
from driftmon.sources.locate import __all__ as _located

_READ = [
    "column_names",
    "iter_chunks",
    "iter_source_chunks",
    "partitions",
    "sample_rows",
]

__all__ = sorted([*_located, *_READ], key=lambda n: (not n.isupper(), n))

__getattr__ = lazy_exports(__name__, dict.fromkeys(_READ, "driftmon.sources.read"))
