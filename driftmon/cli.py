"""The `driftmon` command: build references, check batches, list history, run the demo.

Jobs run through the Prefect flows in ``flows/`` when a Prefect API is configured (or
``--prefect``), else in this process (`driftmon.runner`). User mistakes (unknown dataset, no
reference, bad path, bad config value) are checked first and print one line on stderr with
exit code 1; anything else is a bug and keeps its traceback. Modules load when a command needs
them: ``--help`` and mistakes answer at once.
"""

from __future__ import annotations

import gc
import inspect
import json
import logging
import os
import shlex
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from driftmon import progress
from driftmon.errors import DriftmonError
from driftmon.formatting import (
    file_label,
    format_moment,
    format_p_value,
    format_share,
    format_share_points,
    name_list,
    printable,
    visible_name,
)

if TYPE_CHECKING:
    from driftmon.results import CheckResult

CONFIG_ENV = "DRIFTMON_CONFIG"  # the same as driftmon.config.CONFIG_ENV (tested)

DB_ENV = "DRIFTMON_DB_URL"
DEMO_DATASET = "orders"
EXAMPLE_CONFIG = Path("config") / "driftmon.toml"
#: Exit status of `check` / `check-new` when ``--fail-on`` is reached: not 1 (errors) nor 2
#: (usage), so a CI step can tell drift from a broken check.
DRIFT_EXIT_CODE = 3


class FailLevel(StrEnum):
    """Verdicts that ``--fail-on`` can name."""

    warning = "warning"
    critical = "critical"


FailOn = Annotated[
    FailLevel | None,
    typer.Option(
        "--fail-on",
        help="Exit with status 3 when a checked batch's verdict reaches this level "
        "(default: drift never changes the exit status).",
    ),
]

app = typer.Typer(
    name="driftmon",
    help="Data-drift monitoring: smoothed KL divergence against a stored reference.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Pipes and CI logs get a width that fits the tables; terminals use their own.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, soft_wrap=True)


class _State:
    db_url: str | None = None
    config_path: str | None = None
    verbose: bool = False
    prefect: bool = False
    dask: str | None = None
    mode: Any = None
    settings: Any = None


state = _State()


def _version(value: bool) -> None:
    if value:
        import driftmon

        out.print(f"driftmon {driftmon.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar=DB_ENV,
            help="SQLAlchemy database URL. Default: sqlite file driftmon.db in this folder.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar=CONFIG_ENV,
            help="TOML configuration file. Default: ./driftmon.toml if it exists.",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Say where jobs run; show their logs.")
    ] = False,
    prefect: Annotated[
        bool,
        typer.Option(
            "--prefect",
            help="Run jobs through Prefect even with no Prefect API configured (a temporary "
            "server). Default: through Prefect only when PREFECT_API_URL is set (environment "
            "or profile); see DRIFTMON_PREFECT.",
        ),
    ] = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Count on a Dask cluster: its scheduler address (tcp://host:8786), or `local` "
            "for one on this machine. Default: DRIFTMON_DASK_ADDRESS, else `compute.dask` "
            "in the config, else in this process.",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_version
        ),
    ] = False,
) -> None:
    state.verbose = verbose
    state.prefect = prefect
    state.dask = dask
    state.config_path = str(config) if config else None
    state.settings = None  # loaded on first use by this command
    state.db_url = db
    if verbose:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("driftmon").setLevel(logging.INFO)


@app.command()
def reference(
    dataset: Annotated[str, typer.Argument(help="Dataset name, e.g. orders.")],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            "-s",
            help="CSV/Parquet file, folder or glob of trusted data, or a database URL with "
            "?query=SELECT ... (any SQLAlchemy URL).",
        ),
    ] = None,
) -> None:
    """Build bins from trusted data and store them as the dataset's new reference version."""
    with _user_errors():
        settings, config_path = _settings()
        dataset_settings = settings.dataset(dataset)
        source = source or dataset_settings.reference
        if not source:
            raise DriftmonError(
                f"no reference data for `{dataset}`: pass --source PATH or set "
                f"`datasets.{dataset}.reference` in the config"
            )
        from driftmon import sources

        sources.parse_source(source)  # a wrong path answers at once
        from driftmon import pipeline, store

        # then a bad file or column name, before any work
        pipeline.check_reference_source(source, dataset_settings)
        db_url = _db_url(settings)
        store.ensure_writable(store.open_store(db_url))
        with _progress_bar():
            info = _run(
                "build_reference",
                dataset=dataset,
                source=source,
                db_url=db_url,
                config_path=config_path,
            )
    out.print(
        f"Stored reference [bold]v{info['version']}[/] of [bold]{_text(dataset)}[/]: "
        f"{info['n_rows']:,} rows, {len(info['features'])} features "
        f"({_text(name_list(info['features']))})"
    )
    for warning in info["warnings"]:
        err.print(f"[yellow]warning:[/] {_text(warning)}", highlight=False)
    out.print(f"Database: {_display_url(db_url)}")


