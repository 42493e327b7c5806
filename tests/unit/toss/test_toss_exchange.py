"""The adapter names every call and outcome the Toss client reports in the port's words
(PgOperation, PgOutcome), by the same strings: the audit trail and metrics read as before."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from sunap.adapters.toss import RetryPolicy, TossGateway
from sunap.adapters.toss.gateway import gateway_exchange
from sunap.application.ports.gateway import GatewayDeclined, GatewayUnknown, PgOperation, PgOutcome
from sunap_toss import Exchange
from sunap_toss.codes import Operation, Verdict
from tests.unit.toss.toss_fakes import FakeToss, card_payment

# What sunap_toss's transport writes into Exchange.outcome: "ok" or a Verdict's value.
TOSS_OUTCOMES = ["ok", *(verdict.value for verdict in Verdict)]


def toss_exchange(operation: str, outcome: str) -> Exchange:
    return Exchange(operation, "POST", "/v1/payments/confirm", None, None, 200, 5, outcome)


@pytest.mark.parametrize("operation", list(Operation))
def test_every_operation_of_the_toss_client_has_its_pg_operation(operation: Operation) -> None:
    ours = gateway_exchange(toss_exchange(operation.value, "ok")).operation
    assert type(ours) is PgOperation
    assert ours.value == operation.value


@pytest.mark.parametrize("outcome", TOSS_OUTCOMES)
def test_every_outcome_of_the_toss_client_has_its_pg_outcome(outcome: str) -> None:
    ours = gateway_exchange(toss_exchange("confirm", outcome)).outcome
    assert type(ours) is PgOutcome
    assert ours.value == outcome


def test_every_pg_outcome_is_one_the_toss_client_can_report() -> None:
    """The port has no outcome the adapter could never give (it would be dead in every match)."""
    assert {outcome.value for outcome in PgOutcome} == set(TOSS_OUTCOMES)


@pytest.fixture
def once(make_gateway: Callable[..., TossGateway]) -> TossGateway:
    return make_gateway(retry_policy=RetryPolicy.never())


async def test_an_answer_through_the_gateway_carries_the_ports_enums(
    once: TossGateway, toss: FakeToss
) -> None:
    toss.answer(200, card_payment())
    approved = await once.lookup_by_order_id("order-1")
    assert approved.exchange is not None
    assert approved.exchange.operation is PgOperation.LOOKUP
    assert approved.exchange.outcome is PgOutcome.OK

    toss.error("REJECT_CARD_PAYMENT", 403)
    with pytest.raises(GatewayDeclined) as declined:
        await once.confirm(payment_key="pk", order_id="order-1", amount=1000, idempotency_key="k")
    assert declined.value.exchange is not None
    assert declined.value.exchange.operation is PgOperation.CONFIRM
    assert declined.value.exchange.outcome is PgOutcome.DECLINED


async def test_an_answer_the_client_reads_but_the_adapter_cannot_is_unknown(
    once: TossGateway, toss: FakeToss
) -> None:
    """sunap_toss keeps a status it does not know; our wire refuses it, so the adapter itself
    marks the exchange unknown."""
    toss.answer(200, card_payment(status="A_STATUS_TOSS_ADDS_NEXT_YEAR"))
    with pytest.raises(GatewayUnknown) as unknown:
        await once.lookup_by_order_id("order-1")
    assert unknown.value.exchange is not None
    assert unknown.value.exchange.outcome is PgOutcome.UNKNOWN


async def test_a_write_names_the_idempotency_key_it_went_out_under_and_a_read_none(
    once: TossGateway, toss: FakeToss
) -> None:
    """The key Toss knows the call by reaches the trail, also when no answer came back: a
    replay under it is the same request, and the trail ties the two together."""
    toss.fail(httpx.ReadTimeout("no answer"))
    with pytest.raises(GatewayUnknown) as lost:
        await once.cancel(
            payment_key="pk", reason="r", amount=1000, idempotency_key="sunap-cancel-cxl_1"
        )
    assert toss.requests[-1].headers["Idempotency-Key"] == "sunap-cancel-cxl_1"
    assert lost.value.exchange is not None
    assert lost.value.exchange.idempotency_key == "sunap-cancel-cxl_1"

    toss.answer(200, card_payment())
    found = await once.lookup_by_payment_key("pk")
    assert found.exchange is not None and found.exchange.idempotency_key is None
