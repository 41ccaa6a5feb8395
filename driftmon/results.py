"""What a drift check returns: one plain, JSON-ready object for the CLI, flows and artifacts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from driftmon.alerts import AlertChange
from driftmon.compare import Comparison
from driftmon.policy import STATUSES, Verdict

__all__ = ["BatchFailure", "CheckResult", "FeatureRow", "build_check_result"]


@dataclass(frozen=True, slots=True)
class FeatureRow:
    """One feature's headline figures and status, as shown in tables and JSON."""

    name: str
    kind: str
    status: str
    kl: float | None
    kl_reverse: float | None
    js: float | None
    psi: float | None
    p_value: float | None
    expected_kl_no_drift: float | None
    n_current: int
    missing_share_reference: float | None
    missing_share_current: float | None
    unseen_share_reference: float | None
    unseen_share_current: float | None
    top_bins: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "top_bins", tuple(self.top_bins))


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of checking one batch: stored run, per-feature rows and schema changes.

    ``features`` are sorted most severe first, then by KL. ``skipped`` is true when the batch had
    been checked before and was left as it was.
    """

    run_id: int
    dataset: str
    batch_key: str
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

    def with_delivery(self, sent: int, pending: int) -> CheckResult:
        """This result with the outcome of delivering its notifications."""
        return replace(self, notifications={"sent": sent, "pending": pending})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object `driftmon check --json` prints."""
        return {
            "run_id": self.run_id,
            "dataset": self.dataset,
            "batch_key": self.batch_key,
            "source": self.source,
            "n_rows": self.n_rows,
            "reference_version": self.reference_version,
            "verdict": self.verdict,
            "drifted": list(self.drifted),
            "features": [{**asdict(f), "top_bins": list(f.top_bins)} for f in self.features],
            "schema": self.schema,
            "findings": list(self.findings),
            "alerts": list(self.alerts),
            "report_path": self.report_path,
            "replaced": self.replaced,
            "skipped": self.skipped,
            "notifications": dict(self.notifications),
        }

    def drift_table(self) -> list[dict[str, Any]]:
        """A short table (one row per feature) for Prefect artifacts and logs."""
        return [
            {
                "feature": f.name,
                "status": f.status,
                "kl": _round(f.kl),
                "js": _round(f.js),
                "psi": _round(f.psi),
                "p_value": _round(f.p_value),
                "rows": f.n_current,
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


def build_check_result(
    *,
    run_id: int,
    dataset: str,
    batch_key: str,
    source: str,
    reference_version: int,
    comparison: Comparison,
    verdict: Verdict,
    alert_changes: Sequence[AlertChange] = (),
    report_path: str | None = None,
    replaced: bool = False,
    skipped: bool = False,
) -> CheckResult:
    copied = [name for name in FeatureRow.__dataclass_fields__ if name != "status"]
    rows = []
    for result in comparison.features:
        measured = result.to_dict()
        rows.append(
            FeatureRow(
                status=verdict.statuses.get(result.name, "empty"),
                **{name: measured[name] for name in copied},
            )
        )
    rows.sort(key=lambda f: (-STATUSES.index(f.status), -(f.kl or 0.0), f.name))
    return CheckResult(
        run_id=run_id,
        dataset=dataset,
        batch_key=batch_key,
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
    )


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else float(f"{value:.{digits}g}")
