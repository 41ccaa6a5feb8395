"""Build the report pages: one page per run and one per dataset from the store, and the status
board from the status files the dataset folders hold.

Loading goes through the store's repository functions only; what the pages show is derived by
the pure functions of `driftmon.report.data`, drawn by `driftmon.report.figures` and rendered
by the autoescaping templates of `driftmon.report.html`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

import driftmon
from driftmon import store
from driftmon.bins import value_text
from driftmon.compare import BinContribution
from driftmon.errors import StoreError
from driftmon.formatting import json_safe
from driftmon.profile import Profile
from driftmon.report import data
from driftmon.report.html import render_page
from driftmon.report.paths import claim_dataset_folder, dataset_folder_name, run_page_name
from driftmon.status import Status

__all__ = [
    "STATUS_FILE",
    "dataset_folder_name",
    "dataset_status",
    "render_dataset_index",
    "render_run_report",
    "render_status_board",
    "write_reports",
]

#: Each dataset folder's status for the status board (`dataset_status`), and its layout version.
STATUS_FILE = "status.json"
STATUS_FORMAT = 1
#: Runs in a status board sparkline.
SPARKLINE_RUNS = 30
#: Status board order: most severe latest verdict first.
_VERDICT_ORDER = {"critical": 0, "warning": 1, "ok": 2, "empty": 3}
#: Runs of history shown by default (KL chart and heatmap).
DEFAULT_HISTORY = 30
#: Runs a dataset page lists, newest first: a page (and each check that refreshes it) must not
#: grow with years of runs; `driftmon history` lists any number.
MAX_LISTED_RUNS = 200


@dataclass(frozen=True, slots=True)
class _FeatureSection:
    """One row of the feature table and its detail section."""

    anchor: str
    result: store.StoredFeatureResult
    chart: str | None
    top_bins: list[BinContribution]
    unseen_label: str
    #: the reference's minimum and maximum as people read them (dates for a date column)
    reference_range: tuple[str, str] | None = None


def render_run_report(
    session: Session,
    run_id: int,
    *,
    history: int = DEFAULT_HISTORY,
    all_charts: bool = False,
    _figures: dict[Any, Any] | None = None,
) -> str:
    """A self-contained HTML page for one stored run, rebuilt from the store alone.

    Shows the run's header (reference, settings, verdict, open alerts), every feature sorted by
    severity, every finding and schema change, and KL over the last ``history`` runs up to
    this one. Features that moved (a warning, a critical status or any finding) get their
    reference-vs-current chart; with ``all_charts`` every feature does. Drawing is most of a
    report's cost, and a chart of a feature that did not move says nothing its row does not.

    Raises
    ------
    StoreError
        No run has this id.
    """
    if history < 1:
        raise ValueError(f"history must be at least 1 run, got `{history}`")
    run = store.load_run(session, run_id)
    reference = store.load_reference(session, run.dataset, run.reference_version)
    earlier = _runs_up_to(session, run, history)
    ordered = data.sort_by_severity(run.features)
    moved = {r.feature for r in run.findings} | {
        f.feature for f in run.features if f.status in data.DRIFTED
    }
    sections = [
        _feature_section(i, result, reference.profile, all_charts or result.feature in moved)
        for i, result in enumerate(ordered)
    ]
    context = {
        "run": run,
        "label": data.batch_label(run.batch_key),
        "sentence": data.verdict_sentence(run),
        "reference": reference,
        "settings": data.flatten_settings(run.settings),
        "alerts": store.list_alerts(session, run.dataset),
        # alerts follow the newest batches: on an older run's page they are today's, said so
        "newest": store.list_runs(session, run.dataset, limit=1)[0].id == run.id,
        "sections": sections,
        "drifted": [s for s in sections if s.result.status in data.DRIFTED],
        "findings": run.findings,
        "schema": _schema(run.schema_diff),
        "history": _history_context(
            earlier, run, [f.feature for f in ordered], _figures, per_feature=False
        ),
        "all_charts": all_charts,
        **_page_context(),
    }
    return render_page("run.html", context)


def render_summary(
    *,
    dataset: str,
    label: str,
    n_rows: int,
    verdict: str,
    drifted: Sequence[str],
    findings: Sequence[Any],
    features: Sequence[store.StoredFeatureResult],
    reference: Profile,
) -> str:
    """A check's summary as an HTML fragment for notebooks: the verdict, the feature table and
    a chart of each feature that moved. Styles are scoped to the fragment, figures embedded."""
    moved = {f.feature for f in features if f.status in data.DRIFTED} | {
        getattr(f, "feature", None) for f in findings
    }
    ordered = data.sort_by_severity(features)
    sections = [
        _feature_section(i, result, reference, result.feature in moved)
        for i, result in enumerate(ordered)
    ]
    context = {
        "dataset": dataset,
        "label": label,
        "n_rows": n_rows,
        "verdict": verdict,
        "drifted": list(drifted),
        "findings": list(findings),
        "sections": sections,
    }
    return render_page("summary.html", context)


def render_dataset_index(
    session: Session,
    dataset: str,
    *,
    history: int = DEFAULT_HISTORY,
    linked_runs: Collection[int] | None = None,
    _figures: dict[Any, Any] | None = None,
) -> str:
    """The dataset's history page: every run newest first, KL over runs and the heatmap.

    Run rows link to ``run-<id>.html`` (next to this page) for the runs in ``linked_runs``,
    or for every run when it is None.
    """
    infos = store.list_runs(session, dataset, limit=max(history, MAX_LISTED_RUNS))
    n_runs = store.count_runs(session, dataset)
    window_ids = tuple(info.id for info in infos[:history][::-1])
    cached = (_figures or {}).get(window_ids)
    if cached is not None:  # drawn for the run page of the newest run: nothing to load
        window, latest_order = cached["runs"], cached["order"]
    else:
        window = [store.load_run(session, run_id, readings=False) for run_id in window_ids]
        latest_order = (
            [f.feature for f in data.sort_by_severity(window[-1].features)] if window else []
        )
    infos = infos[:MAX_LISTED_RUNS]
    drifted = store.drifted_features_by_run(session, dataset, [info.id for info in infos])
    rows = [
        {
            "run": info,
            "drifted": drifted.get(info.id, []),
            "link": run_page_name(info.id)
            if linked_runs is None or info.id in linked_runs
            else None,
        }
        for info in infos
    ]
    context = {
        "dataset": dataset,
        "rows": rows,
        "n_older": n_runs - len(rows),
        "history": _history_context(
            window, window[-1] if window else None, latest_order, _figures, per_feature=True
        ),
        **_page_context(),
    }
    return render_page("dataset.html", context)


def dataset_status(
    session: Session, dataset: str, *, linked_runs: Collection[int] | None = None
) -> dict[str, Any]:
    """What the status board shows of a dataset, as the JSON-ready ``status.json`` of its
    reports folder: the latest run (verdict, drifted features, its page if it has one), open
    alerts by severity, and the largest KL of its last `SPARKLINE_RUNS` runs."""
    runs = store.list_runs(session, dataset, limit=SPARKLINE_RUNS)[::-1]  # oldest first
    latest = runs[-1] if runs else None
    drifted = (
        store.drifted_features_by_run(session, dataset, [latest.id]).get(latest.id, [])
        if latest
        else []
    )
    severities = [alert.severity for alert in store.list_alerts(session, dataset)]
    return {
        "format": STATUS_FORMAT,
        "dataset": dataset,
        "database": store.database_label(session.get_bind().engine.url),
        "runs": store.count_runs(session, dataset),
        "open_alerts": {s: severities.count(s) for s in ("critical", "warning") if s in severities},
        "latest": None
        if latest is None
        else {
            "run": latest.id,
            "label": data.batch_label(latest.batch_key),
            "batch_time": latest.batch_time.isoformat(),
            "checked_at": latest.started_at.isoformat(),
            "verdict": latest.verdict,
            "n_features": latest.n_features,
            "drifted": list(drifted),
            "page": linked_runs is None or latest.id in linked_runs,
        },
        "history": [
            {"kl": r.max_kl, "drifted": r.n_drifted > 0, "verdict": r.verdict} for r in runs
        ],
    }


def render_status_board(reports_dir: Path) -> str:
    """The reports folder's top page: every dataset with pages under it, from each dataset
    folder's ``status.json`` (so datasets of every database that wrote here appear), most
    severe first. A status file that cannot be read is listed as such, not skipped."""
    rows = []
    for path in _dataset_folders(Path(reports_dir)):
        folder = path.name
        try:
            status = (path / STATUS_FILE).read_text(encoding="utf-8")
            row = _board_row(folder, json.loads(status))
        except FileNotFoundError:
            row = _unlisted(folder, "its pages are from a driftmon that wrote no status file")
        except (OSError, ValueError):  # JSON's errors are ValueErrors too
            row = _unlisted(folder, "its status file cannot be read")
        rows.append(row)
    rows.sort(key=_board_order)
    context = {"rows": rows, "sparkline_runs": SPARKLINE_RUNS, **_page_context()}
    return render_page("index.html", context)


def _unlisted(folder: str, reason: str) -> dict[str, Any]:
    """A board row for a dataset folder whose status cannot be shown, and why."""
    return {
        "folder": folder,
        "unreadable": True,
        "reason": reason,
        "latest": None,
        "dataset": folder,
    }


def _dataset_folders(reports_dir: Path) -> list[Path]:
    """The reports folder's dataset folders: each with a status file, or a history page and
    run pages (written by a driftmon from before the status board, which wrote no status
    file); another site's folder with only an ``index.html`` is not one."""
    with_status = {path.parent for path in reports_dir.glob(f"*/{STATUS_FILE}")}
    with_pages = {
        path.parent
        for path in reports_dir.glob("*/index.html")
        if next(path.parent.glob("run-*.html"), None) is not None
    }
    return sorted(with_status | with_pages)


