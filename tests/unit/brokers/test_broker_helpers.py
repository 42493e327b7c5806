"""URL redaction and per-key ordering, shared by every broker adapter."""

from __future__ import annotations

import asyncio

import pytest

from sunap.adapters.brokers.consuming import keep_consuming
from sunap.adapters.brokers.key_order import by_key, send_in_key_order
from sunap.adapters.brokers.redaction import describe_failure, redact_url, scrub
from sunap.application.ports.messaging import OutboundMessage


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("amqp://sunap:pa%40ss@mq:5672/v", "amqp://sunap:***@mq:5672/v"),
        ("redis://:secret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("kafka://k1:9092,k2:9092", "kafka://k1:9092,k2:9092"),
    ],
)
def test_a_url_is_shown_with_its_password_masked(url, shown):
    assert redact_url(url) == shown


def test_a_password_is_scrubbed_from_error_text_encoded_or_not():
    url = "amqp://sunap:pa%40ss@mq:5672/"
    assert scrub("login pa@ss / pa%40ss refused", url) == "login *** / *** refused"


def test_a_failure_is_described_by_its_first_cause_without_the_password():
    url = "amqp://u:hunter2@mq/"
    failure = ExceptionGroup("batch", [ConnectionError("refused for hunter2")])
    assert describe_failure(failure, url) == "ConnectionError: refused for ***"


def message(key: str, n: int) -> OutboundMessage:
    return OutboundMessage("t", key, f"{key}-{n}", b"{}")


def test_messages_are_grouped_by_key_in_the_order_given():
    batch = [message("a", 1), message("b", 1), message("a", 2)]
    assert by_key(batch) == [[batch[0], batch[2]], [batch[1]]]


async def test_a_key_waits_for_its_previous_message_while_other_keys_go_ahead():
    sent: list[str] = []
    release_a1 = asyncio.Event()

    async def send(m: OutboundMessage) -> None:
        if m.event_id == "a-1":
            await release_a1.wait()
        sent.append(m.event_id)
        if m.event_id == "b-1":
            release_a1.set()

    await send_in_key_order([message("a", 1), message("a", 2), message("b", 1)], send)

    assert sent == ["b-1", "a-1", "a-2"]


async def test_the_first_failure_stops_the_batch():
    async def send(m: OutboundMessage) -> None:
        raise ConnectionError(m.event_id)

    with pytest.raises(ExceptionGroup):
        await send_in_key_order([message("a", 1)], send)


async def test_a_subscriber_reconnects_after_pauses_doubling_to_a_cap_reset_once_connected():
    outcomes = ["fail", "fail", "fail", "fail", "connect then fail", "fail", "close"]
    pauses: list[float] = []
    closed = False

    async def consume(connected) -> None:
        nonlocal closed
        outcome = outcomes.pop(0)
        if outcome == "close":
            closed = True
            return
        if outcome.startswith("connect"):
            connected()
        raise ConnectionError("broker away")

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    await keep_consuming(
        consume,
        broker="Test",
        is_closed=lambda: closed,
        reconnect_delay=1.0,
        max_reconnect_delay=4.0,
        sleep=sleep,
    )

    assert pauses == [1.0, 2.0, 4.0, 4.0, 1.0, 2.0]
