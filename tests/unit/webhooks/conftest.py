import pytest

from tests.unit.webhooks.inbox import InMemoryWebhookInbox


@pytest.fixture
def inbox() -> InMemoryWebhookInbox:
    return InMemoryWebhookInbox()
