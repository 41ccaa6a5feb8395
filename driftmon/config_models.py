"""The configuration file's pydantic models, with errors that name the key at fault.

Loaded only when a configuration file is read or settings are given in Python
(`driftmon.config` finds the file and falls back to every default without these models:
importing pydantic and building them is a fifth of a check's start-up).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import MISSING, fields, replace
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from driftmon.config import targets_from_env
from driftmon.errors import ConfigError
from driftmon.options import (
    DEFAULT_OPTIONS,
    DEFAULT_THRESHOLDS,
    CalibrationOptions,
    DatasetOptions,
    FeatureOptions,
    ScheduleOptions,
    Thresholds,
)

__all__ = [
    "CalibrationSettings",
    "DatasetSettings",
    "FeatureSettings",
    "ScheduleSettings",
    "Settings",
    "ThresholdSettings",
    "describe_error",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_T = DEFAULT_THRESHOLDS
_D = DEFAULT_OPTIONS


class ThresholdSettings(_Strict):
    """When a feature counts as drifted: effect size AND significance must both say so.

    Defaults and the reason for each are in `driftmon.options.Thresholds` (the one place).
    """

    kl_warning: Annotated[float, Field(gt=0)] = _T.kl_warning
    kl_critical: Annotated[float, Field(gt=0)] = _T.kl_critical
    significance: Annotated[float, Field(gt=0, lt=1)] = _T.significance
    share_change_warning: Annotated[float, Field(gt=0, le=1)] = _T.share_change_warning
    share_change_critical: Annotated[float, Field(gt=0, le=1)] = _T.share_change_critical
    unseen_warning: Annotated[float, Field(gt=0, le=1)] = _T.unseen_warning
    unseen_critical: Annotated[float, Field(gt=0, le=1)] = _T.unseen_critical
    missing_warning: Annotated[float, Field(gt=0, le=1)] = _T.missing_warning
    missing_critical: Annotated[float, Field(gt=0, le=1)] = _T.missing_critical
    unseen_min_count: Annotated[int, Field(ge=1)] = _T.unseen_min_count
    min_drifted_features: Annotated[int, Field(ge=1)] = _T.min_drifted_features

    def resolve(self, base: Thresholds = DEFAULT_THRESHOLDS) -> Thresholds:
        """``base`` with the keys this table sets (the others keep ``base``'s values);
        `Thresholds` checks the result (warning at most critical, ...)."""
        return replace(base, **self.model_dump(exclude_unset=True))


_C = {f.name: f.default for f in fields(CalibrationOptions) if f.default is not MISSING}


class CalibrationSettings(_Strict):
    """Opt-in: KL thresholds calibrated on the reference (see `driftmon.options`)."""

    batch_rows: Annotated[int, Field(ge=10)]
    resamples: Annotated[int, Field(ge=20, le=10_000)] = _C["resamples"]
    quantile: Annotated[float, Field(gt=0.5, lt=1)] = _C["quantile"]


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
        if self.cron is not None and not _CRON.fullmatch(self.cron.strip()):
            raise ValueError(
                f"`cron = {json.dumps(self.cron)}` is not a cron expression: give five fields, "
                'minute hour day-of-month month day-of-week, e.g. "0 6 * * *" (daily at 6:00), '
                'or a macro such as "@hourly"'
            )
        return self


#: The shape of a cron expression as Prefect's schedules take it (five fields, or a macro):
#: nonsense such as "every hour" is refused when the configuration loads, not under `serve`.
_CRON = re.compile(r"@(yearly|annually|monthly|weekly|daily|hourly)|[\w*/,?#-]+(\s+[\w*/,?#-]+){4}")


class DatasetSettings(_Strict):
    """Settings of one monitored dataset (``[datasets.NAME]`` in the TOML file).

    Defaults and their reasons are in `driftmon.options.DatasetOptions`; `resolve` turns
    these validated settings into those plain values.
    """

    reference: str | None = None
    folder: str | None = None
    features: list[str] | None = None
    exclude: list[str] = []
    n_bins: Annotated[int, Field(ge=1, le=10_000)] = _D.n_bins
    max_categories: Annotated[int, Field(ge=1, le=100_000)] = _D.max_categories
    vocabulary_cap: Annotated[int, Field(ge=1)] = _D.vocabulary_cap
    alpha: Annotated[float, Field(ge=0)] = _D.alpha
    correction: Literal["bh", "holm", "none"] = _D.correction
    chunk_rows: Annotated[int | None, Field(ge=1_000)] = _D.chunk_rows
    reference_sample_rows: Annotated[int, Field(ge=1_000)] = _D.reference_sample_rows
    partition_rows: Annotated[int, Field(ge=1_000)] = _D.partition_rows
    thresholds: ThresholdSettings = ThresholdSettings()
    feature: dict[str, FeatureSettings] = {}
    schedule: ScheduleSettings | None = None
    notify: list[str] = []
    resolve_after: Annotated[int, Field(ge=1)] = _D.resolve_after
    calibration: CalibrationSettings | None = None

    def resolve(self, environ: Mapping[str, str] | None = None) -> DatasetOptions:
        """The plain values the pipeline takes; ``DRIFTMON_NOTIFY``'s targets (read from
        ``environ``, default the process environment) join the configured ones. A feature's
        ``thresholds`` table overrides only the keys it sets: the rest are the dataset's."""
        thresholds = _resolved(self.thresholds, DEFAULT_THRESHOLDS, "thresholds")
        return DatasetOptions(
            reference=self.reference,
            folder=self.folder,
            features=tuple(self.features) if self.features is not None else None,
            exclude=tuple(self.exclude),
            n_bins=self.n_bins,
            max_categories=self.max_categories,
            vocabulary_cap=self.vocabulary_cap,
            alpha=self.alpha,
            correction=self.correction,
            chunk_rows=self.chunk_rows,
            reference_sample_rows=self.reference_sample_rows,
            partition_rows=self.partition_rows,
            thresholds=thresholds,
            feature={
                name: FeatureOptions(
                    kind=f.type,
                    n_bins=f.n_bins,
                    max_categories=f.max_categories,
                    thresholds=(
                        _resolved(f.thresholds, thresholds, f"feature.{name}.thresholds")
                        if f.thresholds
                        else None
                    ),
                )
                for name, f in self.feature.items()
            },
            schedule=(
                ScheduleOptions(self.schedule.cron, self.schedule.interval_seconds)
                if self.schedule
                else None
            ),
            notify=tuple(dict.fromkeys([*self.notify, *targets_from_env(environ)])),
            resolve_after=self.resolve_after,
            calibration=(
                CalibrationOptions(**self.calibration.model_dump()) if self.calibration else None
            ),
        )


