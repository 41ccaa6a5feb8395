"""Compare a current profile with the reference: one `FeatureResult` per feature, plus schema.

All features are compared in one vectorized call per measure: their histograms are padded into
a ``(features, slots)`` matrix and a mask marks the slots each feature really has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from driftmon.divergence import (
    DEFAULT_ALPHA,
    adjust_p_values,
    expected_kl_no_drift,
    g_test,
    js_divergence,
    kl_divergence,
    population_stability_index,
    reverse_kl_divergence,
    smoothed_probabilities,
)
from driftmon.profile import FeatureProfile, Profile

__all__ = [
    "BinContribution",
    "Comparison",
    "FeatureResult",
    "SchemaDiff",
    "TypeChange",
    "compare",
]

#: How many bins are named as the main contributors to a feature's KL.
DEFAULT_TOP_BINS = 3


@dataclass(frozen=True, slots=True)
class BinContribution:
    """One bin's share in reference and current, and its term ``p ln(p / q)`` of the KL."""

    label: str
    reference_share: float
    current_share: float
    contribution: float


@dataclass(frozen=True, slots=True)
class FeatureResult:
    """Everything measured for one feature of one batch.

    ``kl`` is ``D(reference || current)`` on smoothed counts (nats). ``p_value`` is the G-test's,
    corrected across the features of the batch (``p_value_raw`` uncorrected). ``unseen_share`` is
    the share of values outside the reference range (numeric) or in the "other" slot
    (categorical). ``status`` is ``compared``, or ``empty`` when the batch had no rows (then the
    measures are None: an empty batch is not "no drift").
    """

    name: str
    kind: str
    status: Literal["compared", "empty"]
    kl: float | None
    kl_reverse: float | None
    js: float | None
    psi: float | None
    g_statistic: float | None
    dof: int | None
    p_value_raw: float | None
    p_value: float | None
    expected_kl_no_drift: float | None
    n_reference: int
    n_current: int
    missing_share_reference: float | None
    missing_share_current: float | None
    unseen_share_reference: float | None
    unseen_share_current: float | None
    top_bins: tuple[BinContribution, ...]
    reference_type: str | None
    current_type: str | None
    top_unseen: Mapping[str, int] = field(default_factory=dict)
    reference_range: tuple[float, float] | None = None

    @property
    def type_changed(self) -> bool:
        return (
            self.reference_type is not None
            and self.current_type is not None
            and self.reference_type != self.current_type
        )

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}  # type: ignore[attr-defined]
        data["top_unseen"] = dict(self.top_unseen)
        data["reference_range"] = list(self.reference_range) if self.reference_range else None
        data["top_bins"] = [
            {
                "label": b.label,
                "reference_share": b.reference_share,
                "current_share": b.current_share,
                "contribution": b.contribution,
            }
            for b in self.top_bins
        ]
        return data


@dataclass(frozen=True, slots=True)
class TypeChange:
    name: str
    reference_type: str
    current_type: str


