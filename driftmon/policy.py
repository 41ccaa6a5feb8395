"""Drift policy: turn per-feature measurements into statuses a person can act on.

A feature drifts only when its effect size (smoothed KL) exceeds a threshold **and** the
difference is significant after correction for the number of features checked: small batches
then do not alarm on sampling noise, and huge batches do not alarm on negligible differences.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from driftmon.compare import Comparison, FeatureResult
from driftmon.errors import ConfigError

__all__ = ["STATUSES", "Thresholds", "Verdict", "evaluate", "feature_status"]

#: Statuses from least to most severe. ``empty``: no rows to judge.
STATUSES = ("empty", "ok", "warning", "critical")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Effect-size thresholds (KL in nats) and the significance level of corrected p-values.

    Defaults and their reasons are in ``driftmon.config.ThresholdSettings``.
    """

    kl_warning: float = 0.02
    kl_critical: float = 0.1
    significance: float = 0.01

    def __post_init__(self) -> None:
        if not 0 < self.kl_warning <= self.kl_critical:
            raise ConfigError(
                f"thresholds: need 0 < kl_warning <= kl_critical, got `{self.kl_warning}` and "
                f"`{self.kl_critical}`"
            )
        if not 0 < self.significance < 1:
            raise ConfigError(
                f"thresholds: significance must be in (0, 1), got `{self.significance}`"
            )


@dataclass(frozen=True, slots=True)
class Verdict:
    """Per-feature statuses of one batch and the overall (worst) status."""

    statuses: Mapping[str, str]
    overall: str
    drifted: tuple[str, ...] = field(default=())


def feature_status(result: FeatureResult, thresholds: Thresholds) -> str:
    """``critical`` / ``warning`` when KL clears that threshold and the test is significant."""
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
    """Statuses for every feature of a comparison, with optional per-feature thresholds."""
    per_feature = per_feature or {}
    statuses = {
        r.name: feature_status(r, per_feature.get(r.name, thresholds)) for r in comparison.features
    }
    overall = max(statuses.values(), key=STATUSES.index, default="empty")
    drifted = tuple(n for n, s in statuses.items() if s in ("warning", "critical"))
    return Verdict(statuses, overall, drifted)