def _board_row(folder: str, status: Any) -> dict[str, Any]:
    """A dataset's board row from its status file, every field checked: a file written by hand
    or by another version raises ValueError (an "unreadable" row), never breaks the board."""
    if not isinstance(status, dict) or status.get("format") != STATUS_FORMAT:
        raise ValueError("not a status file of this driftmon version")
    latest = status.get("latest")
    if latest is not None:
        latest = {
            "run": _field(latest, "run", int),
            "label": _field(latest, "label", str),
            "batch_time": datetime.fromisoformat(_field(latest, "batch_time", str)),
            "verdict": _field(latest, "verdict", str),
            "n_features": _field(latest, "n_features", int),
            "drifted": [_field({"name": n}, "name", str) for n in _field(latest, "drifted", list)],
            "page": _field(latest, "page", bool),
        }
        if latest["verdict"] not in _VERDICT_ORDER:
            raise ValueError(f"unknown verdict {latest['verdict']!r}")
    alerts = _field(status, "open_alerts", dict)
    if not set(alerts) <= {"critical", "warning"}:
        raise ValueError("unknown alert severity")
    history = [_field({"run": h}, "run", dict) for h in _field(status, "history", list)]
    kl = [h.get("kl") for h in history]
    if not all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in kl):
        raise ValueError("a KL that is not a number")
    return {
        "folder": folder,
        "unreadable": False,
        "dataset": _field(status, "dataset", str),
        "database": _field(status, "database", str),
        "runs": _field(status, "runs", int),
        "open_alerts": {k: _field(alerts, k, int) for k in alerts},
        "latest": latest,
        "page": run_page_name(latest["run"]) if latest and latest["page"] else None,
        "batch_time": latest["batch_time"] if latest else None,
        "sparkline": data.sparkline(kl, [h.get("drifted") is True for h in history])
        if history
        else None,
    }


