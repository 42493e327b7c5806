from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.reliability.stack import Stack, running_stack
from tests.support.service import RunningService, running_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service(Path(tmp_path_factory.mktemp("sunap"))) as svc:
        yield svc


@pytest.fixture(scope="module")
def merchant_key(service: RunningService) -> str:
    return service.create_key("shop-a", "payments:read", "payments:write", "payments:cancel")


@pytest.fixture()
def api(service: RunningService, merchant_key: str) -> Iterator[httpx.Client]:
    with service.client(merchant_key) as client:
        yield client


@pytest.fixture()
def sandbox(service: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.sandbox_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def module_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A service whose Toss sandbox outlives it: for crash and fault tests."""
    with running_stack(Path(tmp_path_factory.mktemp("stack"))) as stack:
        yield stack


@pytest.fixture
def stack(module_stack: Stack) -> Iterator[Stack]:
    module_stack.clear_faults()
    yield module_stack
    module_stack.clear_faults()
