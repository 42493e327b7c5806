"""What a log line is about: the request, tenant, payment and PG trace id of the work at hand.

Bound where each fact becomes known (the request id at the door, the tenant at authentication,
the payment in the use case, the PG trace id when the PG answers) and read by the log formatter.
Context variables, so concurrent requests and jobs never see each other's values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType

FIELDS = ("request_id", "tenant", "payment_id", "toss_trace_id")
_bound: ContextVar[Mapping[str, str]] = ContextVar(
    "sunap_log_context", default=MappingProxyType({})
)


def bind(**values: str | None) -> None:
    """Add these facts to the context of the current task (None leaves a fact as it was)."""
    known = {k: v for k, v in values.items() if v is not None}
    if known:
        _bound.set({**_bound.get(), **known})


def current() -> Mapping[str, str]:
    return _bound.get()


@contextmanager
def scope(**values: str | None) -> Iterator[None]:
    """A fresh context for one request or job: what it binds is gone once it ends."""
    token: Token[Mapping[str, str]] = _bound.set({k: v for k, v in values.items() if v})
    try:
        yield
    finally:
        _bound.reset(token)
