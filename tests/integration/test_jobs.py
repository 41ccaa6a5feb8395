"""The jobs run in-process, as the command line runs them when no Prefect API is configured:
the report is drawn after the run is committed, and a report that fails costs nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from receivers import Receiver

from driftmon import jobs, store
from driftmon.errors import StoreError
from driftmon.examples import ExampleData, generate_example_data

DATASET = "orders"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> ExampleData:
    return generate_example_data(tmp_path_factory.mktemp("example"))


def _setup(tmp_path: Path, example: ExampleData, notify: str | None = None) -> dict[str, str]:
    config = tmp_path / "driftmon.toml"
    lines = [f'reports_dir = "{tmp_path / "reports"}"']
    if notify:
        lines += ["[datasets.orders]", f'notify = ["{notify}"]']
    config.write_text("\n".join(lines) + "\n")
    params = {"db_url": f"sqlite:///{tmp_path / 'driftmon.db'}", "config_path": str(config)}
    jobs.build_reference(
        jobs.local_steps(), dataset=DATASET, source=str(example.reference), **params
    )
    return params


def test_a_report_that_fails_to_draw_leaves_the_run_stored_and_can_be_drawn_later(
    tmp_path: Path, example: ExampleData, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    params = _setup(tmp_path, example)

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("out of ink")

    monkeypatch.setattr("driftmon.report.pages.render_run_report", broken)
    result = jobs.check_batch(
        jobs.local_steps(), dataset=DATASET, source=str(example.batches[2]), **params
    )

    assert result.verdict == "critical" and result.report_path is None
    assert "the report of run 1 could not be written: out of ink" in caplog.text
    engine = store.open_store(params["db_url"])
    with store.session_scope(engine) as session:
        [run] = store.list_runs(session, DATASET)
        assert (run.id, run.verdict, run.report_path) == (result.run_id, "critical", None)
    assert not list((tmp_path / "reports").rglob("run-*.html"))

    monkeypatch.undo()
    from driftmon.pipeline import write_report

    path = write_report(engine, result.run_id, str(tmp_path / "reports"))
    assert path is not None and Path(path).is_file()
    with store.session_scope(engine) as session:
        assert store.load_run(session, result.run_id).report_path == path


def test_the_notification_links_to_the_report_drawn_after_commit(
    tmp_path: Path, example: ExampleData, receiver: Receiver
) -> None:
    params = _setup(tmp_path, example, f"json://127.0.0.1:{receiver.port}/hook")

    result = jobs.check_batch(
        jobs.local_steps(), dataset=DATASET, source=str(example.batches[2]), **params
    )

    [request] = receiver.requests
    link = f"Report: {result.report_path}"
    assert result.report_path and link in request["json"]["message"]
    assert Path(result.report_path).is_file()
    assert Path(result.report_path).is_relative_to(tmp_path / "reports")


def test_a_check_on_a_database_that_does_not_exist_creates_none(
    example: ExampleData, tmp_path: Path
) -> None:
    """A check needs a stored reference: a mistyped SQLite path (from a deployment, a flow or
    Python) is an error naming it, and leaves no file or folder behind."""
    missing = tmp_path / "typo" / "driftmon.db"
    for run in (
        lambda: jobs.check_batch(
            jobs.local_steps(),
            dataset=DATASET,
            source=str(example.batches[0]),
            db_url=f"sqlite:///{missing}",
        ),
        lambda: jobs.check_new_batches(
            jobs.local_steps(),
            dataset=DATASET,
            folder=str(example.batches[0].parent),
            db_url=f"sqlite:///{missing}",
        ),
    ):
        with pytest.raises(StoreError, match="does not exist"):
            run()
    assert not (tmp_path / "typo").exists()


def test_a_job_logs_settings_its_reference_was_not_fitted_with(
    tmp_path: Path, example: ExampleData, caplog: pytest.LogCaptureFixture
) -> None:
    """Flows and `driftmon serve` run jobs without the command line's early warning: the job
    itself logs (as a batch's outcome line) and returns it, once per batch checked."""
    params = _setup(tmp_path, example)
    config = Path(params["config_path"])
    config.write_text(config.read_text() + '[datasets.orders]\nn_bins = 7\nexclude = ["country"]\n')
    expected = (
        "n_bins, exclude of `orders` differ from those reference v1 was built with, which this "
        "check uses; build a new reference to use them (`driftmon reference orders --source PATH`)"
    )
    caplog.set_level("INFO", logger="driftmon")

    outcomes = jobs.check_new_batches(
        jobs.local_steps(), dataset=DATASET, folder=str(example.batches[0].parent), **params
    )

    assert [outcome.warnings for outcome in outcomes] == [(expected,)] * len(example.batches)
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("warning:")]
    assert logged == [f"warning: {expected}"] * len(example.batches)
    # the check itself is the reference's: its bins, its features
    assert all("country" in {row.name for row in outcome.features} for outcome in outcomes)
