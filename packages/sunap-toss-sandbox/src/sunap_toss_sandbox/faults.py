"""Injected misbehaviour of the Toss API: late answers, error answers, dropped connections."""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
from dataclasses import dataclass
from typing import Any

from sunap_toss_sandbox import choices
from sunap_toss_sandbox.answers import Answer
from sunap_toss_sandbox.catalogue import CATALOGUE, kind_of

_ids = itertools.count(1)


class FaultSpecError(ValueError):
    """A /sandbox/faults body that does not describe a fault."""


@dataclass
class Fault:
    id: int
    method: str | None
    path: str | None
    times: int
    delay_ms: int
    status: int | None
    code: str | None
    drop_connection: bool
    after_apply: bool

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.path is None:
            return True
        if any(mark in self.path for mark in "*?["):
            return fnmatch.fnmatchcase(path, self.path)
        return path == self.path or path.startswith(self.path.rstrip("/") + "/")

    @property
    def fails(self) -> bool:
        return self.drop_connection or self.status is not None or self.code is not None

    async def wait(self) -> None:
        if self.delay_ms > 0:
            await asyncio.sleep(self.delay_ms / 1000)

    def answer(self) -> Answer:
        if self.drop_connection:
            return Answer(0, dropped=True)
        code = self.code or choices.FAULT_CODE_BY_STATUS.get(
            self.status or 500, "FAILED_INTERNAL_SYSTEM_PROCESSING"
        )
        return Answer.error(code, self.status or kind_of(code).status)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "times": self.times,
            "delayMs": self.delay_ms,
            "status": self.status,
            "code": self.code,
            "dropConnection": self.drop_connection,
            "afterApply": self.after_apply,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Fault:
        unknown = sorted(set(body) - FIELDS)
        if unknown:  # a misspelt field would leave a fault that matches every call
            raise FaultSpecError(f"unknown fields: {', '.join(unknown)}")
        method = _optional(body, "method", str)
        path = _optional(body, "path", str)
        times = _optional(body, "times", int)
        delay_ms = _optional(body, "delayMs", int)
        status = _optional(body, "status", int)
        code = _optional(body, "code", str)
        if code is not None and code not in CATALOGUE:
            raise FaultSpecError(f"unknown Toss code {code!r}")
        if status is not None and not 400 <= status <= 599:
            raise FaultSpecError("status must be an HTTP error status (400-599)")
        if times is not None and times < 1:
            raise FaultSpecError("times must be at least 1")
        if delay_ms is not None and delay_ms < 0:
            raise FaultSpecError("delayMs must not be negative")
        return cls(
            id=next(_ids),
            method=method.upper() if method else None,
            path=path,
            times=times or 1,
            delay_ms=delay_ms or 0,
            status=status,
            code=code,
            drop_connection=bool(_optional(body, "dropConnection", bool)),
            after_apply=bool(_optional(body, "afterApply", bool)),
        )


FIELDS = frozenset(
    {"method", "path", "times", "delayMs", "status", "code", "dropConnection", "afterApply"}
)


def _optional(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FaultSpecError(f"{name} must be a {kind.__name__}")
    return value


class FaultBook:
    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The oldest fault matching this call, one of its `times` used up."""
        for fault in self._faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self._faults.clear()

    def to_json(self) -> list[dict[str, Any]]:
        return [fault.to_json() for fault in self._faults]
