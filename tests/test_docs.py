"""The README is the documentation: every option of every command is in it."""

from __future__ import annotations

import click
import pytest

from blogrec.cli import main

from .conftest import REPO

README = (REPO / "README.md").read_text("utf-8")
OPTIONS = sorted({(name, flag) for name, command in main.commands.items()
                  for param in command.params if isinstance(param, click.Option)
                  for flag in param.opts if flag.startswith("--")})


def test_the_commands_have_options():
    assert {"build", "evaluate", "suggest-tags", "search", "demo"} <= set(main.commands)
    assert ("build", "--no-cache") in OPTIONS and ("evaluate", "--compare") in OPTIONS


@pytest.mark.parametrize(("command", "flag"), OPTIONS)
def test_every_cli_option_is_in_the_readme(command, flag):
    assert f"`{flag}" in README, f"blogrec {command} {flag} is not documented in README.md"
