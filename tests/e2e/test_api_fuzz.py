"""Schemathesis, driven by the service's own OpenAPI document, against a real `sunap serve`.

For every operation in /openapi.json, valid and invalid requests are generated (a bounded number
per operation, derandomized so a run repeats) and sent with a real API key; each answer must not
be a 5xx and must agree with the document: a documented status, the documented body schema,
content type and headers; a request the document calls invalid must be refused, and one without
the key must be refused too (docs/money-soak-and-fuzzing.md, "Fuzzing").

One check is left out: that every schema-valid request succeeds. A JSON Schema cannot say what
the service rightly refuses among them: `1.0` is an "integer" there and a float here, a cursor
must be one we minted, an Idempotency-Key must not be reused with another body.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.service import RunningService, running_service

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp("fuzz"))
    # No rate limit: the fuzzer sends hundreds of requests a second on one key.
    with running_service(workdir, SUNAP_RATE_LIMIT="off") as service:
        yield service


@pytest.fixture(scope="module")
def key(service: RunningService) -> str:
    return service.create_key("shop-fuzz", "admin")


@pytest.fixture(scope="module")
def document(service: RunningService) -> dict[str, Any]:
    return dict(httpx.get(f"{service.base_url}/openapi.json", timeout=60).json())


def operation_names(document: dict[str, Any]) -> list[str]:
    return [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_no_generated_request_gets_a_5xx_or_an_answer_the_document_does_not_describe(
    service: RunningService, key: str, document: dict[str, Any]
) -> None:
    schema = schemathesis.openapi.from_dict(document)
    problems: dict[str, str] = {}
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {key}"
        for found in schema.get_all_operations():
            operation = found.ok()
            strategy = st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            )
            try:
                _fuzz(strategy, session, service.base_url)
            except (AssertionError, FailureGroup) as failure:
                problems[operation.label] = str(failure)[:2000]
    assert sorted(operation_names(document)) == sorted(
        op.ok().label for op in schema.get_all_operations()
    )
    assert problems == {}, "\n\n".join(f"{op}: {why}" for op, why in problems.items())


def _fuzz(strategy: st.SearchStrategy[Any], session: requests.Session, base_url: str) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=base_url,
            session=session,
            timeout=60,
            excluded_checks=[positive_data_acceptance],
        )

    run()


def test_another_tenant_sees_nothing_of_what_the_fuzzer_made(
    service: RunningService, key: str
) -> None:
    """A second tenant on the same account, after (or without) the fuzzing: none of the first
    tenant's payments, subscriptions or billing keys reach it, by list or by id."""
    other = service.create_key("shop-fuzz-other", "admin")
    with service.client(key) as fuzzer, service.client(other) as stranger:
        made = fuzzer.post("/v1/payments", json={"orderName": "x", "amount": 1000})
        assert made.status_code == 201, made.text
        theirs = fuzzer.get("/v1/payments", params={"limit": 100}).json()["items"]
        for listing in ("/v1/payments", "/v1/subscriptions", "/v1/billing-keys"):
            answer = stranger.get(listing, params={"limit": 100})
            assert answer.status_code == 200 and answer.json()["items"] == [], listing
        for payment in theirs:
            assert stranger.get(f"/v1/payments/{payment['id']}").status_code == 404
            by_order = stranger.get("/v1/payments", params={"orderId": payment["orderId"]})
            assert by_order.json()["items"] == []
