"""Dashboard sessions: opened with a key that may look, ended by idleness, age or the key's
removal; the CSRF token is the session's own."""

from __future__ import annotations

from datetime import timedelta

from sunap.application.ports.api_keys import ApiKeyRecord
from sunap.application.web_sessions import (
    IDLE_TIMEOUT,
    LIFETIME,
    csrf_matches,
    may_open_dashboard,
    open_session,
    resume_session,
    session_id_of,
)
from tests.fakes.clock import FakeClock
from tests.fakes.web_sessions import InMemoryWebSessions

READER = ApiKeyRecord("key_r", "tnt_a", "shop-a", frozenset({"payments:read"}))


def sessions_with(*keys: ApiKeyRecord) -> InMemoryWebSessions:
    store = InMemoryWebSessions()
    for key in keys:
        store.add_key(key)
    return store


def test_only_keys_with_admin_or_payments_read_may_open_the_dashboard() -> None:
    def key(*scopes: str) -> ApiKeyRecord:
        return ApiKeyRecord("k", "t", "n", frozenset(scopes))

    assert may_open_dashboard(key("payments:read"))
    assert may_open_dashboard(key("admin"))
    assert not may_open_dashboard(key("payments:write", "payments:cancel", "billing"))


async def test_a_session_opened_with_a_key_is_that_keys_tenant_with_its_scopes() -> None:
    store, clock = sessions_with(READER), FakeClock()
    token = await open_session(store, READER, clock.now())
    session = await resume_session(store, token, clock.now())
    assert session is not None
    assert (session.tenant_id, session.tenant_name) == ("tnt_a", "shop-a")
    assert session.allows("payments:read") and not session.allows("payments:cancel")


async def test_only_a_hash_of_the_token_is_stored() -> None:
    store, clock = sessions_with(READER), FakeClock()
    token = await open_session(store, READER, clock.now())
    assert list(store.rows) == [session_id_of(token)]
    assert token not in str(store.rows)


async def test_a_session_ends_after_it_has_been_idle_too_long() -> None:
    store, clock = sessions_with(READER), FakeClock()
    token = await open_session(store, READER, clock.now())
    clock.advance(IDLE_TIMEOUT - timedelta(seconds=1))
    assert await resume_session(store, token, clock.now()) is not None
    clock.advance(IDLE_TIMEOUT)
    assert await resume_session(store, token, clock.now()) is None
    assert store.rows == {}


async def test_an_active_session_still_ends_at_its_lifetime() -> None:
    store, clock = sessions_with(READER), FakeClock()
    opened = clock.now()
    token = await open_session(store, READER, opened)
    while clock.now() + timedelta(minutes=20) < opened + LIFETIME:
        clock.advance(timedelta(minutes=20))
        assert await resume_session(store, token, clock.now()) is not None
    clock.set(opened + LIFETIME)
    assert await resume_session(store, token, clock.now()) is None


async def test_a_session_whose_key_is_gone_is_gone() -> None:
    store, clock = sessions_with(READER), FakeClock()
    token = await open_session(store, READER, clock.now())
    del store.keys[READER.key_id]
    assert await resume_session(store, token, clock.now()) is None


async def test_an_unknown_or_oversized_token_opens_nothing() -> None:
    store, clock = sessions_with(READER), FakeClock()
    await open_session(store, READER, clock.now())
    for token in ("", "nope", "x" * 5000):
        assert await resume_session(store, token, clock.now()) is None


async def test_page_views_write_the_last_seen_time_at_most_once_a_minute() -> None:
    store, clock = sessions_with(READER), FakeClock()
    token = await open_session(store, READER, clock.now())
    for _ in range(10):
        clock.advance(seconds=5)
        await resume_session(store, token, clock.now())
    assert store.touches == 0
    clock.advance(seconds=15)
    await resume_session(store, token, clock.now())
    assert store.touches == 1


async def test_signing_in_forgets_sessions_that_ended() -> None:
    store, clock = sessions_with(READER), FakeClock()
    await open_session(store, READER, clock.now())
    clock.advance(IDLE_TIMEOUT + timedelta(seconds=1))
    await open_session(store, READER, clock.now())
    assert len(store.rows) == 1


async def test_a_form_passes_only_with_its_own_sessions_csrf_token() -> None:
    store, clock = sessions_with(READER), FakeClock()
    first = await resume_session(store, await open_session(store, READER, clock.now()), clock.now())
    second = await resume_session(
        store, await open_session(store, READER, clock.now()), clock.now()
    )
    assert first is not None and second is not None
    assert csrf_matches(first, first.csrf_token)
    assert not csrf_matches(first, second.csrf_token)
    assert not csrf_matches(first, None) and not csrf_matches(first, "")
