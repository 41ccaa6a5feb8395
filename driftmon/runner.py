"""Where a job runs: through Prefect when there is a Prefect API to report to, in-process when not.

Prefect has no local mode: with no API configured, every flow run starts a temporary server
(8-10 s on a small machine) whose records vanish with the process. So driftmon runs its jobs
through the Prefect flows only when an API is configured (``PREFECT_API_URL`` in the
environment, in ``prefect.toml`` in the working directory, or in the active Prefect profile,
where ``prefect config set PREFECT_API_URL=...`` writes it), or when asked to
(``--prefect`` / ``DRIFTMON_PREFECT=always``); otherwise it runs the same job bodies
(`driftmon.jobs`) in this process, importing nothing from Prefect. ``DRIFTMON_PREFECT=never``
never uses Prefect.

The API URL is read from those places directly, because importing Prefect's settings imports
all of Prefect (about a second): a command that needs no Prefect must not pay for it.
"""

from __future__ import annotations

import logging
import os
import tomllib
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from driftmon.errors import ConfigError, DriftmonError

__all__ = [
    "PREFECT_ENV",
    "Mode",
    "check_api",
    "choose_mode",
    "heartbeats_wanted",
    "prefect_api_url",
    "quiet_prefect",
    "run_job",
]

#: ``always`` runs every job through Prefect (a temporary server if no API is configured),
#: ``never`` runs none through it, ``auto`` (or unset) through it when an API is configured.
PREFECT_ENV = "DRIFTMON_PREFECT"
_CHOICES = ("auto", "always", "never")


@dataclass(frozen=True, slots=True)
class Mode:
    """How jobs run: ``prefect`` (with ``api_url``, or None for a temporary server) or
    ``local``; ``reason`` says why, for ``-v``."""

    kind: Literal["prefect", "local"]
    api_url: str | None
    reason: str

    def describe(self) -> str:
        if self.kind == "local":
            return f"running in-process, without Prefect ({self.reason})"
        where = f"the Prefect API at {self.api_url}" if self.api_url else "a temporary server"
        return f"running through Prefect, {where} ({self.reason})"


