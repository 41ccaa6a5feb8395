"""Compare a current profile with the reference: one `FeatureResult` per feature, plus schema.

All features are compared in one vectorized call per measure: their histograms are padded into
a ``(features, slots)`` matrix and a mask marks the slots each feature really has.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from driftmon.bins import CATEGORICAL, NUMERIC
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
from driftmon.errors import InputDataError
from driftmon.profile import FeatureProfile, Profile

__all__ = [
    "MEASURES",
    "MEASURE_NAMES",
    "BinContribution",
    "Comparison",
    "FeatureResult",
    "Measure",
    "SchemaDiff",
    "TypeChange",
    "compare",
]

#: How many bins are named as the main contributors to a feature's KL.
DEFAULT_TOP_BINS = 3
MeasureValue: TypeAlias = float | int | str | None


@dataclass(frozen=True, slots=True)
class Measure:
    """One per-feature figure of a comparison: its name (in JSON, the store and reports) and
    what it means. ``kind`` is ``float``, ``int`` or ``text``."""

    name: str
    description: str
    kind: Literal["float", "int", "text"] = "float"


#: Every figure `compare` reports per feature, in the order tables and JSON show them. The
#: comparison, the result JSON, the store and the report all iterate over this declaration:
#: a new measure is computed in `compare` and declared here, nothing else.
MEASURES: tuple[Measure, ...] = (
    Measure("kl", "D(reference || current) on smoothed counts, nats: the headline drift"),
    Measure("kl_reverse", "D(current || reference) on smoothed counts, nats"),
    Measure("js", "Jensen-Shannon divergence, nats (at most ln 2)"),
    Measure("psi", "population stability index = kl + kl_reverse"),
    Measure("g_statistic", "G-test statistic (sparse bins pooled, Williams-corrected)"),
    Measure("dof", "degrees of freedom of the G-test", "int"),
    Measure("p_value_raw", "G-test p-value, uncorrected"),
    Measure("p_value", "G-test p-value corrected across the batch's features"),
    Measure("expected_kl_no_drift", "KL that sampling noise alone gives on average"),
    Measure("missing_share_reference", "share of reference rows with a missing value"),
    Measure("missing_share_current", "share of batch rows with a missing value"),
    Measure(
        "other_share_reference",
        "categorical: share of reference rows in the long tail (categories it saw, not kept)",
    ),
    Measure(
        "other_share_current",
        "categorical: share of batch rows in categories the reference saw but did not keep",
    ),
    Measure(
        "unseen_share_reference",
        "share expected never seen under no drift: categorical, the reference's values seen "
        "once (Good-Turing); numeric, 0 (its range is its own)",
    ),
    Measure(
        "unseen_share_current",
        "share of batch rows the reference never saw: categories it never met, or values "
        "outside its range",
    ),
    Measure(
        "max_share_change",
        "categorical: the largest change of one category's share among known values",
    ),
    Measure("max_share_change_category", "the category with that change", "text"),
    Measure(
        "max_share_change_reference",
        "that category's share of known reference values (add the change for the batch's)",
    ),
    Measure(
        "max_share_change_p_value",
        "its two-proportion G-test p-value, Bonferroni over the categories, then corrected "
        "across features",
    ),
)
MEASURE_NAMES: tuple[str, ...] = tuple(m.name for m in MEASURES)
_MEASURE_SET = frozenset(MEASURE_NAMES)
_KINDS = {m.name: m.kind for m in MEASURES}


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

    ``measures`` holds every `MEASURES` figure (None where it does not apply or the batch had
    no rows: an empty batch is not "no drift"); each also reads as an attribute
    (``result.kl``). ``monitored`` is False when the reference had fewer than two usable values
    of the feature, so nothing can be compared. ``top_unseen`` names values the reference never
    saw, most frequent first. ``seen_known`` is False for a categorical feature of a reference
    stored before references remembered every category: its "unseen" shares are then those
    outside the kept categories, long tail included, as driftmon 0.1 measured them.
    ``dates`` is True for a numeric feature of dates or times: its values (``reference_range``
    too) are seconds since the epoch, written as dates for people.
    """

    name: str
    kind: str
    n_reference: int
    n_current: int
    measures: Mapping[str, MeasureValue]
    monitored: bool = True
    top_bins: tuple[BinContribution, ...] = ()
    top_unseen: Mapping[str, int] = field(default_factory=dict)
    reference_type: str | None = None
    current_type: str | None = None
    reference_range: tuple[float, float] | None = None
    seen_known: bool = True
    dates: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.measures) - _MEASURE_SET
        if unknown:
            raise InputDataError(
                f"feature `{self.name}`: unknown measure(s) {sorted(unknown)}; "
                f"declare them in MEASURES"
            )
        object.__setattr__(
            self, "measures", {name: self.measures.get(name) for name in MEASURE_NAMES}
        )

    def __getattr__(self, name: str) -> MeasureValue:
        if name in _MEASURE_SET:
            return self.measures[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def measured(self) -> bool:
        """True when the batch had rows of a monitored feature, so the measures exist."""
        return self.monitored and self.n_current > 0

    @property
    def n_unseen_current(self) -> int | None:
        """Rows of the batch whose value the reference never saw (from their share), or None
        when that is not known."""
        share = self.measures["unseen_share_current"]
        return None if share is None else round(share * self.n_current)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe form: identity, every measure by name, then the details."""
        return {
            "name": self.name,
            "kind": self.kind,
            "monitored": self.monitored,
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            **self.measures,
            "top_bins": [asdict(b) for b in self.top_bins],
            "top_unseen": dict(self.top_unseen),
            "reference_type": self.reference_type,
            "current_type": self.current_type,
            "reference_range": list(self.reference_range) if self.reference_range else None,
            "seen_known": self.seen_known,
            "dates": self.dates,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureResult:
        """Inverse of `to_dict`; measures absent from ``data`` (stored before they existed) are
        None."""
        bounds = data.get("reference_range")
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            n_reference=int(data["n_reference"]),
            n_current=int(data["n_current"]),
            measures={name: data.get(name) for name in MEASURE_NAMES},
            monitored=bool(data.get("monitored", True)),
            top_bins=tuple(BinContribution(**b) for b in data.get("top_bins") or ()),
            top_unseen={str(k): int(v) for k, v in (data.get("top_unseen") or {}).items()},
            reference_type=data.get("reference_type"),
            current_type=data.get("current_type"),
            reference_range=(float(bounds[0]), float(bounds[1])) if bounds else None,
            seen_known=bool(data.get("seen_known", True)),
            dates=bool(data.get("dates", False)),
        )


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
    A feature whose reference holds fewer than two usable values is not monitored.

    Raises
    ------
    InputDataError
        A feature of ``current`` was counted with other bins than the reference's (bins are
        compared slot by slot, so that would measure nonsense).
    """
    names = [n for n in reference.features if n in current.features]
    schema = _schema_diff(reference, current)
    pairs = [(reference.features[n], current.features[n]) for n in names]
    other_bins = [n for n, (ref, cur) in zip(names, pairs, strict=True) if ref.spec != cur.spec]
    if other_bins:
        raise InputDataError(
            f"feature(s) {', '.join(f'`{n}`' for n in other_bins)} of the batch were counted "
            "with other bins than the reference's; count the batch with the reference's bins "
            "(`profile_frame(batch, reference.specs)`), or pass the batch's data instead of a "
            "profile fitted on it"
        )
    monitored = [ref.usable for ref, _ in pairs]
    compared = [i for i, (_, cur) in enumerate(pairs) if cur.n_rows > 0 and monitored[i]]

    measures: dict[str, NDArray[Any]] = {}
    top: list[tuple[BinContribution, ...]] = [()] * len(pairs)
    if compared:
        width = max(pairs[i][0].spec.n_slots for i in compared)
        reference_counts = np.zeros((len(compared), width), dtype=np.int64)
        current_counts = np.zeros((len(compared), width), dtype=np.int64)
        exists = np.zeros((len(compared), width), dtype=bool)
        kept = np.zeros((len(compared), width), dtype=bool)
        for row, i in enumerate(compared):
            ref, cur = pairs[i]
            reference_counts[row, : ref.spec.n_slots] = ref.counts
            current_counts[row, : cur.spec.n_slots] = cur.counts
            exists[row, : ref.spec.n_slots] = True
            kept[row, : len(ref.spec.categories)] = True
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
            **_max_share_change(
                reference_counts,
                current_counts,
                kept,
                [pairs[i] for i in compared],
                correction,
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
        _feature_result(ref, cur, measures, position.get(i), top[i], monitored[i])
        for i, (ref, cur) in enumerate(pairs)
    )
    return Comparison(results, schema, current.n_rows, alpha, correction)


def _feature_result(
    ref: FeatureProfile,
    cur: FeatureProfile,
    measures: dict[str, NDArray[Any]],
    row: int | None,
    top_bins: tuple[BinContribution, ...],
    monitored: bool,
) -> FeatureResult:
    values: dict[str, MeasureValue] = {}
    if row is not None:
        for key, column in measures.items():
            value = column[row]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                values[key] = None
            elif isinstance(value, str):
                values[key] = value
            else:
                values[key] = int(value) if _KINDS[key] == "int" else float(value)
    if monitored:
        values.update(
            missing_share_reference=_share(ref.n_missing, ref.n_rows),
            missing_share_current=_share(cur.n_missing, cur.n_rows),
            unseen_share_reference=_expected_unseen_share(ref),
            unseen_share_current=(
                None if cur.n_unseen is None else _share(cur.n_unseen, cur.n_rows)
            ),
        )
        if ref.spec.kind == CATEGORICAL and ref.spec.seen is None:
            # a reference that does not know what it saw: measure as driftmon 0.1 did
            values.update(
                unseen_share_reference=_share(ref.n_other or 0, ref.n_rows),
                unseen_share_current=_share(cur.n_other or 0, cur.n_rows),
            )
        elif ref.spec.kind == CATEGORICAL:
            values.update(
                other_share_reference=_tail_share(ref, 0),
                other_share_current=_tail_share(cur, cur.n_unseen),
            )
    return FeatureResult(
        name=ref.spec.name,
        kind=ref.spec.kind,
        n_reference=ref.n_rows,
        n_current=cur.n_rows,
        measures=values,
        monitored=monitored,
        top_bins=top_bins,
        top_unseen=dict(cur.tally.unseen),
        reference_type=ref.tally.observed_type,
        current_type=cur.tally.observed_type,
        reference_range=(
            (float(ref.spec.edges[0]), float(ref.spec.edges[-1]))
            if ref.spec.kind == NUMERIC
            else None
        ),
        seen_known=ref.spec.kind == NUMERIC or ref.spec.seen is not None,
        dates=ref.spec.dates,
    )


def _tail_share(profile: FeatureProfile, n_unseen: int | None) -> float | None:
    """Share of rows in categories the reference saw but did not keep: the "other" slot
    without the values it never saw (the whole slot when that is unknown)."""
    n_other = profile.n_other or 0
    return _share(n_other - (n_unseen or 0), profile.n_rows)


def _expected_unseen_share(reference: FeatureProfile) -> float | None:
    """What share of a healthy batch the reference never saw, as far as it can tell.

    Numeric: 0, the reference's range is its own. Categorical: the share of the reference's
    values that it saw exactly once, the Good-Turing estimate of the probability mass it has
    not seen; None when the reference does not know what it saw.
    """
    if reference.spec.kind == NUMERIC:
        return 0.0 if reference.n_rows else None
    seen = reference.spec.seen
    return None if seen is None else seen.singleton_share


def _max_share_change(
    reference_counts: NDArray[np.int64],
    current_counts: NDArray[np.int64],
    kept: NDArray[np.bool_],
    pairs: list[tuple[FeatureProfile, FeatureProfile]],
    correction: str,
) -> dict[str, NDArray[Any]]:
    """The category whose share moved most, and its corrected two-proportion test.

    Candidates are the kept categories and the batch's most frequent long-tail categories
    (seen by the reference but not kept; their reference counts come from what the reference
    saw), so a tail category that surges is found too. Shares are among known values (not
    missing, not never seen), so a new category or a jump in missing values, each a signal
    of its own, does not move every other category. The most changed category is tested with
    a 2 x 2 G-test (Williams-corrected); the feature's p-value is that times the number of
    categories the reference saw (Bonferroni: the largest of that many changes was picked),
    then corrected across the categorical features of the batch like the other p-values.
    """
    n_features = len(pairs)
    change = np.full(n_features, np.nan)
    before = np.full(n_features, np.nan)
    label = np.full(n_features, None, dtype=object)
    p_value = np.full(n_features, np.nan)
    found = {
        "max_share_change": change,
        "max_share_change_category": label,
        "max_share_change_reference": before,
        "max_share_change_p_value": p_value,
    }
    tables: list[tuple[float, float, float, float]] = []
    rows: list[int] = []
    n_tested: list[int] = []
    for row in np.flatnonzero(kept.any(axis=-1)):
        reference, current = pairs[row]
        ref_known = float(reference.n_values)
        cur_known = float(current.n_values - (current.n_unseen or 0))
        if cur_known <= 0:
            continue
        n_kept = len(reference.spec.categories)
        names = list(reference.spec.categories)
        ref_in = reference_counts[row, :n_kept].astype(np.float64)
        cur_in = current_counts[row, :n_kept].astype(np.float64)
        ref_total = np.full(n_kept, ref_known)
        seen = reference.spec.seen
        if seen is not None and current.tally.tail:
            tail = list(current.tally.tail)
            names += tail
            ref_in = np.concatenate([ref_in, seen.counts_of(tail).astype(np.float64)])
            cur_in = np.concatenate([cur_in, np.array(list(current.tally.tail.values()), float)])
            ref_total = np.concatenate([ref_total, np.full(len(tail), float(seen.n_rows))])
        delta = cur_in / cur_known - ref_in / ref_total
        largest = int(np.argmax(np.abs(delta)))
        change[row] = delta[largest]
        before[row] = ref_in[largest] / ref_total[largest]
        label[row] = names[largest]
        rows.append(row)
        tables.append((ref_in[largest], ref_total[largest], cur_in[largest], cur_known))
        n_tested.append(max(n_kept, seen.n_distinct if seen is not None else 0))
    if rows:
        ref_in, ref_total, cur_in, cur_known = np.array(tables).T
        test = g_test(
            np.stack([ref_in, ref_total - ref_in], axis=-1),
            np.stack([cur_in, cur_known - cur_in], axis=-1),
            min_expected=None,
        )
        bonferroni = np.minimum(np.asarray(test.p_value) * np.array(n_tested), 1.0)
        p_value[rows] = adjust_p_values(bonferroni, method=correction)
    return found


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
    # a feature without usable reference values is not monitored: its absence changes nothing
    missing = tuple(
        name
        for name, feature in reference.features.items()
        if name not in current.features and feature.usable
    )
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