@app.command()
def check(
    dataset: Annotated[str, typer.Argument(help="Dataset name.")],
    source: Annotated[
        str,
        typer.Option(
            "--source",
            "-s",
            help="The batch to check: a CSV/Parquet file, a folder of part files (as Spark, "
            "Dask or pyarrow write one dataset) read as one, or a database URL with "
            "?query=SELECT ... (any SQLAlchemy URL).",
        ),
    ],
    batch_key: Annotated[
        str | None,
        typer.Option(help="Identity of the batch. Default: file path + size + modification time."),
    ] = None,
    batch_time: Annotated[
        str | None,
        typer.Option(
            help="When the batch's data was produced (ISO 8601, e.g. 2026-11-25). Default: a "
            "date in the file's path, else its modification time.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    keep_previous: Annotated[
        bool,
        typer.Option(
            "--keep-previous",
            help="If this batch was checked before, keep that run and store this one beside it "
            "(default: replace it).",
        ),
    ] = False,
    fail_on: FailOn = None,
) -> None:
    """Check one batch against the dataset's active reference."""
    with _user_errors():
        from driftmon import sources

        # cheap checks first: a wrong path, batch time or dataset answers at once
        moment = sources.parse_batch_time(batch_time) if batch_time else None
        sources.batch_source(source)
        settings, config_path = _settings()
        options = settings.dataset(dataset)
        from driftmon import store

        db_url = _db_url(settings)
        engine = store.open_store(db_url, create=False)
        store.require_active_reference(engine, dataset)  # a mistyped name: before the ORM
        with store.session_scope(engine) as session:
            reference = store.require_reference(session, dataset)
        _warn_of_fit_changes(dataset, options, reference)
        from driftmon import pipeline

        plan = pipeline.plan_batch(source, batch_key, moment)
        if isinstance(plan.source, sources.FolderSource) and plan.source.lacks_marker():
            err.print(
                f"[yellow]warning:[/] {_text(plan.description)} has no `_SUCCESS` yet, as the "
                "folders beside it have: its writer may not have finished; checked as it is "
                "now (`check-new` waits for the marker)",
                highlight=False,
            )
        store.ensure_writable(engine)
        pipeline.notification_targets(options)  # ... and bad targets
        with _progress_bar():  # stderr: --json's stdout stays JSON
            result = _run(
                "check_batch",
                dataset=dataset,
                source=source,
                batch_key=plan.batch_key,
                db_url=db_url,
                config_path=config_path,
                on_duplicate="new" if keep_previous else "replace",
                batch_time=plan.batch_time.isoformat(),
            )
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
    else:
        _print_result(result)
        out.print(f"Database: {_display_url(db_url)}")
    raise typer.Exit(_drift_exit_code([result.verdict], fail_on))


@app.command("check-new")
def check_new(
    dataset: Annotated[str, typer.Argument(help="Dataset name.")],
    folder: Annotated[
        str | None,
        typer.Option(
            "--folder",
            "-f",
            help="Folder or glob of batch files; a feed of part-file folders is a batch per "
            "folder. Default: config.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    fail_on: FailOn = None,
) -> None:
    """Check every batch in a folder (a file, or a folder of part files) that has not been
    checked yet, in name order."""
    with _user_errors():
        settings, config_path = _settings()
        options = settings.dataset(dataset)
        folder = folder or options.folder
        if not folder:
            raise DriftmonError(
                f"no batch folder for `{dataset}`: pass --folder DIR or set "
                f"`datasets.{dataset}.folder` in the config"
            )
        from driftmon import store

        db_url = _db_url(settings)
        engine = store.open_store(db_url, create=False)
        store.require_active_reference(engine, dataset)  # a mistyped name: before the ORM
        with store.session_scope(engine) as session:
            reference = store.require_reference(session, dataset)
        _warn_of_fit_changes(dataset, options, reference)
        from driftmon import pipeline
        from driftmon.results import BatchFailure, BatchSkip, CheckResult

        pipeline.notification_targets(options)  # fail fast: bad targets
        store.ensure_writable(engine)
        pending = pipeline.unprocessed_batches(engine, dataset, folder)
        waiting = pipeline.waiting_batches(engine, dataset, folder)
        if not pending:
            results: list[Any] = []
        else:
            with _progress_bar():  # stderr: --json's stdout stays JSON
                results = _run(
                    "check_new_batches",
                    dataset=dataset,
                    folder=folder,
                    db_url=db_url,
                    config_path=config_path,
                )
    failures = [r for r in results if isinstance(r, BatchFailure)]
    skips = [r for r in results if isinstance(r, BatchSkip)]
    if waiting:  # on stderr: --json's stdout stays JSON
        shown = ", ".join(_text(description) for description in waiting[:3])
        more = f" and {len(waiting) - 3} more" if len(waiting) > 3 else ""
        err.print(
            f"waiting: {len(waiting)} folder(s) without `_SUCCESS` yet, checked once their "
            f"writer marks them complete: {shown}{more}",
            highlight=False,
        )
    if as_json:
        out.print_json(json.dumps([r.to_dict() for r in results]))
    elif not results:
        out.print(f"No new batches for [bold]{_text(dataset)}[/] in {_text(folder)}.")
    else:
        for result in results:
            if isinstance(result, BatchFailure):
                err.print(f"[bold red]error:[/] {_text(result.error)}", highlight=False)
            elif isinstance(result, BatchSkip):
                out.print(
                    f"skipped: {_text(result.source)}: {_text(result.reason)}", highlight=False
                )
            else:
                _print_result(result)
        checked = len(results) - len(failures) - len(skips)
        line = f"Checked {checked} new batch(es)"
        if skips:
            line += f"; {len(skips)} skipped: no data rows (not tried again)"
        if failures:
            line += f"; {len(failures)} could not be read (tried again next time)"
        out.print(f"{line}. Database: {_display_url(db_url)}")
    if failures:
        raise typer.Exit(1)
    checked_verdicts = [r.verdict for r in results if isinstance(r, CheckResult)]
    raise typer.Exit(_drift_exit_code(checked_verdicts, fail_on))


@app.command()
def history(
    dataset: Annotated[str, typer.Argument(help="Dataset name.")],
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List a dataset's checked batches, newest first, with their headline drift figures."""
    with _user_errors():
        from driftmon import store

        engine = _engine()
        with store.session_scope(engine) as session:
            store.require_dataset(session, dataset)
            runs = store.list_runs(session, dataset, limit=limit)
    if as_json:
        from driftmon.results import run_summary

        out.print_json(json.dumps([run_summary(r) for r in runs]))
        return
    if not runs:
        out.print(f"No runs yet for [bold]{_text(dataset)}[/].")
        return
    table = Table(title=_plain(f"{dataset}: last {len(runs)} run(s), newest batch first"))
    columns = ("run", "batch time", "batch", "checked at", "rows", "ref", "verdict", "drifted")
    for column in (*columns, "max KL"):
        table.add_column(column, justify="right" if column in ("run", "rows", "ref") else "left")
    for run in runs:
        table.add_row(
            str(run.id),
            _batch_time(run.batch_time),
            _plain(_short_key(run.batch_key)),
            run.finished_at.strftime("%Y-%m-%d %H:%M:%S") if run.finished_at else "",
            f"{run.n_rows:,}",
            f"v{run.reference_version}",
            _status_text(run.verdict),
            str(run.n_drifted),
            _num(run.max_kl),
        )
    out.print(table)


@app.command()
def demo(
    folder: Annotated[
        Path, typer.Option(help="Where the example data and the demo database are written.")
    ] = Path("demo"),
) -> None:
    """Run the whole story on bundled example data: reference, then every batch, then history.

    Writes deterministic example data (an online shop's orders: a reference period and six later
    batches, four of them drifted in known ways) and a fresh SQLite database under FOLDER.
    Reports go to the configured reports folder (./reports by default), beside any others:
    another database's `orders` pages there are kept, the demo's get a folder of their own.
    """
    from driftmon.config import load_settings
    from driftmon.examples import generate_example_data

    with _user_errors():
        config_path = _demo_config()
        settings = load_settings(config_path)
        settings.dataset(DEMO_DATASET)  # a bad config fails before any work
        folder.mkdir(parents=True, exist_ok=True)
        database = folder / "driftmon.db"
        for stale in folder.glob("driftmon.db*"):
            stale.unlink()  # the demo owns this database; every demo run starts fresh
        db_url = state.db_url or f"sqlite:///{database.resolve()}"
        err.print(_plain(f"Configuration: {config_path or 'defaults (no config file)'}"))
        err.print(_plain(f"Writing example data to {folder}/ ..."))
        data = generate_example_data(folder / "data")
        err.print("Building the reference ...")
        info = _run(
            "build_reference",
            dataset=DEMO_DATASET,
            source=str(data.reference),
            db_url=db_url,
            config_path=config_path,
        )
        out.print(
            f"Reference v{info['version']} of [bold]{DEMO_DATASET}[/]: {info['n_rows']:,} rows, "
            f"{len(info['features'])} features."
        )
        err.print(f"Checking {len(data.batches)} batches ...")
        results = _run(
            "check_new_batches",
            dataset=DEMO_DATASET,
            folder=str(data.batches[0].parent),
            db_url=db_url,
            config_path=config_path,
        )
    for result in results:
        if result.drifted:
            _print_result(result)
    _print_summary(results, data.expected_drift)
    out.print()
    out.print("[bold]Where the results are[/]")
    out.print(f"  database:  {_display_url(db_url)}")
    out.print(f"  data:      {folder / 'data'}")
    reports = Path(settings.reports_dir)
    out.print(f"  reports:   {reports / 'index.html'} (one HTML page per batch)")
    out.print(f"  next:      {_command_name()} --db {db_url} history {DEMO_DATASET}")


class _ListByDefault(TyperGroup):
    """``driftmon alerts DATASET`` is short for ``driftmon alerts list DATASET``."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().resolve_command(ctx, args)


alerts_app = typer.Typer(
    cls=_ListByDefault,
    invoke_without_command=True,
    no_args_is_help=False,
    help="List open alerts with how long they have been open (`alerts list [DATASET]`, or "
    "just `alerts`), or acknowledge one (`alerts ack ID`).",
)
app.add_typer(alerts_app, name="alerts")

_ALL = typer.Option("--all", help="Include resolved alerts.")
_JSON_LIST = typer.Option("--json", help="Print a JSON list.")


@alerts_app.callback()
def alerts(
    ctx: typer.Context,
    include_resolved: Annotated[bool, _ALL] = False,
    as_json: Annotated[bool, _JSON_LIST] = False,
) -> None:
    """List open alerts (all datasets, or one) with how long they have been open, or
    acknowledge one."""
    if ctx.invoked_subcommand is None:
        _list_alerts(None, include_resolved, as_json)
    else:  # `alerts --json DATASET`: the flags given before the dataset hold for the list
        ctx.obj = {"include_resolved": include_resolved, "as_json": as_json}


@alerts_app.command("list")
def alerts_list(
    ctx: typer.Context,
    dataset: Annotated[str | None, typer.Argument(help="Only this dataset.")] = None,
    include_resolved: Annotated[bool, _ALL] = False,
    as_json: Annotated[bool, _JSON_LIST] = False,
) -> None:
    """List open alerts (all datasets, or one), most severe and oldest first."""
    given = ctx.obj or {}
    _list_alerts(
        dataset,
        include_resolved or given.get("include_resolved", False),
        as_json or given.get("as_json", False),
    )


@alerts_app.command("ack")
def alerts_ack(
    alert_id: Annotated[int, typer.Argument(metavar="ID", help="The alert's id (see `alerts`).")],
    by: Annotated[str | None, typer.Option(help="Who acknowledges. Default: $USER.")] = None,
) -> None:
    """Record that a person has seen an alert; it keeps its state and can still escalate.
    An alert acknowledged already keeps its first acknowledgement."""
    with _user_errors():
        from driftmon import store

        engine = _engine()
        who = by or os.environ.get("USER") or "someone"
        with store.session_scope(engine) as session:
            alert, acknowledged = store.acknowledge_alert(session, alert_id, who)
    if acknowledged:
        out.print(
            _plain(
                f"Acknowledged alert {alert.id} ({alert.dataset} / "
                f"{visible_name(alert.feature) if alert.feature is not None else 'dataset'} / "
                f"{alert.signal}) by {who}."
            )
        )
    else:
        assert alert.acknowledged_at is not None
        out.print(
            _plain(
                f"Alert {alert.id} was already acknowledged by {alert.acknowledged_by} at "
                f"{alert.acknowledged_at:%Y-%m-%d %H:%M} UTC; that acknowledgement stands."
            )
        )
    if alert.resolved_at is not None:
        out.print(
            _plain(
                f"It was already resolved ({alert.resolved_at:%Y-%m-%d %H:%M} UTC): nothing "
                "needs doing; `driftmon alerts list` shows the open ones."
            )
        )


def _list_alerts(dataset: str | None, include_resolved: bool, as_json: bool) -> None:
    with _user_errors():
        from driftmon import store

        engine = _engine()
        with store.session_scope(engine) as session:
            if dataset:
                store.require_dataset(session, dataset)
            found = store.list_alerts(session, dataset, include_resolved=include_resolved)
    now = datetime.now(UTC)
    if as_json:
        from driftmon.results import alert_summary

        out.print_json(json.dumps([alert_summary(a, now) for a in found]))
        return
    if not found:
        out.print("No open alerts." if not include_resolved else "No alerts.")
        return
    table = Table(title=f"{len(found)} alert(s)", title_justify="left")
    for column in (
        "id",
        "dataset",
        "feature",
        "signal",
        "severity",
        "state",
        "open for",
        "ack",
        "message",
    ):
        table.add_column(column, justify="right" if column == "id" else "left")
    for alert in found:
        table.add_row(
            str(alert.id),
            _plain(alert.dataset),
            _plain(visible_name(alert.feature) if alert.feature is not None else "(dataset)"),
            alert.signal,
            _status_text(alert.severity),
            alert.state,
            _duration((alert.resolved_at or now) - alert.opened_at),
            _plain(alert.acknowledged_by or ""),
            _plain(alert.message),
        )
    out.print(table)


@app.command()
def metrics(
    dataset: Annotated[str | None, typer.Argument(help="Only this dataset.")] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to this file (atomically, for node_exporter's textfile collector) "
            "instead of printing.",
        ),
    ] = None,
) -> None:
    """Print the newest verdict, per-feature KL, PSI and p-value and the open alerts of each
    dataset in the Prometheus text format."""
    with _user_errors():
        from driftmon import store
        from driftmon.metrics import exposition

        if output is not None:
            _require_folder_of(output, "metrics")
        engine = _engine()
        if dataset:
            with store.read_scope(engine) as session:
                store.require_dataset(session, dataset)
        text = exposition(engine, [dataset] if dataset else None)
        if output is None:
            sys.stdout.write(text)
            return
        partial = output.with_name(f".{output.name}.partial")
        try:
            partial.write_text(text, encoding="utf-8")
            partial.replace(output)  # a scraper never reads half a file
        except OSError as error:
            partial.unlink(missing_ok=True)
            # the user's path, not the temporary file's that `error` names
            raise DriftmonError(
                f"cannot write metrics to `{output}`: {error.strerror or error}"
            ) from None


def _require_folder_of(path: Path, what: str) -> None:
    """Refuse, before any work, a file whose folder does not exist: the error names the
    user's path and the fix, not the temporary file it would have been written through."""
    folder = path.parent
    if folder.is_dir():
        return
    if folder.exists():
        raise DriftmonError(f"cannot write {what} to `{path}`: `{folder}` is not a folder")
    raise DriftmonError(
        f"cannot write {what} to `{path}`: its folder `{folder}` does not exist; create it "
        f"(`mkdir -p {shlex.quote(str(folder))}`) or give a path in an existing folder"
    )


@app.command("notify")
def notify_command(
    retry: Annotated[
        bool, typer.Option("--retry", help="Deliver every pending notification now.")
    ] = False,
    dataset: Annotated[str | None, typer.Argument(help="Only this dataset.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the notification outbox, or retry pending deliveries with --retry."""
    with _user_errors():
        from driftmon import pipeline, store

        settings, _ = _settings()
        engine = _engine()
        with store.session_scope(engine) as session:
            if dataset:  # a mistyped name is an error, not an empty outbox
                store.require_dataset(session, dataset)
            datasets = [dataset] if dataset else store.list_datasets(session)
        report = {"sent": 0, "pending": 0, "errors": []}
        if retry:
            for name in datasets:
                delivery = pipeline.deliver_dataset_notifications(
                    engine,
                    name,
                    settings.dataset(name),
                    budget_seconds=pipeline.RETRY_BUDGET_SECONDS,
                    attempts=3,
                    honour_backoff=False,  # a person asked: try backed-off targets now
                )
                report["sent"] += delivery.sent
                report["pending"] += delivery.pending
                report["errors"] += list(delivery.errors)
        with store.session_scope(engine) as session:
            items = store.list_notifications(session, dataset=dataset)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    **report,
                    "outbox": [
                        {
                            "id": i.id,
                            "dataset": i.dataset,
                            "run_id": i.run_id,
                            "target": i.target_label,
                            "status": i.status,
                            "attempts": i.attempts,
                            "last_error": i.last_error,
                            "title": i.payload.get("title"),
                        }
                        for i in items
                    ],
                }
            )
        )
        return
    if retry:
        out.print(f"Sent {report['sent']}, still pending {report['pending']}.")
        for error in report["errors"]:
            err.print(f"[yellow]not delivered:[/] {_text(error)}", highlight=False)
    table = Table(title="Notification outbox", title_justify="left")
    for column in ("id", "dataset", "run", "target", "status", "attempts", "title", "last error"):
        table.add_column(column)
    for item in items[-30:]:
        table.add_row(
            str(item.id), _plain(item.dataset), str(item.run_id or ""), _plain(item.target_label),
            _outbox_status(item.status), str(item.attempts),
            _plain(str(item.payload.get("title", ""))), _plain(item.last_error or ""),
        )  # fmt: skip
    out.print(table if items else "The outbox is empty.")


@app.command()
def report(
    dataset: Annotated[str, typer.Argument(help="Dataset name.")],
    run_id: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the latest run).")
    ] = None,
    reports_dir: Annotated[
        Path | None, typer.Option(help="Output folder. Default: `reports_dir` of the config.")
    ] = None,
    all_charts: Annotated[
        bool,
        typer.Option(
            "--all-charts",
            help="Draw every feature's chart (default: only features that moved).",
        ),
    ] = False,
) -> None:
    """(Re)build a run's HTML report, and the dataset's index, from the store alone."""
    with _user_errors():
        from driftmon import store
        from driftmon.report import write_reports

        settings, _ = _settings()
        engine = _engine()
        with store.session_scope(engine) as session:
            store.require_dataset(session, dataset)
            run = (
                store.load_run(session, run_id)
                if run_id is not None
                else store.load_latest_run(session, dataset)
            )
            if run.dataset != dataset:
                raise DriftmonError(
                    f"run `{run.id}` belongs to dataset `{run.dataset}`, not `{dataset}`"
                )
            folder = (reports_dir or Path(settings.reports_dir)).resolve()
            path = write_reports(session, run.id, folder, all_charts=all_charts)
    out.print(_plain(f"Report of run {run.id}: {path}"))
    out.print(_plain(f"Index: {path.parent / 'index.html'}"))


@app.command()
def serve(
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Also serve `driftmon metrics` at http://127.0.0.1:PORT/metrics for "
            "Prometheus (read from the store on every scrape).",
            metavar="PORT",
            min=1,
            max=65535,
        ),
    ] = None,
) -> None:
    """Run scheduled checks: serve a "check new batches" deployment per scheduled dataset.

    Needs a running Prefect server (`prefect server start`) and PREFECT_API_URL pointing at it;
    schedules come from `datasets.NAME.schedule` in the config. Stops on Ctrl-C.
    """
    with _user_errors():
        settings, config_path = _settings()
        scheduled = settings.scheduled_datasets()
        if not scheduled:
            raise DriftmonError(
                "no dataset has a schedule: set `datasets.NAME.schedule.cron` (or "
                "`interval_seconds`) and `datasets.NAME.folder` in the config"
            )
        from driftmon.runner import check_api, prefect_api_url, quiet_prefect

        api_url, _ = prefect_api_url()
        if not api_url:
            raise DriftmonError(
                "schedules only run on a Prefect server: start one with `prefect server start "
                "--host 127.0.0.1` and set PREFECT_API_URL=http://127.0.0.1:4200/api (in the "
                "environment, or `prefect config set PREFECT_API_URL=...`)"
            )
        check_api(api_url)
        db_url = _db_url(settings)
        if metrics_port is not None:
            from driftmon import store
            from driftmon.metrics import serve_metrics

            try:
                serve_metrics(metrics_port, store.open_store(db_url, create=False))
            except OSError as error:
                raise DriftmonError(
                    f"cannot serve metrics on 127.0.0.1:{metrics_port}: {error}; choose another "
                    "--metrics-port"
                ) from None
            err.print(f"metrics at http://127.0.0.1:{metrics_port}/metrics")
        quiet_prefect(state.verbose)
        from driftmon.flows.check import SERVE_OUTPUT_ENV
        from driftmon.flows.deployments import serve as serve_deployments

        for name, dataset in scheduled.items():
            when = dataset.schedule.cron or f"every {dataset.schedule.interval_seconds} s"
            err.print(_plain(f"serving check-new-{name}: {dataset.folder} ({when})"))
        # each scheduled run (a process of its own) also prints its line per batch here
        os.environ[SERVE_OUTPUT_ENV] = "1"
        serve_deployments(settings, db_url=db_url, config_path=config_path)
    err.print("driftmon serve stopped (its schedules are paused until it serves them again)")


