"""Predictable ids: `pay_000001`, `pay_000002`… so a failing test prints readable values."""

from __future__ import annotations

import itertools


class SequentialIds:
    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)
        self.issued: list[str] = []

    def new_id(self, prefix: str) -> str:
        separator = "" if prefix.endswith("_") else "_"
        new = f"{prefix}{separator}{next(self._counter):06d}"
        self.issued.append(new)
        return new
