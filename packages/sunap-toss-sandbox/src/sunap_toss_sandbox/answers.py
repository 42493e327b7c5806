"""What a Toss API call answers, before it is written out as HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sunap_toss_sandbox.catalogue import TossError, Wording


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None  # the JSON document of a success; None for an empty body
    code: str | None = (
        None  # set for an error: the body is {code, message} in the caller's language
    )
    dropped: bool = False  # close the connection instead of answering
    wording: Wording | None = None  # an error's own message, instead of its code's

    @classmethod
    def ok(cls, body: Any) -> Answer:
        return cls(200, body)

    @classmethod
    def error(cls, code: str, status: int) -> Answer:
        return cls(status, code=code)

    @classmethod
    def refusal(cls, error: TossError) -> Answer:
        return cls(error.status, code=error.code, wording=error.wording)

    @property
    def succeeded(self) -> bool:
        return self.code is None and not self.dropped
