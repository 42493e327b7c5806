"""Adding a command group to `sunap` is one module with `register(app)` plus its entry in
COMMAND_MODULES (docs/cli.md, Adding a command): a module left out, or registered the old
argparse way, fails here instead of silently vanishing from the command."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import sunap.cli
from sunap.cli import COMMAND_MODULES, main


def modules_with_commands() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(sunap.cli.__path__):
        if info.name == "__main__":  # importing it runs the command
            continue
        module = importlib.import_module(f"sunap.cli.{info.name}")
        if callable(getattr(module, "register", None)):
            names.append(module.__name__)
    return sorted(names)


def test_every_module_with_commands_is_registered() -> None:
    assert modules_with_commands() == sorted(m.__name__ for m in COMMAND_MODULES)


@pytest.mark.parametrize("module", COMMAND_MODULES, ids=lambda m: m.__name__)
def test_each_module_registers_on_a_typer_app(module: ModuleType) -> None:
    [parameter] = inspect.signature(module.register).parameters.values()
    assert parameter.name == "app" and "Typer" in str(parameter.annotation)


def test_help_lists_every_command_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    shown = capsys.readouterr().out
    for command in ("serve", "sandbox", "migrate", "worker", "reconcile", "keys", "tenants"):
        assert command in shown
    assert "webhooks" in shown and "secrets" in shown and "--install-completion" in shown


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--bogus"], "sunap: No such option: --bogus (try 'sunap -h')"),
        (["no-such-command"], "sunap: No such command 'no-such-command'. (try 'sunap -h')"),
        (
            ["keys", "create", "--scope", "admin"],
            "sunap keys create: Missing option '--tenant'. (try 'sunap keys create -h')",
        ),
        (["keys", "create", "--tenant"], "sunap: Option '--tenant' requires an argument."),
        (
            ["sandbox", "--rate-limit", "fast"],
            "sunap sandbox: Invalid value for --rate-limit: expected N/min with N >= 1, got "
            "'fast' (try 'sunap sandbox -h')",
        ),
    ],
)
def test_a_usage_error_of_any_command_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], line: str
) -> None:
    """A usage error is one line, as a refused setting is, never typer's usage and box."""
    assert main(args) == 2
    printed = capsys.readouterr()
    assert printed.err.splitlines() == [line]
    assert printed.out == ""


def test_a_group_alone_still_shows_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys"]) == 2  # typer's exit for a group given no command
    shown = capsys.readouterr()
    assert "create" in shown.out and "revoke" in shown.out


def test_the_status_options_help_names_every_delivery_status() -> None:
    from typing import get_args

    from sunap.application.ports.webhook_inbox import DeliveryStatus
    from sunap.cli.webhooks import StatusOption

    _, option = get_args(StatusOption)
    assert all(status.value in option.help for status in DeliveryStatus)
