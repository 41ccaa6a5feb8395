"""The pure core stays pure: no database, orchestration, drawing, templating or messaging."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import driftmon

PACKAGE = Path(driftmon.__file__).parent
PURE_CORE = [
    "alerts",
    "bins",
    "compare",
    "divergence",
    "errors",
    "formatting",
    "options",
    "policy",
    "profile",
    "results",
    "status",
    "tails",
    "vocabulary",
    "vocabulary_kernels",
    "_version",
]
#: The modules at the edges and those that orchestrate them: every other module is pure.
EDGES_AND_ORCHESTRATION = {
    "api",  # the Python API: runs the pipeline and jobs
    "cli",
    "compute",  # sends partitions to a Dask cluster
    "config",  # reads the TOML file
    "config_models",  # the TOML file's pydantic models
    "examples",  # writes example data files
    "jobs",
    "metrics",  # reads the store, writes Prometheus text
    "notify",
    "pipeline",
    "progress",  # writes progress to the terminal
    "report",
    "runner",
    "sources",
    "sqlite_url",  # the file a SQLite URL opens, for the store and the SQL source
    "store",
}
FORBIDDEN = {
    "sqlalchemy",
    "prefect",
    "matplotlib",
    "jinja2",
    "apprise",
    "alembic",
    "requests",
    "httpx",
    "pyarrow",
}
IO_MODULES = {
    "driftmon.store",
    "driftmon.sources",
    "driftmon.notify",
    "driftmon.report",
    "driftmon.cli",
    "driftmon.flows",
}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", PURE_CORE)
def test_pure_core_module_imports_no_io_library(module: str) -> None:
    imported = _imported_modules(PACKAGE / f"{module}.py")
    top_level = {name.split(".")[0] for name in imported}
    assert not top_level & FORBIDDEN, f"{module}.py imports {sorted(top_level & FORBIDDEN)}"
    reaching_io = {n for n in imported if any(n == m or n.startswith(m + ".") for m in IO_MODULES)}
    assert not reaching_io, f"{module}.py imports I/O modules {sorted(reaching_io)}"


def test_importing_driftmon_loads_no_io_library() -> None:
    import subprocess
    import sys

    # pandas itself loads pyarrow (its string dtype), so only the others are checked here.
    checked = sorted(FORBIDDEN - {"pyarrow"})
    code = f"import sys, driftmon; print(sorted(m for m in {checked!r} if m in sys.modules))"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert output == "[]"


def test_every_module_is_either_pure_or_a_known_edge() -> None:
    """A new module is pure unless it is added to the edges on purpose."""
    modules = {
        path.stem if path.is_file() else path.name
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" or (path / "__init__.py").exists())
        and path.stem not in ("__init__", "_lazy")
        and not path.name.startswith("__")
    }
    assert modules - EDGES_AND_ORCHESTRATION == set(PURE_CORE)
