"""Drift policy: turn a comparison into findings and statuses a person can act on.

A feature drifts only when an effect size clears its threshold **and** the change is
significant after correction for the number of features checked: small batches then do not
alarm on sampling noise, and huge batches do not alarm on negligible differences.

Signals, each with its own thresholds and message:

- ``kl``: smoothed ``D(reference || current)``, gated by the G-test's corrected p-value;
- ``new_categories``: excess share of a categorical feature's values in the "other" slot
  (categories the reference never saw), gated by a one-sided binomial test;
- ``out_of_range``: excess share of a numeric feature's values outside the reference range;
- ``missing``: change (either way) of the missing-value share, gated by a binomial test;
- ``schema``: a monitored column missing from the batch (critical) or arriving with another
  type (warning);
- ``dataset``: at least ``min_drifted_features`` features drifted in one batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import stats

from driftmon.compare import Comparison, FeatureResult
from driftmon.divergence import DEFAULT_ALPHA, adjust_p_values, kl_divergence
from driftmon.errors import ConfigError
from driftmon.profile import Profile

__all__ = [
    "SEVERITIES",
    "SIGNALS",
    "STATUSES",
    "Finding",
    "Thresholds",
    "Verdict",
    "calibrate_kl_thresholds",
    "evaluate",
    "feature_status",
]

#: Statuses from least to most severe. ``empty``: no rows to judge.
STATUSES = ("empty", "ok", "warning", "critical")
SEVERITIES = ("warning", "critical")
SIGNALS = ("kl", "new_categories", "out_of_range", "missing", "schema", "dataset")
Severity = Literal["warning", "critical"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Thresholds of every signal, and the significance level of corrected p-values.

    Defaults and the reason for each number are in ``driftmon.config.ThresholdSettings``.
    Shares are fractions of rows (0.01 = 1%); ``missing_*`` is an absolute change of share.
    ``unseen_min_count``: fewest unseen values that can raise the unseen signal; a lone value
    beyond a continuous reference's extremes is likely (about ``2 n / n_reference``) and its
    binomial p-value misleadingly small.
    """

    kl_warning: float = 0.02
    kl_critical: float = 0.1
    significance: float = 0.01
    unseen_warning: float = 0.01
    unseen_critical: float = 0.05
    missing_warning: float = 0.05
    missing_critical: float = 0.2
    unseen_min_count: int = 5
    min_drifted_features: int = 3

    def __post_init__(self) -> None:
        for low, high in (
            ("kl_warning", "kl_critical"),
            ("unseen_warning", "unseen_critical"),
            ("missing_warning", "missing_critical"),
        ):
            if not 0 < getattr(self, low) <= getattr(self, high):
                raise ConfigError(
                    f"thresholds: need 0 < {low} <= {high}, got `{getattr(self, low)}` and "
                    f"`{getattr(self, high)}`"
                )
        if not 0 < self.significance < 1:
            raise ConfigError(
                f"thresholds: significance must be in (0, 1), got `{self.significance}`"
            )
        if self.min_drifted_features < 1:
            raise ConfigError(
                f"thresholds: min_drifted_features must be at least 1, got "
                f"`{self.min_drifted_features}`"
            )


