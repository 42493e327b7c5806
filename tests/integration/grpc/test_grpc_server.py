"""The gRPC server in this process, over loopback, on fakes we own: what a call that crashes or a
message that is too large gets back, and that the server goes on serving."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from sunap.adapters.toss.webhooks import TossWebhooks
from sunap.application.authentication import hash_api_key
from sunap.application.deps import Deps
from sunap.application.ports.api_keys import ApiKeyRecord
from sunap.entrypoints.container import Container
from sunap.entrypoints.grpc.server import GrpcServer
from sunap.entrypoints.metrics import Metrics
from sunap.v1 import payments_pb2 as pb
from sunap.v1 import payments_pb2_grpc as pb_grpc
from tests.fakes.accounts import NoOwnAccounts, OneGatewayAccounts
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.idempotency import InMemoryIdempotencyStore
from tests.fakes.ids import SequentialIds
from tests.fakes.uow import InMemoryUnitOfWorkFactory
from tests.unit.webhooks.inbox import InMemoryWebhookInbox

KEY = "sk_sunap_test"


class KeysThatBreak:
    """An API key store whose database fails on the key `sk_sunap_break`."""

    async def find_by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        if key_hash == hash_api_key("sk_sunap_break"):
            raise RuntimeError("connection to 10.0.0.7 lost; password=hunter2")
        return ApiKeyRecord("key_1", "tenant_a", "shop", frozenset({"admin"}))

    async def ensure_tenant(self, name: str, new_id: str) -> str:
        return new_id

    async def add_key(self, **_: object) -> None:
        return None

    async def tenant_id_by_name(self, name: str) -> str | None:
        return None

    async def account_of(self, tenant_id: str) -> str:
        return "default"


class NoVersions:
    async def current(self, payment_ids: object) -> dict[str, int]:
        return {}


@pytest.fixture
async def stub() -> AsyncIterator[pb_grpc.PaymentServiceStub]:
    clock = FakeClock()
    deps = Deps(
        uow=InMemoryUnitOfWorkFactory(),
        accounts=OneGatewayAccounts(FakeGateway(clock)),
        clock=clock,
        ids=SequentialIds(),
        webhook_format=TossWebhooks(),
    )

    async def ready() -> bool:
        return True

    container = Container(
        deps=deps,
        api_keys=KeysThatBreak(),
        idempotency=InMemoryIdempotencyStore(),
        webhooks=InMemoryWebhookInbox(),
        pg_accounts=NoOwnAccounts(),
        is_ready=ready,
    )
    server = GrpcServer(
        container, NoVersions(), Metrics(), host="127.0.0.1", port=0, poll_seconds=0.1
    )
    port = await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield pb_grpc.PaymentServiceStub(channel)
    finally:
        await server.stop()


def auth(key: str = KEY) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


async def test_a_call_that_crashes_ends_internal_with_our_message_and_the_server_goes_on(
    stub: pb_grpc.PaymentServiceStub,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as crashed:
        await stub.GetPayment(pb.GetPaymentRequest(id="pay_1"), metadata=auth("sk_sunap_break"))
    error = crashed.value
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == "Something went wrong on our side; nothing was guessed."
    assert dict(error.trailing_metadata())["sunap-error-code"] == "INTERNAL_ERROR"
    assert "hunter2" not in str(error) and "10.0.0.7" not in str(error)

    created = await stub.CreatePayment(
        pb.CreatePaymentRequest(order_name="x", amount=1000), metadata=auth()
    )
    assert created.status == pb.READY


async def test_a_message_over_64_kib_is_refused_unread(stub: pb_grpc.PaymentServiceStub) -> None:
    huge = pb.CreatePaymentRequest(order_name="x" * (65 * 1024), amount=1000)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.CreatePayment(huge, metadata=auth())
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize("key", ["", " ", "   "], ids=["empty", "a-space", "spaces"])
async def test_an_idempotency_key_empty_once_spaces_are_dropped_is_refused_as_over_http(
    stub: pb_grpc.PaymentServiceStub, key: str
) -> None:
    """HTTP drops the spaces around a header's value: such a key is empty there, 400."""
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.CreatePayment(
            pb.CreatePaymentRequest(order_name="x", amount=1000),
            metadata=(*auth(), ("idempotency-key", key)),
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(refused.value.trailing_metadata())["sunap-error-code"] == "INVALID_REQUEST"


async def test_spaces_around_an_idempotency_key_are_not_part_of_it_as_over_http(
    stub: pb_grpc.PaymentServiceStub,
) -> None:
    request = pb.CreatePaymentRequest(order_name="x", amount=1000)
    first = await stub.CreatePayment(request, metadata=(*auth(), ("idempotency-key", "k-77")))
    call = stub.CreatePayment(request, metadata=(*auth(), ("idempotency-key", "  k-77 ")))
    again = await call
    assert again.id == first.id
    assert ("idempotent-replayed", "true") in tuple(await call.initial_metadata())
