"""The configuration: pydantic models of the TOML file, with errors that name the key at fault.

driftmon works with no configuration at all; a TOML file (``config/driftmon.toml`` documents
every key) adds per-dataset settings. The file is found from ``--config``, else the
``DRIFTMON_CONFIG`` environment variable, else ``driftmon.toml`` in the working directory if it
exists. Unknown keys are errors (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from driftmon.bins import DEFAULT_MAX_CATEGORIES, DEFAULT_N_BINS
from driftmon.divergence import DEFAULT_ALPHA
from driftmon.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "DatasetSettings",
    "FeatureSettings",
    "Settings",
    "ThresholdSettings",
    "find_config",
    "load_settings",
]

CONFIG_ENV = "DRIFTMON_CONFIG"
DEFAULT_CONFIG_NAME = "driftmon.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThresholdSettings(_Strict):
    """When a feature counts as drifted: effect size AND significance must both say so.

    ``kl_warning`` / ``kl_critical``: smoothed ``D(reference || current)`` in nats. 0.02 sits well
    above negligible changes (a 0.02 sd mean shift gives ~0.0002) and below real ones (a 0.5 sd
    shift ~0.1, a doubled variance ~0.08, a new category with 5% of rows ~0.05).
    ``significance``: level for the corrected p-value. 0.01 keeps healthy runs flagged well under
    5% even for 50-row batches over many features.
    ``unseen_*``: excess share of values in categories the reference never saw, or outside the
    reference range (1% / 5%): a batch from the reference distribution has about
    ``2 / n_reference`` of its values beyond the reference's extremes, far below 1%.
    ``unseen_min_count``: at least 5 such values: a single value beyond a continuous
    reference's extremes happens by chance and proves nothing.
    ``missing_*``: absolute change of the missing share (5 / 20 percentage points).
    ``min_drifted_features``: a batch with this many drifted features gets a dataset-level alert.
    """

    kl_warning: Annotated[float, Field(gt=0)] = 0.02
    kl_critical: Annotated[float, Field(gt=0)] = 0.1
    significance: Annotated[float, Field(gt=0, lt=1)] = 0.01
    unseen_warning: Annotated[float, Field(gt=0, le=1)] = 0.01
    unseen_critical: Annotated[float, Field(gt=0, le=1)] = 0.05
    missing_warning: Annotated[float, Field(gt=0, le=1)] = 0.05
    missing_critical: Annotated[float, Field(gt=0, le=1)] = 0.2
    unseen_min_count: Annotated[int, Field(ge=1)] = 5
    min_drifted_features: Annotated[int, Field(ge=1)] = 3

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdSettings:
        for low, high in (
            ("kl_warning", "kl_critical"),
            ("unseen_warning", "unseen_critical"),
            ("missing_warning", "missing_critical"),
        ):
            if getattr(self, high) < getattr(self, low):
                raise ValueError(f"{high} must be at least {low}")
        return self


class CalibrationSettings(_Strict):
    """Opt-in: KL thresholds calibrated on the reference by resampling batches of its rows.

    ``batch_rows``: the expected batch size; ``resamples``: how many batches are drawn
    (contiguous blocks of rows, so clumped data keeps its clumps); ``quantile``: the healthy
    score a warning must exceed. Defaults stay a floor: calibration only raises thresholds.
    """

    batch_rows: Annotated[int, Field(ge=10)]
    resamples: Annotated[int, Field(ge=20, le=10_000)] = 200
    quantile: Annotated[float, Field(gt=0.5, lt=1)] = 0.99


class FeatureSettings(_Strict):
    """Per-feature overrides."""

    type: Literal["numeric", "categorical"] | None = None
    n_bins: Annotated[int, Field(ge=1, le=10_000)] | None = None
    max_categories: Annotated[int, Field(ge=1, le=100_000)] | None = None
    thresholds: ThresholdSettings | None = None


class ScheduleSettings(_Strict):
    """When the "check new batches" deployment runs: a cron string or an interval."""

    cron: str | None = None
    interval_seconds: Annotated[int, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ScheduleSettings:
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError("give exactly one of `cron` or `interval_seconds`")
        return self


class DatasetSettings(_Strict):
    """Settings of one monitored dataset (``[datasets.NAME]`` in the TOML file)."""

    reference: str | None = None
    folder: str | None = None
    features: list[str] | None = None
    exclude: list[str] = []
    n_bins: Annotated[int, Field(ge=1, le=10_000)] = DEFAULT_N_BINS
    max_categories: Annotated[int, Field(ge=1, le=100_000)] = DEFAULT_MAX_CATEGORIES
    alpha: Annotated[float, Field(ge=0)] = DEFAULT_ALPHA
    correction: Literal["bh", "holm", "none"] = "bh"
    chunk_rows: Annotated[int, Field(ge=1_000)] = 100_000
    reference_sample_rows: Annotated[int, Field(ge=1_000)] = 1_000_000
    thresholds: ThresholdSettings = ThresholdSettings()
    feature: dict[str, FeatureSettings] = {}
    schedule: ScheduleSettings | None = None
    notify: list[str] = []
    resolve_after: Annotated[int, Field(ge=1)] = 2
    calibration: CalibrationSettings | None = None

    def kinds(self) -> dict[str, str]:
        return {name: f.type for name, f in self.feature.items() if f.type is not None}

    def n_bins_for(self, columns: list[str]) -> dict[str, int]:
        """Bin count of every column: the feature's override, else the dataset's."""
        return {
            c: (self.feature[c].n_bins if c in self.feature else None) or self.n_bins
            for c in columns
        }

    def max_categories_for(self, columns: list[str]) -> dict[str, int]:
        return {
            c: (self.feature[c].max_categories if c in self.feature else None)
            or self.max_categories
            for c in columns
        }

    def thresholds_for(self, feature: str) -> ThresholdSettings:
        override = self.feature.get(feature)
        return override.thresholds if override and override.thresholds else self.thresholds


class Settings(_Strict):
    """The whole configuration file."""

    database: str | None = None
    reports_dir: str = "reports"
    defaults: DatasetSettings = DatasetSettings()
    datasets: dict[str, dict[str, Any]] = {}

    def dataset(self, name: str) -> DatasetSettings:
        """A dataset's settings: ``[defaults]`` overlaid with ``[datasets.NAME]``."""
        merged = _deep_merge(
            self.defaults.model_dump(exclude_unset=True), self.datasets.get(name, {})
        )
        try:
            return DatasetSettings.model_validate(merged)
        except ValidationError as error:
            raise ConfigError(_describe(error, prefix=f"datasets.{name}")) from None

    def scheduled_datasets(self) -> dict[str, DatasetSettings]:
        """Datasets with a schedule; each needs a ``folder`` to look for new batches in."""
        scheduled = {}
        for name in self.datasets:
            dataset = self.dataset(name)
            if dataset.schedule is None:
                continue
            if not dataset.folder:
                raise ConfigError(
                    f"`datasets.{name}.schedule` is set but `datasets.{name}.folder` is not: "
                    "a scheduled check needs the folder where new batches arrive"
                )
            scheduled[name] = dataset
        return scheduled

    def validate_datasets(self) -> None:
        for name in self.datasets:
            self.dataset(name)


def find_config(explicit: str | Path | None = None) -> Path | None:
    """The config file to use: explicit path, else ``$DRIFTMON_CONFIG``, else ./driftmon.toml."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.is_file() else None


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and validate a TOML configuration; no path means all defaults."""
    if path is None:
        return Settings()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"config file `{path}` does not exist; pass an existing file with --config or "
            f"{CONFIG_ENV}, or omit it to use the defaults"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file `{path}` cannot be read: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file `{path}` is not valid TOML: {error}") from None
    try:
        settings = Settings.model_validate(raw)
        settings.validate_datasets()
    except ValidationError as error:
        raise ConfigError(f"config file `{path}`: {_describe(error)}") from None
    except ConfigError as error:
        raise ConfigError(f"config file `{path}`: {error}") from None
    return settings


def _describe(error: ValidationError, prefix: str = "") -> str:
    """One line per problem: the dotted key, what is wrong, and the allowed values."""
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown key `{key}` (check its spelling in config/driftmon.toml)")
        else:
            problems.append(f"`{key}`: {item['msg']} (got `{item.get('input')!r}`)")
    return "; ".join(problems)


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
