"""API keys found are remembered a few seconds; keys not found never are."""

from __future__ import annotations

import pytest

from sunap.application.authentication import KeyFinder, authenticate, hash_api_key
from sunap.application.errors import Forbidden, Unauthenticated
from sunap.application.ports.api_keys import ApiKeyRecord
from tests.fakes.clock import FakeMonotonic

KEY = "sk_sunap_remembered"
RECORD = ApiKeyRecord("key_1", "tnt_a", "shop-a", frozenset({"payments:read"}))


class Keys:
    """The database's keys, counting the look-ups that reach it."""

    def __init__(self) -> None:
        self.records: dict[str, ApiKeyRecord] = {}
        self.lookups = 0

    async def find(self, key_hash: str) -> ApiKeyRecord | None:
        self.lookups += 1
        return self.records.get(key_hash)


@pytest.fixture
def keys() -> Keys:
    keys = Keys()
    keys.records[hash_api_key(KEY)] = RECORD
    return keys


async def test_a_key_found_is_not_looked_up_again_for_a_few_seconds(keys: Keys) -> None:
    clock = FakeMonotonic(100.0)
    finder = KeyFinder(keys.find, seconds=5.0, monotonic=clock)

    for _ in range(3):
        principal = await authenticate(finder, f"Bearer {KEY}", "payments:read")
        assert principal.tenant_id == "tnt_a"
    assert keys.lookups == 1

    clock.now += 5.0
    await authenticate(finder, f"Bearer {KEY}", "payments:read")
    assert keys.lookups == 2


async def test_a_key_deleted_from_the_database_stops_working_once_forgotten(keys: Keys) -> None:
    clock = FakeMonotonic(100.0)
    finder = KeyFinder(keys.find, seconds=5.0, monotonic=clock)
    await authenticate(finder, f"Bearer {KEY}", "payments:read")
    del keys.records[hash_api_key(KEY)]

    clock.now += 5.0
    with pytest.raises(Unauthenticated):
        await authenticate(finder, f"Bearer {KEY}", "payments:read")
    with pytest.raises(Unauthenticated):  # and it is not remembered as missing either
        await authenticate(finder, f"Bearer {KEY}", "payments:read")
    assert keys.lookups == 3


async def test_a_key_created_after_a_miss_works_at_once(keys: Keys) -> None:
    finder = KeyFinder(keys.find, monotonic=FakeMonotonic(100.0))
    new = "sk_sunap_new"
    with pytest.raises(Unauthenticated):
        await authenticate(finder, f"Bearer {new}", "payments:read")

    keys.records[hash_api_key(new)] = RECORD
    assert (await authenticate(finder, f"Bearer {new}", "payments:read")).tenant_id == "tnt_a"


async def test_at_most_capacity_keys_are_remembered_the_oldest_dropped_first(keys: Keys) -> None:
    for n in range(3):
        keys.records[hash_api_key(f"sk_sunap_{n}")] = RECORD
    finder = KeyFinder(keys.find, capacity=2, monotonic=FakeMonotonic(100.0))
    for n in range(3):
        await finder.find_by_hash(hash_api_key(f"sk_sunap_{n}"))
    assert keys.lookups == 3

    await finder.find_by_hash(hash_api_key("sk_sunap_2"))
    await finder.find_by_hash(hash_api_key("sk_sunap_1"))
    assert keys.lookups == 3  # the two newest are remembered
    await finder.find_by_hash(hash_api_key("sk_sunap_0"))
    assert keys.lookups == 4  # the oldest was dropped


async def test_a_remembered_key_still_needs_the_scope(keys: Keys) -> None:
    finder = KeyFinder(keys.find, monotonic=FakeMonotonic(100.0))
    await authenticate(finder, f"Bearer {KEY}", "payments:read")
    with pytest.raises(Forbidden, match="payments:write"):
        await authenticate(finder, f"Bearer {KEY}", "payments:write")
