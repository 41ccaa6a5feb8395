"""The flows under Prefect's test harness, on the example data and a real SQLite file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from driftmon.flows import build_reference_flow, check_batch_flow, check_new_batches_flow

from driftmon import store
from driftmon.examples import ExampleData, generate_example_data

DATASET = "orders"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> ExampleData:
    return generate_example_data(tmp_path_factory.mktemp("example"))


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'driftmon.db'}"


@pytest.fixture
def with_reference(example: ExampleData, db_url: str) -> str:
    build_reference_flow(dataset=DATASET, source=str(example.reference), db_url=db_url)
    return db_url


def test_reference_flow_stores_a_new_active_version_each_time(
    example: ExampleData, db_url: str
) -> None:
    first = build_reference_flow(dataset=DATASET, source=str(example.reference), db_url=db_url)
    second = build_reference_flow(dataset=DATASET, source=str(example.reference), db_url=db_url)
    assert (first["version"], second["version"]) == (1, 2)
    assert first["n_rows"] == 20_000
    with store.session_scope(store.open_store(db_url)) as session:
        assert store.load_reference(session, DATASET).version == 2


def test_check_flow_flags_exactly_the_features_changed_on_purpose(
    example: ExampleData, with_reference: str
) -> None:
    for batch in example.batches:
        result = check_batch_flow(dataset=DATASET, source=str(batch), db_url=with_reference)
        expected = example.expected_drift[batch.name]
        assert set(result.drifted) == set(expected), batch.name
        # each drift made on purpose is large: a critical KL or finding in every drifted batch
        assert result.verdict == ("critical" if expected else "ok"), batch.name


def test_detected_drift_is_a_completed_flow_with_the_drift_in_its_result(
    example: ExampleData, with_reference: str
) -> None:
    drifted = next(b for b in example.batches if example.expected_drift[b.name])
    state = check_batch_flow(
        dataset=DATASET, source=str(drifted), db_url=with_reference, return_state=True
    )
    assert state.is_completed()
    assert state.result().drifted


def test_a_flow_runs_parameters_are_recorded_as_given(
    example: ExampleData, with_reference: str
) -> None:
    from prefect import get_client

    state = check_batch_flow(
        dataset=DATASET, source=str(example.batches[0]), db_url=with_reference, return_state=True
    )

    with get_client(sync_client=True) as client:
        recorded = client.read_flow_run(state.state_details.flow_run_id).parameters
    assert recorded == {
        "dataset": DATASET, "source": str(example.batches[0]), "batch_key": None,
        "db_url": with_reference, "config_path": None, "on_duplicate": "replace",
        "batch_time": None, "dask": None,
    }  # fmt: skip


_SERIALIZED = """
import json, pathlib, sys
from driftmon.flows import check_batch_flow as flow
plain = flow.serialize_parameters({"dataset": "d", "dask": None, "n": 1, "x": 0.5, "b": True})
loaded = "fastapi" in sys.modules
other = flow.serialize_parameters({"source": pathlib.Path("a/b")})
print(json.dumps([plain, loaded, other, "fastapi" in sys.modules]))
"""


def test_scalar_parameters_are_recorded_without_loading_fastapi() -> None:
    """Prefect's encoder imports all of FastAPI (0.2-0.3 s a command) to return a string as
    it is; any other value still goes through it."""
    done = subprocess.run(
        [sys.executable, "-c", _SERIALIZED], capture_output=True, text=True, check=True
    )
    plain, loaded, other, loaded_after = json.loads(done.stdout.strip().splitlines()[-1])
    assert plain == {"dataset": "d", "dask": None, "n": 1, "x": 0.5, "b": True}
    assert (loaded, other, loaded_after) == (False, {"source": "a/b"}, True)


def test_check_new_processes_every_file_once_in_order(
    example: ExampleData, with_reference: str
) -> None:
    folder = str(example.batches[0].parent)
    first = check_new_batches_flow(dataset=DATASET, folder=folder, db_url=with_reference)
    again = check_new_batches_flow(dataset=DATASET, folder=folder, db_url=with_reference)
    assert [Path(r.source).name for r in first] == [b.name for b in example.batches]
    assert again == []
    with store.session_scope(store.open_store(with_reference)) as session:
        assert len(store.list_runs(session, DATASET)) == len(example.batches)


def test_a_failure_to_publish_the_artifact_is_a_warning_not_a_failed_check(
    example: ExampleData, with_reference: str, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    from driftmon.flows import check as check_flows

    def broken(result: object) -> None:
        raise RuntimeError("artifact API down")

    monkeypatch.setattr(check_flows, "publish_drift_table", broken)
    state = check_batch_flow(
        dataset=DATASET, source=str(example.batches[0]), db_url=with_reference, return_state=True
    )
    assert state.is_completed()
    assert "could not be published: artifact API down" in caplog.text
    with store.session_scope(store.open_store(with_reference)) as session:
        assert [r.id for r in store.list_runs(session, DATASET)] == [state.result().run_id]


def test_a_dataset_with_any_unicode_name_gets_its_artifact(
    example: ExampleData, tmp_path: Path
) -> None:
    from driftmon.flows.check import artifact_key
    from prefect.client.orchestration import get_client

    db_url = f"sqlite:///{tmp_path / 'driftmon.db'}"
    name = "café 注文 [/b] 🚀"
    build_reference_flow(dataset=name, source=str(example.reference), db_url=db_url)
    result = check_batch_flow(dataset=name, source=str(example.batches[2]), db_url=db_url)
    assert result.verdict == "critical"
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
    keys = {a.key for a in artifacts}
    assert artifact_key(name) in keys
    assert artifact_key(name).startswith("drift-caf-b-")


def test_steps_get_their_arguments_unwrapped_and_the_run_graph_keeps_its_links(
    example: ExampleData, with_reference: str
) -> None:
    """Step tasks take their arguments `opaque` (Prefect does not walk inside a profile), yet
    each task run still names the task runs whose results it took, for Prefect's graph."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    state = check_batch_flow(
        dataset=DATASET, source=str(example.batches[0]), db_url=with_reference, return_state=True
    )
    assert state.is_completed()
    assert state.result().n_rows > 0  # the steps got the real values, not their wrappers
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
            )
        )
    by_name = {run.name.rsplit("-", 1)[0]: run for run in task_runs}
    inputs = {
        name: {i.id for given in run.task_inputs.values() for i in given}
        for name, run in by_name.items()
    }
    counted = by_name["read and count batch"].id
    loaded = by_name["load reference"].id
    assert counted in inputs["compare with reference"]
    assert {counted, loaded} <= inputs["record run"]


