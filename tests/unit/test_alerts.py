from __future__ import annotations

import pytest

from driftmon.alerts import Alert, compose_message, update_alerts
from driftmon.errors import ConfigError
from driftmon.policy import Finding


def finding(feature: str | None = "x", signal: str = "kl", severity: str = "warning") -> Finding:
    return Finding(feature, signal, severity, 0.05, 0.02, 1e-6, f"{feature} {signal} {severity}")  # type: ignore[arg-type]


def alert(feature: str | None = "x", severity: str = "warning", streak: int = 0) -> Alert:
    return Alert(1, feature, "kl", severity, "open", streak, "old message")  # type: ignore[arg-type]


def test_a_finding_without_an_active_alert_opens_one() -> None:
    [change] = update_alerts([], [finding()], ["x"])
    assert change.change == "opened"
    assert (change.alert.id, change.alert.state, change.alert.severity) == (None, "open", "warning")
    assert change.is_news


def test_a_critical_finding_escalates_a_warning_alert() -> None:
    [change] = update_alerts([alert()], [finding(severity="critical")], ["x"])
    assert change.change == "escalated"
    assert (change.alert.id, change.alert.state, change.alert.severity) == (
        1,
        "escalated",
        "critical",
    )


def test_the_same_state_again_holds_and_is_not_news() -> None:
    [change] = update_alerts([alert(streak=1)], [finding()], ["x"])
    assert change.change == "held"
    assert change.alert.clear_streak == 0
    assert not change.is_news


def test_a_weaker_finding_does_not_deescalate() -> None:
    [change] = update_alerts([alert(severity="critical")], [finding(severity="warning")], ["x"])
    assert (change.change, change.alert.severity) == ("held", "critical")


def test_an_alert_resolves_only_after_resolve_after_clear_runs() -> None:
    [first] = update_alerts([alert()], [], ["x"], resolve_after=2)
    assert (first.change, first.alert.clear_streak, first.alert.state) == ("clearing", 1, "open")
    [second] = update_alerts([first.alert], [], ["x"], resolve_after=2)
    assert (second.change, second.alert.state) == ("resolved", "resolved")
    assert second.is_news


def test_a_flapping_feature_restarts_its_clear_streak() -> None:
    [clear] = update_alerts([alert()], [], ["x"], resolve_after=2)
    [back] = update_alerts([clear.alert], [finding()], ["x"], resolve_after=2)
    [clear_again] = update_alerts([back.alert], [], ["x"], resolve_after=2)
    assert clear_again.change == "clearing"


def test_an_unobserved_feature_neither_holds_nor_clears() -> None:
    [change] = update_alerts([alert(streak=1)], [], observed=["other"], resolve_after=2)
    assert (change.change, change.alert.clear_streak) == ("held", 1)


def test_dataset_level_alerts_clear_when_any_feature_was_observed() -> None:
    [change] = update_alerts([alert(feature=None)], [], ["x"], resolve_after=1)
    assert change.change == "resolved"


def test_resolve_after_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="resolve_after must be at least 1"):
        update_alerts([], [], [], resolve_after=0)


def test_a_message_is_composed_only_when_something_changed() -> None:
    held = update_alerts([alert()], [finding()], ["x"])
    assert (
        compose_message(
            dataset="d", batch_key="b", run_id=1, changes=held, top_features=[], report_link=None
        )
        is None
    )
    opened = update_alerts([], [finding("y", severity="critical")], ["y"])
    message = compose_message(
        dataset="d",
        batch_key="b",
        run_id=3,
        changes=opened,
        top_features=[{"name": "y", "status": "critical", "kl": 0.5, "p_value": 1e-9}],
        report_link="reports/d/run-3.html",
    )
    assert message is not None
    assert message.title == "driftmon: d: 1 opened alert(s)"
    assert message.level == "failure"
    assert "OPENED [critical] y / kl" in message.body
    assert "y: critical, KL 0.500" in message.body
    assert "Report: reports/d/run-3.html" in message.body
    assert message.data["changes"][0]["change"] == "opened"
