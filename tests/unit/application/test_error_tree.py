"""The tree drawn in sunap.application.errors is the tree the code has: every error a caller can
be answered with is drawn, under the parent it really derives from."""

from __future__ import annotations

import importlib
import pkgutil
import re

import sunap.application
import sunap.domain
from sunap.application import errors
from sunap.application.ports.gateway import GatewayError
from sunap.domain.errors import SunapError

_DRAWN_LINE = re.compile(r"^    ([│ ]*(?:[├└]── )?)([A-Z][A-Za-z, ]*?)(?:\s{2,}.*)?$")


def _drawn_parents() -> dict[str, str | None]:
    """Each name in the docstring's trees, with the name it is drawn under (None: a root)."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        found = _DRAWN_LINE.match(line)
        if found is None:
            continue
        depth = len(found.group(1)) // 4
        names = [n.strip() for n in found.group(2).split(",") if n.strip()]
        stack = stack[:depth]
        parent = stack[-1][1] if stack else None
        for name in names:
            parents[name] = parent
        stack.append((depth, names[0]))
    return parents


def _all_subclasses(root: type[BaseException]) -> set[type[BaseException]]:
    for package in (sunap.domain, sunap.application):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    found: set[type[BaseException]] = set()
    todo = [root]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("sunap.") and sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_answered_error_is_drawn_under_the_class_it_derives_from() -> None:
    drawn = _drawn_parents()
    assert drawn["SunapError"] is None
    for cls in _all_subclasses(SunapError):
        assert cls.__name__ in drawn, f"{cls.__name__} is missing from the drawn tree"
        if drawn[cls.__name__] is not None:
            assert cls.__bases__[0].__name__ == drawn[cls.__name__], cls.__name__


def test_the_gateway_errors_are_drawn_under_gateway_error() -> None:
    drawn = _drawn_parents()
    for cls in _all_subclasses(GatewayError):
        assert drawn.get(cls.__name__) == "GatewayError", cls.__name__


def test_signals_between_layers_are_not_answers() -> None:
    for signal in (errors.StaleAggregate, errors.PublishFailed, errors.UnknownPgAccount):
        assert not issubclass(signal, SunapError)
        assert signal.__name__ in _drawn_parents()
