"""The README's Python section runs as written: its code blocks, in order, in one namespace,
in an empty folder (it writes a database and reports there)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_section_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## Python\n") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_python_section_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _python_section_blocks()
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)

    assert (tmp_path / "drift.html").is_file()
    assert (tmp_path / "driftmon.db").is_file()
    assert list((tmp_path / "reports" / "orders").glob("run-*.html"))


def test_the_json_fields_of_check_are_all_listed() -> None:
    """The README's list of `driftmon check --json` fields names every key the object has."""
    from driftmon.results import CheckResult

    result = CheckResult(
        run_id=1,
        dataset="orders",
        batch_key="key",
        batch_time=None,
        source="batch.parquet",
        n_rows=0,
        reference_version=1,
        verdict="ok",
        features=(),
        schema={},
    )
    text = README.read_text(encoding="utf-8")
    start = text.index("- `--json` prints one object:")
    listed = text[start : text.index("Each feature has", start)]
    missing = [key for key in result.to_dict() if f"`{key}`" not in listed]
    assert not missing, missing
