"""Every known label combination of a counter has its series from the start, at 0
(docs/observability.md): an alert on increase() cannot see the first event after a restart on a
series that event creates (SunapTossMisconfigured stayed silent after one Toss 401)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from sunap.application.observed_gateway import OBSERVED_OPERATIONS, ObservedGateway
from sunap.application.ports.gateway import GatewayMisconfigured, PgOutcome
from sunap.application.ports.webhook_inbox import DeliveryStatus
from sunap.entrypoints.metrics import WEBHOOK_RESULTS, WEBHOOK_TYPES, Metrics
from tests.support.metrics import Scrape


def fresh() -> Scrape:
    return Scrape(Metrics().exposition().decode())


def test_every_toss_operation_and_outcome_is_at_0_before_any_call() -> None:
    scrape = fresh()
    for operation in OBSERVED_OPERATIONS:
        for outcome in PgOutcome:
            labels = frozenset({("operation", operation.value), ("outcome", outcome.value)})
            assert scrape.samples.get(("sunap_toss_requests_total", labels)) == 0.0, labels


def test_every_webhook_type_and_result_is_at_0_before_any_delivery() -> None:
    scrape = fresh()
    for event_type in [*WEBHOOK_TYPES, "other"]:
        for result in WEBHOOK_RESULTS:
            labels = frozenset({("type", event_type), ("result", result)})
            assert scrape.samples.get(("sunap_webhook_deliveries_total", labels)) == 0.0, labels


def test_every_result_a_delivery_is_counted_with_is_a_known_one() -> None:
    settled = {s.value.lower() for s in DeliveryStatus if s is not DeliveryStatus.RECEIVED}
    at_the_door = {"duplicate", "ignored", "rejected", "early"}
    assert settled | at_the_door == set(WEBHOOK_RESULTS)


class Refusing:
    """A gateway whose every call Toss refuses as misconfigured."""

    def accepts_new_operations(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        async def refuse(*args: object, **kwargs: object) -> None:
            raise GatewayMisconfigured("UNAUTHORIZED_KEY", "refused")

        return refuse


def argument(parameter: inspect.Parameter) -> object:
    return 1 if "int" in str(parameter.annotation) else "x"


def test_the_operations_given_series_are_every_one_the_gateway_reports() -> None:
    reported: set[str] = set()
    gateway = ObservedGateway(Refusing(), lambda op, outcome, s: reported.add(op))  # type: ignore[arg-type]
    for name, method in inspect.getmembers(gateway, inspect.iscoroutinefunction):
        if name.startswith("_"):
            continue
        parameters = list(inspect.signature(method).parameters.values())
        positional = [argument(p) for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
        keywords = {
            p.name: argument(p)
            for p in parameters
            if p.kind is p.KEYWORD_ONLY and p.default is inspect.Parameter.empty
        }
        with pytest.raises(GatewayMisconfigured):
            asyncio.run(method(*positional, **keywords))
    assert reported == set(OBSERVED_OPERATIONS)
