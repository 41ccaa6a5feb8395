"""Every command's help reads cleanly: placeholders in capitals, no type names in angle
brackets, no Python-style braces, every argument and option explained."""

from __future__ import annotations

import re

import pytest
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


def _help(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "100"})
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
