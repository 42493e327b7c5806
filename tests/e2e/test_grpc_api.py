"""sunap.v1.PaymentService through the generated client against a real `sunap serve`, once per
database: the same keys, scopes, tenants, confirm and cancel rules and idempotency as over HTTP,
errors as gRPC statuses with `sunap-error-code` and a google.rpc.ErrorInfo, health, reflection,
and WatchPayment."""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from sunap.application.authentication import REMEMBER_SECONDS
from sunap.v1 import payments_pb2 as pb
from tests.e2e.flows import toss_calls, wait_for
from tests.e2e.grpc_client import GrpcClient, grpc_client, new_order_id, refused
from tests.support.databases import selected_backends
from tests.support.service import RunningService, running_service, running_service_on

C = grpc.StatusCode
DOC_SECRET_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"
FULL_SCOPES = ("payments:read", "payments:write", "payments:cancel")
CONFIRM_PATH = "/v1/payments/confirm"


@pytest.fixture(scope="module", params=selected_backends())
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp(f"sunap-grpc-{request.param}"))
    with running_service_on(request.param, workdir) as svc:
        yield svc


@pytest.fixture(scope="module")
def channel(service: RunningService) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(service.grpc_target) as channel:
        yield channel


@pytest.fixture()
def rpc(channel: grpc.Channel, merchant_key: str) -> GrpcClient:
    return GrpcClient(channel, merchant_key)


@pytest.fixture()
def sandbox(service: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.sandbox_url, timeout=30) as client:
        client.delete("/sandbox/faults")
        yield client
        client.delete("/sandbox/faults")


def pay_in_window(sandbox: httpx.Client, payment: pb.Payment, **fields: Any) -> str:
    body = {"orderId": payment.order_id, "amount": payment.amount, **fields}
    response = sandbox.post("/sandbox/payments", json=body)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["paymentKey"])


def paid(rpc: GrpcClient, sandbox: httpx.Client, amount: int = 15000) -> pb.Payment:
    payment = rpc.create(amount)
    return rpc.confirm(payment, pay_in_window(sandbox, payment))


def confirms_of(sandbox: httpx.Client, payment: pb.Payment) -> list[dict[str, Any]]:
    return [
        c
        for c in toss_calls(sandbox, CONFIRM_PATH)
        if c["idempotencyKey"] and payment.id in c["idempotencyKey"]
    ]


def fault(sandbox: httpx.Client, **spec: Any) -> None:
    response = sandbox.post("/sandbox/faults", json=spec)
    assert response.status_code in (200, 201), response.text


# -- the server ------------------------------------------------------------------------------


def test_health_says_serving_for_the_server_and_the_payment_service(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service_name in ("", "sunap.v1.PaymentService"):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service_name), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as unknown:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
    assert unknown.value.code() == C.NOT_FOUND


