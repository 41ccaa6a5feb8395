"""Modules and names imported on first use.

pandas costs a fifth of a second to import, and a check of a Parquet or CSV file never needs
it: readers hand numbers and tallies to counting in Arrow's form. Modules that need pandas for
other inputs refer to it through `lazy_module`, which imports it when first touched.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    """Stands in for a module until an attribute is first read, then forwards to it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self.__name__)
        return getattr(module, attribute)


def lazy_module(name: str) -> Any:
    """``name``, imported the first time one of its attributes is used."""
    return _LazyModule(name)


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for ``package``: each name of ``exports`` (name ->
    module defining it) is imported from its module on first use, then kept in the package.

    Packages use it so that importing them (the CLI's help, a check of a path) loads nothing
    their callers do not touch.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value  # later lookups skip this function
        return value

    return __getattr__


def lazy_modules(package: str, modules: list[str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for ``package`` that finds a name in the ``__all__``
    of ``modules``, importing them in order until one has it, then keeps it in the package:
    each module's ``__all__`` is the one list of what it exports, and a caller of the first
    modules never loads the later ones."""
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if not name.startswith("__"):
            for module_name in modules:
                module = importlib.import_module(module_name)
                if name in getattr(module, "__all__", ()):
                    value = namespace[name] = getattr(module, name)
                    return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
