"""driftmon: data-drift monitoring with histogram profiles and smoothed KL divergence.

The pure core (bins, divergences, profiles, comparison) is importable without side effects:
no logging setup, no database engine, no matplotlib backend.
"""

from __future__ import annotations

from driftmon.bins import BinSpec, count_values, fit_bins, infer_kind
from driftmon.compare import MEASURES, Comparison, FeatureResult, Measure, SchemaDiff, compare
from driftmon.divergence import (
    DEFAULT_ALPHA,
    adjust_p_values,
    expected_kl_no_drift,
    g_test,
    js_divergence,
    kl_divergence,
    population_stability_index,
    reverse_kl_divergence,
)
from driftmon.errors import (
    ConfigError,
    DriftmonError,
    EmptyHistogramError,
    InputDataError,
    NotificationError,
    ReferenceNotFoundError,
    SchemaError,
    SourceError,
    StoreError,
)
from driftmon.profile import FeatureProfile, Profile, fit_specs, profile_frame
from driftmon.vocabulary import Vocabulary

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_ALPHA",
    "MEASURES",
    "BinSpec",
    "Comparison",
    "ConfigError",
    "DriftmonError",
    "EmptyHistogramError",
    "FeatureProfile",
    "FeatureResult",
    "InputDataError",
    "Measure",
    "NotificationError",
    "Profile",
    "ReferenceNotFoundError",
    "SchemaDiff",
    "SchemaError",
    "SourceError",
    "StoreError",
    "Vocabulary",
    "__version__",
    "adjust_p_values",
    "compare",
    "count_values",
    "expected_kl_no_drift",
    "fit_bins",
    "fit_specs",
    "g_test",
    "infer_kind",
    "js_divergence",
    "kl_divergence",
    "population_stability_index",
    "profile_frame",
    "reverse_kl_divergence",
]
