"""The circuit breaker: open after N failures, fail fast without a request, probe, close."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from sunap.adapters.toss import BreakerState, CircuitBreaker, RetryPolicy, TossGateway
from sunap.application.ports.gateway import GatewayDeclined, GatewayUnknown
from tests.unit.toss.toss_fakes import FakeClock, FakeToss, card_payment


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cool_off=10.0, clock=clock)


@pytest.fixture
def guarded(make_gateway: Callable[..., TossGateway], breaker: CircuitBreaker) -> TossGateway:
    return make_gateway(retry_policy=RetryPolicy.never(), breaker=breaker)


async def _confirm(gateway: TossGateway) -> None:
    await gateway.confirm(payment_key="pk", order_id="order-1", amount=1000, idempotency_key="k")


async def _fail(gateway: TossGateway, times: int) -> None:
    for _ in range(times):
        with pytest.raises(GatewayUnknown):
            await _confirm(gateway)


async def test_the_breaker_opens_after_n_consecutive_transport_failures_and_5xx(
    guarded: TossGateway, toss: FakeToss, breaker: CircuitBreaker
) -> None:
    toss.fail(httpx.ConnectError("refused"), times=2)
    toss.error("COMMON_ERROR", 500)
    await _fail(guarded, 2)
    assert not breaker.is_open
    await _fail(guarded, 1)
    assert breaker.is_open
    assert breaker.state is BreakerState.OPEN


async def test_an_open_breaker_fails_fast_without_a_request(
    guarded: TossGateway, toss: FakeToss, breaker: CircuitBreaker
) -> None:
    toss.fail(httpx.ConnectError("refused"), times=3)
    await _fail(guarded, 3)
    with pytest.raises(GatewayUnknown) as caught:
        await _confirm(guarded)
    assert caught.value.code == "CIRCUIT_OPEN"
    assert caught.value.exchange is not None and caught.value.exchange.status_code is None
    assert caught.value.nothing_sent  # the reconciler does not count it as an attempt
    assert len(toss.requests) == 3


async def test_a_refusal_proves_toss_answers_and_resets_the_count(
    guarded: TossGateway, toss: FakeToss, breaker: CircuitBreaker
) -> None:
    toss.fail(httpx.ConnectError("refused"), times=2)
    toss.error("REJECT_CARD_PAYMENT", 403)
    toss.fail(httpx.ConnectError("refused"), times=2)
    await _fail(guarded, 2)
    with pytest.raises(GatewayDeclined):
        await _confirm(guarded)
    await _fail(guarded, 2)
    assert not breaker.is_open


async def test_after_the_cool_off_one_probe_goes_through_and_its_success_closes_it(
    guarded: TossGateway, toss: FakeToss, breaker: CircuitBreaker, clock: FakeClock
) -> None:
    toss.fail(httpx.ConnectError("refused"), times=3)
    await _fail(guarded, 3)
    clock.advance(10.0)
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.is_open  # a new confirm may be the probe
    toss.answer(200, card_payment())
    await _confirm(guarded)
    assert breaker.state.value == "closed"


async def test_a_failed_probe_opens_it_again_for_another_cool_off(
    guarded: TossGateway, toss: FakeToss, breaker: CircuitBreaker, clock: FakeClock
) -> None:
    toss.fail(httpx.ConnectError("refused"), times=4)
    await _fail(guarded, 3)
    clock.advance(10.0)
    await _fail(guarded, 1)
    assert breaker.state is BreakerState.OPEN
    clock.advance(9.0)
    with pytest.raises(GatewayUnknown) as caught:
        await _confirm(guarded)
    assert caught.value.code == "CIRCUIT_OPEN"
    assert len(toss.requests) == 4


def test_half_open_lets_one_money_moving_probe_but_any_number_of_look_ups(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    for _ in range(3):
        breaker.record_failure()
    assert not breaker.allow(read_only=True)  # open: look-ups wait too
    clock.advance(10.0)
    assert breaker.allow()  # the probe
    assert breaker.is_open  # while it is out, a new confirm should be refused
    assert not breaker.allow()
    assert breaker.allow(read_only=True)
    assert breaker.allow(read_only=True)


def test_a_cancelled_probe_gives_its_slot_back(breaker: CircuitBreaker, clock: FakeClock) -> None:
    for _ in range(3):
        breaker.record_failure()
    clock.advance(10.0)
    assert breaker.allow()
    breaker.abandon()
    assert breaker.allow()


async def test_a_look_up_after_the_cool_off_closes_the_breaker(
    guarded: TossGateway, toss: FakeToss, breaker: CircuitBreaker, clock: FakeClock
) -> None:
    toss.fail(httpx.ConnectError("refused"), times=3)
    await _fail(guarded, 3)
    clock.advance(10.0)
    toss.answer(200, card_payment())
    await guarded.lookup_by_order_id("order-123456")
    assert breaker.state is BreakerState.CLOSED


async def test_retries_stop_when_the_breaker_opens_mid_call(
    make_gateway: Callable[..., TossGateway], toss: FakeToss, breaker: CircuitBreaker
) -> None:
    gateway = make_gateway(
        retry_policy=RetryPolicy(max_attempts=5, sleep=_no_sleep), breaker=breaker
    )
    toss.fail(httpx.ConnectError("refused"), times=5)
    with pytest.raises(GatewayUnknown) as caught:
        await _confirm(gateway)
    assert caught.value.code == "CONNECTION_FAILED"  # the real failure, not CIRCUIT_OPEN
    assert not caught.value.nothing_sent
    assert len(toss.requests) == 3


async def test_a_gateway_has_a_breaker_by_default(toss: FakeToss) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(toss.handle)) as client:
        gateway = TossGateway(client, secret_key="test_sk_x", base_url="http://toss")
        assert gateway.breaker is not None
        assert not gateway.breaker.is_open


async def _no_sleep(seconds: float) -> None:
    return None


async def test_a_probe_cancelled_mid_flight_does_not_leave_the_breaker_stuck(
    guarded: TossGateway, toss: FakeToss, breaker: CircuitBreaker, clock: FakeClock
) -> None:
    toss.fail(httpx.ConnectError("refused"), times=3)
    await _fail(guarded, 3)
    clock.advance(10.0)
    entered = asyncio.Event()

    async def never_answers(request: httpx.Request) -> httpx.Response:
        entered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    toss.respond(never_answers)
    probe = asyncio.create_task(_confirm(guarded))
    await entered.wait()
    assert breaker.is_open  # the probe is out
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert not breaker.is_open  # the next confirm may probe again
