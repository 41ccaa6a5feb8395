"""What a drift check returns: one plain, JSON-ready object for the CLI, flows and artifacts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from driftmon.alerts import AlertChange
from driftmon.compare import Comparison, FeatureResult
from driftmon.formatting import (
    format_p_value,
    json_safe,
    markdown_code,
    markdown_text,
    name_list,
)
from driftmon.policy import Status, Verdict
from driftmon.status import severity_order

__all__ = [
    "BatchFailure",
    "BatchSkip",
    "CheckResult",
    "FeatureRow",
    "alert_summary",
    "build_check_result",
    "run_summary",
]


@dataclass(frozen=True, slots=True)
class FeatureRow:
    """One feature's result and the policy's status for it, as shown in tables and JSON."""

    result: FeatureResult
    status: str

    @property
    def name(self) -> str:
        return self.result.name

    def to_dict(self) -> dict[str, Any]:
        """The feature object of `driftmon check --json`: name, kind, status, then every
        measure and detail of the result."""
        data = self.result.to_dict()
        return {"name": data.pop("name"), "kind": data.pop("kind"), "status": self.status, **data}


@dataclass(frozen=True, slots=True, repr=False)
class CheckResult:
    """The outcome of checking one batch: stored run, per-feature rows and schema changes.

    ``features`` are sorted most severe first, then by KL. ``skipped`` is true when the batch had
    been checked before and was left as it was.
    """

    run_id: int
    dataset: str
    batch_key: str
    batch_time: datetime | None
    source: str
    n_rows: int
    reference_version: int
    verdict: str
    features: tuple[FeatureRow, ...]
    schema: dict[str, Any]
    alerts: tuple[dict[str, Any], ...] = ()
    findings: tuple[dict[str, Any], ...] = ()
    report_path: str | None = None
    replaced: bool = False
    skipped: bool = False
    drifted: tuple[str, ...] = field(default=())
    notifications: dict[str, int] = field(default_factory=dict)
    label: str = ""
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        drifted = name_list(self.drifted) or "none"
        return (
            f"<CheckResult {self.dataset!r} run {self.run_id}: {self.verdict}, "
            f"{self.n_rows:,} rows, {len(self.features)} features, drifted: {drifted}>"
        )

    def with_delivery(self, sent: int, pending: int) -> CheckResult:
        """This result with the outcome of delivering its notifications."""
        return replace(self, notifications={"sent": sent, "pending": pending})

    def with_warnings(self, *warnings: str) -> CheckResult:
        """This result with what its check should tell the user besides the figures."""
        return replace(self, warnings=self.warnings + warnings)

    def with_report(self, path: str | None) -> CheckResult:
        """This result with the path of its HTML report (None: not drawn)."""
        return replace(self, report_path=path)

    def summary_line(self) -> str:
        """One plain line for logs: dataset, batch, verdict, drifted features, report."""
        when = self.batch_time.date().isoformat() if self.batch_time else "unknown"
        line = (
            f"{self.dataset}: batch {self.label or self.batch_key} (batch time {when}), "
            f"{self.n_rows:,} rows: {self.verdict}"
        )
        if self.drifted:
            line += f", drifted: {name_list(self.drifted)}"
        if self.report_path:
            line += f"; report: {self.report_path}"
        return line

    def to_dict(self) -> dict[str, Any]:
        """The JSON object `driftmon check --json` prints (non-finite figures as null)."""
        return json_safe(
            {
                "run_id": self.run_id,
                "dataset": self.dataset,
                "batch_key": self.batch_key,
                "batch_time": self.batch_time.isoformat() if self.batch_time else None,
                "source": self.source,
                "n_rows": self.n_rows,
                "reference_version": self.reference_version,
                "verdict": self.verdict,
                "drifted": list(self.drifted),
                "features": [f.to_dict() for f in self.features],
                "schema": self.schema,
                "findings": list(self.findings),
                "alerts": list(self.alerts),
                "report_path": self.report_path,
                "replaced": self.replaced,
                "skipped": self.skipped,
                "notifications": dict(self.notifications),
                "warnings": list(self.warnings),
            }
        )

    def markdown_summary(self) -> str:
        """One Markdown line for Prefect artifacts, every name escaped so it shows as written."""
        drifted = ", ".join(f"`{markdown_code(name)}`" for name in self.drifted) or "none"
        text = (
            f"**{markdown_text(self.dataset)}** batch `{markdown_code(self.batch_key)}`: verdict "
            f"**{self.verdict}**, {self.n_rows:,} rows, drifted: {drifted}"
        )
        if self.report_path:
            text += f". Report: `{markdown_code(self.report_path)}`"
        return text

    def drift_table(self) -> list[dict[str, Any]]:
        """A short table (one row per feature) for Prefect artifacts and logs."""
        return [
            {
                "feature": f.name,
                "status": f.status,
                "kl": _round(f.result.kl),
                "js": _round(f.result.js),
                "psi": _round(f.result.psi),
                "p_value": format_p_value(f.result.p_value),
                "rows": f.result.n_current,
            }
            for f in self.features
        ]


@dataclass(frozen=True, slots=True)
class BatchFailure:
    """A batch that could not be checked (unreadable, empty...): reported, others go on.

    Nothing is stored for it, so the next `check-new` tries it again once it is fixed.
    """

    source: str
    batch_key: str
    error: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "batch_key": self.batch_key, "error": self.error}


@dataclass(frozen=True, slots=True)
class BatchSkip:
    """A batch `check-new` found without data rows (a header alone): recorded as handled, so
    it is not tried again, with no run (there is nothing to compare)."""

    source: str
    batch_key: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "batch_key": self.batch_key,
            "skipped": True,
            "reason": self.reason,
        }


def build_check_result(
    *,
    run_id: int,
    dataset: str,
    batch_key: str,
    batch_time: datetime | None,
    source: str,
    reference_version: int,
    comparison: Comparison,
    verdict: Verdict,
    alert_changes: Sequence[AlertChange] = (),
    report_path: str | None = None,
    replaced: bool = False,
    skipped: bool = False,
    label: str = "",
) -> CheckResult:
    rows = [
        FeatureRow(result, verdict.statuses.get(result.name, Status.EMPTY))
        for result in comparison.features
    ]
    rows.sort(key=lambda f: severity_order(f.status, f.result.kl, f.name))
    return CheckResult(
        run_id=run_id,
        dataset=dataset,
        batch_key=batch_key,
        batch_time=batch_time,
        source=source,
        n_rows=comparison.n_rows,
        reference_version=reference_version,
        verdict=verdict.overall,
        features=tuple(rows),
        schema=comparison.schema.to_dict(),
        alerts=tuple(
            {
                "id": c.alert.id,
                "feature": c.alert.feature,
                "signal": c.alert.signal,
                "severity": c.alert.severity,
                "state": c.alert.state,
                "change": c.change,
                "message": c.alert.message,
            }
            for c in alert_changes
        ),
        findings=tuple(f.to_dict() for f in verdict.findings),
        report_path=report_path,
        replaced=replaced,
        skipped=skipped,
        drifted=verdict.drifted,
        label=label,
    )


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")


def run_summary(run: Any) -> dict[str, Any]:
    """A stored run's headline (`driftmon history --json`, `Monitor.history`)."""
    return {
        "run_id": run.id,
        "batch_key": run.batch_key,
        "batch_time": run.batch_time.isoformat() if run.batch_time else None,
        "reference_version": run.reference_version,
        "verdict": run.verdict,
        "n_rows": run.n_rows,
        "n_drifted": run.n_drifted,
        "max_kl": run.max_kl,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "report_path": run.report_path,
    }


def alert_summary(alert: Any, now: datetime) -> dict[str, Any]:
    """A stored alert with how long it has been open (`driftmon alerts --json`,
    `Monitor.alerts`)."""
    return {
        "id": alert.id,
        "dataset": alert.dataset,
        "feature": alert.feature,
        "signal": alert.signal,
        "severity": alert.severity,
        "state": alert.state,
        "message": alert.message,
        "opened_at": alert.opened_at.isoformat(),
        "open_seconds": round(((alert.resolved_at or now) - alert.opened_at).total_seconds()),
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
    }