# --------------------------------------------------------------------------------------------
# Output


def _print_result(result: CheckResult) -> None:
    from driftmon.alerts import NEWS

    when = _batch_time(result.batch_time)
    title = (
        f"{result.dataset} · {_short_key(result.batch_key)} · batch time {when} · "
        f"{result.n_rows:,} rows · reference v{result.reference_version} · run {result.run_id}"
    )
    table = Table(
        title=_plain(title),
        title_justify="left",
        caption="shares of rows, reference→now; new: never seen by the reference (numeric: "
        "outside its range)",
        caption_justify="left",
    )
    # names and the category move wrap (folding long names) before any number is cut short
    table.add_column("feature", overflow="fold")
    table.add_column("status", no_wrap=True)
    headers = ("KL", "PSI", "p (corr.)", "missing", "long tail", "new")
    for column in headers:
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("top category move", overflow="fold")
    for row in result.features:
        f = row.result
        table.add_row(
            _plain(visible_name(f.name)),
            _status_text(row.status),
            _num(f.kl),
            _num(f.psi),
            format_p_value(f.p_value),
            _share_change(f.missing_share_reference, f.missing_share_current),
            _share_change(f.other_share_reference, f.other_share_current),
            _share_change(f.unseen_share_reference, f.unseen_share_current),
            _plain(_category_move(f)),
        )
    out.print(table)
    line = f"verdict: {_status_text(result.verdict)}"
    if result.drifted:
        line += f" · drifted: {_text(name_list(result.drifted))}"
    if result.replaced:
        line += " · replaced the earlier run of this batch"
    out.print(line)
    if result.report_path:
        out.print(_plain(f"report: {result.report_path}"))
    changes = _schema_changes(result.schema)
    if changes:
        out.print("[yellow]schema changes:[/] " + _text(changes))
    for alert in result.alerts:
        if alert["change"] == "resolved":
            out.print(_plain(f"alert {alert['id']} resolved: {alert['message']}"))
        elif alert["change"] in NEWS:
            out.print(
                _plain(
                    f"alert {alert['id']} {alert['change']} ({alert['severity']}): "
                    f"{alert['message']}"
                )
            )
    if result.notifications.get("pending"):
        out.print(
            f"[yellow]{result.notifications['pending']} notification(s) not delivered yet[/]: "
            "they are retried by the next run or `driftmon notify --retry`"
        )