def _field(mapping: Any, key: str, kind: type) -> Any:
    if not isinstance(mapping, dict) or not isinstance(mapping.get(key), kind):
        raise ValueError(f"`{key}` missing or not a {kind.__name__}")
    return mapping[key]


def write_reports(
    session: Session,
    run_id: int,
    reports_dir: Path,
    *,
    history: int = DEFAULT_HISTORY,
    record_path: bool = True,
    all_charts: bool = False,
) -> Path:
    """Write the run's report and refresh the dataset's index and the status board.

    Writes ``<dataset folder>/run-<id>.html`` (`dataset_folder`: the dataset's own under
    ``reports_dir``, claimed for this database), rewrites that folder's ``index.html``
    and ``status.json`` (`dataset_status`), then ``reports_dir/index.html`` from every dataset
    folder's status (`render_status_board`), and (with ``record_path``) records the report's
    path on the run through `store.set_report_path`: the caller's transaction must commit for
    that to stick. The history figures are drawn once and shared by the run page and the index
    page when they show the same runs (the run is the newest). Returns the run report's path.
    """
    reports_dir = Path(reports_dir)
    drawn: dict[Any, Any] = {}
    page = render_run_report(
        session, run_id, history=history, all_charts=all_charts, _figures=drawn
    )
    run = store.load_run(session, run_id)
    database = store.database_label(session.get_bind().engine.url)
    try:
        folder = claim_dataset_folder(reports_dir, run.dataset, database)
        path = folder / run_page_name(run_id)
        _write_text(path, page)
        linked = _rendered_runs(folder)
        _write_text(
            folder / "index.html",
            render_dataset_index(
                session, run.dataset, history=history, linked_runs=linked, _figures=drawn
            ),
        )
        status = dataset_status(session, run.dataset, linked_runs=linked)
        _write_text(folder / STATUS_FILE, json.dumps(json_safe(status), ensure_ascii=False))
        _write_text(reports_dir / "index.html", render_status_board(reports_dir))
    except OSError as exc:
        raise StoreError(
            f"cannot write the report of run `{run_id}` under `{reports_dir}`: {exc}; "
            "choose a writable reports folder"
        ) from exc
    if record_path:
        store.set_report_path(session, run_id, str(path))
    return path


