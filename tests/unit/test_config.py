from __future__ import annotations

from pathlib import Path

import pytest

from driftmon.config import configured_dask, find_config, load_settings
from driftmon.errors import ConfigError
from driftmon.options import CHUNK_VALUES, DatasetOptions

EXAMPLE = Path(__file__).parents[2] / "config" / "driftmon.toml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "driftmon.toml"
    path.write_text(text)
    return path


def test_no_config_means_documented_defaults() -> None:
    settings = load_settings(None).dataset("anything")
    assert settings.n_bins == 20
    assert settings.alpha == 0.5
    assert settings.correction == "bh"
    assert settings.thresholds.kl_warning == 0.02


def test_the_example_config_is_valid_and_overrides_per_dataset_and_feature() -> None:
    settings = load_settings(EXAMPLE)
    orders = settings.dataset("orders")
    assert orders.folder == "demo/data/batches"
    assert orders.kinds() == {"items": "numeric"}
    assert orders.n_bins_for(["order_value", "country"]) == {"order_value": 32, "country": 20}
    assert orders.thresholds_for("order_value").kl_warning == 0.03
    assert orders.thresholds_for("country").kl_warning == 0.02
    assert orders.schedule is not None and orders.schedule.cron == "0 * * * *"


def test_dataset_settings_overlay_the_defaults(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "[defaults]\nn_bins = 10\n[defaults.thresholds]\nkl_warning = 0.05\n"
        "[datasets.a]\nalpha = 1.0\n[datasets.a.thresholds]\nsignificance = 0.001\n",
    )
    a = load_settings(path).dataset("a")
    assert (a.n_bins, a.alpha) == (10, 1.0)
    assert (a.thresholds.kl_warning, a.thresholds.significance) == (0.05, 0.001)


def test_a_dataset_section_named_but_for_case_is_a_typo_not_defaults(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, "[datasets.Orders]\nn_bins = 7\n"))
    with pytest.raises(ConfigError) as raised:
        settings.dataset("orders")
    assert "no `[datasets.orders]` but has `[datasets.Orders]`" in str(raised.value)
    assert settings.dataset("Orders").n_bins == 7
    assert settings.dataset("returns").n_bins == DatasetOptions().n_bins  # unnamed: defaults


def test_a_bad_value_names_the_key_and_the_allowed_values(tmp_path: Path) -> None:
    path = _write(tmp_path, '[defaults]\ncorrection = "bonferroni"\n')
    with pytest.raises(ConfigError, match=r"`defaults.correction`: Input should be 'bh', 'holm'"):
        load_settings(path)


def test_a_bad_dataset_value_names_the_dataset_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "[datasets.orders]\nn_bins = 0\n")
    with pytest.raises(ConfigError, match=r"`datasets.orders.n_bins`: Input should be greater"):
        load_settings(path)


def test_an_unknown_key_is_an_error_not_a_silent_default(tmp_path: Path) -> None:
    path = _write(tmp_path, "[defaults]\nnbins = 3\n")
    with pytest.raises(ConfigError, match=r"unknown key `defaults.nbins`"):
        load_settings(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[datasets.users]\nfoo = 1\n",
            "unknown key `datasets.users.foo` (expected one of `alpha`, `calibration`,",
        ),
        (
            "n_bins = 10\n",
            "unknown key `n_bins`: dataset settings go under `[defaults]` (every dataset) or "
            "`[datasets.NAME]` (one dataset)",
        ),
        (
            '[datasets.users]\nschedule = "daily"\n',
            '`datasets.users.schedule` must be a table: `schedule.cron = "0 6 * * *"` or '
            "`schedule.interval_seconds = 3600` (got `'daily'`)",
        ),
        (
            "[datasets.users.feature]\nage = 3\n",
            "`datasets.users.feature.age` must be a table with the keys `type`, `n_bins`, "
            "`max_categories`, `thresholds` (got `3`)",
        ),
    ],
    ids=["no-close-key", "top-level-dataset-setting", "schedule-string", "feature-number"],
)
def test_a_config_mistake_says_what_belongs_there(tmp_path: Path, text: str, expected: str) -> None:
    """Hints that work without the repository: the keys allowed where the mistake is, where
    dataset settings go, what a table must look like (never a model's class name)."""
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    message = str(raised.value)
    assert message.startswith(f"config file `{path}`: {expected}")
    assert "Settings" not in message and "config/driftmon.toml" not in message


