"""Retries: only what a retry can fix, always with the same Idempotency-Key, bounded."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import httpx
import pytest

from sunap.adapters.toss import Jitter, RetryPolicy, TossGateway, TossTimeouts
from sunap.adapters.toss.gateway import SUNAP_RETRIES
from sunap.application.ports.gateway import GatewayDeclined, GatewayError, GatewayUnknown
from sunap_toss.codes import Operation
from sunap_toss.transport import TossRequest
from tests.unit.toss.toss_fakes import FakeClock, FakeToss, Sleeps, card_payment


async def _confirm(gateway: TossGateway) -> None:
    await gateway.confirm(
        payment_key="pk", order_id="order-1", amount=1000, idempotency_key="confirm:pay_1"
    )


async def test_a_retried_confirm_sends_the_identical_idempotency_key_every_time(
    gateway: TossGateway, toss: FakeToss
) -> None:
    toss.fail(httpx.ReadTimeout("slow"))
    toss.error("FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING", 500)
    toss.answer(200, card_payment())
    payment = await gateway.confirm(
        payment_key="pk", order_id="order-123456", amount=15000, idempotency_key="confirm:pay_1"
    )
    assert payment.status == "DONE"
    assert [r.headers["Idempotency-Key"] for r in toss.requests] == ["confirm:pay_1"] * 3
    assert len({r.content for r in toss.requests}) == 1


async def test_retries_stop_after_max_attempts_with_the_last_answer(
    gateway: TossGateway, toss: FakeToss
) -> None:
    toss.error("IDEMPOTENT_REQUEST_PROCESSING", 409, times=3)
    with pytest.raises(GatewayUnknown) as caught:
        await _confirm(gateway)
    assert caught.value.code == "IDEMPOTENT_REQUEST_PROCESSING"
    assert len(toss.requests) == 3


async def test_delays_grow_exponentially_are_jittered_and_capped(
    make_gateway: Callable[..., TossGateway], toss: FakeToss, sleeps: Sleeps
) -> None:
    draws = iter([1.0, 0.5, 1.0, 0.25, 1.0])
    gateway = make_gateway(
        retry_policy=RetryPolicy(
            max_attempts=6, base_delay=0.2, max_delay=1.0, sleep=sleeps, random=lambda: next(draws)
        )
    )
    toss.fail(httpx.ConnectError("refused"), times=6)
    with pytest.raises(GatewayUnknown):
        await _confirm(gateway)
    # caps 0.2, 0.4, 0.8, 1.0, 1.0 (capped) times the jitter draws
    assert sleeps.delays == pytest.approx([0.2, 0.2, 0.8, 0.25, 1.0])
    assert len(toss.requests) == 6


def test_without_jitter_the_delay_is_the_capped_exponential() -> None:
    policy = RetryPolicy(base_delay=0.2, max_delay=2.0, jitter=Jitter.NONE)
    assert [policy.delay_before(n) for n in range(2, 8)] == pytest.approx(
        [0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    )


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "REJECT_CARD_PAYMENT"), (400, "ALREADY_PROCESSED_PAYMENT"), (401, "UNAUTHORIZED_KEY")],
)
async def test_a_definitive_answer_is_never_retried(
    gateway: TossGateway, toss: FakeToss, sleeps: Sleeps, status: int, code: str
) -> None:
    toss.error(code, status)
    with pytest.raises(GatewayError):
        await _confirm(gateway)
    assert len(toss.requests) == 1
    assert sleeps.delays == []


async def test_an_unlisted_4xx_is_unknown_but_not_retried(
    gateway: TossGateway, toss: FakeToss
) -> None:
    toss.error("A_CODE_TOSS_ADDED_LATER", 400)
    with pytest.raises(GatewayUnknown):
        await _confirm(gateway)
    assert len(toss.requests) == 1


async def test_a_provider_error_is_retried_with_the_same_key(
    gateway: TossGateway, toss: FakeToss
) -> None:
    # Toss's retry guidance: PROVIDER_ERROR is a passing failure of the card company or bank.
    toss.error("PROVIDER_ERROR", 400)
    toss.answer(200, card_payment())
    await _confirm(gateway)
    assert [r.headers["Idempotency-Key"] for r in toss.requests] == ["confirm:pay_1"] * 2


async def test_a_consecutive_cancel_refusal_waits_a_second_before_the_same_key_again(
    gateway: TossGateway, toss: FakeToss, sleeps: Sleeps
) -> None:
    # Toss processes one cancel of a payment per second and refuses the others with
    # 403 FORBIDDEN_CONSECUTIVE_REQUEST (docs/toss.md "Pacing").
    toss.error("FORBIDDEN_CONSECUTIVE_REQUEST", 403)
    toss.answer(200, card_payment(status="CANCELED", balanceAmount=0))
    await gateway.cancel(payment_key="pay_1", reason="r", amount=None, idempotency_key="c-1")
    assert [r.headers["Idempotency-Key"] for r in toss.requests] == ["c-1"] * 2
    assert sleeps.delays and sleeps.delays[0] >= 1.0


async def test_a_key_toss_is_still_processing_is_asked_again_after_a_pause_not_at_once(
    gateway: TossGateway, toss: FakeToss, sleeps: Sleeps
) -> None:
    """The jittered backoff could ask again within milliseconds and get the same 409."""
    toss.error("IDEMPOTENT_REQUEST_PROCESSING", 409)
    toss.answer(200, card_payment())
    payment = await gateway.confirm(
        payment_key="pk", order_id="order-123456", amount=15000, idempotency_key="confirm:pay_1"
    )
    assert payment.status == "DONE"
    assert sleeps.delays and sleeps.delays[0] >= 1.0


@pytest.mark.parametrize(
    "first",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow to connect"),
        httpx.PoolTimeout("pool full"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
    ],
)
async def test_transport_failures_are_retried_and_can_still_succeed(
    gateway: TossGateway, toss: FakeToss, first: Exception
) -> None:
    toss.fail(first)
    toss.answer(200, card_payment())
    payment = await gateway.lookup_by_order_id("order-123456")
    assert payment.order_id == "order-123456"
    assert len(toss.requests) == 2


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "TOO_MANY_REQUESTS"), (403, "FORBIDDEN_CONSECUTIVE_REQUEST"), (503, "COMMON_ERROR")],
)
async def test_throttling_and_server_errors_are_retried(
    gateway: TossGateway, toss: FakeToss, status: int, code: str
) -> None:
    toss.error(code, status)
    toss.answer(200, card_payment(status="CANCELED", balanceAmount=0))
    payment = await gateway.cancel(payment_key="pk", reason="r", amount=None, idempotency_key="k")
    assert payment.status == "CANCELED"
    assert [r.headers["Idempotency-Key"] for r in toss.requests] == ["k", "k"]


async def test_a_refusal_after_a_retry_is_still_a_refusal(
    gateway: TossGateway, toss: FakeToss
) -> None:
    toss.error("IDEMPOTENT_REQUEST_PROCESSING", 409)
    toss.error("REJECT_CARD_PAYMENT", 403)
    with pytest.raises(GatewayDeclined):
        await _confirm(gateway)


async def test_no_retry_starts_once_the_time_budget_is_spent(
    make_gateway: Callable[..., TossGateway], toss: FakeToss, clock: FakeClock, sleeps: Sleeps
) -> None:
    def slow_timeout(request: httpx.Request) -> httpx.Response:
        clock.advance(30.0)  # the read timeout ran out
        raise httpx.ReadTimeout("slow", request=request)

    gateway = make_gateway(
        retry_policy=RetryPolicy(max_attempts=5, max_elapsed=45.0, sleep=sleeps, random=lambda: 1)
    )
    toss.respond(slow_timeout, times=3)
    with pytest.raises(GatewayUnknown) as caught:
        await _confirm(gateway)
    assert caught.value.timed_out is True
    assert len(toss.requests) == 2  # the second attempt ended past the 45 s budget


async def test_a_retry_only_gets_the_time_left_in_the_budget(
    make_gateway: Callable[..., TossGateway], toss: FakeToss, clock: FakeClock, sleeps: Sleeps
) -> None:
    def slow_timeout(request: httpx.Request) -> httpx.Response:
        clock.advance(30.0)
        raise httpx.ReadTimeout("slow", request=request)

    gateway = make_gateway(
        retry_policy=RetryPolicy(max_elapsed=40.0, sleep=sleeps, random=lambda: 0),
        timeouts=TossTimeouts(read=30.0),
    )
    toss.respond(slow_timeout, times=2)
    with pytest.raises(GatewayUnknown):
        await _confirm(gateway)
    first, second = (r.extensions["timeout"]["read"] for r in toss.requests)
    assert first == 30.0
    assert second == pytest.approx(10.0)


def test_a_post_without_a_key_would_not_be_resent_after_a_timeout() -> None:
    request = TossRequest(Operation.CONFIRM, "POST", "/p", "/p", body={})
    assert request.replayable is False
    assert TossRequest(Operation.LOOKUP, "GET", "/p", "/p").replayable is True


async def test_a_call_that_timed_out_then_heard_still_processing_ends_as_a_timeout(
    gateway: TossGateway, toss: FakeToss
) -> None:
    """Toss may be applying the first attempt: the caller must hear PG_TIMEOUT, not 'failed'."""
    toss.fail(httpx.ReadTimeout("slow"))
    toss.error("IDEMPOTENT_REQUEST_PROCESSING", 409, times=2)
    with pytest.raises(GatewayUnknown) as caught:
        await _confirm(gateway)
    assert caught.value.timed_out is True
    assert caught.value.code == "IDEMPOTENT_REQUEST_PROCESSING"
    assert len(toss.requests) == 3


@pytest.fixture
def sunaps_gateway(make_gateway: Callable[..., TossGateway], sleeps: Sleeps) -> TossGateway:
    """The gateway with the policy the service runs with (bootstrap.py)."""
    return make_gateway(
        retry_policy=dataclasses.replace(SUNAP_RETRIES, sleep=sleeps, random=lambda: 0.5)
    )


@pytest.mark.parametrize(
    "first",
    [
        lambda toss: toss.error("FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING", 500),
        lambda toss: toss.error("PROVIDER_ERROR", 400),
        lambda toss: toss.answer_text(502, "<html>bad gateway</html>"),
        lambda toss: toss.fail(httpx.ReadError("reset")),
        lambda toss: toss.fail(httpx.ReadTimeout("slow")),
    ],
    ids=["5xx", "provider-error", "5xx-not-json", "dropped", "timeout"],
)
async def test_in_the_service_a_write_toss_may_have_applied_ends_the_call_as_unknown(
    sunaps_gateway: TossGateway, toss: FakeToss, first: Callable[[FakeToss], None]
) -> None:
    first(toss)
    toss.answer(200, card_payment())  # what a retry inside the call would have got

    with pytest.raises(GatewayUnknown):
        await _confirm(sunaps_gateway)

    assert len(toss.requests) == 1  # the caller hears of it; the reconciler sends it again


@pytest.mark.parametrize(
    "first",
    [
        lambda toss: toss.error("IDEMPOTENT_REQUEST_PROCESSING", 409),
        lambda toss: toss.error("FORBIDDEN_CONSECUTIVE_REQUEST", 403),
        lambda toss: toss.error("TOO_MANY_REQUESTS", 429),
        lambda toss: toss.fail(httpx.ConnectError("refused")),
    ],
    ids=["still-processing", "too-soon", "throttled", "never-connected"],
)
async def test_in_the_service_a_write_toss_did_not_do_is_sent_again_under_its_key(
    sunaps_gateway: TossGateway, toss: FakeToss, first: Callable[[FakeToss], None]
) -> None:
    first(toss)
    toss.answer(200, card_payment())

    payment = await sunaps_gateway.confirm(
        payment_key="pk", order_id="order-123456", amount=15000, idempotency_key="confirm:pay_1"
    )

    assert payment.status == "DONE"
    assert [r.headers["Idempotency-Key"] for r in toss.requests] == ["confirm:pay_1"] * 2


async def test_in_the_service_a_look_up_is_asked_again_after_a_5xx(
    sunaps_gateway: TossGateway, toss: FakeToss
) -> None:
    toss.error("FAILED_INTERNAL_SYSTEM_PROCESSING", 500)
    toss.answer(200, card_payment())

    found = await sunaps_gateway.lookup_by_order_id("order-123456")

    assert found.status == "DONE" and len(toss.requests) == 2
