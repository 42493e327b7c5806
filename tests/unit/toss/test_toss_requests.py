"""What goes over the wire: auth, paths, bodies, keys and timeouts."""

from __future__ import annotations

import httpx

from sunap.adapters.toss import TossGateway, basic_auth_header, open_toss_gateway
from sunap.application.ports.gateway import RefundAccount
from tests.unit.toss.toss_fakes import BASE_URL, FakeToss, card_payment


def test_the_basic_auth_header_is_the_doc_example_exactly() -> None:
    assert (
        basic_auth_header("test_gsk_docs_OaPz8L5KdmQXkzRz3y47BMw6")
        == "Basic dGVzdF9nc2tfZG9jc19PYVB6OEw1S2RtUVhrelJ6M3k0N0JNdzY6"
    )


async def test_a_key_read_with_a_trailing_newline_or_bom_still_authenticates(
    toss: FakeToss,
) -> None:
    toss.answer(200, card_payment())
    async with httpx.AsyncClient(transport=httpx.MockTransport(toss.handle)) as client:
        gateway = TossGateway(
            client, secret_key="\ufefftest_gsk_docs_OaPz8L5KdmQXkzRz3y47BMw6\n", base_url=BASE_URL
        )
        await gateway.lookup_by_order_id("order-123456")
    assert (
        toss.requests[0].headers["Authorization"]
        == "Basic dGVzdF9nc2tfZG9jc19PYVB6OEw1S2RtUVhrelJ6M3k0N0JNdzY6"
    )


async def test_confirm_posts_the_three_fields_with_our_idempotency_key(
    gateway: TossGateway, toss: FakeToss
) -> None:
    toss.answer(200, card_payment())
    await gateway.confirm(
        payment_key="pk_1", order_id="order-123456", amount=15000, idempotency_key="confirm:pay_1"
    )
    request = toss.requests[0]
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}/v1/payments/confirm"
    assert request.headers["Idempotency-Key"] == "confirm:pay_1"
    assert request.headers["Content-Type"] == "application/json"
    assert toss.body() == {"paymentKey": "pk_1", "orderId": "order-123456", "amount": 15000}


async def test_look_ups_use_toss_paths_and_send_no_idempotency_key(
    gateway: TossGateway, toss: FakeToss
) -> None:
    toss.answer(200, card_payment(), times=2)
    await gateway.lookup_by_order_id("order-123456")
    await gateway.lookup_by_payment_key("pk_1")
    assert [(r.method, r.url.path) for r in toss.requests] == [
        ("GET", "/v1/payments/orders/order-123456"),
        ("GET", "/v1/payments/pk_1"),
    ]
    assert all("Idempotency-Key" not in r.headers for r in toss.requests)


async def test_a_partial_cancel_sends_the_amount_and_the_refund_account(
    gateway: TossGateway, toss: FakeToss
) -> None:
    toss.answer(200, card_payment(status="PARTIAL_CANCELED", balanceAmount=10000))
    await gateway.cancel(
        payment_key="pk_1",
        reason="고객 변심",
        amount=5000,
        idempotency_key="cancel:c_1",
        refund_account=RefundAccount(bank="88", account_number="1234567890", holder_name="김토스"),
        tax_free_amount=0,
    )
    assert toss.requests[0].url.path == "/v1/payments/pk_1/cancel"
    assert toss.requests[0].headers["Idempotency-Key"] == "cancel:c_1"
    assert toss.body() == {
        "cancelReason": "고객 변심",
        "cancelAmount": 5000,
        "taxFreeAmount": 0,
        "refundReceiveAccount": {
            "bank": "88",
            "accountNumber": "1234567890",
            "holderName": "김토스",
        },
    }


async def test_a_full_cancel_leaves_the_amount_out(gateway: TossGateway, toss: FakeToss) -> None:
    toss.answer(200, card_payment(status="CANCELED", balanceAmount=0))
    await gateway.cancel(payment_key="pk_1", reason="전액 취소", amount=None, idempotency_key="k")
    assert toss.body() == {"cancelReason": "전액 취소"}


async def test_every_call_has_explicit_timeouts_and_a_billing_charge_waits_sixty_seconds(
    gateway: TossGateway, toss: FakeToss
) -> None:
    toss.answer(200, card_payment(type="BILLING"), times=2)
    await gateway.confirm(payment_key="pk", order_id="order-1", amount=1000, idempotency_key="k1")
    await gateway.charge_billing_key(
        billing_key="Z_t5vOvQxrj4499PeiJcjen28-V2RyqgYTwN44Rdzk0=",
        customer_key="cust-1",
        order_id="order-2",
        order_name="정기결제",
        amount=9900,
        idempotency_key="k2",
    )
    confirm_timeout, charge_timeout = (r.extensions["timeout"] for r in toss.requests)
    assert confirm_timeout == {"connect": 3.0, "read": 30.0, "write": 10.0, "pool": 3.0}
    assert charge_timeout["read"] == 60.0


async def test_billing_calls_use_toss_paths(gateway: TossGateway, toss: FakeToss) -> None:
    toss.answer(
        200,
        {
            "mId": "tosspayments",
            "customerKey": "cust-1",
            "authenticatedAt": "2020-09-25T14:38:41+09:00",
            "method": "카드",
            "billingKey": "Z_t5vOvQxrj4499PeiJcjen28-V2RyqgYTwN44Rdzk0=",
            "card": {"issuerCode": "71", "acquirerCode": "71", "number": "43301234****123*"},
        },
    )
    toss.answer(200, card_payment(type="BILLING"))
    toss.answer_text(200, "")
    await gateway.issue_billing_key(auth_key="auth_1", customer_key="cust-1", idempotency_key="i")
    await gateway.charge_billing_key(
        billing_key="bk+/=",
        customer_key="cust-1",
        order_id="order-2",
        order_name="정기결제",
        amount=9900,
        idempotency_key="c",
    )
    await gateway.delete_billing_key("bk+/=")
    assert [(r.method, r.url.raw_path.decode()) for r in toss.requests] == [
        ("POST", "/v1/billing/authorizations/issue"),
        ("POST", "/v1/billing/bk%2B%2F%3D"),
        ("DELETE", "/v1/billing/bk%2B%2F%3D"),
    ]
    assert toss.body(0) == {"authKey": "auth_1", "customerKey": "cust-1"}
    assert toss.body(1) == {
        "customerKey": "cust-1",
        "amount": 9900,
        "orderId": "order-2",
        "orderName": "정기결제",
    }


async def test_the_context_manager_gives_a_working_gateway_and_closes_its_client(
    toss: FakeToss,
) -> None:
    toss.answer(200, card_payment())
    async with open_toss_gateway(
        "test_sk_x", BASE_URL, transport=httpx.MockTransport(toss.handle)
    ) as gateway:
        payment = await gateway.lookup_by_order_id("order-123456")
    assert payment.order_id == "order-123456"


async def test_the_secret_key_is_not_in_the_gateways_repr() -> None:
    async with httpx.AsyncClient() as client:
        gateway = TossGateway(
            client, secret_key="test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R", base_url=BASE_URL
        )
    assert "zXLkKEyp" not in repr(gateway)
    assert "dGVzdF9za1" not in repr(gateway)
