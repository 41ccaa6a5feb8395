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

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from driftmon.errors import ConfigError
from driftmon.formatting import format_p_value, markdown_code, markdown_text
from driftmon.options import DEFAULT_RESOLVE_AFTER
from driftmon.policy import SEVERITIES, Reading, Severity, Status

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

State = Literal["open", "escalated", "resolved"]
Change = Literal["opened", "escalated", "de-escalated", "resolved", "held", "clearing"]
NEWS = ("opened", "escalated", "de-escalated", "resolved")
Key = tuple[str | None, str]


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as the lifecycle sees it; ``id`` is None until the store saves it.

    ``clear_streak`` counts the clear batches since its newest finding.
    """

    id: int | None
    feature: str | None
    signal: str
    severity: Severity
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
    monitored: Collection[str] | None = None,
) -> list[AlertChange]:
    """Every active alert's fate, and the alerts to open, from the dataset's recent readings.

    ``active`` are the dataset's open or escalated alerts; ``history`` the readings of its
    runs, **newest batch first**, reaching back at least ``resolve_after`` observations of
    every key that matters (see `has_full_windows`). ``monitored`` names the features of the
    active reference: an alert on a feature no longer among them is resolved, since nothing
    could ever clear it, and its findings in earlier runs open none. Returns one change per
    active alert and one "opened" change per key that becomes active.
    """
    if resolve_after < 1:
        raise ConfigError(f"alerts: resolve_after must be at least 1, got `{resolve_after}`")
    windows = _windows(_keys(active, history), history, resolve_after)
    changes: list[AlertChange] = []
    for alert in active:
        window = windows.pop(alert.key, [])
        if monitored is not None and alert.feature is not None and alert.feature not in monitored:
            changes.append(_retire(alert))
            continue
        changes.append(_advance(alert, window, resolve_after))
    for key, window in windows.items():
        findings = [r for r in window if r.fired]
        if not findings or (
            monitored is not None and key[0] is not None and key[0] not in monitored
        ):
            continue  # an unmonitored feature's old findings would reopen what was retired
        severity = _worst(findings)
        opened = Alert(
            id=None,
            feature=key[0],
            signal=key[1],
            severity=severity,
            state=_state(findings, severity),
            clear_streak=window.index(findings[0]),
            message=_message(findings, severity, resolve_after),
        )
        changes.append(AlertChange(opened, "opened", window[0]))
    return changes


def _retire(alert: Alert) -> AlertChange:
    message = f"{alert.feature} is no longer monitored: the active reference has no such feature"
    return AlertChange(replace(alert, state="resolved", message=message), "resolved")


def _state(findings: Sequence[Reading], severity: str) -> State:
    """``escalated`` when the window shows a warning turning critical, else ``open``: the
    same whatever order the batches arrived in."""
    if severity != Status.CRITICAL:
        return "open"
    newest_critical = next(i for i, r in enumerate(findings) if r.severity == Status.CRITICAL)
    earlier = findings[newest_critical + 1 :]
    return "escalated" if any(r.severity == Status.WARNING for r in earlier) else "open"


def _message(findings: Sequence[Reading], severity: str, resolve_after: int) -> str:
    """The newest finding's message; when the alert stays at a higher severity than that
    finding's, also the finding that keeps it there, so a warning-level figure never stands
    alone next to "critical"."""
    newest = findings[0]
    if newest.severity == severity:
        return newest.message
    worst = next(r for r in findings if r.severity == severity)
    batches = f"{resolve_after} batch{'es' if resolve_after > 1 else ''}"
    return f"{newest.message}; {severity} until {batches} in a row are not, after: {worst.message}"


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
        message = f"{where} back within thresholds for {batches}: {newest.message}"
        resolved = replace(alert, state="resolved", clear_streak=len(window), message=message)
        return AlertChange(resolved, "resolved", newest)
    severity = _worst(findings)
    streak = window.index(findings[0])
    change: Change
    step = Status(severity).rank - Status(alert.severity).rank
    if step:
        change = "escalated" if step > 0 else "de-escalated"
    else:
        change = "held" if streak == 0 else "clearing"
    moved = replace(
        alert,
        severity=severity,
        state=_state(findings, severity),
        clear_streak=streak,
        message=_message(findings, severity, resolve_after),
    )
    return AlertChange(moved, change, newest)


def _worst(findings: Sequence[Reading]) -> Severity:
    return max((Status(r.severity) for r in findings), key=lambda s: s.rank)  # type: ignore[return-value]


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
    # the title is all a phone or an inbox shows: which feed, what changed, in which batch
    alerts = "alert" if len(news) == 1 else "alerts"
    title = f"driftmon: {dataset}: {', '.join(parts)} {alerts} in {batch_label}"
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
    drifted = [f for f in top_features if f.get("status") in SEVERITIES]
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
    critical = any(c.alert.severity == Status.CRITICAL and c.change != "resolved" for c in news)
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
