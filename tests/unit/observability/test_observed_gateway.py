"""Every PG call is reported once with its operation and how it ended, however it ended."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from sunap.application import log_context
from sunap.application.observed_gateway import ObservedGateway
from sunap.application.ports.gateway import (
    GatewayDeclined,
    GatewayExchange,
    GatewayUnknown,
    PgOperation,
    PgOutcome,
)
from tests.fakes.gateway import FakeGateway

Ended = list[tuple[str, str, float]]


def observed() -> tuple[FakeGateway, ObservedGateway, Ended]:
    fake, ended = FakeGateway(), []
    ticks = iter(range(0, 1000, 2))
    gateway = ObservedGateway(
        fake, lambda op, outcome, s: ended.append((op, outcome, s)), lambda: next(ticks)
    )
    return fake, gateway, ended


def confirm(gateway: ObservedGateway, key: str, order: str = "o-1") -> None:
    asyncio.run(
        gateway.confirm(payment_key=key, order_id=order, amount=1000, idempotency_key="ik-1")
    )


def test_an_approved_confirm_is_reported_ok_with_its_duration() -> None:
    fake, gateway, ended = observed()
    confirm(gateway, fake.pay_in_window("o-1", 1000))
    assert ended == [("confirm", "ok", 2)]


def test_a_refused_confirm_is_reported_declined_and_still_raised() -> None:
    fake, gateway, ended = observed()
    key = fake.pay_in_window("o-1", 1000, fail_with="REJECT_CARD_PAYMENT")
    with pytest.raises(GatewayDeclined):
        confirm(gateway, key)
    assert [(op, outcome) for op, outcome, _ in ended] == [("confirm", "declined")]


def test_an_unanswered_lookup_is_unknown_and_the_pgs_trace_id_is_bound_to_the_log() -> None:
    fake, gateway, ended = observed()
    exchange = GatewayExchange(
        PgOperation.LOOKUP, "GET", "/v1/payments/x", None, None, 503, 30, PgOutcome.UNKNOWN
    )
    fake.fail_next(
        "lookup",
        GatewayUnknown("HTTP_503", "down", exchange=replace(exchange, trace_id="trace-77")),
    )

    async def look_up() -> str | None:
        with pytest.raises(GatewayUnknown):
            await gateway.lookup_by_payment_key("tpk_missing")
        return log_context.current().get("toss_trace_id")

    assert asyncio.run(look_up()) == "trace-77"
    assert [(op, outcome) for op, outcome, _ in ended] == [("lookup", "unknown")]