@dataclass(frozen=True, slots=True)
class SchemaDiff:
    """Monitored features absent from the batch, unmonitored new columns, and type changes."""

    missing: tuple[str, ...] = ()
    new: tuple[str, ...] = ()
    retyped: tuple[TypeChange, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.missing or self.new or self.retyped)

    def to_dict(self) -> dict[str, Any]:
        return {
            "missing": list(self.missing),
            "new": list(self.new),
            "retyped": [
                {"name": t.name, "reference_type": t.reference_type, "current_type": t.current_type}
                for t in self.retyped
            ],
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    features: tuple[FeatureResult, ...]
    schema: SchemaDiff
    n_rows: int
    alpha: float
    correction: str

    def feature(self, name: str) -> FeatureResult:
        for result in self.features:
            if result.name == name:
                return result
        raise KeyError(name)


def compare(
    reference: Profile,
    current: Profile,
    *,
    alpha: float = DEFAULT_ALPHA,
    correction: Literal["bh", "holm", "none"] = "bh",
    n_top_bins: int = DEFAULT_TOP_BINS,
) -> Comparison:
    """Compare every reference feature present in ``current`` and diff the schemas.

    ``alpha`` is the smoothing pseudo-count; ``correction`` the multiple-testing correction of
    the p-values across this batch's features (see `driftmon.divergence.adjust_p_values`).
    """
    names = [n for n in reference.features if n in current.features]
    schema = _schema_diff(reference, current)
    pairs = [(reference.features[n], current.features[n]) for n in names]
    compared = [i for i, (_, cur) in enumerate(pairs) if cur.n_rows > 0]

    measures: dict[str, NDArray[np.float64]] = {}
    top: list[tuple[BinContribution, ...]] = [()] * len(pairs)
    if compared:
        width = max(pairs[i][0].spec.n_slots for i in compared)
        reference_counts = np.zeros((len(compared), width), dtype=np.int64)
        current_counts = np.zeros((len(compared), width), dtype=np.int64)
        exists = np.zeros((len(compared), width), dtype=bool)
        for row, i in enumerate(compared):
            ref, cur = pairs[i]
            reference_counts[row, : ref.spec.n_slots] = ref.counts
            current_counts[row, : cur.spec.n_slots] = cur.counts
            exists[row, : ref.spec.n_slots] = True
        options = {"alpha": alpha, "where": exists}
        significance = g_test(reference_counts, current_counts, where=exists)
        occupied = ((reference_counts + current_counts) > 0).sum(axis=-1)
        measures = {
            "kl": kl_divergence(reference_counts, current_counts, **options),
            "kl_reverse": reverse_kl_divergence(reference_counts, current_counts, **options),
            "js": js_divergence(reference_counts, current_counts, **options),
            "psi": population_stability_index(reference_counts, current_counts, **options),
            "g_statistic": np.asarray(significance.statistic),
            "dof": np.asarray(significance.dof),
            "p_value_raw": np.asarray(significance.p_value),
            "p_value": adjust_p_values(significance.p_value, method=correction),
            "expected_kl_no_drift": expected_kl_no_drift(
                reference_counts.sum(axis=-1), current_counts.sum(axis=-1), occupied
            ),
        }
        top_rows = _top_contributions(
            reference_counts,
            current_counts,
            exists,
            alpha,
            n_top_bins,
            [pairs[i] for i in compared],
        )
        for row, i in enumerate(compared):
            top[i] = top_rows[row]

    position = {i: row for row, i in enumerate(compared)}
    results = tuple(
        _feature_result(ref, cur, measures, position.get(i), top[i])
        for i, (ref, cur) in enumerate(pairs)
    )
    return Comparison(results, schema, current.n_rows, alpha, correction)


def _feature_result(
    ref: FeatureProfile,
    cur: FeatureProfile,
    measures: dict[str, NDArray[Any]],
    row: int | None,
    top_bins: tuple[BinContribution, ...],
) -> FeatureResult:
    def measure(key: str) -> Any:
        if row is None:
            return None
        value = measures[key][row]
        return int(value) if key == "dof" else float(value)

    return FeatureResult(
        name=ref.spec.name,
        kind=ref.spec.kind,
        status="compared" if row is not None else "empty",
        kl=measure("kl"),
        kl_reverse=measure("kl_reverse"),
        js=measure("js"),
        psi=measure("psi"),
        g_statistic=measure("g_statistic"),
        dof=measure("dof"),
        p_value_raw=measure("p_value_raw"),
        p_value=measure("p_value"),
        expected_kl_no_drift=measure("expected_kl_no_drift"),
        n_reference=ref.n_rows,
        n_current=cur.n_rows,
        missing_share_reference=_share(ref.n_missing, ref.n_rows),
        missing_share_current=_share(cur.n_missing, cur.n_rows),
        unseen_share_reference=_share(ref.n_unseen, ref.n_rows),
        unseen_share_current=_share(cur.n_unseen, cur.n_rows),
        top_bins=top_bins,
        reference_type=ref.tally.observed_type,
        current_type=cur.tally.observed_type,
        top_unseen=dict(cur.tally.unseen),
        reference_range=(
            (float(ref.spec.edges[0]), float(ref.spec.edges[-1]))
            if ref.spec.kind == "numeric"
            else None
        ),
    )


def _top_contributions(
    reference_counts: NDArray[np.int64],
    current_counts: NDArray[np.int64],
    exists: NDArray[np.bool_],
    alpha: float,
    n_top: int,
    pairs: list[tuple[FeatureProfile, FeatureProfile]],
) -> list[tuple[BinContribution, ...]]:
    """The bins with the largest absolute KL terms, per feature (ties: lower bin first)."""
    if n_top <= 0:
        return [()] * len(pairs)
    p = smoothed_probabilities(reference_counts, alpha=alpha, where=exists)
    q = smoothed_probabilities(current_counts, alpha=alpha, where=exists)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(exists & (p > 0), p * (np.log(p) - np.log(np.where(q > 0, q, 1.0))), 0.0)
    occupied = exists & ((reference_counts + current_counts) > 0)
    order = np.argsort(np.where(occupied, -np.abs(terms), np.inf), axis=-1, kind="stable")
    order = order[:, :n_top]
    ref_share = reference_counts / np.maximum(reference_counts.sum(axis=-1, keepdims=True), 1)
    cur_share = current_counts / np.maximum(current_counts.sum(axis=-1, keepdims=True), 1)
    results = []
    for row, (ref, _) in enumerate(pairs):
        labels = ref.spec.labels()
        results.append(
            tuple(
                BinContribution(
                    label=labels[j],
                    reference_share=float(ref_share[row, j]),
                    current_share=float(cur_share[row, j]),
                    contribution=float(terms[row, j]),
                )
                for j in order[row]
                if exists[row, j] and reference_counts[row, j] + current_counts[row, j] > 0
            )
        )
    return results


def _schema_diff(reference: Profile, current: Profile) -> SchemaDiff:
    missing = tuple(n for n in reference.features if n not in current.features)
    known = set(reference.columns) | set(reference.features)
    new = tuple(c for c in current.columns if c not in known)
    retyped = []
    for name, ref in reference.features.items():
        cur = current.features.get(name)
        if cur is None:
            continue
        before, after = ref.tally.observed_type, cur.tally.observed_type
        if before is not None and after is not None and before != after:
            retyped.append(TypeChange(name, before, after))
    return SchemaDiff(missing, new, tuple(retyped))


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
