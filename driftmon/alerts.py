"""Alert lifecycle and notification messages: pure decisions, stored and sent elsewhere.

An alert is identified by (dataset, feature, signal). Its state is decided by the evidence of
the newest ``resolve_after`` batches **in batch time** that observed its key (had a reading for
that feature and signal), whatever order the batches were checked in:

- it is **active** while any of them had a finding, at the **worst severity** among them; so a
  finding opens it, a critical one escalates it, ``resolve_after`` batches in a row without a
  critical finding de-escalate it, and ``resolve_after`` clear batches in a row **resolve** it
  (one clean batch must not close an alert that flaps, nor one calm batch calm a critical one);
- its message is the newest finding's; a resolution quotes the reading that cleared it.

Checking an older batch records it but changes no alert unless it falls among those newest
batches, and then exactly as if the batches had arrived in order: batches checked in any order
end with the same alerts. A feature with no rows to judge (empty, missing, not monitored)
neither holds nor clears its alerts.

Only opened, escalated, de-escalated and resolved alerts are news: a notification goes out for a
run where at least one alert changed that way, and never for a repeated unchanged state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from driftmon.errors import ConfigError
from driftmon.formatting import format_p_value, markdown_code, markdown_text
from driftmon.policy import Reading

__all__ = [
    "DEFAULT_RESOLVE_AFTER",
    "NEWS",
    "Alert",
    "AlertChange",
    "Message",
    "compose_message",
    "decide_alerts",
    "has_full_windows",
]

#: Consecutive batches that must agree before an alert resolves or de-escalates.
DEFAULT_RESOLVE_AFTER = 2
State = Literal["open", "escalated", "resolved"]
Change = Literal["opened", "escalated", "de-escalated", "resolved", "held", "clearing"]
NEWS = ("opened", "escalated", "de-escalated", "resolved")
Key = tuple[str | None, str]
_SEVERITY_RANK = {"warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as the lifecycle sees it; ``id`` is None until the store saves it.

    ``clear_streak`` counts the clear batches since its newest finding.
    """

    id: int | None
    feature: str | None
    signal: str
    severity: Literal["warning", "critical"]
    state: State
    clear_streak: int
    message: str
    acknowledged: bool = False

    @property
    def key(self) -> Key:
        return (self.feature, self.signal)


@dataclass(frozen=True, slots=True)
class AlertChange:
    """What one run did to one alert: the alert afterwards, the kind of change, and the newest
    reading of its key (the finding behind it, or the clear reading that resolved it)."""

    alert: Alert
    change: Change
    reading: Reading | None = None

    @property
    def is_news(self) -> bool:
        return self.change in NEWS


def decide_alerts(
    active: Sequence[Alert],
    history: Sequence[Sequence[Reading]],
    *,
    resolve_after: int = DEFAULT_RESOLVE_AFTER,
) -> list[AlertChange]:
    """Every active alert's fate, and the alerts to open, from the dataset's recent readings.

    ``active`` are the dataset's open or escalated alerts; ``history`` the readings of its
    runs, **newest batch first**, reaching back at least ``resolve_after`` observations of
    every key that matters (see `has_full_windows`). Returns one change per active alert and
    one "opened" change per key that becomes active.
    """
    if resolve_after < 1:
        raise ConfigError(f"alerts: resolve_after must be at least 1, got `{resolve_after}`")
    windows = _windows(_keys(active, history), history, resolve_after)
    changes: list[AlertChange] = []
    for alert in active:
        window = windows.pop(alert.key, [])
        changes.append(_advance(alert, window, resolve_after))
    for key, window in windows.items():
        findings = [r for r in window if r.fired]
        if not findings:
            continue
        severity = _worst(findings)
        opened = Alert(
            id=None,
            feature=key[0],
            signal=key[1],
            severity=severity,
            state="open",
            clear_streak=window.index(findings[0]),
            message=findings[0].message,
        )
        changes.append(AlertChange(opened, "opened", window[0]))
    return changes


def has_full_windows(
    active: Sequence[Alert], history: Sequence[Sequence[Reading]], resolve_after: int
) -> bool:
    """Whether ``history`` holds ``resolve_after`` observations of every key that matters:
    if not (and older runs exist), the caller should load more before deciding."""
    windows = _windows(_keys(active, history), history, resolve_after)
    return all(len(window) >= resolve_after for window in windows.values())


def _keys(active: Sequence[Alert], history: Sequence[Sequence[Reading]]) -> list[Key]:
    keys = dict.fromkeys(alert.key for alert in active)
    for readings in history:
        keys.update(dict.fromkeys(r.key for r in readings if r.fired))
    return list(keys)


def _windows(
    keys: Iterable[Key], history: Sequence[Sequence[Reading]], resolve_after: int
) -> dict[Key, list[Reading]]:
    """Per key, its newest ``resolve_after`` readings (newest first)."""
    windows: dict[Key, list[Reading]] = {key: [] for key in keys}
    for readings in history:
        for reading in readings:
            window = windows.get(reading.key)
            if window is not None and len(window) < resolve_after:
                window.append(reading)
    return windows


