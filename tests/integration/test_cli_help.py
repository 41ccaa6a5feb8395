"""Every command's help reads cleanly: placeholders in capitals, no type names in angle
brackets, no Python-style braces, every argument and option explained."""

from __future__ import annotations

import itertools
import re

import pytest
from rich.text import Text
from typer.testing import CliRunner

from driftmon.cli import app

COMMANDS = [
    [],
    ["reference"],
    ["check"],
    ["check-new"],
    ["history"],
    ["demo"],
    ["alerts"],
    ["alerts", "list"],
    ["alerts", "ack"],
    ["metrics"],
    ["notify"],
    ["report"],
    ["serve"],
]


def _help(*command: str, columns: int = 100) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "driftmon")
def test_help_is_clean(command: list[str]) -> None:
    text = _help(*command)

    assert re.search(r"<(bool|str|int|path)>", text) is None, text
    assert "{" not in text and "}" not in text, text
    assert "[]" not in text, text
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert usage.split("Usage:")[1].split()[0] == "driftmon"
    for param in _click_command(command).params:
        assert getattr(param, "help", None), f"`{param.name}` of `{' '.join(command)}` has no help"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "driftmon")
def test_help_reads_cleanly_in_an_80_column_terminal(command: list[str]) -> None:
    """Nothing cut short (`…`), no line broken before the width is reached: a break inside a
    docstring paragraph that typer keeps (in the description and the command list)."""
    text = _help(*command, columns=80)

    assert "…" not in text, text
    assert not _early_breaks(text, 80), text


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "driftmon")
def test_help_texts_hold_nothing_rich_reads_as_markup(command: list[str]) -> None:
    """Typer renders help as rich markup: a `[compute]` in a help text would vanish."""
    found = _click_command(command)
    texts = [found.help or "", *(getattr(p, "help", None) or "" for p in found.params)]
    for text in texts:
        assert Text.from_markup(text).plain == text, text


def _early_breaks(text: str, width: int) -> list[tuple[str, str]]:
    """Pairs of lines where the second's first word would have fitted on the first: in the
    description (outside the boxes) and in the help column of the command list."""
    found = []
    lines = text.splitlines()
    in_commands = False
    for above, below in itertools.pairwise(lines):
        in_commands = "─ Commands ─" in above or (in_commands and not above.startswith("╰"))
        if not above.strip() or not below.strip():
            continue
        if above.startswith(" ") and below.startswith(" "):  # the description
            right, start = width - 1, len(below) - len(below.lstrip())
        elif in_commands and below.startswith("│  ") and not above.startswith("╭"):
            right = below.rindex("│") - 1  # a continuation of the help column
            start = len(below) - len(below[1:].lstrip())
        else:
            continue
        word = below[start:].split()[0]
        end = len(above.rstrip(" │"))
        if end + 1 + len(word) <= right:
            found.append((above, below))
    return found


def _click_command(command: list[str]):
    import typer.main

    found = typer.main.get_command(app)
    for name in command:
        found = found.commands[name]  # type: ignore[attr-defined]
    return found


def test_every_command_is_covered() -> None:
    listed = {c[0] for c in COMMANDS if c}
    commands = {
        command.name or command.callback.__name__.replace("_", "-")
        for command in app.registered_commands
    }
    groups = {group.name for group in app.registered_groups}
    assert commands | groups == listed


def test_a_dataset_named_ack_can_be_listed() -> None:
    text = _help("alerts", "list")
    assert "[DATASET]" in text
    assert "ack" in _help("alerts") and "ID" in _help("alerts", "ack")


@pytest.mark.parametrize("command", ["check", "reference"])
def test_source_help_says_a_database_query_is_a_source_too(command: str) -> None:
    text = " ".join(_help(command).replace("│", " ").split())
    assert "or a database URL with ?query=SELECT ... (any SQLAlchemy URL)" in text
