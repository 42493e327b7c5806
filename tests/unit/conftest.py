"""Fakes we own, wired into use-case dependencies, for every unit test."""

import pytest

from sunap.adapters.toss.webhooks import TossWebhooks
from sunap.application.deps import Deps
from tests.fakes.accounts import OneGatewayAccounts
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.ids import SequentialIds
from tests.fakes.uow import InMemoryStore, InMemoryUnitOfWorkFactory


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def toss(clock: FakeClock) -> FakeGateway:
    return FakeGateway(clock)


@pytest.fixture
def uows() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
def store(uows: InMemoryUnitOfWorkFactory) -> InMemoryStore:
    return uows.store


@pytest.fixture
def deps(uows: InMemoryUnitOfWorkFactory, toss: FakeGateway, clock: FakeClock) -> Deps:
    return Deps(
        uow=uows,
        accounts=OneGatewayAccounts(toss),
        clock=clock,
        ids=SequentialIds(),
        webhook_format=TossWebhooks(),
        sleep=clock.sleep,
    )
