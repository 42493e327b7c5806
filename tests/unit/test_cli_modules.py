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


def test_the_status_options_help_names_every_delivery_status() -> None:
    from typing import get_args

    from sunap.application.ports.webhook_inbox import DeliveryStatus
    from sunap.cli.webhooks import StatusOption

    _, option = get_args(StatusOption)
    assert all(status.value in option.help for status in DeliveryStatus)
