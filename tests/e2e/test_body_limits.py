"""Request bodies are refused while they are read, against a real `sunap serve`: over 64 KiB on
the API and over 256 KiB on webhooks is `413 PAYLOAD_TOO_LARGE`, and the rest of a huge body is
never buffered (the attacker's 100 MB webhook body once grew the process by 430 MB)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.service import RunningService

KIB = 1024
MIB = 1024 * KIB
# Generous against allocator noise, far below what buffering even the smallest attack would cost.
MAX_GROWTH = 40 * MIB


def rss(service: RunningService) -> int:
    """The process's resident memory, in bytes."""
    assert service.process is not None
    status = Path(f"/proc/{service.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) * KIB


def chunks(total: int, size: int = 64 * KIB) -> Iterator[bytes]:
    """A body of undeclared length: httpx sends it chunked, with no Content-Length."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


def too_large(response: httpx.Response) -> bool:
    body = response.json()
    return response.status_code == 413 and body["code"] == "PAYLOAD_TOO_LARGE" and body["message"]


def padded_payment(size: int) -> bytes:
    """A valid create body of exactly `size` bytes (JSON allows the trailing spaces)."""
    body = json.dumps({"orderName": "생수", "amount": 1000}).encode()
    return body + b" " * (size - len(body))


def test_an_api_body_over_64_kib_is_413_whether_declared_or_chunked(api: httpx.Client) -> None:
    declared = api.post(
        "/v1/payments",
        content=padded_payment(64 * KIB + 1),
        headers={"Content-Type": "application/json"},
    )
    assert too_large(declared), declared.text
    chunked = api.post(
        "/v1/payments",
        content=chunks(64 * KIB + 1),
        headers={"Content-Type": "application/json"},
    )
    assert too_large(chunked), chunked.text


def test_an_api_body_of_64_kib_is_taken(api: httpx.Client) -> None:
    response = api.post(
        "/v1/payments",
        content=padded_payment(64 * KIB),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


def test_a_webhook_takes_up_to_256_kib_and_refuses_more(service: RunningService) -> None:
    def delivery(size: int) -> bytes:
        body = json.dumps({"eventType": "SOMETHING_NEW", "eventId": f"evt-{size}"}).encode()
        return body + b" " * (size - len(body))

    with httpx.Client(base_url=service.base_url, timeout=60) as toss:
        taken = toss.post("/v1/webhooks/toss", content=delivery(256 * KIB))
        assert taken.status_code == 200, taken.text
        refused = toss.post("/v1/webhooks/toss", content=delivery(256 * KIB + 1))
        assert too_large(refused), refused.text
        chunked = toss.post("/v1/webhooks/toss", content=chunks(256 * KIB + 1))
        assert too_large(chunked), chunked.text


def test_a_100_mb_webhook_body_is_refused_without_growing_memory(service: RunningService) -> None:
    before = rss(service)
    with httpx.Client(base_url=service.base_url, timeout=120) as attacker:
        declared = attacker.post("/v1/webhooks/toss", content=b" " * (100 * MIB))
        assert too_large(declared), declared.text
        chunked = attacker.post("/v1/webhooks/toss", content=chunks(100 * MIB))
        assert too_large(chunked), chunked.text
        growth = rss(service) - before
        assert growth < MAX_GROWTH, f"the process grew by {growth / MIB:.0f} MiB"
        assert attacker.get("/healthz").status_code == 200