def _print_summary(results: list[CheckResult], expected: dict[str, frozenset[str]]) -> None:
    """One line per batch: what driftmon found next to what was changed on purpose."""
    table = Table(title="Demo: every batch checked against reference v1", title_justify="left")
    for column in ("run", "batch", "rows", "verdict", "drifted (found)", "changed on purpose"):
        table.add_column(column, justify="right" if column in ("run", "rows") else "left")
    for result in results:
        table.add_row(
            str(result.run_id),
            _plain(Path(result.source).name),
            f"{result.n_rows:,}",
            _status_text(result.verdict),
            _plain(name_list(result.drifted) or "–"),
            _plain(", ".join(sorted(expected.get(Path(result.source).name, ()))) or "–"),
        )
    out.print(table)


def _schema_changes(schema: dict[str, Any]) -> str:
    parts = []
    if schema["missing"]:
        parts.append("missing columns: " + ", ".join(schema["missing"]))
    if schema["new"]:
        parts.append("new columns: " + ", ".join(schema["new"]))
    for change in schema["retyped"]:
        parts.append(f"{change['name']}: {change['reference_type']} -> {change['current_type']}")
    return "; ".join(parts)


def _status_text(status: str) -> str:
    from driftmon.status import Status

    colour = {Status.CRITICAL: "bold red", Status.WARNING: "yellow", Status.OK: "green"}.get(
        status, "dim"
    )
    return f"[{colour}]{status}[/]"


