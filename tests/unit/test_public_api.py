from __future__ import annotations

import importlib.metadata
import re

import driftmon


def test_every_name_in_all_resolves() -> None:
    missing = [name for name in driftmon.__all__ if not hasattr(driftmon, name)]
    assert missing == []


def test_every_error_derives_from_driftmon_error() -> None:
    errors = [getattr(driftmon, n) for n in driftmon.__all__ if n.endswith("Error")]
    assert len(errors) >= 8
    assert all(issubclass(e, driftmon.DriftmonError) for e in errors)


def test_the_version_is_the_installed_distributions() -> None:
    """`__version__` is read from `driftmon/_version.py` (no metadata lookup per command);
    the installed distribution's version comes from the same file."""
    assert driftmon.__version__ == importlib.metadata.version("driftmon")
    assert re.fullmatch(r"\d+\.\d+\.\d+", driftmon.__version__)