def test_reflection_lists_the_services_and_describes_the_payment_service(
    channel: grpc.Channel,
) -> None:
    database = ProtoReflectionDescriptorDatabase(channel)
    assert {
        "sunap.v1.PaymentService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= set(database.get_services())
    described = database.FindFileContainingSymbol("sunap.v1.PaymentService")
    assert isinstance(described, descriptor_pb2.FileDescriptorProto)
    assert described.name == "sunap/v1/payments.proto" and described.package == "sunap.v1"
    methods = {m.name: m for m in described.service[0].method}
    assert set(methods) == {
        "CreatePayment",
        "ConfirmPayment",
        "GetPayment",
        "ListPayments",
        "CancelPayment",
        "RefundPayment",
        "WatchPayment",
    }
    assert methods["WatchPayment"].server_streaming
    confirm = next(m for m in described.message_type if m.name == "ConfirmPaymentRequest")
    assert {(f.name, f.number) for f in confirm.field} == {
        ("order_id", 1),
        ("amount", 2),
        ("payment_key", 4),
    }


# -- keys and scopes ---------------------------------------------------------------------------


def every_call(rpc: GrpcClient, **metadata: str) -> list[Any]:
    """One call of each RPC, with the given metadata."""
    stub, md = rpc.stub, rpc.metadata(**metadata)
    return [
        lambda: stub.CreatePayment(
            pb.CreatePaymentRequest(order_name="x", amount=1000), metadata=md
        ),
        lambda: stub.ConfirmPayment(
            pb.ConfirmPaymentRequest(order_id=new_order_id(), amount=1000, payment_key="pk"),
            metadata=md,
        ),
        lambda: stub.GetPayment(pb.GetPaymentRequest(id="pay_x"), metadata=md),
        lambda: stub.ListPayments(pb.ListPaymentsRequest(), metadata=md),
        lambda: stub.CancelPayment(
            pb.CancelPaymentRequest(id="pay_x", cancel_reason="r"), metadata=md
        ),
        lambda: stub.RefundPayment(
            pb.RefundPaymentRequest(payment_id="pay_x", reason="r"), metadata=md
        ),
        lambda: list(stub.WatchPayment(pb.GetPaymentRequest(id="pay_x"), metadata=md, timeout=10)),
    ]


def test_every_call_without_a_key_or_with_an_unknown_key_is_unauthenticated(
    channel: grpc.Channel,
) -> None:
    for key in (None, "sk_sunap_not_a_key"):
        for call in every_call(GrpcClient(channel, key)):
            answer = refused(call)
            assert (answer.status, answer.code) == (C.UNAUTHENTICATED, "UNAUTHORIZED")


def test_a_key_without_the_scope_is_permission_denied(
    channel: grpc.Channel, service: RunningService
) -> None:
    reader = GrpcClient(channel, service.create_key("shop-grpc-reader", "payments:read"))
    create, confirm, get, listing, cancel, refund, watch = every_call(reader)
    for call in (create, confirm, cancel, refund):
        answer = refused(call)
        assert (answer.status, answer.code) == (C.PERMISSION_DENIED, "FORBIDDEN")
    assert listing().items == []
    assert refused(get).code == refused(watch).code == "PAYMENT_NOT_FOUND"


# -- creating ----------------------------------------------------------------------------------


def test_a_new_payment_is_ready_with_a_checkout_link_and_reads_as_over_http(
    rpc: GrpcClient, api: httpx.Client
) -> None:
    payment = rpc.create(15000, customer_key="cust-0001", metadata={"cart": "42"})
    assert payment.status == pb.READY and payment.id.startswith("pay_")
    assert payment.amount == payment.balance_amount == 15000 and payment.currency == "KRW"
    assert dict(payment.metadata) == {"cart": "42"}
    # The hosted checkout page, by a link signed afresh each time the payment is read.
    link = f"/checkout/{payment.id}?token="
    assert link in payment.checkout.url
    assert payment.checkout.client_key and payment.created_at.seconds > 0

    over_http = api.get(f"/v1/payments/{payment.id}").json()
    assert over_http["orderId"] == payment.order_id and over_http["status"] == "READY"
    assert link in over_http["checkout"]["url"]
    again = rpc.get(payment.id)
    assert link in again.checkout.url
    again.checkout.url = payment.checkout.url
    assert again == payment


def test_an_order_id_is_minted_when_none_is_given_and_a_reused_one_already_exists(
    rpc: GrpcClient,
) -> None:
    minted = rpc.stub.CreatePayment(
        pb.CreatePaymentRequest(order_name="책", amount=1000), metadata=rpc.metadata()
    )
    assert 6 <= len(minted.order_id) <= 64
    again = refused(
        rpc.stub.CreatePayment,
        pb.CreatePaymentRequest(order_name="x", amount=10, order_id=minted.order_id),
        metadata=rpc.metadata(),
    )
    assert (again.status, again.code) == (C.ALREADY_EXISTS, "DUPLICATE_ORDER_ID")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -1}, "amount"),
        ({"amount": 2**62}, "amount"),
        ({"order_name": ""}, "order_name"),
        ({"order_id": "a b"}, "order_id"),
        ({"method": "CASH"}, "method"),
        ({"currency": "USD"}, "currency"),
        ({"metadata": {f"k{i}": "v" for i in range(6)}}, "metadata"),
    ],
)
def test_bad_input_is_an_invalid_argument_that_names_the_field(
    rpc: GrpcClient, fields: dict[str, Any], named: str
) -> None:
    request = pb.CreatePaymentRequest(order_name="x", amount=1000, order_id=new_order_id())
    for name, value in fields.items():
        if name == "metadata":
            request.metadata.update(value)
        else:
            setattr(request, name, value)
    answer = refused(rpc.stub.CreatePayment, request, metadata=rpc.metadata())
    assert (answer.status, answer.code) == (C.INVALID_ARGUMENT, "INVALID_REQUEST")
    assert named in answer.message


