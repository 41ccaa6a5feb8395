"""driftmon: data-drift monitoring with histogram profiles and smoothed KL divergence.

Compare new data with data you trust, in one call (DataFrames, Parquet / CSV paths or
profiles):

>>> import driftmon, numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> reference = pd.DataFrame({"amount": rng.normal(50, 10, 5_000)})
>>> report = driftmon.check(reference, pd.DataFrame({"amount": rng.normal(60, 10, 1_000)}))
>>> report.verdict, report.drifted
('critical', ('amount',))

``report.to_pandas()`` is the feature table, ``report.save_html(path)`` the report page, and
in Jupyter the report shows itself. ``driftmon.Monitor(db=..., config=...)`` keeps
references, runs, alerts and reports in a database as the ``driftmon`` command does. See
the README's "Python" section, and `driftmon.api`.

Everything else exported here is the pure core (bins, divergences, profiles, comparison),
importable without side effects. Names load when first used, so ``import driftmon`` (and the
`driftmon` command's help) costs next to nothing.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

from driftmon._lazy import lazy_exports
from driftmon._version import __version__ as __version__

#: Public name -> the module that defines it.
_EXPORTS = {
    "DEFAULT_ALPHA": "driftmon.options",
    "DriftReport": "driftmon.api",
    "Monitor": "driftmon.api",
    "check": "driftmon.api",
    "profile": "driftmon.api",
    "MEASURES": "driftmon.compare",
    "BinSpec": "driftmon.bins",
    "Comparison": "driftmon.compare",
    "ConfigError": "driftmon.errors",
    "DriftmonError": "driftmon.errors",
    "DriftmonWarning": "driftmon.errors",
    "EmptyHistogramError": "driftmon.errors",
    "FeatureProfile": "driftmon.profile",
    "FeatureResult": "driftmon.compare",
    "InputDataError": "driftmon.errors",
    "Measure": "driftmon.compare",
    "NotificationError": "driftmon.errors",
    "Profile": "driftmon.profile",
    "ReferenceNotFoundError": "driftmon.errors",
    "SchemaDiff": "driftmon.compare",
    "SchemaError": "driftmon.errors",
    "SourceError": "driftmon.errors",
    "Status": "driftmon.status",
    "StoreError": "driftmon.errors",
    "Vocabulary": "driftmon.vocabulary",
    "adjust_p_values": "driftmon.divergence",
    "compare": "driftmon.compare",
    "count_values": "driftmon.bins",
    "expected_kl_no_drift": "driftmon.divergence",
    "fit_bins": "driftmon.bins",
    "fit_specs": "driftmon.profile",
    "g_test": "driftmon.divergence",
    "infer_kind": "driftmon.bins",
    "js_divergence": "driftmon.divergence",
    "kl_divergence": "driftmon.divergence",
    "population_stability_index": "driftmon.divergence",
    "profile_frame": "driftmon.profile",
    "reverse_kl_divergence": "driftmon.divergence",
}

__all__ = sorted([*_EXPORTS, "__version__"], key=lambda n: (not n.isupper(), n))


_exported = lazy_exports(__name__, _EXPORTS)


def __getattr__(name: str) -> Any:
    return _exported(name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


class _Package(ModuleType):
    """This package's module type: a public name keeps meaning the function it exports.

    Importing a submodule binds its name on the package (``driftmon.compare`` the module,
    once anything imports it), which would shadow the function of the same name that
    ``driftmon.compare`` is.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
