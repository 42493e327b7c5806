"""`make setup` installs exactly what uv.lock says (docs/dependencies.md): every package in this
environment is at its locked version, nothing unlocked is installed, and everything Sunap and its
extras need is there."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_packages() -> list[dict[str, Any]]:
    return list(tomllib.loads((ROOT / "uv.lock").read_text())["package"])


def installed() -> dict[str, str]:
    return {normalized(d.metadata["Name"]): d.version for d in metadata.distributions()}


def from_the_registry(package: dict[str, Any]) -> bool:
    """Not one of this repository's own packages (sunap, the workspace members)."""
    return "registry" in package.get("source", {})


def test_every_installed_package_is_at_its_locked_version() -> None:
    present = installed()
    wrong = {
        package["name"]: (package["version"], present[normalized(package["name"])])
        for package in locked_packages()
        if from_the_registry(package)
        and normalized(package["name"]) in present
        and present[normalized(package["name"])] != package["version"]
    }
    assert wrong == {}, "(locked, installed): rm .venv/.installed-stamp && make setup"


def test_nothing_is_installed_that_the_lock_does_not_name() -> None:
    locked = {normalized(package["name"]) for package in locked_packages()}
    assert set(installed()) - locked == set(), "installed by hand? uv sync removes them"


def test_sunap_every_extra_and_the_workspace_packages_are_installed() -> None:
    sunap = next(p for p in locked_packages() if p["name"] == "sunap")
    needed = {normalized(d["name"]) for d in sunap["dependencies"]}
    extras = sunap["optional-dependencies"]
    assert {"postgresql", "mariadb", "kafka", "rabbitmq", "nats", "redis", "all", "dev"} <= set(
        extras
    )
    for requirements in extras.values():
        needed |= {normalized(d["name"]) for d in requirements}
    members = {
        normalized(p["name"]) for p in locked_packages() if "editable" in p.get("source", {})
    }
    assert "sunap-client" in members
    assert needed | members <= set(installed())
