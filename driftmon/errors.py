"""The exception hierarchy: every error driftmon raises on purpose is a `DriftmonError`.

Subclasses exist only where a caller handles the case differently. Messages say where (file,
column, setting), what, and how to fix it; the CLI prints them as one line.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DriftmonError",
    "DriftmonWarning",
    "EmptyHistogramError",
    "InputDataError",
    "NoRowsError",
    "NotificationError",
    "ReferenceNotFoundError",
    "SchemaError",
    "SourceError",
    "StoreError",
]


class DriftmonError(Exception):
    """Root of every error driftmon raises deliberately."""


class DriftmonWarning(UserWarning):
    """Something a check did that its caller may not expect (`warnings.warn` category)."""


class ConfigError(DriftmonError):
    """A configuration value or option is invalid; the message names the key and valid values."""


class InputDataError(DriftmonError):
    """Counts, probabilities or data values that cannot be used (negative, NaN, mismatched)."""


class EmptyHistogramError(InputDataError):
    """A histogram has no observations, so no divergence can be computed for it.

    `rows` holds the indices (along the leading axes) of the empty histograms.
    """

    def __init__(self, message: str, rows: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.rows = rows


class SchemaError(DriftmonError):
    """Data does not fit the reference's schema in a way that cannot be reported per feature."""


class SourceError(DriftmonError):
    """An input source (file, folder, query) is missing, unreadable, malformed or empty."""


class NoRowsError(SourceError):
    """A source that is complete but holds no data rows (a CSV header alone, a Parquet schema
    alone): an error for `check` and `reference`, an empty batch `check-new` records as
    handled instead of trying it again every run."""


class ReferenceNotFoundError(DriftmonError):
    """No (active) reference profile exists for a dataset."""


class StoreError(DriftmonError):
    """The database could not be opened, migrated or written."""


class NotificationError(DriftmonError):
    """A notification target is invalid or a delivery failed.

    `attempts` holds how many delivery requests were made before giving up (0 when none was).
    """

    def __init__(self, message: str, attempts: int = 0) -> None:
        super().__init__(message)
        self.attempts = attempts
