"""Basic auth exactly as Toss answers it."""

import base64

import httpx
import pytest

from tests.sandbox.flows import open_window

DOC_WIDGET_SECRET_KEY = "test_gsk_docs_OaPz8L5KdmQXkzRz3y47BMw6"


def basic(credentials: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "UNAUTHORIZED_KEY"),
        (basic("live_sk_zXLkKEypNArWmo50nX3lmeaxYG5R:"), 401, "UNAUTHORIZED_KEY"),
        (basic("test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq:"), 401, "UNAUTHORIZED_KEY"),
        (basic("\ufefftest_sk_zXLkKEypNArWmo50nX3lmeaxYG5R:"), 401, "UNAUTHORIZED_KEY"),
        ({"Authorization": "Bearer test_sk_abc"}, 401, "UNAUTHORIZED_KEY"),
        (basic("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"), 403, "INCORRECT_BASIC_AUTH_FORMAT"),
    ],
    ids=["missing", "live key", "client key", "bom", "bearer", "no colon"],
)
async def test_anything_but_a_test_secret_key_is_refused(
    sandbox_url: str, headers: dict[str, str], status: int, code: str
) -> None:
    async with httpx.AsyncClient(base_url=sandbox_url) as client:
        response = await client.get("/v1/payments/orders/order-000001", headers=headers)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message"}


async def test_any_test_key_reaches_the_same_merchant(
    toss: httpx.AsyncClient, sandbox_url: str
) -> None:
    window = await open_window(toss)

    async with httpx.AsyncClient(base_url=sandbox_url, auth=(DOC_WIDGET_SECRET_KEY, "")) as other:
        seen = await other.get(f"/v1/payments/{window['paymentKey']}")

    assert seen.status_code == 200
    assert seen.json()["status"] == "IN_PROGRESS"


async def test_every_answer_carries_a_trace_id_and_is_json(sandbox_url: str) -> None:
    async with httpx.AsyncClient(base_url=sandbox_url) as client:
        response = await client.get("/v1/payments/nothing-here")

    assert len(response.headers["X-TossPayments-Trace-Id"]) == 32
    int(response.headers["X-TossPayments-Trace-Id"], 16)
    assert response.headers["content-type"].startswith("application/json")


async def test_messages_are_english_when_asked(toss: httpx.AsyncClient) -> None:
    korean = await toss.get("/v1/payments/unknown-key-1")
    english = await toss.get("/v1/payments/unknown-key-1", headers={"Accept-Language": "en-US"})

    assert korean.json()["message"] == "존재하지 않는 결제 정보 입니다."
    assert english.json() == {"code": "NOT_FOUND_PAYMENT", "message": "The payment does not exist."}