# --------------------------------------------------------------------------------------------


def _runs_up_to(session: Session, run: store.StoredRun, history: int) -> list[store.StoredRun]:
    """This run and the ``history - 1`` runs before it, oldest first."""
    # usually the newest run: look among the newest first, all runs only if it is older
    infos = store.list_runs(session, run.dataset, limit=history + MAX_LISTED_RUNS)
    if all(info.id != run.id for info in infos):
        infos = store.list_runs(session, run.dataset)
    position = next((i for i, info in enumerate(infos) if info.id == run.id), 0)
    window = infos[position : position + history]
    return [
        run if info.id == run.id else store.load_run(session, info.id, readings=False)
        for info in window
    ][::-1]


def _feature_section(
    index: int, result: store.StoredFeatureResult, reference: Profile, draw: bool
) -> _FeatureSection:
    profile = reference.features.get(result.feature)
    chart = None
    if profile is not None and draw:
        from driftmon.report import figures  # matplotlib loads only when a chart is drawn

        chart = figures.feature_chart(data.chart_view(profile, result))
    return _FeatureSection(
        anchor=f"feature-{index}",
        result=result,
        chart=chart,
        top_bins=data.top_bin_changes(result),
        unseen_label="outside range" if result.kind == "numeric" else "never seen",
        # an unmonitored feature's reference had no usable values: it has no range to show
        reference_range=(
            None
            if result.status == Status.UNMONITORED
            else _range_text(result.reference_range, dates=result.dates)
        ),
    )


def _range_text(bounds: Any, *, dates: bool) -> tuple[str, str] | None:
    """A numeric feature's stored reference range as people read it (dates for a date
    feature), as the alert for values outside it writes it (`value_text`)."""
    if not bounds:
        return None
    return value_text(bounds[0], dates=dates), value_text(bounds[1], dates=dates)


