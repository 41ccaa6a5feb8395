"""The configuration: where the TOML file is, and what it (or its absence) says.

driftmon works with no configuration at all; a TOML file (``config/driftmon.toml`` documents
every key) adds per-dataset settings. The file is found from ``--config``, else the
``DRIFTMON_CONFIG`` environment variable, else ``driftmon.toml`` in the working directory if it
exists. Unknown keys are errors (a typo must not silently fall back to a default).

The file's models (`driftmon.config_models`, pydantic) load only when a file is read or
settings are given in Python; with no file, `NoConfig` gives every default without them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftmon._lazy import lazy_exports
from driftmon.errors import ConfigError
from driftmon.options import DEFAULT_OPTIONS, DatasetOptions

if TYPE_CHECKING:
    from driftmon.config_models import (
        Settings,
    )

__all__ = [
    "CONFIG_ENV",
    "NOTIFY_ENV",
    "NoConfig",
    "configured_dask",
    "find_config",
    "load_settings",
    "targets_from_env",
]

CONFIG_ENV = "DRIFTMON_CONFIG"
#: Environment variable holding notification URLs, separated by whitespace or commas.
NOTIFY_ENV = "DRIFTMON_NOTIFY"
DEFAULT_CONFIG_NAME = "driftmon.toml"
# A comma separates two URLs only where the next one starts; commas inside a URL
# (``mailto://...?to=a@x.org,b@x.org``) belong to it, as in apprise's own URL lists.
_COMMA_BEFORE_URL = re.compile(r",+(?=[A-Za-z][A-Za-z0-9+.-]*://)")
#: The models, importable from here as before (loaded on first use).
__getattr__ = lazy_exports(
    __name__,
    dict.fromkeys(
        [
            "CalibrationSettings",
            "ComputeSettings",
            "DatasetSettings",
            "FeatureSettings",
            "ScheduleSettings",
            "Settings",
            "ThresholdSettings",
        ],
        "driftmon.config_models",
    ),
)


@dataclass(frozen=True)
class NoConfig:
    """The settings when there is no configuration file: what an empty file gives
    (`Settings()`), without loading the models (tested equal)."""

    database: str | None = None
    reports_dir: str = "reports"
    datasets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    compute: Any = None

    def dataset(self, name: str, overrides: Mapping[str, Any] | None = None) -> DatasetOptions:
        """Every default, plus ``DRIFTMON_NOTIFY``'s targets (``overrides``: validated by
        the models, as in `Settings.dataset`)."""
        if overrides:
            from driftmon.config_models import Settings

            return Settings().dataset(name, overrides)
        return replace(DEFAULT_OPTIONS, notify=tuple(dict.fromkeys(targets_from_env())))

    def scheduled_datasets(self) -> dict[str, DatasetOptions]:
        return {}


def configured_dask(settings: Settings | NoConfig) -> str | None:
    """The configuration's ``[compute] dask`` (None when unset); see `driftmon.compute`."""
    return None if settings.compute is None else settings.compute.dask


def targets_from_env(environ: Mapping[str, str] | None = None) -> list[str]:
    """The notification URLs listed in ``DRIFTMON_NOTIFY``, in order.

    URLs are separated by whitespace or commas; a comma inside a URL (several e-mail
    recipients) is kept, since a comma separates only where the next ``scheme://`` starts.

    Examples
    --------
    >>> env = {NOTIFY_ENV: "json://a/x, mailto://h?to=a@x.org,b@x.org\\n slack://T/B/C,json://b"}
    >>> targets_from_env(env)
    ['json://a/x', 'mailto://h?to=a@x.org,b@x.org', 'slack://T/B/C', 'json://b']
    >>> targets_from_env({})
    []
    """
    value = (os.environ if environ is None else environ).get(NOTIFY_ENV, "")
    urls = []
    for chunk in value.split():
        urls += [url.strip(",") for url in _COMMA_BEFORE_URL.split(chunk)]
    return [url for url in urls if url]


def find_config(explicit: str | Path | None = None) -> Path | None:
    """The config file to use: explicit path, else ``$DRIFTMON_CONFIG``, else ./driftmon.toml."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.is_file() else None


def load_settings(path: str | Path | None = None) -> Settings | NoConfig:
    """Read and validate a TOML configuration; no path means all defaults (`NoConfig`)."""
    if path is None:
        return NoConfig()
    from pydantic import ValidationError

    from driftmon.config_models import Settings, describe_error

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
        raise ConfigError(f"config file `{path}`: {describe_error(error, Settings)}") from None
    except ConfigError as error:
        raise ConfigError(f"config file `{path}`: {error}") from None
    return settings