@dataclass(frozen=True, slots=True)
class Finding:
    """One signal that fired: where, how bad, the figure behind it, and a message to act on."""

    feature: str | None
    signal: str
    severity: Severity
    value: float | None
    threshold: float | None
    p_value: float | None
    message: str

    def to_dict(self) -> dict[str, object]:
        return {
            "feature": self.feature,
            "signal": self.signal,
            "severity": self.severity,
            "value": self.value,
            "threshold": self.threshold,
            "p_value": self.p_value,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """Per-feature statuses of one batch, the overall (worst) status, and every finding.

    ``observed`` lists the features that had rows to judge: an alert on a feature that was not
    observed (empty or missing) neither holds nor clears.
    """

    statuses: Mapping[str, str]
    overall: str
    drifted: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    observed: tuple[str, ...] = field(default=())


def feature_status(result: FeatureResult, thresholds: Thresholds) -> str:
    """Status from the KL signal alone: ``critical`` / ``warning`` when KL clears that
    threshold and the corrected G-test is significant."""
    if result.status == "empty" or result.kl is None or result.p_value is None:
        return "empty"
    if result.p_value >= thresholds.significance:
        return "ok"
    if result.kl >= thresholds.kl_critical:
        return "critical"
    if result.kl >= thresholds.kl_warning:
        return "warning"
    return "ok"


def evaluate(
    comparison: Comparison,
    thresholds: Thresholds = Thresholds(),
    per_feature: Mapping[str, Thresholds] | None = None,
) -> Verdict:
    """Every finding of a comparison, per-feature statuses and the batch verdict.

    ``per_feature`` overrides ``thresholds`` for the features it names. The share signals'
    p-values are corrected across features with the comparison's own correction method.
    """
    per_feature = per_feature or {}
    results = [r for r in comparison.features if r.status == "compared"]
    limits = [per_feature.get(r.name, thresholds) for r in results]
    findings: list[Finding] = []
    for result, limit in zip(results, limits, strict=True):
        finding = _kl_finding(result, limit)
        if finding:
            findings.append(finding)
    findings += _share_findings(results, limits, comparison.correction)
    findings += _schema_findings(comparison, thresholds)

    statuses = {r.name: "empty" for r in comparison.features}
    for result in results:
        statuses[result.name] = "ok"
    for finding in findings:
        if finding.feature in statuses and STATUSES.index(finding.severity) > STATUSES.index(
            statuses[finding.feature]
        ):
            statuses[finding.feature] = finding.severity
    drifted = tuple(n for n, s in statuses.items() if s in SEVERITIES)
    if len(drifted) >= thresholds.min_drifted_features:
        findings.append(
            Finding(
                feature=None,
                signal="dataset",
                severity="critical",
                value=float(len(drifted)),
                threshold=float(thresholds.min_drifted_features),
                p_value=None,
                message=(
                    f"{len(drifted)} of {len(comparison.features)} features drifted "
                    f"({', '.join(drifted)}): check the source of this batch as a whole"
                ),
            )
        )
    severities = list(statuses.values()) + [f.severity for f in findings]
    overall = max(severities, key=STATUSES.index, default="empty")
    return Verdict(statuses, overall, drifted, tuple(findings), tuple(r.name for r in results))


def _kl_finding(result: FeatureResult, limit: Thresholds) -> Finding | None:
    status = feature_status(result, limit)
    if status not in SEVERITIES:
        return None
    threshold = limit.kl_critical if status == "critical" else limit.kl_warning
    top = ", ".join(
        f"{b.label} {b.reference_share:.1%} → {b.current_share:.1%}" for b in result.top_bins[:2]
    )
    return Finding(
        feature=result.name,
        signal="kl",
        severity=status,  # type: ignore[arg-type]
        value=result.kl,
        threshold=threshold,
        p_value=result.p_value,
        message=(
            f"`{result.name}` distribution changed: KL {result.kl:.3f} ≥ {threshold:g} "
            f"(p = {result.p_value:.1e}); most changed: {top}"
        ),
    )


def _share_findings(
    results: Sequence[FeatureResult], limits: Sequence[Thresholds], correction: str
) -> list[Finding]:
    """Excess unseen share (one-sided) and missing-share change (two-sided), vectorized.

    Under no drift a batch's count in a slot is binomial with the reference's share, smoothed
    by a pseudo-count of one (a reference with no out-of-range values must not make one
    out-of-range value impossible).
    """
    if not results:
        return []
    n_ref = np.array([r.n_reference for r in results], dtype=np.float64)
    n_cur = np.array([r.n_current for r in results], dtype=np.float64)
    unseen_ref = np.array([r.unseen_share_reference or 0.0 for r in results])
    unseen_cur = np.array([r.unseen_share_current or 0.0 for r in results])
    missing_ref = np.array([r.missing_share_reference or 0.0 for r in results])
    missing_cur = np.array([r.missing_share_current or 0.0 for r in results])

    unseen_p0 = (unseen_ref * n_ref + 1.0) / (n_ref + 2.0)
    unseen_count = np.rint(unseen_cur * n_cur)
    unseen_p = adjust_p_values(
        stats.binom.sf(unseen_count - 1, n_cur, unseen_p0), method=correction
    )
    missing_p0 = (missing_ref * n_ref + 1.0) / (n_ref + 2.0)
    missing_count = np.rint(missing_cur * n_cur)
    two_sided = 2 * np.minimum(
        stats.binom.sf(missing_count - 1, n_cur, missing_p0),
        stats.binom.cdf(missing_count, n_cur, missing_p0),
    )
    missing_p = adjust_p_values(np.minimum(two_sided, 1.0), method=correction)

    findings = []
    for i, (result, limit) in enumerate(zip(results, limits, strict=True)):
        excess = unseen_cur[i] - unseen_ref[i]
        severity = _severity(excess, limit.unseen_warning, limit.unseen_critical)
        if (
            severity
            and unseen_p[i] < limit.significance
            and unseen_count[i] >= limit.unseen_min_count
        ):
            findings.append(_unseen_finding(result, severity, excess, limit, unseen_p[i]))
        change = missing_cur[i] - missing_ref[i]
        severity = _severity(abs(change), limit.missing_warning, limit.missing_critical)
        if severity and missing_p[i] < limit.significance:
            threshold = limit.missing_critical if severity == "critical" else limit.missing_warning
            findings.append(
                Finding(
                    feature=result.name,
                    signal="missing",
                    severity=severity,
                    value=float(change),
                    threshold=threshold,
                    p_value=float(missing_p[i]),
                    message=(
                        f"`{result.name}` missing values {'rose' if change > 0 else 'fell'} "
                        f"from {missing_ref[i]:.1%} to {missing_cur[i]:.1%} of rows"
                    ),
                )
            )
    return findings


def _unseen_finding(
    result: FeatureResult, severity: Severity, excess: float, limit: Thresholds, p_value: float
) -> Finding:
    threshold = limit.unseen_critical if severity == "critical" else limit.unseen_warning
    share = result.unseen_share_current or 0.0
    if result.kind == "categorical":
        signal = "new_categories"
        message = f"{share:.1%} of `{result.name}` values are in categories the reference never saw"
        if result.top_unseen:
            examples = ", ".join(f"`{name}`" for name in list(result.top_unseen)[:5])
            message += f" (e.g. {examples})"
    else:
        signal = "out_of_range"
        message = f"{share:.1%} of `{result.name}` values lie outside the reference range"
        if result.reference_range is not None:
            low, high = result.reference_range
            message += f" [{low:.4g}, {high:.4g}]"
    return Finding(
        feature=result.name,
        signal=signal,
        severity=severity,
        value=float(excess),
        threshold=threshold,
        p_value=float(p_value),
        message=message,
    )


def _schema_findings(comparison: Comparison, thresholds: Thresholds) -> list[Finding]:
    findings = [
        Finding(
            feature=name,
            signal="schema",
            severity="critical",
            value=None,
            threshold=None,
            p_value=None,
            message=f"monitored column `{name}` is missing from the batch",
        )
        for name in comparison.schema.missing
    ]
    findings += [
        Finding(
            feature=change.name,
            signal="schema",
            severity="warning",
            value=None,
            threshold=None,
            p_value=None,
            message=(
                f"column `{change.name}` arrived as {change.current_type}, the reference had "
                f"{change.reference_type}: values that do not parse count as missing"
            ),
        )
        for change in comparison.schema.retyped
    ]
    return findings


def _severity(value: float, warning: float, critical: float) -> Severity | None:
    if value >= critical:
        return "critical"
    if value >= warning:
        return "warning"
    return None


def calibrate_kl_thresholds(
    reference: Profile,
    batches: Sequence[Profile],
    *,
    quantile: float = 0.99,
    base: Thresholds = Thresholds(),
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