def _advance(alert: Alert, window: list[Reading], resolve_after: int) -> AlertChange:
    if not window:  # not observed lately: neither holds nor clears
        return AlertChange(alert, "held")
    newest = window[0]
    findings = [r for r in window if r.fired]
    if not findings:
        if len(window) < resolve_after:
            return AlertChange(alert, "clearing", newest)
        where = alert.feature if alert.feature is not None else "dataset"
        batches = f"{resolve_after} batch{'es' if resolve_after > 1 else ''}"
        resolved = Alert(
            id=alert.id,
            feature=alert.feature,
            signal=alert.signal,
            severity=alert.severity,
            state="resolved",
            clear_streak=len(window),
            message=f"{where} back within thresholds for {batches}: {newest.message}",
            acknowledged=alert.acknowledged,
        )
        return AlertChange(resolved, "resolved", newest)
    severity = _worst(findings)
    streak = window.index(findings[0])
    change: Change
    if _SEVERITY_RANK[severity] > _SEVERITY_RANK[alert.severity]:
        change, state = "escalated", "escalated"
    elif _SEVERITY_RANK[severity] < _SEVERITY_RANK[alert.severity]:
        change, state = "de-escalated", "open"
    else:
        change, state = ("held" if streak == 0 else "clearing"), alert.state
    moved = Alert(
        id=alert.id,
        feature=alert.feature,
        signal=alert.signal,
        severity=severity,
        state=state,  # type: ignore[arg-type]
        clear_streak=streak,
        message=findings[0].message,
        acknowledged=alert.acknowledged,
    )
    return AlertChange(moved, change, newest)


def _worst(findings: Sequence[Reading]) -> Literal["warning", "critical"]:
    return max((r.severity for r in findings), key=lambda s: _SEVERITY_RANK[s])  # type: ignore[arg-type, return-value]


@dataclass(frozen=True, slots=True)
class Message:
    """A notification: a title, a plain-text body for channels that show text as it is, a
    Markdown body for those that render it (Slack, Prefect), and structured data."""

    title: str
    body: str
    level: Literal["info", "warning", "failure"]
    data: dict[str, Any]
    markdown: str | None = None


def compose_message(
    *,
    dataset: str,
    batch_label: str,
    run_id: int,
    changes: Sequence[AlertChange],
    top_features: Sequence[dict[str, Any]],
    report_link: str | None,
    batch_key: str | None = None,
) -> Message | None:
    """One message summarising what changed in a run, or None when nothing did.

    ``top_features`` are the run's features (name, status, kl, p_value) most severe first; the
    drifted ones are shown with their figures. ``batch_label`` names the batch for people (a
    file name and its batch time); ``batch_key`` goes into the data only.
    """
    news = [c for c in changes if c.is_news]
    if not news:
        return None
    counts = {kind: sum(c.change == kind for c in news) for kind in NEWS}
    parts = [f"{counts[k]} {k}" for k in NEWS if counts[k]]
    title = f"driftmon: {dataset}: {', '.join(parts)} alert(s)"
    text = [f"Dataset {dataset}, batch {batch_label} (run {run_id})."]
    markdown = [
        f"Dataset *{markdown_text(dataset)}*, batch `{markdown_code(batch_label)}` (run {run_id})."
    ]
    for change in news:
        alert = change.alert
        where = alert.feature if alert.feature is not None else "dataset"
        if change.change == "resolved":
            head = f"RESOLVED {where} / {alert.signal}"
        else:
            head = f"{change.change.upper()} [{alert.severity}] {where} / {alert.signal}"
        text.append(f"- {head}: {alert.message}")
        markdown.append(f"- *{markdown_text(head)}*: {markdown_text(alert.message)}")
    drifted = [f for f in top_features if f.get("status") in ("warning", "critical")]
    if drifted:
        text.append("Top drifted features:")
        markdown.append("Top drifted features:")
        for feature in drifted[:5]:
            figures = (
                f"{feature['status']}, KL {_kl(feature.get('kl'))}, "
                f"{format_p_value(feature.get('p_value'), sentence=True)}"
            )
            text.append(f"  {feature['name']}: {figures}")
            markdown.append(f"- `{markdown_code(feature['name'])}`: {markdown_text(figures)}")
    if report_link:
        text.append(f"Report: {report_link}")
        markdown.append(f"Report: {markdown_text(report_link)}")
    escalation = any(c.change in ("opened", "escalated") for c in news)
    critical = any(c.alert.severity == "critical" and c.change != "resolved" for c in news)
    level = "failure" if critical else ("warning" if escalation else "info")
    data = {
        "dataset": dataset,
        "batch": batch_label,
        "batch_key": batch_key,
        "run_id": run_id,
        "changes": [
            {
                "change": c.change,
                "alert_id": c.alert.id,
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
    return Message(
        title=title,
        body="\n".join(text),
        level=level,
        data=data,
        markdown="\n".join(markdown),
    )


def _kl(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"