def prefect_api_url(
    environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> tuple[str | None, str]:
    """The configured Prefect API URL (None if none) and where it was found.

    Looked up as Prefect does, most specific first: the environment, ``prefect.toml`` in the
    working directory (``[api] url``), then the active profile of ``PREFECT_PROFILES_PATH``
    (default ``$PREFECT_HOME/profiles.toml``, ``PREFECT_HOME`` default ``~/.prefect``), the
    active one being ``PREFECT_PROFILE`` or the file's ``active``. An empty value means none.
    """
    url, where = _prefect_setting(("PREFECT_API_URL",), ("api", "url"), environ, cwd)
    # an empty value in the environment or prefect.toml means none, and says where
    if isinstance(url, str) and (url.strip() or not where.startswith("profile")):
        return url.strip() or None, where
    return None, "no Prefect API configured"


def _prefect_setting(
    names: tuple[str, ...],
    toml_key: tuple[str, str],
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[Any, str]:
    """A Prefect setting as the user set it (None if nowhere) and where: the environment,
    ``prefect.toml`` in the working directory, then the active profile of
    ``PREFECT_PROFILES_PATH`` (default ``$PREFECT_HOME/profiles.toml``, ``PREFECT_HOME`` default
    ``~/.prefect``), the active one being ``PREFECT_PROFILE`` or the file's ``active``."""
    environ = os.environ if environ is None else environ
    for name in names:
        if name in environ:
            return environ[name], f"{name} in the environment"
    local = (cwd or Path.cwd()) / "prefect.toml"
    value = _toml(local).get(toml_key[0], {}).get(toml_key[1])
    if value is not None:
        return value, f"{local}"
    home = Path(environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    profiles_path = Path(environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml")
    profiles = _toml(profiles_path.expanduser())
    active = environ.get("PREFECT_PROFILE") or profiles.get("active") or "ephemeral"
    settings = profiles.get("profiles", {}).get(active, {})
    for name in names:
        if name in settings:
            return settings[name], f"profile `{active}` in {profiles_path}"
    return None, "the active profile"


def choose_mode(force: str | None = None, environ: Mapping[str, str] | None = None) -> Mode:
    """Prefect or in-process: ``force`` (``always`` from ``--prefect``) wins over
    ``DRIFTMON_PREFECT``, which wins over whether an API is configured."""
    environ = os.environ if environ is None else environ
    choice = (force or environ.get(PREFECT_ENV) or "auto").strip().lower()
    if choice not in _CHOICES:
        raise ConfigError(
            f"{PREFECT_ENV} is `{choice}`; use one of {', '.join(_CHOICES)} (or leave it unset)"
        )
    url, where = prefect_api_url(environ)
    if choice == "never":
        return Mode("local", None, f"{PREFECT_ENV}=never")
    if choice == "always":
        return Mode("prefect", url, "--prefect" if force else f"{PREFECT_ENV}=always")
    if url:
        return Mode("prefect", url, f"API URL from {where}")
    return Mode("local", None, "no Prefect API configured; --prefect to use one anyway")


def check_api(url: str, timeout: float = 5.0) -> None:
    """Fail with one clear line if the Prefect API does not answer its health check.

    Raises
    ------
    DriftmonError
        The API cannot be reached or answers with an error.
    """
    health = url.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(health, timeout=timeout) as response:
            if response.status >= 400:
                raise OSError(f"HTTP {response.status}")
    except (OSError, ValueError, urllib.error.URLError) as error:
        reason = getattr(error, "reason", None) or error
        raise DriftmonError(
            f"the Prefect API at `{url}` does not answer ({reason}); start the server "
            "(`prefect server start --host 127.0.0.1`), fix PREFECT_API_URL, or run without "
            f"Prefect: unset it (`prefect config unset PREFECT_API_URL`) or set {PREFECT_ENV}=never"
        ) from None


def run_job(mode: Mode, job: str, **params: Any) -> Any:
    """Run one of `driftmon.jobs`' jobs (``build_reference``, ``check_batch``,
    ``check_new_batches``) as a Prefect flow or in-process, as ``mode`` says."""
    if mode.kind == "local":
        from driftmon import jobs

        return getattr(jobs, job)(jobs.local_steps(), **params)
    quiet_prefect()
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from driftmon import flows

    flow = {
        "build_reference": flows.build_reference_flow,
        "check_batch": flows.check_batch_flow,
        "check_new_batches": flows.check_new_batches_flow,
    }[job]
    if params.get("dask"):
        from driftmon.compute import task_runner
        from driftmon.flows._tasks import plain_parameters

        # partitions are counted as tasks of this runner (`driftmon.flows.check`)
        flow = plain_parameters(flow.with_options(task_runner=task_runner(params["dask"])))
    if heartbeats_wanted():
        return flow(**params)
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        return flow(**params)


def quiet_prefect(verbose: bool = False) -> None:
    """Prefect defaults driftmon sets for its runs unless the user set them (offline, no
    analytics, Prefect's logs on the terminal only with ``verbose``), before Prefect loads.

    Only Prefect's console handler is quieted, not its loggers: a run's log lines still
    reach the API, so they show in the Prefect UI (and a served run's too, whose process
    inherits these settings).
    """
    defaults = {
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "INFO" if verbose else "CRITICAL",
        "PREFECT_LOGGING_SERVER_LEVEL": "WARNING" if verbose else "CRITICAL",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    if not verbose:
        # the temporary server can log a cancelled event flush at shutdown: not the user's
        # business unless they asked for Prefect's logs
        for name in ("prefect.server", "uvicorn"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def heartbeats_wanted(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> bool:
    """Whether the user set Prefect's flow-run heartbeats (anywhere Prefect reads settings).

    Heartbeats let a server notice a crashed run of a deployment (after three missed beats,
    by default nine minutes); a command's run reports its own end within seconds. And their
    thread, which sleeps in one-second steps, is joined at the end of every flow run: about
    1 s more per command (``benchmarks/bench_prefect.py``). So a command's flow runs without
    them unless the user set them; deployments served by ``driftmon serve`` keep Prefect's
    default."""
    value, _ = _prefect_setting(
        ("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "PREFECT_RUNNER_HEARTBEAT_FREQUENCY"),
        ("flows", "heartbeat_frequency"),
        environ,
        cwd,
    )
    return value is not None


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