def test_prefect_does_not_walk_inside_a_steps_arguments() -> None:
    """Prefect refuses a `FlowRun` met while walking task arguments; a step task's arguments
    are `opaque`, so one held deep inside a dataclass reaches the step untouched."""
    from dataclasses import dataclass
    from uuid import uuid4

    from driftmon.flows._tasks import PURE_TASK, step_task
    from prefect import flow
    from prefect.client.schemas.objects import FlowRun

    @dataclass
    class Holder:
        runs: list[FlowRun]

    def first_run_name(holder: Holder, *, prefix: str) -> str:
        return prefix + holder.runs[0].name

    step = step_task(first_run_name, "first run name", **PURE_TASK)
    held = Holder([FlowRun(flow_id=uuid4(), name="deep")])

    @flow
    def walk() -> str:
        return step(held, prefix="name: ")

    assert walk() == "name: deep"


def test_a_failing_check_is_a_failed_flow_and_records_nothing(
    example: ExampleData, with_reference: str, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"this is not parquet")
    state = check_batch_flow(
        dataset=DATASET, source=str(broken), db_url=with_reference, return_state=True
    )
    assert state.is_failed()
    with store.session_scope(store.open_store(with_reference)) as session:
        assert store.list_runs(session, DATASET) == []


def test_each_scheduled_dataset_becomes_a_check_new_deployment(tmp_path: Path) -> None:
    from driftmon.flows.deployments import build_deployments

    from driftmon.config import load_settings

    config = tmp_path / "driftmon.toml"
    config.write_text(
        '[datasets.orders]\nfolder = "in/orders"\n[datasets.orders.schedule]\ncron = "0 * * * *"\n'
        '[datasets.users]\nfolder = "in/users"\n[datasets.users.schedule]\ninterval_seconds = 600\n'
        "[datasets.adhoc]\n"
    )
    deployments = build_deployments(
        load_settings(config), db_url="sqlite:///x.db", config_path=str(config)
    )
    by_name = {d.name: d for d in deployments}
    assert set(by_name) == {"check-new-orders", "check-new-users"}
    orders = by_name["check-new-orders"]
    assert orders.parameters["folder"] == "in/orders"
    assert orders.parameters["db_url"] == "sqlite:///x.db"
    assert orders.schedules[0].schedule.cron == "0 * * * *"
    assert by_name["check-new-users"].schedules[0].schedule.interval.total_seconds() == 600


