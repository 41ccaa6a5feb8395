"""`examples/quickstart.ipynb` executed headless in a real Jupyter kernel, its outputs checked,
so the notebook never rots."""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"


def _outputs(cell: dict) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") != "stream"]


def _text(cell: dict, mime: str = "text/plain") -> str:
    return "".join(
        "".join(o["data"][mime]) if isinstance(o["data"][mime], list) else o["data"][mime]
        for o in _outputs(cell)
        if mime in o.get("data", {})
    )


def test_the_quickstart_notebook_runs_and_shows_what_it_says(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not [o for cell in code for o in cell.get("outputs", []) if o["output_type"] == "error"]
    by_source = {cell.source.strip().splitlines()[-1]: cell for cell in code}
    assert _text(by_source["report.verdict"]) == "'critical'"
    assert _text(by_source["report.drifted"]) == "('order_value',)"
    table = _text(
        by_source[
            'report.to_pandas()[["name", "status", "kl", "js", "psi", "p_value", "message"]]'
        ],
        "text/html",
    )
    assert "<table" in table and "order_value" in table
    lenient = next(c for c in code if "kl_warning" in c.source)
    assert _text(lenient) == "'ok'"  # a KL of 0.29 is below a warning threshold of 1.0
    view = _text(by_source["report"], "text/html")
    assert view.startswith('<div class="driftmon-summary">')
    assert view.count("data:image/png;base64,") == 1  # the one feature that moved
    history = _text(
        by_source['monitor.history("orders")[["batch_key", "verdict", "n_drifted", "max_kl"]]'],
        "text/html",
    )
    assert history.count("<tr") == 1 + 6  # the header and the six daily batches
    assert not list(tmp_path.glob("reports"))  # the monitor wrote its reports where told
