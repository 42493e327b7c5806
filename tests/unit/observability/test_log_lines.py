"""Log lines say what they are about: the facts bound to the work at hand, as JSON or text."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from sunap.application import log_context
from sunap.entrypoints.log_format import ContextFilter, JsonLineFormatter, TextFormatter

Captured = tuple[logging.Logger, io.StringIO, "logging.StreamHandler[io.StringIO]"]


@pytest.fixture()
def captured() -> Iterator[Captured]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("sunap.test.lines")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield logger, stream, handler
    logger.removeHandler(handler)
    handler.close()


def test_a_json_line_carries_time_level_logger_message_and_the_bound_facts(
    captured: Captured,
) -> None:
    logger, stream, handler = captured
    handler.setFormatter(JsonLineFormatter())
    with log_context.scope(request_id="req-1", tenant="ten_a"):
        log_context.bind(payment_id="pay_1", toss_trace_id="trace-9")
        logger.info("confirm of %s", "pay_1")
    logger.info("after the request")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "confirm of pay_1"
    assert first["level"] == "INFO" and first["logger"] == "sunap.test.lines"
    assert first["time"].endswith("+00:00")
    assert (first["request_id"], first["tenant"], first["payment_id"], first["toss_trace_id"]) == (
        "req-1",
        "ten_a",
        "pay_1",
        "trace-9",
    )
    assert not {"request_id", "tenant", "payment_id", "toss_trace_id"} & second.keys()


def test_a_text_line_ends_with_the_bound_facts(captured: Captured) -> None:
    logger, stream, handler = captured
    handler.setFormatter(TextFormatter())
    with log_context.scope(request_id="req-2"):
        log_context.bind(payment_id="pay_2")
        logger.info("hello")
    logger.info("bare")
    with_facts, bare = stream.getvalue().splitlines()
    assert with_facts.endswith("hello [request_id=req-2 payment_id=pay_2]")
    assert bare.endswith("bare")


def test_concurrent_requests_never_see_each_others_facts() -> None:
    seen: dict[str, str] = {}

    async def request(name: str) -> None:
        with log_context.scope(request_id=name):
            await asyncio.sleep(0)
            log_context.bind(payment_id=f"pay_{name}")
            await asyncio.sleep(0)
            seen[name] = log_context.current()["payment_id"]

    async def both() -> None:
        await asyncio.gather(request("a"), request("b"))

    asyncio.run(both())
    assert seen == {"a": "pay_a", "b": "pay_b"}


def test_a_json_line_writes_korean_as_it_is(captured: Captured) -> None:
    logger, stream, handler = captured
    handler.setFormatter(JsonLineFormatter())
    logger.info("주문 %s 취소", "생수 외 1건")
    line = stream.getvalue().strip()
    assert "주문 생수 외 1건 취소" in line and "\\u" not in line
    assert json.loads(line)["message"] == "주문 생수 외 1건 취소"