def test_a_control_character_in_any_string_is_invalid_as_over_http(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = paid(rpc, sandbox, 5000)
    md = rpc.metadata()
    tries: list[tuple[Any, Any, str]] = [
        (
            rpc.stub.CreatePayment,
            pb.CreatePaymentRequest(order_name="a\x00b", amount=10),
            "order_name",
        ),
        (
            rpc.stub.CreatePayment,
            pb.CreatePaymentRequest(order_name="x", amount=10, metadata={"k": "a\x1b"}),
            "metadata",
        ),
        # A key is never free text: HTTP refuses a tab or newline in a JSON key.
        (
            rpc.stub.CreatePayment,
            pb.CreatePaymentRequest(order_name="x", amount=10, metadata={"k\t": "v"}),
            "metadata",
        ),
        (
            rpc.stub.CreatePayment,
            pb.CreatePaymentRequest(order_name="x", amount=10, metadata={"k\n": "v"}),
            "metadata",
        ),
        (
            rpc.stub.CancelPayment,
            pb.CancelPaymentRequest(id=payment.id, cancel_reason="r\x00", cancel_amount=100),
            "cancel_reason",
        ),
        (rpc.stub.ListPayments, pb.ListPaymentsRequest(order_id="a\x00"), "order_id"),
        (rpc.stub.GetPayment, pb.GetPaymentRequest(id=payment.id + "\n"), "id"),
    ]
    for call, request, named in tries:
        answer = refused(call, request, metadata=md)
        assert (answer.status, answer.code) == (C.INVALID_ARGUMENT, "INVALID_REQUEST"), named
        assert named in answer.message
    # Free text keeps its tab and newline, as in a JSON body.
    two_lines = rpc.stub.CreatePayment(
        pb.CreatePaymentRequest(order_name="책\t2권\n포장", amount=10), metadata=md
    )
    assert two_lines.order_name == "책\t2권\n포장"
    assert rpc.get(payment.id).balance_amount == 5000  # the refused cancel sent nothing


@pytest.mark.parametrize(
    "raw", [b"\xff\xff\xff\xff", b"\x0a\x02\xc3\x28\x10\xe8\x07"], ids=["garbage", "not-utf8"]
)
def test_bytes_that_are_not_the_message_are_invalid_with_the_apis_code(
    channel: grpc.Channel, rpc: GrpcClient, raw: bytes
) -> None:
    send_raw = channel.unary_unary(
        f"/{pb.DESCRIPTOR.services_by_name['PaymentService'].full_name}/CreatePayment",
        request_serializer=lambda b: b,
        response_deserializer=pb.Payment.FromString,
    )
    answer = refused(send_raw, raw, metadata=rpc.metadata())
    assert (answer.status, answer.code) == (C.INVALID_ARGUMENT, "INVALID_REQUEST")
    assert "CreatePaymentRequest" in answer.message and "Error" not in answer.message


def test_a_message_over_the_body_limit_is_payload_too_large(rpc: GrpcClient) -> None:
    request = pb.CreatePaymentRequest(order_name="x", amount=1000, metadata={"k": "v" * 70_000})
    answer = refused(rpc.stub.CreatePayment, request, metadata=rpc.metadata())
    assert (answer.status, answer.code) == (C.RESOURCE_EXHAUSTED, "PAYLOAD_TOO_LARGE")


# -- confirm rules -----------------------------------------------------------------------------


def test_rule_1_a_confirm_for_an_unknown_order_is_not_found_without_a_pg_call(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    before = len(toss_calls(sandbox, CONFIRM_PATH))
    stranger = pb.Payment(order_id=new_order_id(), amount=1000)
    answer = refused(rpc.confirm, stranger, "pk")
    assert (answer.status, answer.code) == (C.NOT_FOUND, "PAYMENT_NOT_FOUND")
    assert len(toss_calls(sandbox, CONFIRM_PATH)) == before


def test_rule_8_a_key_toss_does_not_know_is_invalid_with_its_pg_code_and_the_order_stays_ready(
    service: RunningService, rpc: GrpcClient, api: httpx.Client
) -> None:
    payment = rpc.create(1000)
    request = pb.ConfirmPaymentRequest(
        order_id=payment.order_id, amount=1000, payment_key="madeupkey998"
    )
    metadata = [*rpc.metadata(), ("x-request-id", f"grpc-{payment.id}")]
    answer = refused(rpc.stub.ConfirmPayment, request, metadata=metadata)
    assert (answer.status, answer.code) == (C.INVALID_ARGUMENT, "INVALID_PAYMENT_KEY")
    assert answer.info.metadata["pgCode"] == "NOT_FOUND_PAYMENT"
    assert api.get(f"/v1/payments/{payment.id}").json()["status"] == "READY"

    # Its log lines say which call and tenant they belong to, as an HTTP call's do.
    def lines_of_the_call() -> list[str]:
        mark = f"request_id=grpc-{payment.id}"
        return [line for line in service.logs().splitlines() if mark in line]

    lines = wait_for(lambda: [line for line in lines_of_the_call() if "toss confirm" in line])
    assert lines, service.logs()[-3000:]
    assert all("tenant=" in line for line in lines_of_the_call())


def test_rule_2_a_tampered_amount_is_refused_before_the_pg_and_audited(
    rpc: GrpcClient, sandbox: httpx.Client, api: httpx.Client
) -> None:
    payment = rpc.create(15000)
    key = pay_in_window(sandbox, payment)
    answer = refused(rpc.confirm, payment, key, amount=100)
    assert (answer.status, answer.code) == (C.INVALID_ARGUMENT, "AMOUNT_MISMATCH")
    assert confirms_of(sandbox, payment) == []
    assert rpc.get(payment.id).status == pb.READY
    trail = api.get(f"/v1/payments/{payment.id}/transactions").json()["items"]
    assert any(item["type"] == "confirm.amount_mismatch" for item in trail)


def test_rule_3_a_payment_is_confirmed_once_and_a_repeat_makes_no_pg_call(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = rpc.create(15000)
    key = pay_in_window(sandbox, payment)
    done = rpc.confirm(payment, key)
    assert done.status == pb.DONE and done.method == "CARD" and done.payment_key == key
    assert "****" in done.card.number and done.approved_at.seconds > 0

    assert rpc.confirm(payment, key).status == pb.DONE
    other = refused(rpc.confirm, payment, "another-payment-key")
    assert (other.status, other.code) == (C.ABORTED, "ALREADY_PROCESSED_PAYMENT")
    assert len(confirms_of(sandbox, payment)) == 1


def test_rule_4_concurrent_confirms_make_exactly_one_pg_call(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = rpc.create(20000)
    key = pay_in_window(sandbox, payment)

    def attempt(_: int) -> str:
        try:
            return pb.PaymentStatus.Name(rpc.confirm(payment, key).status)
        except grpc.RpcError as error:
            return f"{error.code().name} {dict(error.trailing_metadata())['sunap-error-code']}"

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = set(pool.map(attempt, range(10)))
    assert "DONE" in outcomes and outcomes <= {"DONE", "ABORTED CONFIRM_IN_PROGRESS"}, outcomes
    assert len(confirms_of(sandbox, payment)) == 1


def test_rule_5_a_refusal_aborts_the_payment_and_its_error_info_names_the_pg_code(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = rpc.create(15000)
    key = pay_in_window(sandbox, payment, failWith="REJECT_CARD_PAYMENT")
    answer = refused(rpc.confirm, payment, key)
    assert (answer.status, answer.code) == (C.FAILED_PRECONDITION, "PG_REJECTED")
    assert answer.info.metadata["pgCode"] == "REJECT_CARD_PAYMENT"
    assert answer.info.metadata["pgMessage"]
    aborted = pb.Payment()
    assert answer.details.details[1].Unpack(aborted)
    assert aborted.id == payment.id and aborted.status == pb.ABORTED
    assert aborted.failure.code == "REJECT_CARD_PAYMENT"
    assert rpc.get(payment.id).status == pb.ABORTED

    again = refused(rpc.cancel, payment.id)
    assert (again.status, again.code) == (C.ABORTED, "NOT_CANCELABLE_STATUS")


def test_rule_6_an_unknown_outcome_is_unavailable_never_a_failure_and_then_settles(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = rpc.create(12000)
    key = pay_in_window(sandbox, payment)
    fault(sandbox, path=CONFIRM_PATH, times=3, status=503)  # every attempt of the first call

    answer = refused(rpc.confirm, payment, key)
    assert (answer.status, answer.code) == (C.UNAVAILABLE, "PG_UNAVAILABLE")
    assert rpc.get(payment.id).status in (pb.IN_PROGRESS, pb.DONE)  # the reconciler may be quick

    try:  # the shop's retry finds the answer, or is told the first attempt is still settling
        assert rpc.confirm(payment, key).status == pb.DONE
    except grpc.RpcError as error:
        assert dict(error.trailing_metadata())["sunap-error-code"] == "CONFIRM_IN_PROGRESS"
    assert wait_for(lambda: rpc.get(payment.id).status == pb.DONE, timeout=60)
    assert len({c["idempotencyKey"] for c in confirms_of(sandbox, payment)}) == 1


def test_a_virtual_account_waits_for_its_deposit_and_refunds_to_an_account(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = rpc.create(20000)
    key = pay_in_window(sandbox, payment, method="VIRTUAL_ACCOUNT")
    waiting = rpc.confirm(payment, key)
    assert waiting.status == pb.WAITING_FOR_DEPOSIT and waiting.method == "VIRTUAL_ACCOUNT"
    assert waiting.virtual_account.account_number and waiting.virtual_account.bank

    partial = refused(rpc.cancel, payment.id, 5000)
    assert (partial.status, partial.code) == (C.FAILED_PRECONDITION, "PARTIAL_CANCEL_NOT_ALLOWED")
    sandbox.post(f"/sandbox/virtual-accounts/{key}/deposit").raise_for_status()
    assert wait_for(lambda: rpc.get(payment.id).status == pb.DONE, timeout=60)

    no_account = refused(rpc.cancel, payment.id)
    assert (no_account.status, no_account.code) == (C.INVALID_ARGUMENT, "REFUND_ACCOUNT_REQUIRED")
    account = pb.RefundAccount(bank="88", account_number="11012345678901", holder_name="김토스")
    canceled = rpc.cancel(payment.id, refund_receive_account=account)
    assert canceled.status == pb.CANCELED and canceled.balance_amount == 0


# -- cancel rules ------------------------------------------------------------------------------


def test_cancel_rules_1_and_5_a_ready_payment_is_canceled_locally_once(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = rpc.create()
    before = len(toss_calls(sandbox, "/cancel"))
    assert rpc.cancel(payment.id).status == pb.CANCELED
    assert len(toss_calls(sandbox, "/cancel")) == before
    again = refused(rpc.cancel, payment.id)
    assert (again.status, again.code) == (C.ABORTED, "NOT_CANCELABLE_STATUS")


def test_cancel_rules_2_and_3_partial_then_full_with_one_pg_call_each_never_past_the_balance(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = paid(rpc, sandbox, 15000)
    partial = rpc.cancel(payment.id, 5000, cancel_reason="one item")
    assert partial.status == pb.PARTIAL_CANCELED and partial.balance_amount == 10000

    too_much = refused(rpc.cancel, payment.id, 10001)
    assert (too_much.status, too_much.code) == (C.FAILED_PRECONDITION, "EXCEEDS_BALANCE")
    rest = rpc.cancel(payment.id)
    assert rest.status == pb.CANCELED and rest.balance_amount == 0
    assert [c.cancel_amount for c in rest.cancels] == [5000, 10000]
    assert all(c.transaction_key and c.canceled_at.seconds for c in rest.cancels)
    assert len(toss_calls(sandbox, f"/v1/payments/{payment.payment_key}/cancel")) == 2
    toss = sandbox.get(f"/v1/payments/{payment.payment_key}", auth=(DOC_SECRET_KEY, "")).json()
    assert toss["balanceAmount"] == 0


def test_cancel_rule_6_a_cancel_the_pg_refuses_leaves_the_balance(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = paid(rpc, sandbox, 15000)
    path = f"/v1/payments/{payment.payment_key}/cancel"
    fault(sandbox, path=path, status=403, code="NOT_CANCELABLE_PAYMENT")

    answer = refused(rpc.cancel, payment.id, 5000)
    assert (answer.status, answer.code) == (C.FAILED_PRECONDITION, "PG_REJECTED")
    assert answer.info.metadata["pgCode"] == "NOT_CANCELABLE_PAYMENT"
    after = rpc.get(payment.id)
    assert after.status == pb.DONE and after.balance_amount == 15000


@pytest.mark.parametrize("method", ["RefundPayment", "CancelPayment"])
def test_a_refund_sent_again_with_its_idempotency_key_refunds_once(
    rpc: GrpcClient, sandbox: httpx.Client, method: str
) -> None:
    """As over HTTP: the retry of a refund answered UNAVAILABLE (its key released) is answered by
    that refund, which the reconciler replays too; Toss refunds once."""
    payment = paid(rpc, sandbox, 10000)
    md = rpc.metadata(idempotency_key=f"refund-{payment.id}")
    request: Any = (
        pb.RefundPaymentRequest(payment_id=payment.id, reason="one item", amount=3000)
        if method == "RefundPayment"
        else pb.CancelPaymentRequest(id=payment.id, cancel_reason="one item", cancel_amount=3000)
    )
    call = getattr(rpc.stub, method)
    fault(sandbox, method="POST", path="/v1/payments/*/cancel", status=500, times=50)
    assert refused(call, request, metadata=md).code == "PG_UNAVAILABLE"
    sandbox.delete("/sandbox/faults")

    again = call(request, metadata=md, timeout=60)

    assert again.status == pb.PARTIAL_CANCELED and again.balance_amount == 7000
    time.sleep(3)  # the reconciler's replay of the same cancel (1 s here) has had its chance
    toss = sandbox.get(f"/v1/payments/{payment.payment_key}", auth=(DOC_SECRET_KEY, "")).json()
    assert [c["cancelAmount"] for c in toss["cancels"]] == [3000]
    assert rpc.get(payment.id).balance_amount == 7000


def test_a_refund_sent_again_through_the_other_door_is_the_same_refund(
    rpc: GrpcClient, sandbox: httpx.Client, api: httpx.Client
) -> None:
    """The key names the request whichever door brings it again: a refund answered 502 over
    HTTP and retried over gRPC with its key refunds once."""
    payment = paid(rpc, sandbox, 10000)
    key = f"refund-{payment.id}"
    fault(sandbox, method="POST", path="/v1/payments/*/cancel", status=500, times=50)
    first = api.post(
        f"/v1/payments/{payment.id}/cancel",
        json={"cancelReason": "one item", "cancelAmount": 3000},
        headers={"Idempotency-Key": key},
    )
    assert first.status_code == 502, first.text
    sandbox.delete("/sandbox/faults")

    again = rpc.stub.RefundPayment(
        pb.RefundPaymentRequest(payment_id=payment.id, reason="one item", amount=3000),
        metadata=rpc.metadata(idempotency_key=key),
        timeout=60,
    )

    assert again.balance_amount == 7000
    time.sleep(3)  # the reconciler's replay of the same cancel has had its chance
    toss = sandbox.get(f"/v1/payments/{payment.payment_key}", auth=(DOC_SECRET_KEY, "")).json()
    assert [c["cancelAmount"] for c in toss["cancels"]] == [3000]


def test_refund_payment_is_a_cancel_under_seed_001s_names(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = paid(rpc, sandbox, 15000)
    md = rpc.metadata()
    partial = rpc.stub.RefundPayment(
        pb.RefundPaymentRequest(payment_id=payment.id, reason="one item", amount=4000), metadata=md
    )
    assert partial.status == pb.PARTIAL_CANCELED and partial.balance_amount == 11000
    too_much = refused(
        rpc.stub.RefundPayment,
        pb.RefundPaymentRequest(payment_id=payment.id, reason="r", amount=11001),
        metadata=md,
    )
    assert (too_much.status, too_much.code) == (C.FAILED_PRECONDITION, "EXCEEDS_BALANCE")
    no_reason = refused(
        rpc.stub.RefundPayment, pb.RefundPaymentRequest(payment_id=payment.id), metadata=md
    )
    assert no_reason.status == C.INVALID_ARGUMENT and "reason" in no_reason.message
    rest = rpc.stub.RefundPayment(
        pb.RefundPaymentRequest(payment_id=payment.id, reason="the rest"), metadata=md
    )
    assert rest.status == pb.CANCELED and [c.cancel_amount for c in rest.cancels] == [4000, 11000]


# -- idempotency -------------------------------------------------------------------------------


def test_an_idempotent_confirm_is_replayed_with_the_same_message_and_no_second_pg_call(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = rpc.create(15000)
    key = pay_in_window(sandbox, payment)
    request = pb.ConfirmPaymentRequest(order_id=payment.order_id, amount=15000, payment_key=key)
    md = rpc.metadata(idempotency_key=f"confirm-{payment.order_id}")

    first, first_call = rpc.stub.ConfirmPayment.with_call(request, metadata=md)
    second, second_call = rpc.stub.ConfirmPayment.with_call(request, metadata=md)

    assert first.status == pb.DONE
    assert second.SerializeToString() == first.SerializeToString()
    assert ("idempotent-replayed", "true") in tuple(second_call.initial_metadata())
    assert ("idempotent-replayed", "true") not in tuple(first_call.initial_metadata())
    assert len(confirms_of(sandbox, payment)) == 1


def test_a_refusal_is_replayed_with_the_same_status_and_details(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = rpc.create(15000)
    key = pay_in_window(sandbox, payment, failWith="REJECT_CARD_PAYMENT")
    md = {"idempotency_key": f"confirm-{payment.order_id}"}
    first = refused(rpc.confirm, payment, key, **md)
    second = refused(rpc.confirm, payment, key, **md)
    assert (second.status, second.code) == (first.status, first.code)
    assert second.details_bytes == first.details_bytes
    assert len(confirms_of(sandbox, payment)) == 1


def test_the_same_key_with_another_request_method_or_door_is_refused(
    rpc: GrpcClient, api: httpx.Client, sandbox: httpx.Client
) -> None:
    key = f"create-{new_order_id()}"
    request = pb.CreatePaymentRequest(order_name="x", amount=1000, order_id=new_order_id())
    created = rpc.stub.CreatePayment(request, metadata=rpc.metadata(idempotency_key=key))
    replayed = rpc.stub.CreatePayment(request, metadata=rpc.metadata(idempotency_key=key))
    assert replayed == created

    changed = pb.CreatePaymentRequest()
    changed.CopyFrom(request)
    changed.amount = 2000
    another_body = refused(
        rpc.stub.CreatePayment, changed, metadata=rpc.metadata(idempotency_key=key)
    )
    assert (another_body.status, another_body.code) == (
        C.INVALID_ARGUMENT,
        "IDEMPOTENCY_KEY_REUSED",
    )

    cancel_key = f"cancel-{created.id}"
    rpc.stub.CancelPayment(
        pb.CancelPaymentRequest(id=created.id, cancel_reason="r"),
        metadata=rpc.metadata(idempotency_key=cancel_key),
    )
    as_refund = refused(
        rpc.stub.RefundPayment,
        pb.RefundPaymentRequest(payment_id=created.id, reason="r"),
        metadata=rpc.metadata(idempotency_key=cancel_key),
    )
    assert as_refund.code == "IDEMPOTENCY_KEY_REUSED"

    http_key = f"http-{new_order_id()}"
    body = {"orderName": "x", "amount": 1000, "orderId": new_order_id()}
    assert (
        api.post("/v1/payments", json=body, headers={"Idempotency-Key": http_key}).status_code
        == 201
    )
    over_grpc = pb.CreatePaymentRequest(order_name="x", amount=1000, order_id=body["orderId"])
    other_door = refused(
        rpc.stub.CreatePayment, over_grpc, metadata=rpc.metadata(idempotency_key=http_key)
    )
    assert other_door.code == "IDEMPOTENCY_KEY_REUSED"


def test_a_key_whose_first_call_still_runs_is_in_use(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = rpc.create(15000)
    key = pay_in_window(sandbox, payment)
    fault(sandbox, path=CONFIRM_PATH, delayMs=3000)
    md = {"idempotency_key": f"slow-{payment.order_id}"}
    first: dict[str, pb.Payment] = {}
    running = threading.Thread(target=lambda: first.update(done=rpc.confirm(payment, key, **md)))
    running.start()
    try:
        assert wait_for(
            lambda: confirms_of(sandbox, payment) or rpc.get(payment.id).status == pb.IN_PROGRESS
        )
        answer = refused(rpc.confirm, payment, key, **md)
        assert (answer.status, answer.code) == (C.ABORTED, "IDEMPOTENCY_KEY_IN_USE")
    finally:
        running.join(timeout=60)
    assert first["done"].status == pb.DONE
    assert rpc.confirm(payment, key, **md) == first["done"]


def test_an_invalid_key_is_an_invalid_argument_and_keys_belong_to_a_tenant(
    rpc: GrpcClient, channel: grpc.Channel, service: RunningService
) -> None:
    request = pb.CreatePaymentRequest(order_name="x", amount=1000, order_id=new_order_id())
    too_long = refused(
        rpc.stub.CreatePayment, request, metadata=rpc.metadata(idempotency_key="k" * 301)
    )
    assert (too_long.status, too_long.code) == (C.INVALID_ARGUMENT, "INVALID_REQUEST")

    key = f"shared-{new_order_id()}"
    mine = rpc.stub.CreatePayment(request, metadata=rpc.metadata(idempotency_key=key))
    other = GrpcClient(channel, service.create_key("shop-grpc-idem", *FULL_SCOPES))
    theirs = other.stub.CreatePayment(
        pb.CreatePaymentRequest(order_name="y", amount=2000, order_id=new_order_id()),
        metadata=other.metadata(idempotency_key=key),
    )
    assert theirs.id != mine.id and theirs.amount == 2000


# -- tenants and listing -----------------------------------------------------------------------


def test_another_tenant_sees_nothing_and_touches_nothing(
    rpc: GrpcClient, sandbox: httpx.Client, channel: grpc.Channel, service: RunningService
) -> None:
    payment = paid(rpc, sandbox)
    other = GrpcClient(channel, service.create_key("shop-grpc-b", *FULL_SCOPES))
    missing = refused(other.get, "pay_doesnotexist")
    theirs = refused(other.get, payment.id)
    assert (
        (theirs.status, theirs.message)
        == (missing.status, missing.message)
        == (
            C.NOT_FOUND,
            missing.message,
        )
    )
    assert theirs.details_bytes == missing.details_bytes
    listed = other.stub.ListPayments(
        pb.ListPaymentsRequest(order_id=payment.order_id), metadata=other.metadata()
    )
    assert list(listed.items) == []
    assert refused(other.cancel, payment.id).code == "PAYMENT_NOT_FOUND"
    refund = pb.RefundPaymentRequest(payment_id=payment.id, reason="r")
    assert refused(other.stub.RefundPayment, refund, metadata=other.metadata()).code == (
        "PAYMENT_NOT_FOUND"
    )
    assert refused(other.confirm, payment, payment.payment_key).code == "PAYMENT_NOT_FOUND"
    watch = other.stub.WatchPayment(
        pb.GetPaymentRequest(id=payment.id), metadata=other.metadata(), timeout=10
    )
    assert refused(list, watch).code == "PAYMENT_NOT_FOUND"
    assert rpc.get(payment.id).status == pb.DONE


def test_payments_are_listed_newest_first_in_cursor_pages(rpc: GrpcClient) -> None:
    customer = f"cust-{new_order_id()}"
    ids = [rpc.create(1000 + i, customer_key=customer).id for i in range(5)]
    pages, cursor = [], ""
    while True:
        page = rpc.stub.ListPayments(
            pb.ListPaymentsRequest(customer_key=customer, limit=2, cursor=cursor),
            metadata=rpc.metadata(),
        )
        pages.append([p.id for p in page.items])
        cursor = page.next_cursor
        if not cursor:
            break
    assert pages == [ids[::-1][:2], ids[::-1][2:4], ids[:1]]

    rpc.cancel(ids[0])
    canceled = rpc.stub.ListPayments(
        pb.ListPaymentsRequest(customer_key=customer, status=pb.CANCELED), metadata=rpc.metadata()
    )
    assert [p.id for p in canceled.items] == [ids[0]]
    for bad in (
        pb.ListPaymentsRequest(limit=101),
        pb.ListPaymentsRequest(status=99),
        pb.ListPaymentsRequest(order_id="a" * 65),  # HTTP's orderId filter: at most 64
        pb.ListPaymentsRequest(customer_key="c" * 301),
        pb.ListPaymentsRequest(cursor="x" * 513),
    ):
        answer = refused(rpc.stub.ListPayments, bad, metadata=rpc.metadata())
        assert (answer.status, answer.code) == (C.INVALID_ARGUMENT, "INVALID_REQUEST")


# -- WatchPayment ------------------------------------------------------------------------------


class Watch:
    """A WatchPayment stream read on a thread; `statuses` is every payment it sent, by name."""

    def __init__(self, rpc: GrpcClient, payment_id: str, timeout: float = 120) -> None:
        self.statuses: list[str] = []
        self.ended: grpc.StatusCode | None = None
        self.call = rpc.stub.WatchPayment(
            pb.GetPaymentRequest(id=payment_id), metadata=rpc.metadata(), timeout=timeout
        )
        self._thread = threading.Thread(target=self._read)
        self._thread.start()

    def _read(self) -> None:
        try:
            for payment in self.call:
                self.statuses.append(pb.PaymentStatus.Name(payment.status))
            self.ended = C.OK
        except grpc.RpcError as error:
            self.ended = error.code()

    def saw(self, status: str, timeout: float = 30) -> bool:
        return bool(wait_for(lambda: status in self.statuses, timeout=timeout))

    def finish(self, timeout: float = 60) -> list[str]:
        """The statuses it went through, once it ended. A change that keeps the status (a webhook
        touching `updated_at`) and IN_PROGRESS (a confirm's first commit, sometimes seen) aside."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the watch did not end; it saw {self.statuses}"
        steps = [s for s in self.statuses if s != "IN_PROGRESS"]
        return [s for i, s in enumerate(steps) if i == 0 or steps[i - 1] != s]


def test_a_watch_sees_ready_done_canceled_and_then_ends(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = rpc.create(15000)
    watch = Watch(rpc, payment.id)
    assert watch.saw("READY")
    rpc.confirm(payment, pay_in_window(sandbox, payment))
    assert watch.saw("DONE")
    rpc.cancel(payment.id)

    assert watch.finish() == ["READY", "DONE", "CANCELED"]
    assert watch.ended == C.OK


def test_a_watch_ends_at_its_deadline_while_the_payment_is_not_final(rpc: GrpcClient) -> None:
    payment = rpc.create(15000)
    started = time.monotonic()
    watch = Watch(rpc, payment.id, timeout=2)
    assert watch.finish() == ["READY"]
    assert watch.ended == C.DEADLINE_EXCEEDED and time.monotonic() - started < 30


def test_a_watch_of_a_final_payment_sends_it_once_and_ends(rpc: GrpcClient) -> None:
    payment = rpc.create(15000)
    rpc.cancel(payment.id)
    watch = Watch(rpc, payment.id)
    assert watch.finish() == ["CANCELED"] and watch.ended == C.OK


def test_many_watchers_of_one_payment_all_see_its_changes(
    rpc: GrpcClient, sandbox: httpx.Client
) -> None:
    payment = paid(rpc, sandbox, 10000)
    watches = [Watch(rpc, payment.id) for _ in range(40)]
    assert all(w.saw("DONE") for w in watches)
    rpc.cancel(payment.id, 3000)
    assert all(w.saw("PARTIAL_CANCELED") for w in watches)
    rpc.cancel(payment.id)
    for watch in watches:
        assert watch.finish() == ["DONE", "PARTIAL_CANCELED", "CANCELED"]


def test_a_watch_opened_with_a_key_revoked_since_sends_nothing_more_and_ends(
    rpc: GrpcClient, channel: grpc.Channel, service: RunningService
) -> None:
    reader_key = service.create_key("shop-a", "payments:read")
    payment = rpc.create(15000)
    watch = Watch(GrpcClient(channel, reader_key), payment.id)
    assert watch.saw("READY")
    [key_row] = [
        k
        for k in json.loads(service.cli("keys", "list", "--tenant", "shop-a", "--json"))
        if k["scopes"] == ["payments:read"]
    ]
    service.cli("keys", "revoke", key_row["id"])
    time.sleep(REMEMBER_SECONDS + 1)  # what the server remembers of a key it found
    rpc.cancel(payment.id)

    assert watch.finish() == ["READY"]
    assert watch.ended == C.UNAUTHENTICATED


def test_a_watch_sees_a_change_another_process_commits(
    rpc: GrpcClient, service: RunningService, tmp_path: Path
) -> None:
    payment = rpc.create(15000)
    watch = Watch(rpc, payment.id)
    assert watch.saw("READY")
    database = service.env["SUNAP_DATABASE_URL"]
    with running_service(tmp_path, SUNAP_DATABASE_URL=database) as second:
        with grpc_client(second.grpc_target, rpc.key) as elsewhere:
            assert elsewhere.cancel(payment.id).status == pb.CANCELED
        assert watch.finish() == ["READY", "CANCELED"]


def test_no_secret_reaches_a_grpc_answer_or_the_log(
    rpc: GrpcClient, sandbox: httpx.Client, service: RunningService, merchant_key: str
) -> None:
    payment = rpc.create(20000)
    key = pay_in_window(sandbox, payment, method="VIRTUAL_ACCOUNT")
    waiting = rpc.confirm(payment, key)
    secret = sandbox.get(f"/v1/payments/{key}", auth=(DOC_SECRET_KEY, "")).json()["secret"]
    answers = waiting.SerializeToString() + rpc.get(payment.id).SerializeToString()
    assert secret and secret.encode() not in answers
    assert secret not in service.logs() and merchant_key not in service.logs()
