"""The API key is checked before the body is read as JSON (docs/api.md, Authentication): a body
that is not JSON sent without a key, or with a key lacking the route's scope, is answered 401 or
403 like any other request of that caller, never 400, which would tell it the route's body rules
before its key is good."""

from __future__ import annotations

import httpx
import pytest

from tests.support.service import RunningService

NOT_JSON = [b"{nope", b'{"orderName": "a", "orderName": "b", "amount": 1000}']


def post(service: RunningService, key: str | None, path: str, body: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.post(service.base_url + path, content=body, headers=headers, timeout=30)


@pytest.mark.parametrize("body", NOT_JSON, ids=["broken", "repeated-key"])
def test_a_key_without_the_scope_is_a_403_whatever_the_body(
    service: RunningService, body: bytes
) -> None:
    reader = service.create_key("shop-key-first", "payments:read")
    for path in ("/v1/payments", "/v1/payments/confirm", "/v1/payments/pay_x/cancel"):
        answer = post(service, reader, path, body)
        assert (answer.status_code, answer.json()["code"]) == (403, "FORBIDDEN"), path


@pytest.mark.parametrize("body", NOT_JSON, ids=["broken", "repeated-key"])
def test_no_key_is_a_401_whatever_the_body(service: RunningService, body: bytes) -> None:
    answer = post(service, None, "/v1/payments", body)
    assert (answer.status_code, answer.json()["code"]) == (401, "UNAUTHORIZED")


def test_a_key_with_the_scope_still_gets_the_parsers_reason(service: RunningService) -> None:
    writer = service.create_key("shop-key-first", "payments:write")
    answer = post(service, writer, "/v1/payments", NOT_JSON[1])
    assert answer.status_code == 400 and answer.json()["code"] == "INVALID_REQUEST"
    assert "appears twice" in answer.json()["message"]
