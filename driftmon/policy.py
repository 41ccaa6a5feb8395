"""Drift policy: turn a comparison into readings, findings and statuses a person can act on.

A feature drifts only when an effect size clears its threshold **and** the change is
significant after correction for the number of features checked: small batches then do not
alarm on sampling noise, and huge batches do not alarm on negligible differences.

Every signal gives a *reading* for every feature it applies to in every batch: a *finding*
when it fired (with a severity), else the clear reading with the figure that kept it quiet
(which is what a resolved alert quotes). The signals:

- ``kl``: smoothed ``D(reference || current)``, gated by the G-test's corrected p-value;
- ``category_share``: categorical features, the category whose share moved most, gated by
  its own corrected two-proportion test (one category moving among hundreds barely moves KL);
- ``new_categories``: share of a categorical feature's values in categories the reference
  **never saw** (not its long tail: values it saw but did not keep), in excess of what it
  expects to miss (the share of its values it saw once), gated by a one-sided binomial test;
- ``out_of_range``: share of a numeric feature's values outside the reference range;
- ``missing``: change (either way) of the missing-value share, gated by a binomial test;
- ``schema``: a monitored column missing from the batch (critical) or arriving with another
  type (at least warning): a retyped column's ``kl``, ``missing``, ``new_categories`` and
  ``category_share`` readings of that batch fold into its schema finding, which takes the
  worst of their severities (see `_schema_readings`);
- ``dataset``: at least ``min_drifted_features`` features drifted in one batch.

Messages are plain text (no Markdown): they go to terminals, e-mails and web pages alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from driftmon.bins import NUMERIC, value_text
from driftmon.compare import Comparison, FeatureResult, TypeChange
from driftmon.divergence import DEFAULT_ALPHA, adjust_p_values, kl_divergence
from driftmon.errors import ConfigError
from driftmon.formatting import format_p_value, format_share, name_list, printable, visible_name
from driftmon.options import DEFAULT_THRESHOLDS, Thresholds
from driftmon.profile import Profile
from driftmon.status import SEVERITIES, Severity, Status, severity_order
from driftmon.tails import binomial_cdf, binomial_sf

__all__ = [
    "DEFAULT_THRESHOLDS",
    "SEVERITIES",
    "Reading",
    "Status",
    "Thresholds",
    "Verdict",
    "calibrate_kl_thresholds",
    "evaluate",
    "feature_status",
]


@dataclass(frozen=True, slots=True)
class Reading:
    """What one signal said about one feature (None: the dataset) in one batch.

    ``severity`` is set when the signal fired (a *finding*), None when the reading is clear;
    ``value`` and ``threshold`` are the figure and the limit it was held against, and
    ``message`` says it in a plain-text sentence either way.
    """

    feature: str | None
    signal: str
    severity: Severity | None
    value: float | None
    threshold: float | None
    p_value: float | None
    message: str

    def __post_init__(self) -> None:
        # messages quote names and values from the data: never a control character in them
        object.__setattr__(self, "message", printable(self.message))

    @property
    def fired(self) -> bool:
        return self.severity is not None

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.feature, self.signal)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "signal": self.signal,
            "severity": self.severity,
            "value": self.value,
            "threshold": self.threshold,
            "p_value": self.p_value,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reading:
        return cls(
            feature=data.get("feature"),
            signal=str(data["signal"]),
            severity=Status(data["severity"]) if data.get("severity") else None,
            value=data.get("value"),
            threshold=data.get("threshold"),
            p_value=data.get("p_value"),
            message=str(data.get("message", "")),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """Per-feature statuses of one batch, the overall (worst) status, and every reading.

    ``observed`` lists the features that had rows to judge: an alert on a feature that was not
    observed (empty, missing or not monitored) neither holds nor clears.
    """

    statuses: Mapping[str, Status]
    overall: Status
    drifted: tuple[str, ...] = ()
    readings: tuple[Reading, ...] = ()
    observed: tuple[str, ...] = field(default=())

    @property
    def findings(self) -> tuple[Reading, ...]:
        """The readings that fired, in signal order."""
        return tuple(r for r in self.readings if r.fired)


def feature_status(result: FeatureResult, thresholds: Thresholds) -> Status:
    """Status from the KL signal alone: ``critical`` / ``warning`` when KL clears that
    threshold and the corrected G-test is significant."""
    if not result.monitored:
        return Status.UNMONITORED
    if not result.measured or result.kl is None or result.p_value is None:
        return Status.EMPTY
    if result.p_value >= thresholds.significance:
        return Status.OK
    if result.kl >= thresholds.kl_critical:
        return Status.CRITICAL
    if result.kl >= thresholds.kl_warning:
        return Status.WARNING
    return Status.OK


def evaluate(
    comparison: Comparison,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    per_feature: Mapping[str, Thresholds] | None = None,
) -> Verdict:
    """Every reading of a comparison, per-feature statuses and the batch verdict.

    ``per_feature`` overrides ``thresholds`` for the features it names. The share signals'
    p-values are corrected across features with the comparison's own correction method.
    """
    per_feature = per_feature or {}
    results = [r for r in comparison.features if r.measured]
    limits = [per_feature.get(r.name, thresholds) for r in results]
    readings: list[Reading] = [
        _kl_reading(result, limit) for result, limit in zip(results, limits, strict=True)
    ]
    readings += [
        _share_change_reading(result, limit)
        for result, limit in zip(results, limits, strict=True)
        if result.max_share_change is not None
    ]
    readings += _share_readings(results, limits, comparison.correction)
    retyped = {change.name for change in comparison.schema.retyped}
    folded = [r for r in readings if r.feature in retyped and r.signal in FOLDED_SIGNALS]
    readings = [r for r in readings if not (r.feature in retyped and r.signal in FOLDED_SIGNALS)]
    readings += _schema_readings(comparison, folded)

    statuses = {
        r.name: (Status.EMPTY if r.monitored else Status.UNMONITORED) for r in comparison.features
    }
    for result in results:
        statuses[result.name] = Status.OK
    for reading in readings:
        if (
            reading.fired
            and reading.feature in statuses
            and _rank(reading.severity) > _rank(statuses[reading.feature])
        ):
            statuses[reading.feature] = Status(reading.severity)
    kl = {r.name: r.kl for r in results}
    drifted = tuple(
        sorted(
            (n for n, s in statuses.items() if s in SEVERITIES),
            key=lambda n: severity_order(statuses[n], kl.get(n), n),
        )
    )
    if results or comparison.schema.missing:
        monitored = sum(result.monitored for result in comparison.features)
        readings.append(_dataset_reading(drifted, monitored, thresholds))
    severities = list(statuses.values()) + [r.severity for r in readings if r.fired]
    overall = Status(max(severities, key=_rank, default=Status.EMPTY))
    return Verdict(statuses, overall, drifted, tuple(readings), tuple(r.name for r in results))


def _rank(status: str | None) -> int:
    try:
        return Status(status).rank
    except ValueError:  # no status, or not one of ours
        return -1


def _kl_reading(result: FeatureResult, limit: Thresholds) -> Reading:
    status = feature_status(result, limit)
    p_text = format_p_value(result.p_value, sentence=True)
    if status in SEVERITIES:
        threshold = limit.kl_critical if status == Status.CRITICAL else limit.kl_warning
        top = ", ".join(
            f"{b.label} {format_share(b.reference_share)} → {format_share(b.current_share)}"
            for b in result.top_bins[:2]
        )
        message = (
            f"{visible_name(result.name)} distribution changed: KL {result.kl:.3f} ≥ {threshold:g} "
            f"({p_text}); most changed: {top}"
        )
        return Reading(result.name, "kl", status, result.kl, threshold, result.p_value, message)  # type: ignore[arg-type]
    if result.kl >= limit.kl_warning:
        message = (
            f"KL {result.kl:.3f} ≥ {limit.kl_warning:g} but not significant "
            f"({p_text} ≥ {limit.significance:g})"
        )
    else:
        message = f"KL {result.kl:.3f} < {limit.kl_warning:g}"
    return Reading(result.name, "kl", None, result.kl, limit.kl_warning, result.p_value, message)


def _share_change_reading(result: FeatureResult, limit: Thresholds) -> Reading:
    change = float(result.max_share_change)
    size = abs(change)
    category = result.max_share_change_category
    before = float(result.max_share_change_reference or 0.0)
    p_value = result.max_share_change_p_value
    severity = _severity(size, limit.share_change_warning, limit.share_change_critical)
    if severity and p_value is not None and p_value < limit.significance:
        threshold = (
            limit.share_change_critical
            if severity == Status.CRITICAL
            else limit.share_change_warning
        )
        message = (
            f"{visible_name(result.name)}: category {category} "
            f"{'rose' if change > 0 else 'fell'} from "
            f"{format_share(before)} to {format_share(before + change)} of known values "
            f"({_points(size)} ≥ {_points(threshold)}, "
            f"{format_p_value(p_value, sentence=True)})"
        )
        return Reading(result.name, "category_share", severity, change, threshold, p_value, message)
    transition = f"{category} {format_share(before)} → {format_share(before + change)}"
    if size < limit.share_change_warning:
        message = (
            f"largest category change {transition} "
            f"({_points(size)} < {_points(limit.share_change_warning)})"
        )
    else:
        message = (
            f"largest category change {transition} not significant "
            f"({format_p_value(p_value, sentence=True)})"
        )
    return Reading(
        result.name, "category_share", None, change, limit.share_change_warning, p_value, message
    )


def _points(share: float) -> str:
    """A change of share in percentage points, e.g. ``2.5 points``."""
    return f"{round(share * 100, 1):g} points"


def _share_readings(
    results: Sequence[FeatureResult], limits: Sequence[Thresholds], correction: str
) -> list[Reading]:
    """Never-seen share (one-sided) and missing-share change (two-sided), vectorized.

    Under no drift a batch's count of never-seen values is binomial with the share the
    reference expects (0 beyond a numeric range, the Good-Turing unseen mass for categories),
    smoothed by a pseudo-count of one: a reference with no out-of-range values must not make
    one out-of-range value impossible. Missing counts likewise with the reference's share.
    """
    if not results:
        return []
    n_ref = np.array([r.n_reference for r in results], dtype=np.float64)
    n_cur = np.array([r.n_current for r in results], dtype=np.int64)
    known = np.array([r.unseen_share_current is not None for r in results])
    unseen_ref = np.array([r.unseen_share_reference or 0.0 for r in results])
    missing_ref = np.array([r.missing_share_reference or 0.0 for r in results])
    missing_cur = np.array([r.missing_share_current or 0.0 for r in results])

    # The reference's expectation is a share of values; the batch's share is of rows, missing
    # ones included: scale the expectation to the batch's rows that have a value.
    expected_unseen = unseen_ref * (1.0 - missing_cur)
    unseen_p0 = (expected_unseen * n_ref + 1.0) / (n_ref + 2.0)
    unseen_count = np.array([r.n_unseen_current or 0 for r in results], dtype=np.int64)
    unseen_p = np.ones(len(results))
    if known.any():
        unseen_p[known] = adjust_p_values(
            binomial_sf(unseen_count[known] - 1, n_cur[known], unseen_p0[known]),
            method=correction,
        )
    missing_p0 = (missing_ref * n_ref + 1.0) / (n_ref + 2.0)
    missing_count = np.rint(missing_cur * n_cur).astype(np.int64)
    two_sided = 2 * np.minimum(
        binomial_sf(missing_count - 1, n_cur, missing_p0),
        binomial_cdf(missing_count, n_cur, missing_p0),
    )
    missing_p = adjust_p_values(np.minimum(two_sided, 1.0), method=correction)

    readings = []
    for i, (result, limit) in enumerate(zip(results, limits, strict=True)):
        if known[i]:
            readings.append(
                _unseen_reading(
                    result, limit, float(unseen_p[i]), int(unseen_count[i]), expected_unseen[i]
                )
            )
        readings.append(_missing_reading(result, limit, float(missing_p[i])))
    return readings


def _unseen_reading(
    result: FeatureResult, limit: Thresholds, p_value: float, count: int, expected: float
) -> Reading:
    share = result.unseen_share_current or 0.0
    excess = share - expected
    severity = _severity(excess, limit.unseen_warning, limit.unseen_critical)
    fired = severity and p_value < limit.significance and count >= limit.unseen_min_count
    categorical = result.kind == "categorical"
    signal = "new_categories" if categorical else "out_of_range"
    if categorical and not result.seen_known:
        what = (
            "outside the reference's kept categories (its reference predates driftmon 0.2: "
            "rebuild it to tell its long tail from values never seen)"
        )
        expectation = f" (reference: {format_share(expected)})"
    elif categorical:
        what = "categories the reference never saw"
        expectation = f" (expected about {format_share(expected)})" if expected else ""
    else:
        low, high = result.reference_range or (float("nan"), float("nan"))
        bounds = value_text(low, dates=result.dates), value_text(high, dates=result.dates)
        what = f"outside the reference range [{bounds[0]}, {bounds[1]}]"
        expectation = ""
    if fired:
        threshold = limit.unseen_critical if severity == Status.CRITICAL else limit.unseen_warning
        message = (
            f"{visible_name(result.name)}: {format_share(share)} of values are {what}{expectation}"
        )
        if categorical and result.top_unseen:
            message += ", e.g. " + ", ".join(list(result.top_unseen)[:5])
        return Reading(result.name, signal, severity, excess, threshold, p_value, message)
    message = f"{format_share(share)} of values are {what}{expectation}"
    return Reading(result.name, signal, None, excess, limit.unseen_warning, p_value, message)


def _missing_reading(result: FeatureResult, limit: Thresholds, p_value: float) -> Reading:
    before = result.missing_share_reference or 0.0
    after = result.missing_share_current or 0.0
    change = after - before
    severity = _severity(abs(change), limit.missing_warning, limit.missing_critical)
    if severity and p_value < limit.significance:
        threshold = limit.missing_critical if severity == Status.CRITICAL else limit.missing_warning
        message = (
            f"{visible_name(result.name)}: missing values {'rose' if change > 0 else 'fell'} from "
            f"{format_share(before)} to {format_share(after)} of rows"
        )
        return Reading(result.name, "missing", severity, change, threshold, p_value, message)
    message = f"missing values {format_share(before)} → {format_share(after)} of rows"
    return Reading(result.name, "missing", None, change, limit.missing_warning, p_value, message)


def _schema_readings(comparison: Comparison, folded: Sequence[Reading] = ()) -> list[Reading]:
    """A finding per missing or retyped monitored column, a clear reading per other one.

    A retyped column's values that do not parse count as missing, so one cause would also
    fire ``missing`` and ``kl`` (and a text column arriving as numbers ``new_categories`` and
    ``category_share``):
    ``folded`` are those readings of retyped columns, taken out of the batch's readings by the
    caller. The schema finding stands for them: at the worst severity among warning and
    theirs, saying how many rows did not parse and what else changed, naming new values. (An
    alert of those signals already open on the column therefore neither holds nor clears
    while the column arrives retyped.)
    """
    retyped = {change.name: change for change in comparison.schema.retyped}
    readings = [
        Reading(
            name,
            "schema",
            Status.CRITICAL,
            None,
            None,
            None,
            f"monitored column {name} is missing from the batch",
        )
        for name in comparison.schema.missing
    ]
    for result in comparison.features:
        if not result.monitored:
            continue
        change = retyped.get(result.name)
        if change is not None:
            explained = [r for r in folded if r.feature == result.name and r.fired]
            severity = max(
                [Status.WARNING, *(Status(r.severity) for r in explained)], key=lambda s: s.rank
            )
            readings.append(
                Reading(
                    result.name,
                    "schema",
                    severity,  # type: ignore[arg-type]
                    None,
                    None,
                    None,
                    _retyped_message(result, change, explained),
                )
            )
        else:
            readings.append(
                Reading(result.name, "schema", None, None, None, None, "column present, same type")
            )
    return readings


#: The signals a column's type change explains: its values that do not parse are missing,
#: which moves its missing share and its distribution; a text column arriving as numbers
#: (codes that lost their leading zeros) holds values the reference never saw, which moves
#: the shares of those it knows.
FOLDED_SIGNALS = ("kl", "missing", "new_categories", "category_share")


def _retyped_message(
    result: FeatureResult, change: TypeChange, explained: Sequence[Reading]
) -> str:
    """``column amt arrived as string, the reference had numeric: 100% of rows are missing or
    do not parse (0% missing in the reference); distribution changed: KL 4.616 ≥ 0.1 (p <
    1e-16)``: the folded findings' figures
    after the cause."""
    message = (
        f"column {visible_name(change.name)} arrived as {change.current_type}, "
        f"the reference had {change.reference_type}"
    )
    missing = next((r for r in explained if r.signal == "missing"), None)
    before = format_share(result.missing_share_reference or 0.0)
    after = format_share(result.missing_share_current or 0.0)
    if result.kind == NUMERIC and result.measured:
        # numbers are read from the text; what does not parse is missing
        message += (
            f": {after} of rows are missing or do not parse ({before} missing in the reference)"
        )
    elif missing is not None:
        message += f": missing values {before} → {after} of rows"
    kl = next((r for r in explained if r.signal == "kl"), None)
    if kl is not None:
        p_text = format_p_value(kl.p_value, sentence=True)
        message += f"; distribution changed: KL {kl.value:.3f} ≥ {kl.threshold:g} ({p_text})"
    unseen = next((r for r in explained if r.signal == "new_categories"), None)
    if unseen is not None:
        message += "; " + unseen.message.removeprefix(f"{visible_name(result.name)}: ")
    return message


def _dataset_reading(drifted: Sequence[str], n_features: int, limit: Thresholds) -> Reading:
    count = len(drifted)
    if count >= limit.min_drifted_features:
        message = (
            f"{count} of {n_features} features drifted ({name_list(drifted)}): "
            "check the source of this batch as a whole"
        )
        severity: Severity | None = Status.CRITICAL
    else:
        message = f"{count} of {n_features} features drifted (< {limit.min_drifted_features})"
        severity = None
    return Reading(
        None, "dataset", severity, float(count), float(limit.min_drifted_features), None, message
    )


def _severity(value: float, warning: float, critical: float) -> Severity | None:
    if value >= critical:
        return Status.CRITICAL
    if value >= warning:
        return Status.WARNING
    return None


def calibrate_kl_thresholds(
    reference: Profile,
    batches: Sequence[Profile],
    *,
    quantile: float = 0.99,
    base: Thresholds = DEFAULT_THRESHOLDS,
    alpha: float = DEFAULT_ALPHA,
) -> dict[str, dict[str, float]]:
    """Per-feature KL thresholds from batches resampled out of the reference itself.

    Each batch is scored against the reference **without** that batch (its counts subtracted),
    never against a reference that contains it, which would understate the noise. The warning
    threshold is the ``quantile`` of those healthy scores, and never below ``base``; critical
    stays at least ``base.kl_critical`` and at least the warning. Resampled batches keep
    structure the chi-square model misses (rows that come in clumps, say).

    Returns ``{feature: {"kl_warning": ..., "kl_critical": ...}}``.
    """
    if not 0 < quantile < 1:
        raise ConfigError(f"calibration: quantile must be in (0, 1), got `{quantile}`")
    if not batches:
        raise ConfigError("calibration: no resampled batches to calibrate from")
    thresholds = {}
    for name, feature in reference.features.items():
        batch_counts = np.stack([b.features[name].counts for b in batches])
        remaining = feature.counts[None, :] - batch_counts
        if np.any(remaining < 0):
            raise ConfigError(
                f"calibration: batches for `{name}` are not drawn from this reference"
            )
        scores = kl_divergence(remaining, batch_counts, alpha=alpha)
        warning = max(base.kl_warning, float(np.quantile(scores, quantile)))
        thresholds[name] = {
            "kl_warning": warning,
            "kl_critical": max(base.kl_critical, warning),
        }
    return thresholds