def test_a_schedule_without_a_folder_is_a_config_error(tmp_path: Path) -> None:
    from driftmon.config import load_settings
    from driftmon.errors import ConfigError

    config = tmp_path / "driftmon.toml"
    config.write_text('[datasets.orders.schedule]\ncron = "0 * * * *"\n')
    with pytest.raises(ConfigError, match="needs the folder"):
        load_settings(config).scheduled_datasets()


def _stored(db_url: str) -> dict[str, object]:
    """Everything a run stores that does not depend on when or where it ran."""
    engine = store.open_store(db_url)
    with store.session_scope(engine) as session:
        runs = [store.load_run(session, info.id) for info in store.list_runs(session, DATASET)]
        alerts = store.list_alerts(session, DATASET, include_resolved=True)
    engine.dispose()
    return {
        "runs": [
            (
                Path(run.source).name,
                run.batch_time,
                run.verdict,
                run.n_rows,
                [(f.feature, f.status, f.result.to_dict()) for f in run.features],
                [r.to_dict() for r in run.readings],
                Path(run.report_path).name if run.report_path else None,
            )
            for run in runs
        ],
        "alerts": [(a.feature, a.signal, a.severity, a.state, a.message) for a in alerts],
    }


def test_in_process_and_prefect_runs_store_identical_results(
    example: ExampleData, tmp_path: Path
) -> None:
    from driftmon import jobs

    stored = {}
    for mode in ("in-process", "prefect"):
        folder = tmp_path / mode
        folder.mkdir()
        config = folder / "driftmon.toml"
        config.write_text(f'reports_dir = "{folder / "reports"}"\n')
        params = {"db_url": f"sqlite:///{folder / 'driftmon.db'}", "config_path": str(config)}
        if mode == "prefect":
            build_reference_flow(dataset=DATASET, source=str(example.reference), **params)
            for batch in example.batches:
                check_batch_flow(dataset=DATASET, source=str(batch), **params)
        else:
            steps = jobs.local_steps()
            jobs.build_reference(steps, dataset=DATASET, source=str(example.reference), **params)
            for batch in example.batches:
                jobs.check_batch(steps, dataset=DATASET, source=str(batch), **params)
        stored[mode] = _stored(params["db_url"])
    assert stored["in-process"] == stored["prefect"]
    assert len(stored["prefect"]["runs"]) == len(example.batches)
    assert stored["prefect"]["alerts"]


def test_on_prefects_dask_task_runner_each_partition_is_a_task_and_results_are_identical(
    tmp_path: Path, dask_scheduler: str
) -> None:
    """A multi-row-group batch checked through the flow on `DaskTaskRunner` stores exactly
    what the in-process job stores, and the flow run shows one task per partition."""
    import numpy as np
    import pandas as pd
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from driftmon import compute, jobs

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=40_000), "c": rng.choice(list("abc"), 40_000)})
    frame.iloc[:20_000].to_parquet(tmp_path / "ref.parquet", index=False)
    batch = tmp_path / "batch.parquet"
    frame.iloc[20_000:].to_parquet(batch, row_group_size=1_000, index=False)
    config = tmp_path / "driftmon.toml"
    config.write_text("[defaults]\npartition_rows = 4000\n")
    stored = []
    for name in ("local", "prefect"):
        db_url = f"sqlite:///{tmp_path / name}.db"
        jobs.build_reference(
            jobs.local_steps(), dataset=DATASET, source=str(tmp_path / "ref.parquet"), db_url=db_url
        )
        if name == "local":
            jobs.check_batch(
                jobs.local_steps(),
                dataset=DATASET,
                source=str(batch),
                db_url=db_url,
                config_path=str(config),
            )
        else:
            on_dask = check_batch_flow.with_options(task_runner=compute.task_runner(dask_scheduler))
            state = on_dask(
                dataset=DATASET,
                source=str(batch),
                db_url=db_url,
                config_path=str(config),
                dask=dask_scheduler,
                return_state=True,
            )
            assert state.is_completed()
            with get_client(sync_client=True) as client:
                task_runs = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(
                        id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
                    )
                )
            names = [run.name.rsplit("-", 1)[0] for run in task_runs]
            assert names.count("count partition") == 5  # 20 row groups of 1,000 rows, by 4
            assert "read and count batch" not in names
        with store.read_scope(store.open_store(db_url)) as session:
            run = store.load_latest_run(session, DATASET)
            stored.append([(f.name, f.kl, f.p_value, f.current_counts) for f in run.features])
    assert stored[0] == stored[1]