def _outbox_status(status: str) -> str:
    colour = {"sent": "green", "pending": "yellow"}.get(status, "dim")
    return f"[{colour}]{status}[/]"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def _share_change(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "–"
    return f"{format_share(before)}→{format_share(after)}"


def _category_move(result: Any) -> str:
    """The category whose share moved most, e.g. ``+2.5 pt CHS``."""
    change, category = result.max_share_change, result.max_share_change_category
    if change is None or category is None:
        return "–"
    name = category if len(category) <= 16 else category[:15] + "…"
    return f"{format_share_points(change)} {name}"


def _batch_time(moment: datetime | None) -> str:
    """A batch time to the day, or to the minute when it has a time of day (UTC)."""
    return "–" if moment is None else format_moment(moment)


def _plain(text: str) -> Text:
    """Text shown as written: never read as markup, control characters escaped."""
    return Text(printable(str(text)))


def _warn_of_fit_changes(dataset: str, options: Any, reference: Any) -> None:
    """Say so before reading when the configuration fits bins otherwise than the active
    reference was fitted: a check counts with the reference's features and bins, so a changed
    ``features`` (or ``n_bins``...) would otherwise be ignored without a word. With ``-v`` the
    job's own log says it at the same moment, so it is not said twice."""
    warning = options.fit_change_warning(dataset, reference.settings, reference.version)
    if warning and not state.verbose:
        err.print(f"[yellow]warning:[/] {_text(warning)}", highlight=False)


def _text(text: str) -> str:
    """User text for inside a markup string: escaped, control characters escaped."""
    return escape(printable(str(text)))


def _drift_exit_code(verdicts: list[str], fail_on: FailLevel | None) -> int:
    """3 when a checked batch's verdict reaches ``fail_on``, else 0 (drift is not an error)."""
    if fail_on is None:
        return 0
    from driftmon.status import Status

    level = Status(fail_on.value).rank
    return DRIFT_EXIT_CODE if any(Status(v).rank >= level for v in verdicts) else 0


def _short_key(batch_key: str) -> str:
    first = batch_key.split("|", 1)[0]
    return file_label(first) if "/" in first else first


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _display_url(url: str) -> str:
    from driftmon.store import redact_url

    return redact_url(url)


# --------------------------------------------------------------------------------------------
# Plumbing


def _settings() -> tuple[Any, str | None]:
    """The configuration and its path, loaded once per command."""
    if state.settings is None:
        from driftmon.config import find_config, load_settings

        path = find_config(state.config_path)
        state.settings = (load_settings(path), (str(path) if path else None))
    return state.settings


def _engine() -> Any:
    """The store of the configured database (``--db``, the config's ``database``, or the
    default), migrated; a SQLite file must exist (only `reference` creates one)."""
    from driftmon import store

    settings, _ = _settings()
    return store.open_store(_db_url(settings), create=False)


def _demo_config() -> str | None:
    """The demo's configuration: the one given (``--config``, ``DRIFTMON_CONFIG``,
    ./driftmon.toml), else the example ``config/driftmon.toml`` when run from the repository,
    whose ``[datasets.orders]`` is the demo's."""
    from driftmon.config import find_config

    path = find_config(state.config_path)
    if path is None and EXAMPLE_CONFIG.is_file():
        path = EXAMPLE_CONFIG
    return str(path) if path else None


def _db_url(settings: Any) -> str:
    from driftmon.store import default_database_url

    return state.db_url or settings.database or default_database_url()


@contextmanager
def _user_errors() -> Iterator[None]:
    """A `DriftmonError` becomes one ``error:`` line (control characters escaped), exit 1."""
    try:
        yield
    except DriftmonError as error:
        err.print(f"[bold red]error:[/] {_text(str(error))}", highlight=False)
        raise typer.Exit(1) from None


@contextmanager
def _progress_bar() -> Iterator[None]:
    """A progress bar on stderr while long reads run; where stderr is not a terminal, a
    plain line per read every `progress.interval_from_env` seconds instead."""
    if not err.is_terminal:
        with progress.reporting(_progress_lines(progress.interval_from_env())):
            yield
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    tasks: dict[str, Any] = {}

    def update(label: str, done: int, total: int | None) -> None:
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=total)
        bar.update(tasks[label], completed=done, total=total)

    with bar, progress.reporting(update):
        yield


