"""The alert lifecycle, decided on the newest readings in batch time, and its messages."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftmon.alerts import Alert, AlertChange, compose_message, decide_alerts, has_full_windows
from driftmon.errors import ConfigError
from driftmon.policy import Reading


def reading(
    feature: str | None = "x", severity: str | None = "warning", signal: str = "kl"
) -> Reading:
    if severity is None:
        return Reading(feature, signal, None, 0.003, 0.02, 0.5, "KL 0.003 < 0.02")
    message = f"{feature} {signal} {severity}"
    return Reading(feature, signal, severity, 0.05, 0.02, 1e-6, message)  # type: ignore[arg-type]


def alert(feature: str | None = "x", severity: str = "warning", state: str = "open") -> Alert:
    return Alert(1, feature, "kl", severity, state, 0, "old message")  # type: ignore[arg-type]


def test_a_finding_without_an_active_alert_opens_one() -> None:
    [change] = decide_alerts([], [[reading()]])
    assert change.change == "opened"
    assert (change.alert.id, change.alert.state, change.alert.severity) == (None, "open", "warning")
    assert change.alert.message == "x kl warning"
    assert change.is_news


def test_a_critical_finding_escalates_a_warning_alert() -> None:
    [change] = decide_alerts([alert()], [[reading(severity="critical")], [reading()]])
    assert change.change == "escalated"
    assert (change.alert.id, change.alert.state, change.alert.severity) == (
        1,
        "escalated",
        "critical",
    )
    assert change.alert.message == "x kl critical"


def test_the_same_state_again_holds_and_is_not_news() -> None:
    [change] = decide_alerts([alert()], [[reading()], [reading()]])
    assert change.change == "held"
    assert change.alert.clear_streak == 0
    assert not change.is_news


def test_a_critical_alert_de_escalates_after_resolve_after_batches_without_a_critical_one() -> None:
    critical = alert(severity="critical", state="escalated")
    once = [[reading(severity="warning")], [reading(severity="critical")]]
    [held] = decide_alerts([critical], once, resolve_after=2)
    assert (held.change, held.alert.severity) == ("held", "critical")
    twice = [[reading(severity="warning")], *once]
    [calmer] = decide_alerts([critical], twice, resolve_after=2)
    assert (calmer.change, calmer.alert.severity, calmer.alert.state) == (
        "de-escalated",
        "warning",
        "open",
    )
    assert calmer.alert.message == "x kl warning"
    assert calmer.is_news


def test_an_alert_resolves_only_after_resolve_after_clear_batches() -> None:
    [first] = decide_alerts([alert()], [[reading(severity=None)], [reading()]], resolve_after=2)
    assert (first.change, first.alert.clear_streak, first.alert.state) == ("clearing", 1, "open")
    assert first.alert.message == "x kl warning"  # still open for the newest finding's reason
    clear_twice = [[reading(severity=None)], [reading(severity=None)], [reading()]]
    [second] = decide_alerts([first.alert], clear_twice, resolve_after=2)
    assert (second.change, second.alert.state) == ("resolved", "resolved")
    assert second.is_news


def test_a_resolution_says_so_with_the_value_that_cleared_it() -> None:
    clear = [[reading(severity=None)], [reading(severity=None)]]
    [resolved] = decide_alerts([alert()], clear, resolve_after=2)
    assert resolved.alert.message == "x back within thresholds for 2 batches: KL 0.003 < 0.02"
    [dataset] = decide_alerts([alert(feature=None)], [[reading(None, None)]], resolve_after=1)
    assert dataset.alert.message == "dataset back within thresholds for 1 batch: KL 0.003 < 0.02"


def test_a_flapping_feature_restarts_its_clear_streak() -> None:
    history = [[reading(severity=None)], [reading()], [reading(severity=None)]]
    [change] = decide_alerts([alert()], history, resolve_after=2)
    assert (change.change, change.alert.clear_streak) == ("clearing", 1)


def test_an_unobserved_feature_neither_holds_nor_clears() -> None:
    [change] = decide_alerts([alert()], [[reading("other", None)]], resolve_after=2)
    assert change.change == "held"
    assert change.alert == alert()


def test_dataset_level_alerts_clear_on_their_own_clear_readings() -> None:
    [change] = decide_alerts([alert(feature=None)], [[reading(None, None)]], resolve_after=1)
    assert change.change == "resolved"


def test_resolve_after_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="resolve_after must be at least 1"):
        decide_alerts([], [], resolve_after=0)


def test_full_windows_need_resolve_after_observations_of_every_key_that_matters() -> None:
    assert not has_full_windows([alert()], [[reading(severity=None)]], 2)
    assert has_full_windows([alert()], [[reading(severity=None)], [reading()]], 2)
    assert has_full_windows([], [[reading("y", None)]], 2)  # nothing fired: nothing matters


def test_an_older_batch_beyond_the_newest_ones_changes_nothing() -> None:
    """A drifted batch older than the newest `resolve_after` observations arrives late."""
    newest_first = [[reading(severity=None)], [reading(severity=None)], [reading("x", "critical")]]
    assert decide_alerts([], newest_first, resolve_after=2) == []


# --------------------------------------------------------------------------------------------
# Arrival order does not matter: a small store that applies changes as the pipeline does.


def _replay(arrivals: list[tuple[int, list[Reading]]], resolve_after: int) -> set[tuple]:
    """Check batches in the given order; return the open alerts as (feature, signal, severity)."""
    checked: dict[int, list[Reading]] = {}
    active: dict[tuple, Alert] = {}
    next_id = 1
    for batch_time, readings in arrivals:
        checked[batch_time] = readings  # a re-check replaces its run
        history = [checked[t] for t in sorted(checked, reverse=True)]
        for change in decide_alerts(list(active.values()), history, resolve_after=resolve_after):
            key = change.alert.key
            if change.change == "resolved":
                del active[key]
            elif change.alert.id is None:
                active[key] = Alert(**{**_fields(change), "id": next_id})
                next_id += 1
            else:
                active[key] = change.alert
    return {(a.feature, a.signal, a.severity, a.state, a.message) for a in active.values()}


def _fields(change: AlertChange) -> dict:
    return {name: getattr(change.alert, name) for name in Alert.__dataclass_fields__}


_batch = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.sampled_from(["kl", "missing"]),
        st.sampled_from([None, None, "warning", "critical"]),
    ),
    max_size=4,
    unique_by=lambda t: t[:2],
)


@settings(max_examples=200, deadline=None)
@given(batches=st.lists(_batch, min_size=1, max_size=8), seed=st.integers(0, 10**6))
def test_batches_checked_in_any_order_end_with_the_same_open_alerts(batches, seed) -> None:
    runs = [
        (time, [reading(f, severity, signal) for f, signal, severity in batch])
        for time, batch in enumerate(batches)
    ]
    shuffled = runs[:]
    random.Random(seed).shuffle(shuffled)
    for resolve_after in (1, 2, 3):
        assert _replay(shuffled, resolve_after) == _replay(runs, resolve_after)


def test_re_checking_an_old_batch_leaves_the_open_alerts_of_newer_ones_unchanged() -> None:
    """Twelve monthly batches in order, then March again: December still owns the alerts."""
    months = [(m, [reading("x", "warning" if m in (3, 12) else None)]) for m in range(1, 13)]
    in_order = _replay(months, resolve_after=2)
    assert in_order == {("x", "kl", "warning", "open", "x kl warning")}
    again = [*months, (3, [reading("x", None)])]
    assert _replay(again, resolve_after=2) == in_order


# --------------------------------------------------------------------------------------------
# Messages


def test_a_message_is_composed_only_when_something_changed() -> None:
    held = decide_alerts([alert()], [[reading()]])
    assert (
        compose_message(
            dataset="d", batch_label="b", run_id=1, changes=held, top_features=[], report_link=None
        )
        is None
    )
    opened = decide_alerts([], [[reading("y", severity="critical")]])
    message = compose_message(
        dataset="d",
        batch_label="b.csv",
        run_id=3,
        changes=opened,
        top_features=[{"name": "y", "status": "critical", "kl": 0.5, "p_value": 1e-20}],
        report_link="reports/d/run-3.html",
    )
    assert message is not None
    assert message.title == "driftmon: d: 1 opened alert in b.csv"
    assert message.level == "failure"
    assert "OPENED [critical] y / kl" in message.body
    assert "y: critical, KL 0.500, p < 1e-16" in message.body
    assert "Report: reports/d/run-3.html" in message.body
    assert "`" not in message.body  # plain text
    assert message.data["changes"][0]["change"] == "opened"


def test_a_resolution_reads_as_a_resolution_not_as_a_new_alarm() -> None:
    clear = [[reading(severity=None)], [reading(severity=None)]]
    resolved = decide_alerts([alert(severity="critical")], clear, resolve_after=2)
    message = compose_message(
        dataset="d", batch_label="b", run_id=2, changes=resolved, top_features=[], report_link=None
    )
    assert message is not None
    assert "- RESOLVED x / kl: x back within thresholds for 2 batches: KL 0.003 < 0.02" in (
        message.body
    )
    assert "[critical]" not in message.body
    assert message.level == "info"


def test_the_markdown_body_escapes_names_so_they_show_as_written() -> None:
    opened = decide_alerts([], [[reading("*bold*_x", severity="warning")]])
    message = compose_message(
        dataset="sales_[eu]",
        batch_label="b`1`.csv",
        run_id=1,
        changes=opened,
        top_features=[],
        report_link=None,
    )
    assert message is not None and message.markdown is not None
    assert "\\*bold\\*\\_x" in message.markdown
    assert "sales\\_\\[eu\\]" in message.markdown
    assert "`b'1'.csv`" in message.markdown
    assert "*bold*_x" in message.body  # the plain body stays as written


def test_an_alert_kept_critical_by_an_earlier_batch_says_so_next_to_the_newest_figure() -> None:
    history = [[reading(severity="warning")], [reading(severity="critical")]]
    [change] = decide_alerts([alert(severity="critical", state="escalated")], history)
    assert change.alert.severity == "critical"
    assert change.alert.message == (
        "x kl warning; critical until 2 batches in a row are not, after: x kl critical"
    )


def test_escalated_means_a_warning_turned_critical_whatever_the_order_of_arrival() -> None:
    warning_then_critical = [[reading(severity="critical")], [reading(severity="warning")]]
    [opened] = decide_alerts([], warning_then_critical)
    assert (opened.alert.severity, opened.alert.state) == ("critical", "escalated")
    critical_then_warning = [[reading(severity="warning")], [reading(severity="critical")]]
    [opened] = decide_alerts([], critical_then_warning)
    assert (opened.alert.severity, opened.alert.state) == ("critical", "open")


def test_an_alert_on_a_feature_the_reference_no_longer_has_is_resolved() -> None:
    [change] = decide_alerts([alert("gone")], [[reading("x", None)]], monitored=["x"])
    assert (change.change, change.alert.state) == ("resolved", "resolved")
    assert change.alert.message == (
        "gone is no longer monitored: the active reference has no such feature"
    )
    [dataset] = decide_alerts([alert(None)], [[reading(None, "warning")]], monitored=["x"])
    assert dataset.change == "held"


def test_a_feature_no_longer_monitored_is_retired_once_and_never_reopened() -> None:
    """Excluded after it alerted: its alerts resolve with the next run, and its findings in
    the runs before (against the old reference) open nothing in the runs after."""
    history = [[reading("x", None)], [reading("y", "critical"), reading("x", None)]]
    [retired] = decide_alerts([alert("y", "critical")], history, monitored=["x"])
    assert (retired.change, retired.alert.state) == ("resolved", "resolved")
    for runs_after in range(1, 4):
        later = [[reading("x", None)]] * runs_after + history
        assert decide_alerts([], later, monitored=["x"]) == []
    [reopened] = decide_alerts([], history, monitored=["x", "y"])  # monitored again: it counts
    assert (reopened.change, reopened.alert.feature) == ("opened", "y")
