"""Every use case runs against both kinds of unit of work: one whose reads lock what they read
(SQLite, MariaDB), and one that reads without locks and locks only when its versioned write was
refused (PostgreSQL: application/optimism.py)."""

import pytest

from tests.fakes.uow import InMemoryUnitOfWorkFactory


@pytest.fixture(params=[False, True], ids=["locked", "optimistic"])
def uows(request: pytest.FixtureRequest) -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory(reads_optimistically=request.param)
