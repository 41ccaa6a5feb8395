"""Deterministic example data: an online shop's order feed with known, deliberate drift.

The demo and the tests need data whose drift is known in advance: a reference, two healthy
batches, and four batches that each change exactly one feature in one recognisable way
(a shifted mean, a changed variance, a new category, a jump in missing values). Every feature
not named as changed is drawn from the reference distribution, so a monitor that flags it is
wrong. The same seed always gives byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from driftmon.errors import ConfigError

__all__ = [
    "BATCH_SCENARIOS",
    "ExampleData",
    "FileFormat",
    "example_frames",
    "generate_example_data",
]

FileFormat = Literal["csv", "parquet"]

#: Batch name (sorts chronologically), what happened in it, and the features deliberately changed.
BATCH_SCENARIOS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("2026-11-01", "healthy", frozenset()),
    ("2026-11-02", "healthy", frozenset()),
    ("2026-11-03", "shifted mean", frozenset({"order_value"})),
    ("2026-11-04", "changed variance", frozenset({"delivery_days"})),
    ("2026-11-05", "new category", frozenset({"country"})),
    ("2026-11-06", "missing jump", frozenset({"customer_age"})),
)

_COUNTRIES = ("DE", "FR", "GB", "NL", "IT", "ES", "PL", "SE")
_COUNTRY_SHARES = (0.30, 0.18, 0.14, 0.10, 0.09, 0.08, 0.06, 0.05)
_CHANNELS = ("web", "app", "store", "phone")
_CHANNEL_SHARES = (0.50, 0.30, 0.15, 0.05)
_PAYMENTS = ("card", "paypal", "invoice", "voucher")
_PAYMENT_SHARES = (0.45, 0.30, 0.17, 0.08)
_ITEM_SHARES = (0.34, 0.24, 0.16, 0.10, 0.07, 0.05, 0.025, 0.015)

_ORDER_VALUE_SCALE = 1.6
_DELIVERY_MEAN, _DELIVERY_SD = 5.0, 1.5
_NEW_COUNTRY, _NEW_COUNTRY_SHARE = "BR", 0.08
_AGE_MISSING, _AGE_MISSING_JUMP = 0.03, 0.25


@dataclass(frozen=True, slots=True)
class ExampleData:
    """Where `generate_example_data` wrote the files, and which drift each batch holds.

    ``expected_drift`` and ``scenarios`` are keyed by batch file name (e.g.
    ``2026-11-03.parquet``); ``batches`` are in chronological (= sorted) order.
    """

    reference: Path
    batches: list[Path]
    expected_drift: dict[str, frozenset[str]]
    scenarios: dict[str, str]


def example_frames(
    seed: int = 7, reference_rows: int = 20_000, batch_rows: int = 5_000
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, frozenset[str]]]:
    """The example reference and batches as DataFrames, without writing files.

    Returns
    -------
    reference, batches, expected_drift
        ``batches`` and ``expected_drift`` are keyed by batch name (``2026-11-03``), in
        chronological order; ``expected_drift`` names the features deliberately changed.
    """
    for name, value in (("reference_rows", reference_rows), ("batch_rows", batch_rows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"`{name}` must be a positive integer, got `{value}`")
    reference = _draw_orders(np.random.default_rng([seed, 0]), reference_rows)
    batches = {
        name: _draw_orders(np.random.default_rng([seed, i]), batch_rows, scenario=scenario)
        for i, (name, scenario, _) in enumerate(BATCH_SCENARIOS, start=1)
    }
    expected = {name: changed for name, _, changed in BATCH_SCENARIOS}
    return reference, batches, expected


def generate_example_data(
    folder: Path,
    *,
    seed: int = 7,
    reference_rows: int = 20_000,
    batch_rows: int = 5_000,
    file_format: FileFormat = "parquet",
) -> ExampleData:
    """Write ``reference.<ext>`` and ``batches/<date>.<ext>`` into ``folder``.

    Why: the demo and the end-to-end tests run on files, the way users do. Files are
    overwritten; batch files of the other format from an earlier run are removed so a
    ``batches/`` folder never mixes two generations.
    """
    if file_format not in ("csv", "parquet"):
        raise ConfigError(f"file_format `{file_format}` is not one of csv, parquet")
    reference, batches, expected = example_frames(seed, reference_rows, batch_rows)
    folder = Path(folder)
    batch_folder = folder / "batches"
    batch_folder.mkdir(parents=True, exist_ok=True)
    other = "csv" if file_format == "parquet" else "parquet"
    for name in batches:
        (batch_folder / f"{name}.{other}").unlink(missing_ok=True)
    (folder / f"reference.{other}").unlink(missing_ok=True)

    reference_path = folder / f"reference.{file_format}"
    _write(reference, reference_path, file_format)
    batch_paths = []
    for name, frame in batches.items():
        path = batch_folder / f"{name}.{file_format}"
        _write(frame, path, file_format)
        batch_paths.append(path)
    scenarios = {name: scenario for name, scenario, _ in BATCH_SCENARIOS}
    return ExampleData(
        reference=reference_path,
        batches=batch_paths,
        expected_drift={f"{n}.{file_format}": expected[n] for n in batches},
        scenarios={f"{n}.{file_format}": scenarios[n] for n in batches},
    )


def _draw_orders(rng: np.random.Generator, n: int, *, scenario: str = "healthy") -> pd.DataFrame:
    """``n`` orders from the reference distribution, with one feature changed per scenario.

    Every column is drawn in the same order whatever the scenario, so the unchanged columns
    of a drifted batch are exactly what a healthy batch with that seed would hold.
    """
    order_value = np.round(rng.lognormal(mean=np.log(45.0), sigma=0.6, size=n), 2)
    if scenario == "shifted mean":
        order_value = np.round(order_value * _ORDER_VALUE_SCALE, 2)

    items = rng.choice(np.arange(1, 9), size=n, p=_ITEM_SHARES)

    delivery_sd = 2 * _DELIVERY_SD if scenario == "changed variance" else _DELIVERY_SD
    delivery_days = np.round(np.clip(rng.normal(_DELIVERY_MEAN, delivery_sd, n), 0.0, None), 1)

    customer_age = np.clip(np.round(rng.normal(40.0, 12.0, n)), 18, 90)
    missing_share = _AGE_MISSING_JUMP if scenario == "missing jump" else _AGE_MISSING
    customer_age[rng.random(n) < missing_share] = np.nan

    discounted = rng.random(n) < 0.45
    discount_rate = np.where(discounted, np.round(0.5 * rng.beta(2.0, 5.0, n), 3), 0.0)

    countries, shares = _COUNTRIES, np.asarray(_COUNTRY_SHARES)
    if scenario == "new category":
        countries = (*_COUNTRIES, _NEW_COUNTRY)
        shares = np.append(shares * (1 - _NEW_COUNTRY_SHARE), _NEW_COUNTRY_SHARE)
    country = np.asarray(countries, dtype=object)[rng.choice(len(countries), size=n, p=shares)]

    channel = np.asarray(_CHANNELS, dtype=object)[
        rng.choice(len(_CHANNELS), size=n, p=_CHANNEL_SHARES)
    ]
    payment = np.asarray(_PAYMENTS, dtype=object)[
        rng.choice(len(_PAYMENTS), size=n, p=_PAYMENT_SHARES)
    ]
    payment[rng.random(n) < 0.01] = None
    is_returning = rng.random(n) < 0.62

    return pd.DataFrame(
        {
            "order_value": order_value,
            "items": items.astype(np.int64),
            "delivery_days": delivery_days,
            "customer_age": customer_age,
            "discount_rate": discount_rate,
            "country": pd.array(country, dtype="str"),
            "channel": pd.array(channel, dtype="str"),
            "payment": pd.array(payment, dtype="str"),
            "is_returning": is_returning,
        }
    )


def _write(frame: pd.DataFrame, path: Path, file_format: FileFormat) -> None:
    """Write with fixed options and no pandas metadata, so the bytes depend only on the data."""
    if file_format == "csv":
        frame.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")
        return
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    pq.write_table(
        table,
        path,
        compression="snappy",
        version="2.6",
        use_dictionary=True,
        write_statistics=True,
        row_group_size=1_000_000,
    )