class ComputeSettings(_Strict):
    """Where counting runs (``[compute]``): ``dask`` names a Dask scheduler (``tcp://host:8786``)
    or ``local`` (a cluster on this machine); unset, counting runs in the command's process.
    ``--dask`` and ``DRIFTMON_DASK_ADDRESS`` win over it (`driftmon.compute`)."""

    dask: str | None = None


class Settings(_Strict):
    """The whole configuration file."""

    database: str | None = None
    reports_dir: str = "reports"
    compute: ComputeSettings = ComputeSettings()
    defaults: DatasetSettings = DatasetSettings()
    datasets: dict[str, dict[str, Any]] = {}

    def dataset(self, name: str, overrides: Mapping[str, Any] | None = None) -> DatasetOptions:
        """A dataset's settings resolved: ``[defaults]`` overlaid with ``[datasets.NAME]``,
        then with ``overrides`` (the same keys, given as keyword arguments in Python), plus the
        notification targets of ``DRIFTMON_NOTIFY``."""
        settings = self.dataset_settings(name, overrides)  # its errors name their keys
        try:
            return settings.resolve()
        except ConfigError as error:
            where = "" if overrides else f"datasets.{name}."
            raise ConfigError(f"{where}{error}") from None

    def dataset_settings(
        self, name: str, overrides: Mapping[str, Any] | None = None
    ) -> DatasetSettings:
        """A dataset's validated settings, before resolution. A section named as the dataset
        but for case (``[datasets.Orders]`` for ``orders``) is a typo, not a dataset of its
        own with defaults: refused, naming both."""
        if name not in self.datasets:
            same = [key for key in self.datasets if key.casefold() == name.casefold()]
            if same:
                raise ConfigError(
                    f"the configuration has no `[datasets.{name}]` but has "
                    f"`[datasets.{same[0]}]`: dataset names are case-sensitive; name the "
                    f"section `{name}`, or the dataset `{same[0]}`"
                )
        if overrides:
            try:  # on their own first, so that an error names the keyword at fault
                DatasetSettings.model_validate(overrides)
            except ValidationError as error:
                raise ConfigError(describe_error(error, DatasetSettings, keywords=True)) from None
        merged = _deep_merge(
            self.defaults.model_dump(exclude_unset=True), self.datasets.get(name, {})
        )
        merged = _deep_merge(merged, dict(overrides or {}))
        try:
            return DatasetSettings.model_validate(merged)
        except ValidationError as error:
            raise ConfigError(
                describe_error(error, DatasetSettings, prefix=f"datasets.{name}")
            ) from None

    def scheduled_datasets(self) -> dict[str, DatasetOptions]:
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
        """Resolve ``[defaults]`` and every dataset now, so a mistake fails on loading."""
        try:
            self.defaults.resolve()
        except ConfigError as error:
            raise ConfigError(f"defaults.{error}") from None
        for name in self.datasets:
            self.dataset(name)
        self.scheduled_datasets()  # a schedule without a folder is a mistake for every command


