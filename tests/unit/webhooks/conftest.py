import pytest

from sunap.application.deps import Deps
from tests.fakes.clock import FakeClock
from tests.fakes.gateway import FakeGateway
from tests.fakes.ids import SequentialIds
from tests.fakes.uow import InMemoryStore, InMemoryUnitOfWorkFactory
from tests.unit.webhooks.inbox import InMemoryWebhookInbox


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
    return Deps(uow=uows, gateway=toss, clock=clock, ids=SequentialIds())


@pytest.fixture
def inbox() -> InMemoryWebhookInbox:
    return InMemoryWebhookInbox()
