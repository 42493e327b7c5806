"""Rate limits per API key against a real `sunap serve` with `SUNAP_RATE_LIMIT=5/h` (a bucket of
10, one more every 12 minutes, so no test runs long enough to see one come back): past it, `429 RATE_LIMITED` with `Retry-After`, and nothing of the
refused request ran, not even its idempotency claim."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from sunap.v1 import payments_pb2 as pb
from tests.e2e.flows import new_order_id
from tests.e2e.grpc_client import grpc_client, refused
from tests.support.service import RunningService, running_service

BURST = 10


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp("sunap-rate"))
    with running_service(workdir, SUNAP_RATE_LIMIT="5/h") as svc:
        yield svc


def new_key(service: RunningService, tenant: str) -> str:
    return service.create_key(tenant, "payments:read", "payments:write")


def test_a_key_past_its_burst_gets_429_with_retry_after_and_nothing_runs(
    service: RunningService,
) -> None:
    tenant = new_order_id()
    flooding, other = new_key(service, tenant), new_key(service, tenant)
    with service.client(flooding) as api, service.client(other) as colleague:
        for _ in range(BURST):
            assert api.get("/v1/payments").status_code == 200
        order_id, idempotency_key = new_order_id(), new_order_id()
        refused = api.post(
            "/v1/payments",
            json={"orderName": "책", "amount": 1000, "orderId": order_id},
            headers={"Idempotency-Key": idempotency_key},
        )

        assert refused.status_code == 429, refused.text
        body = refused.json()
        assert set(body) == {"code", "message"} and body["code"] == "RATE_LIMITED"
        assert 1 <= int(refused.headers["Retry-After"]) <= 12 * 60
        # Nothing ran: no payment, and the idempotency key was never claimed for the tenant.
        assert colleague.get("/v1/payments", params={"orderId": order_id}).json()["items"] == []
        created = colleague.post(
            "/v1/payments",
            json={"orderName": "책", "amount": 1000, "orderId": order_id},
            headers={"Idempotency-Key": idempotency_key},
        )
        assert created.status_code == 201, created.text
        assert "Idempotent-Replayed" not in created.headers


def test_each_key_has_its_own_bucket(service: RunningService) -> None:
    tenant = new_order_id()
    with service.client(new_key(service, tenant)) as first:
        statuses = [first.get("/v1/payments").status_code for _ in range(BURST + 1)]
        assert statuses == [200] * BURST + [429]
    with service.client(new_key(service, tenant)) as second:
        assert second.get("/v1/payments").status_code == 200


def test_a_request_without_a_valid_key_is_401_not_429(service: RunningService) -> None:
    with service.client("sk_sunap_not_a_key") as stranger:
        statuses = {stranger.get("/v1/payments").status_code for _ in range(BURST + 5)}
    assert statuses == {401}


def test_over_grpc_a_key_past_its_burst_is_told_how_long_to_wait(service: RunningService) -> None:
    """gRPC has no Retry-After header: the wait is in the ErrorInfo, as HTTP's header gives it."""
    with grpc_client(service.grpc_target, new_key(service, new_order_id())) as rpc:
        for _ in range(BURST):
            rpc.stub.ListPayments(pb.ListPaymentsRequest(), metadata=rpc.metadata())
        answer = refused(rpc.stub.ListPayments, pb.ListPaymentsRequest(), metadata=rpc.metadata())
    assert (answer.status, answer.code) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")
    wait = int(answer.info.metadata["retryAfterSeconds"])
    assert 1 <= wait <= 12 * 60 and f"retry in {wait} s" in answer.message
