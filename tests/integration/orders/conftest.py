import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.orders.order_desk import OrderDesk, open_order_desk
from tests.support.databases import *  # noqa: F403


@pytest.fixture
async def desk(engine: AsyncEngine) -> OrderDesk:
    return await open_order_desk(engine)
