"""Toss takes one cancel of a payment per second and refuses the others with 403
FORBIDDEN_CONSECUTIVE_REQUEST (docs/toss.md "Pacing"). A real `sunap serve`, on SQLite and on
PostgreSQL, spaces the cancels it sends: each request still gets its own right answer, after a
short wait, and the balance is never exceeded. The spacing is read from the sandbox's calls log."""

from __future__ import annotations

import concurrent.futures
import itertools
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.flows import paid_payment, toss_calls
from tests.support.service import RunningService, running_service_on

DOC_SECRET_KEY = "test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R"
TOSS_SPACING_SECONDS = 1.0


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def paced(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningService, str]]:
    workdir = Path(tmp_path_factory.mktemp(f"pacing-{request.param}"))
    with running_service_on(request.param, workdir) as service:
        yield (
            service,
            service.create_key("shop-pace", "payments:read", "payments:write", "payments:cancel"),
        )


@pytest.fixture
def api(paced: tuple[RunningService, str]) -> Iterator[httpx.Client]:
    service, key = paced
    with service.client(key) as client:
        yield client


@pytest.fixture
def sandbox(paced: tuple[RunningService, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=paced[0].sandbox_url, timeout=30) as client:
        yield client


def cancel_calls(sandbox: httpx.Client, payment: dict[str, Any]) -> list[dict[str, Any]]:
    return toss_calls(sandbox, f"/v1/payments/{payment['paymentKey']}/cancel")


def gaps_in_seconds(calls: list[dict[str, Any]]) -> list[float]:
    times = sorted(datetime.fromisoformat(c["receivedAt"]) for c in calls)
    return [(b - a).total_seconds() for a, b in itertools.pairwise(times)]


def test_a_partial_then_a_full_cancel_sent_back_to_back_each_get_their_answer(
    api: httpx.Client, sandbox: httpx.Client
) -> None:
    payment = paid_payment(api, sandbox, 10000)

    partial = api.post(
        f"/v1/payments/{payment['id']}/cancel",
        json={"cancelReason": "one item", "cancelAmount": 4000},
    )
    full = api.post(f"/v1/payments/{payment['id']}/cancel", json={"cancelReason": "the rest"})

    assert partial.status_code == 200, partial.text
    assert (partial.json()["status"], partial.json()["balanceAmount"]) == ("PARTIAL_CANCELED", 6000)
    assert full.status_code == 200, full.text
    assert (full.json()["status"], full.json()["balanceAmount"]) == ("CANCELED", 0)
    calls = cancel_calls(sandbox, payment)
    assert [c["status"] for c in calls] == [200, 200]
    assert min(gaps_in_seconds(calls)) >= TOSS_SPACING_SECONDS


def test_twenty_concurrent_partial_cancels_are_spaced_and_never_exceed_the_balance(
    paced: tuple[RunningService, str], api: httpx.Client, sandbox: httpx.Client
) -> None:
    service, key = paced
    payment = paid_payment(api, sandbox, 10000)

    def cancel(_: int) -> httpx.Response:
        with service.client(key) as client:
            return client.post(
                f"/v1/payments/{payment['id']}/cancel",
                json={"cancelReason": "one item", "cancelAmount": 1000},
            )

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(cancel, range(20)))

    succeeded = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert len(succeeded) == 10, [r.text for r in refused]
    assert {r.json()["code"] for r in refused} <= {
        "EXCEEDS_BALANCE",
        "NOT_CANCELABLE_STATUS",
        "CONCURRENT_UPDATE",
    }
    # Each success answers once its own cancel was booked (the reconciler may have booked
    # later ones by then: the answer is the payment as it stands).
    booked = [
        sum(1 for c in r.json()["cancels"] if c["transactionKey"] is not None) for r in succeeded
    ]
    assert min(booked) >= 1 and max(booked) == 10
    final = api.get(f"/v1/payments/{payment['id']}").json()
    assert (final["status"], final["balanceAmount"]) == ("CANCELED", 0)
    toss = sandbox.get(f"/v1/payments/{payment['paymentKey']}", auth=(DOC_SECRET_KEY, "")).json()
    assert sum(c["cancelAmount"] for c in toss["cancels"]) == 10000
    calls = cancel_calls(sandbox, payment)
    assert [c["status"] for c in calls] == [200] * 10  # none refused as too fast, none retried
    assert min(gaps_in_seconds(calls)) >= TOSS_SPACING_SECONDS
