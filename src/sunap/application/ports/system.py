"""The clock and the ids: what a use case must not take from the machine directly, so tests can."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self, prefix: str) -> str:
        """An opaque unique id such as `pay_…`."""
        ...
