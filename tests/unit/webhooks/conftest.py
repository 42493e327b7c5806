import sys
from pathlib import Path

# The repository root on sys.path makes `tests.fakes` importable without a tests/__init__.py.
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


import pytest  # noqa: E402

from sunap.application.deps import Deps  # noqa: E402
from tests.fakes.clock import FakeClock  # noqa: E402
from tests.fakes.gateway import FakeGateway  # noqa: E402
from tests.fakes.ids import SequentialIds  # noqa: E402
from tests.fakes.uow import InMemoryStore, InMemoryUnitOfWorkFactory  # noqa: E402
from tests.unit.webhooks.inbox import InMemoryWebhookInbox  # noqa: E402


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