def test_keyword_arguments_are_named_as_such_not_as_config_keys() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(None).dataset("data", {"n_binz": 3})
    assert str(raised.value) == "unknown keyword argument `n_binz` (did you mean `n_bins`?)"
    with pytest.raises(ConfigError) as raised:
        load_settings(None).dataset("data", {"thresholds": {"kl_warnig": 0.1}})
    assert str(raised.value) == (
        "unknown key `thresholds.kl_warnig` in keyword argument `thresholds` "
        "(did you mean `kl_warning`?)"
    )


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            "[datasets.users.thresholds]\nkl_warnig = 0.1\n",
            "unknown key `datasets.users.thresholds.kl_warnig` (did you mean `kl_warning`?)",
        ),
        (
            '[datasets.users.feature.age]\ntype = "numerc"\n',
            "`datasets.users.feature.age.type`: Input should be 'numeric' or 'categorical' "
            "(got `'numerc'`)",
        ),
    ],
    ids=["unknown-key", "bad-value"],
)
def test_a_dataset_key_at_fault_is_named_once(tmp_path: Path, table: str, expected: str) -> None:
    path = _write(tmp_path, table)
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    assert str(raised.value) == f"config file `{path}`: {expected}"


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(_write(tmp_path, "[defaults\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_thresholds_must_be_ordered(tmp_path: Path) -> None:
    path = _write(tmp_path, "[defaults.thresholds]\nkl_warning = 0.5\nkl_critical = 0.1\n")
    with pytest.raises(
        ConfigError, match=r"defaults.thresholds: need 0 < kl_warning <= kl_critical"
    ):
        load_settings(path)


def test_schedule_needs_exactly_one_of_cron_or_interval(tmp_path: Path) -> None:
    path = _write(tmp_path, "[datasets.a.schedule]\n")
    with pytest.raises(ConfigError, match="exactly one of `cron` or `interval_seconds`"):
        load_settings(path)


@pytest.mark.parametrize("cron", ["every hour", "0 6 * *", "* * * * * * *", ""])
def test_a_cron_schedule_that_is_not_one_is_refused_on_loading(tmp_path: Path, cron: str) -> None:
    path = _write(tmp_path, f'[datasets.a.schedule]\ncron = "{cron}"\n')
    with pytest.raises(ConfigError, match="is not a cron expression: give five fields"):
        load_settings(path)


@pytest.mark.parametrize("cron", ["0 6 * * *", "*/15 8-18 * * MON-FRI", "@hourly", "0 0 1 JAN ?"])
def test_cron_schedules_load(tmp_path: Path, cron: str) -> None:
    text = f'[datasets.a]\nfolder = "in"\n[datasets.a.schedule]\ncron = "{cron}"\n'
    settings = load_settings(_write(tmp_path, text))
    assert settings.dataset("a").schedule.cron == cron


def test_config_is_found_from_flag_then_environment_then_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DRIFTMON_CONFIG", raising=False)
    assert find_config(None) is None
    _write(tmp_path, "")
    assert find_config(None) == Path("driftmon.toml")
    monkeypatch.setenv("DRIFTMON_CONFIG", "/elsewhere.toml")
    assert find_config(None) == Path("/elsewhere.toml")
    assert find_config("explicit.toml") == Path("explicit.toml")


def test_a_feature_thresholds_table_overrides_only_the_keys_it_sets(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "[defaults.thresholds]\nsignificance = 0.001\nkl_warning = 0.05\n"
        "[datasets.d.feature.x.thresholds]\nkl_critical = 0.3\n",
    )
    options = load_settings(path).dataset("d")
    x, other = options.thresholds_for("x"), options.thresholds_for("y")
    assert (x.significance, x.kl_warning, x.kl_critical) == (0.001, 0.05, 0.3)
    assert (other.significance, other.kl_warning, other.kl_critical) == (0.001, 0.05, 0.1)


def test_a_feature_override_that_contradicts_the_dataset_names_its_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "[datasets.d.thresholds]\nkl_warning = 0.05\n"
        "[datasets.d.feature.x.thresholds]\nkl_critical = 0.03\n",
    )
    with pytest.raises(ConfigError, match=r"datasets.d.feature.x.thresholds: need 0 < kl_warning"):
        load_settings(path)


@pytest.mark.parametrize(
    ("chunk_rows", "n_columns", "expected"),
    [
        (None, 25, CHUNK_VALUES // 25),  # 240,000 rows of 25 columns: 48 MB of floats
        (None, 4, 1_000_000),  # narrow tables: at most a million rows
        (None, 5_000, 10_000),  # very wide ones: at least ten thousand
        (250_000, 25, 250_000),  # a configured size is used as is
    ],
)
def test_rows_per_chunk_hold_a_bounded_number_of_values(
    chunk_rows: int | None, n_columns: int, expected: int
) -> None:
    assert DatasetOptions(chunk_rows=chunk_rows).rows_per_chunk(n_columns) == expected


@pytest.mark.parametrize("notify", ["", "json://a/x, mailto://h?to=a@x.org"])
def test_no_config_file_gives_what_an_empty_file_gives(
    notify: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`NoConfig` spares a command loading pydantic; it must say exactly what `Settings()`
    (the models with nothing set) says."""
    from driftmon.config import NoConfig
    from driftmon.config_models import Settings

    monkeypatch.setenv("DRIFTMON_NOTIFY", notify)
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    for settings in (Settings(), load_settings(empty)):
        assert NoConfig().dataset("orders") == settings.dataset("orders")
        assert (NoConfig().database, NoConfig().reports_dir) == (
            settings.database,
            settings.reports_dir,
        )
        assert NoConfig().scheduled_datasets() == settings.scheduled_datasets() == {}
        assert configured_dask(NoConfig()) is configured_dask(settings) is None
    assert NoConfig().dataset("x", {"n_bins": 7}) == Settings().dataset("x", {"n_bins": 7})