def _resolved(table: ThresholdSettings, base: Thresholds, key: str) -> Thresholds:
    """A thresholds table over ``base``, its errors named by the table's key."""
    try:
        return table.resolve(base)
    except ConfigError as error:
        raise ConfigError(f"{key}: {str(error).removeprefix('thresholds: ')}") from None


def describe_error(
    error: ValidationError,
    model: type[BaseModel],
    prefix: str = "",
    *,
    keywords: bool = False,
) -> str:
    """One line per problem: the dotted key, what is wrong, and the allowed values or keys.

    ``model`` is the model that was validated (its keys give "did you mean" hints), ``prefix``
    the key it sits at in the file; ``keywords``: the settings were Python keyword arguments,
    not a configuration file, and the messages say so.
    """
    problems = []
    for item in error.errors():
        loc = tuple(str(part) for part in item["loc"])
        key = ".".join(part for part in (prefix, *loc) if part != "")
        if item["type"] == "extra_forbidden":
            problems.append(_unknown_key(model, loc, key, keywords=keywords))
        elif item["type"] == "model_type":
            problems.append(_not_a_table(model, loc, key, item.get("input"), keywords=keywords))
        else:
            problems.append(f"`{key}`: {item['msg']} (got `{item.get('input')!r}`)")
    return "; ".join(problems)


#: What a table must look like, where listing its keys is not enough.
_TABLE_EXAMPLES: dict[type[BaseModel], str] = {
    ScheduleSettings: '`schedule.cron = "0 6 * * *"` or `schedule.interval_seconds = 3600`',
}


def _unknown_key(model: type[BaseModel], loc: tuple[str, ...], key: str, *, keywords: bool) -> str:
    """An unknown key, with the known key it was probably meant to be or the keys allowed."""
    if keywords:
        where = (
            f"unknown keyword argument `{key}`"
            if len(loc) == 1
            else f"unknown key `{key}` in keyword argument `{loc[0]}`"
        )
    else:
        where = f"unknown key `{key}`"
    if model is Settings and len(loc) == 1 and loc[0] in DatasetSettings.model_fields:
        return (
            f"{where}: dataset settings go under `[defaults]` (every dataset) or "
            f"`[datasets.NAME]` (one dataset)"
        )
    parent = _model_at(model, loc[:-1])
    known = sorted(parent.model_fields) if parent else []
    close = difflib.get_close_matches(loc[-1], known, n=1)
    if close:
        return f"{where} (did you mean `{close[0]}`?)"
    if known:
        return f"{where} (expected one of {', '.join(f'`{k}`' for k in known)})"
    return where


def _not_a_table(
    model: type[BaseModel], loc: tuple[str, ...], key: str, value: Any, *, keywords: bool
) -> str:
    """A value given where a table (a dict, in Python) of settings belongs."""
    table = _model_at(model, loc)
    shape = "a dict" if keywords else "a table"
    if table is None:
        return f"`{key}` must be {shape} of settings (got `{value!r}`)"
    example = _TABLE_EXAMPLES.get(table)
    if example and not keywords:
        return f"`{key}` must be a table: {example} (got `{value!r}`)"
    keys = ", ".join(f"`{k}`" for k in table.model_fields)
    return f"`{key}` must be {shape} with the keys {keys} (got `{value!r}`)"


def _model_at(model: type[BaseModel], loc: tuple[str, ...]) -> type[BaseModel] | None:
    """The settings model at a key path below ``model``, through tables of named tables
    (``feature.NAME``); None where the path leads to a plain value or is unknown."""
    current: type[BaseModel] | None = model
    parts = list(loc)
    while parts and current is not None:
        field = current.model_fields.get(parts.pop(0))
        found = _table_type(field.annotation) if field else None
        if isinstance(found, tuple):  # dict[str, Model]: the next part names an entry
            if not parts:
                return None
            parts.pop(0)
            found = found[1]
        current = found
    return current


def _table_type(annotation: Any) -> type[BaseModel] | tuple[str, type[BaseModel]] | None:
    """The model in an annotation (``Model``, ``Model | None``), or ``("entries", Model)`` for
    ``dict[str, Model]``; None for a plain value."""
    if _is_model(annotation):
        return annotation
    if get_origin(annotation) is dict:
        value = get_args(annotation)[1]
        return ("entries", value) if _is_model(value) else None
    return next((arg for arg in get_args(annotation) if _is_model(arg)), None)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