def _progress_lines(every: float) -> progress.Reporter:
    """A reporter printing ``label: 42% after 31 s`` on stderr at most every ``every`` seconds
    per label, the first once ``every`` seconds have passed since the label began."""
    began: dict[str, float] = {}
    last: dict[str, float] = {}

    def update(label: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        start = began.setdefault(label, now)
        if now - last.get(label, start) < every:
            return
        last[label] = now
        share = f"{min(done / total, 1.0):.0%}" if total else f"{done:,} read"
        err.print(_plain(f"{label}: {share} after {now - start:.0f} s"), highlight=False)

    return update


def _command_name() -> str:
    """How the user can run driftmon again: plain `driftmon` if on PATH, else its path."""
    if shutil.which("driftmon"):
        return "driftmon"
    script = Path(sys.argv[0])
    try:
        return str(script.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _mode() -> Any:
    """Where jobs run (`driftmon.runner`), decided once per command; said on stderr with
    ``-v``."""
    from driftmon.runner import choose_mode

    if state.mode is None:
        state.mode = choose_mode("always" if state.prefect else None)
        if state.verbose:
            err.print(_plain(state.mode.describe()))
    return state.mode


def _run(job: str, **params: Any) -> Any:
    """Run a job where `_mode` says: a reachable Prefect API is checked before any work."""
    from driftmon.compute import dask_address
    from driftmon.config import configured_dask
    from driftmon.runner import check_api, quiet_prefect, run_job

    mode = _mode()
    cluster = dask_address(state.dask, configured_dask(_settings()[0]))
    if state.verbose:
        err.print(
            _plain(
                f"counting on the Dask cluster at {cluster}"
                if cluster
                else "counting in this process"
            )
        )
    if mode.kind == "prefect":
        if mode.api_url:
            check_api(mode.api_url)
        quiet_prefect(state.verbose)
    return run_job(mode, job, dask=cluster, **params)


def _unwrap_help(*groups: typer.Typer) -> None:
    """Give each command its docstring as help with every paragraph on one line, for rich to
    wrap at the terminal's width: typer keeps a docstring's line breaks in the command list
    and in every paragraph after the first, which broke lines mid-sentence at 80 columns."""
    for group in groups:
        for command in group.registered_commands:
            if command.help is None and command.callback is not None:
                doc = inspect.getdoc(command.callback) or ""
                command.help = "\n\n".join(" ".join(p.split()) for p in doc.split("\n\n"))


_unwrap_help(app, alerts_app)


def run() -> None:
    """The ``driftmon`` console script: `app`, then no final garbage collection.

    What a command leaves behind is the operating system's to free. The interpreter's last
    full collection would walk every object Prefect, SQLAlchemy and pydantic made: 0.1-0.3 s
    a command in-process, about 0.6 s through Prefect (a 1M-row check on this 2-core machine,
    with and without the freeze). Nothing waits for that collection: files are closed by
    their ``with`` blocks, database connections by the store at exit (every engine
    `driftmon.store.open_store` made), Prefect's logs and events by its own exit hooks.
    """
    try:
        app()
    except SystemExit as exit:
        if exit.code == INTERRUPTED_EXIT_CODE:  # typer's silent answer to Ctrl-C
            err.print(_plain(INTERRUPTED))
        raise
    finally:
        gc.freeze()


#: typer exits with 130 (128 + SIGINT) on Ctrl-C, and says nothing.
INTERRUPTED_EXIT_CODE = 130
INTERRUPTED = (
    "interrupted: what was stored before is kept; a check stores its run before drawing "
    "its page, so an interrupted check may be in `driftmon history` without one: "
    "`driftmon report DATASET --run ID` draws it"
)
