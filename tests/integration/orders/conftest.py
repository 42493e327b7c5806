import sys
from pathlib import Path

# The repository root on sys.path makes `tests.support` importable without a tests/__init__.py.
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import pytest  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from tests.integration.orders.order_desk import OrderDesk, open_order_desk  # noqa: E402
from tests.support.databases import *  # noqa: E402, F403


@pytest.fixture
async def desk(engine: AsyncEngine) -> OrderDesk:
    return await open_order_desk(engine)
