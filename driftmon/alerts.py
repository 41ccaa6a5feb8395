"""Alert lifecycle and notification messages: pure decisions, stored and sent elsewhere.

An alert is identified by (dataset, feature, signal). Each checked batch moves it:

- a finding with no active alert **opens** one;
- a critical finding on a warning alert **escalates** it;
- an active alert whose feature was observed without a finding counts a clear run; after
  ``resolve_after`` consecutive clear runs it is **resolved** (one clean batch must not close an
  alert that flaps);
- anything else **holds**. A feature with no rows to judge (empty or missing column) neither
  holds nor clears its alerts.

Only opened, escalated and resolved alerts are news: a notification goes out for a run where at
least one alert changed state, and never for a repeated unchanged state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from driftmon.errors import ConfigError
from driftmon.policy import Finding

__all__ = [
    "DEFAULT_RESOLVE_AFTER",
    "Alert",
    "AlertChange",
    "Message",
    "compose_message",
    "update_alerts",
]

#: Consecutive clear runs before an alert resolves.
DEFAULT_RESOLVE_AFTER = 2
State = Literal["open", "escalated", "resolved"]
Change = Literal["opened", "escalated", "resolved", "held", "clearing"]
NEWS = ("opened", "escalated", "resolved")


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as the lifecycle sees it; ``id`` is None until the store saves it."""

    id: int | None
    feature: str | None
    signal: str
    severity: Literal["warning", "critical"]
    state: State
    clear_streak: int
    message: str
    acknowledged: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.feature, self.signal)


@dataclass(frozen=True, slots=True)
class AlertChange:
    """What one run did to one alert: the alert afterwards and the kind of change."""

    alert: Alert
    change: Change
    finding: Finding | None = None

    @property
    def is_news(self) -> bool:
        return self.change in NEWS


def update_alerts(
    active: Sequence[Alert],
    findings: Sequence[Finding],
    observed: Sequence[str],
    *,
    resolve_after: int = DEFAULT_RESOLVE_AFTER,
) -> list[AlertChange]:
    """Move every active alert and open new ones for this run's findings.

    ``active`` are the dataset's open or escalated alerts; ``observed`` the features that had
    rows in this batch.
    """
    if resolve_after < 1:
        raise ConfigError(f"alerts: resolve_after must be at least 1, got `{resolve_after}`")
    by_key = {}
    for finding in findings:
        key = (finding.feature, finding.signal)
        if key not in by_key or (finding.severity == "critical"):
            by_key[key] = finding
    observed_set = set(observed)
    changes: list[AlertChange] = []
    for alert in active:
        finding = by_key.pop(alert.key, None)
        if finding is not None:
            if finding.severity == "critical" and alert.severity == "warning":
                escalated = replace(
                    alert,
                    severity="critical",
                    state="escalated",
                    clear_streak=0,
                    message=finding.message,
                )
                changes.append(AlertChange(escalated, "escalated", finding))
            else:
                held = replace(alert, clear_streak=0, message=finding.message)
                changes.append(AlertChange(held, "held", finding))
            continue
        seen = alert.feature in observed_set if alert.feature is not None else bool(observed)
        if not seen:
            changes.append(AlertChange(alert, "held"))
            continue
        streak = alert.clear_streak + 1
        if streak >= resolve_after:
            changes.append(
                AlertChange(replace(alert, state="resolved", clear_streak=streak), "resolved")
            )
        else:
            changes.append(AlertChange(replace(alert, clear_streak=streak), "clearing"))
    for (feature, signal), finding in by_key.items():
        opened = Alert(
            id=None,
            feature=feature,
            signal=signal,
            severity=finding.severity,
            state="open",
            clear_streak=0,
            message=finding.message,
        )
        changes.append(AlertChange(opened, "opened", finding))
    return changes


@dataclass(frozen=True, slots=True)
class Message:
    """A notification: title and plain-text body for every channel, plus structured data."""

    title: str
    body: str
    level: Literal["info", "warning", "failure"]
    data: dict[str, Any]


def compose_message(
    *,
    dataset: str,
    batch_key: str,
    run_id: int,
    changes: Sequence[AlertChange],
    top_features: Sequence[dict[str, Any]],
    report_link: str | None,
) -> Message | None:
    """One message summarising what changed in a run, or None when nothing did.

    ``top_features`` are the run's most drifted features (name, status, kl, p_value), shown
    with their figures.
    """
    news = [c for c in changes if c.is_news]
    if not news:
        return None
    counts = {kind: sum(c.change == kind for c in news) for kind in NEWS}
    parts = [f"{counts[k]} {k}" for k in NEWS if counts[k]]
    title = f"driftmon: {dataset}: {', '.join(parts)} alert(s)"
    lines = [f"Dataset {dataset}, batch {batch_key} (run {run_id})."]
    for change in news:
        where = change.alert.feature or "dataset"
        lines.append(
            f"- {change.change.upper()} [{change.alert.severity}] {where} / "
            f"{change.alert.signal}: {change.alert.message}"
        )
    drifted = [f for f in top_features if f.get("status") in ("warning", "critical")]
    if drifted:
        lines.append("Top drifted features:")
        lines += [
            f"  {f['name']}: {f['status']}, KL {f['kl']:.3f}, p {f['p_value']:.1e}"
            for f in drifted[:5]
        ]
    if report_link:
        lines.append(f"Report: {report_link}")
    escalation = any(c.change in ("opened", "escalated") for c in news)
    critical = any(c.alert.severity == "critical" and c.change != "resolved" for c in news)
    level = "failure" if critical else ("warning" if escalation else "info")
    data = {
        "dataset": dataset,
        "batch_key": batch_key,
        "run_id": run_id,
        "changes": [
            {
                "change": c.change,
                "feature": c.alert.feature,
                "signal": c.alert.signal,
                "severity": c.alert.severity,
                "message": c.alert.message,
            }
            for c in news
        ],
        "top_features": list(drifted[:5]),
        "report": report_link,
    }
    return Message(title=title, body="\n".join(lines), level=level, data=data)