#: Panels of KL over runs on a dataset page, for features that drifted in those runs (most
#: moved first); a flat line in sampling noise needs no panel of its own.
MAX_HISTORY_PANELS = 8


def _history_context(
    runs: list[store.StoredRun],
    current: store.StoredRun | None,
    order: list[str],
    drawn: dict[Any, Any] | None = None,
    *,
    per_feature: bool,
) -> dict[str, Any]:
    """What the history section shows: the heatmap of every feature over the runs and, with
    ``per_feature``, KL over runs of the features that matter. ``drawn`` keeps figures already
    drawn for the same runs and feature order (the run page and the dataset page of the
    newest run show the same)."""
    key = tuple(r.id for r in runs)
    cache = drawn if drawn is not None else {}
    if key not in cache or cache[key]["order"] != order:
        cache[key] = {**_history_data(runs, current, order), "runs": runs, "order": order}
    context = dict(cache[key])
    # KL over runs only of features that drifted in these runs: the heatmap already shows
    # that every other feature stayed within its noise
    if per_feature and context["n_runs"] and context["matrix"].drifted.any():
        if "kl_chart" not in cache[key]:
            cache[key]["kl_chart"] = _kl_panels(context)
        context["kl_chart"] = cache[key]["kl_chart"]
    else:
        context["kl_chart"] = None
    context["per_feature"] = per_feature
    context["max_panels"] = MAX_HISTORY_PANELS
    return context


def _history_data(
    runs: list[store.StoredRun], current: store.StoredRun | None, order: list[str]
) -> dict[str, Any]:
    if not runs:
        return {"n_runs": 0, "kl_chart": None, "heatmap": None}
    matrix = data.history_matrix(runs, order)
    thresholds = (current.settings if current else {}).get("thresholds", {})
    kl_warning = thresholds.get("kl_warning") if isinstance(thresholds, dict) else None
    return {
        "n_runs": len(runs),
        "first": runs[0],
        "last": runs[-1],
        "kl_warning": kl_warning,
        "matrix": matrix,
        "heatmap": data.heatmap(matrix),
    }


def _kl_panels(context: dict[str, Any]) -> data.KlPanels:
    """KL over runs for the features that drifted in these runs, most moved first."""
    matrix = context["matrix"]
    rows = data.most_moved(matrix, MAX_HISTORY_PANELS)
    context["n_panels"] = len(rows)
    return data.kl_panels(matrix, rows, kl_warning=context["kl_warning"])


def _schema(schema_diff: Any) -> dict[str, Any]:
    schema = dict(schema_diff or {})
    result = {
        "missing": list(schema.get("missing", [])),
        "new": list(schema.get("new", [])),
        "retyped": list(schema.get("retyped", [])),
    }
    result["changed"] = any(result.values())
    return result


def _board_order(row: dict[str, Any]) -> tuple[int, str]:
    if row.get("unreadable"):
        return (len(_VERDICT_ORDER) + 1, row["folder"])
    latest = row["latest"]
    rank = _VERDICT_ORDER.get(latest["verdict"], len(_VERDICT_ORDER)) if latest else 4
    return (rank, row["dataset"])


def _page_context() -> dict[str, Any]:
    return {"generated_at": datetime.now(UTC), "driftmon_version": driftmon.__version__}


class _RenderedRuns(Collection[int]):
    """The runs whose page exists in ``folder``, asked one id at a time: a page lists at most
    `MAX_LISTED_RUNS` runs, so listing the folder (every run ever checked) would cost each
    check more as runs pile up."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def __contains__(self, run_id: object) -> bool:
        return (self._folder / run_page_name(run_id)).is_file()

    def __iter__(self) -> Iterator[int]:
        for path in self._folder.glob("run-*.html"):
            number = path.stem.removeprefix("run-")
            if number.isdigit():
                yield int(number)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _rendered_runs(folder: Path) -> _RenderedRuns:
    return _RenderedRuns(folder)


def _write_text(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a reader never sees half a page. The
    temporary name is the writer's own: concurrent checks refresh the same index pages."""
    partial = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
