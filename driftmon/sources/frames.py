"""Frames handed in from Python code (`driftmon.check(frame)`, `Monitor.check(frame)`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from driftmon.errors import ConfigError
from driftmon.sources.base import Partition, Piece, ReadRequest, select_columns, unique_columns

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FrameSource"]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class FrameSource:
    """A pandas DataFrame handed in from Python code; ``name`` labels it in messages.

    Its column names must be unique, as a file's must: a repeated name would stand for two
    columns, and only the first would be read.
    """

    frame: pd.DataFrame
    name: str = "dataframe"

    def __post_init__(self) -> None:
        import pandas as pd

        if not isinstance(self.frame, pd.DataFrame):
            raise ConfigError(
                f"frame source `{self.name}`: expected a pandas DataFrame, "
                f"got `{type(self.frame).__name__}`"
            )
        unique_columns([str(c) for c in self.frame.columns], f"data frame `{self.name}`")

    def __repr__(self) -> str:
        rows, cols = self.frame.shape
        return f"FrameSource(name={self.name!r}, rows={rows}, columns={cols})"

    def key(self, *, content_hash: bool = False) -> str:
        """``"frame:<sha256>"`` of the column names and the row hashes."""
        import numpy as np
        import pandas as pd

        digest = hashlib.sha256(json.dumps([str(c) for c in self.frame.columns]).encode())
        row_hashes = pd.util.hash_pandas_object(self.frame, index=False)
        digest.update(np.ascontiguousarray(row_hashes.to_numpy()).tobytes())
        return "frame:" + digest.hexdigest()

    def describe(self) -> str:
        rows, cols = self.frame.shape
        return f"data frame `{self.name}` ({rows} rows x {cols} columns)"

    def batch_time(self) -> datetime:
        """Now: a frame does not say when its rows were produced (pass a batch time)."""
        return datetime.now(UTC)

    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def partitions(self, target_rows: int) -> list[Partition]:
        """One: the frame is in memory already, and a partition sent to a cluster carries
        its source, so cutting it would send the whole frame once per piece."""
        return [Partition(self, n_rows=len(self.frame))]

    def read(self, partition: Partition, request: ReadRequest) -> Iterator[Piece]:
        frame = self.frame
        names = [str(c) for c in frame.columns]
        selected = select_columns(names, request.columns, self.describe())
        positions = [names.index(name) for name in selected]
        total = len(frame)
        chunk_rows = request.chunk_rows
        for start in range(0, total, chunk_rows):
            piece = frame.iloc[start : start + chunk_rows, positions]
            piece.columns = selected
            yield piece, min(start + chunk_rows, total), total

    def progress_weight(self, partition: Partition) -> tuple[str, int] | None:
        return "rows", len(self.frame)

    def no_rows_message(self) -> str:
        return f"{self.describe()} has no data rows"
