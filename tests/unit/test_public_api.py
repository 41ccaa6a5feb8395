from __future__ import annotations

import driftmon


def test_every_name_in_all_resolves() -> None:
    missing = [name for name in driftmon.__all__ if not hasattr(driftmon, name)]
    assert missing == []


def test_every_error_derives_from_driftmon_error() -> None:
    errors = [getattr(driftmon, n) for n in driftmon.__all__ if n.endswith("Error")]
    assert len(errors) >= 8
    assert all(issubclass(e, driftmon.DriftmonError) for e in errors)
