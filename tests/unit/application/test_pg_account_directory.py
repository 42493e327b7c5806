"""Accounts as the service opens them: one Toss account is never two tenants' own."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sunap.adapters.crypto.fernet_box import FernetSecretBox, new_key
from sunap.application.errors import (
    PgUnavailable,
    QuarantinedPayment,
    SharedPgAccount,
    UnknownPgAccount,
)
from sunap.application.pg_accounts import (
    ACCOUNT_CACHE_SECONDS,
    DEFAULT_PG_ACCOUNT,
    QUARANTINED,
    AccountRefused,
    PgAccount,
    PgAccountDirectory,
    SealedPgAccount,
    TenantAccount,
    check_account_keys,
    gateway_within,
    with_account_at_hand,
)
from tests.fakes.gateway import FakeGateway

NOW = datetime(2026, 11, 30, tzinfo=UTC)
BOX = FernetSecretBox([new_key().encode()])
DEFAULT = PgAccount(DEFAULT_PG_ACCOUNT, "test_sk_default_0001", "test_ck_default_0001")


class Accounts:
    """Own accounts sealed as the database keeps them, some set up before keys were checked."""

    def __init__(self, *accounts: tuple[str, str, str | None]) -> None:
        self._sealed = {
            id_: SealedPgAccount(id_, BOX.seal(secret), client, None, NOW, NOW)
            for id_, secret, client in accounts
        }

    async def get(self, account_id: str) -> SealedPgAccount | None:
        return self._sealed.get(account_id)

    async def own_accounts(self) -> list[SealedPgAccount]:
        return list(self._sealed.values())

    async def give_tenant_own_account(self, tenant_id: str, account: SealedPgAccount) -> None:
        self._sealed[account.id] = account

    async def tenants(self) -> list[TenantAccount]:
        return []

    async def own_account_of(self, tenant_name: str) -> str | None:
        return None

    async def tenant_of_account(self, account_id: str) -> str | None:
        return None


def directory(
    store: Accounts, monotonic: Callable[[], float] = time.monotonic
) -> PgAccountDirectory:
    return PgAccountDirectory(
        DEFAULT, store, BOX, lambda account: FakeGateway(), monotonic=monotonic
    )


async def test_an_account_of_its_own_keys_opens() -> None:
    accounts = directory(Accounts(("ten_a", "test_sk_a_0001", "test_ck_a_0001")))
    assert (await accounts.account("ten_a")).secret_key == "test_sk_a_0001"


@pytest.mark.parametrize(
    ("own", "shares_with"),
    [
        (("ten_h", "test_sk_default_0001", None), "default"),  # the default's secret key
        (("ten_h", "test_sk_h_0001", "test_ck_default_0001"), "default"),  # its client key
        (("ten_h", "test_sk_a_0001", None), "ten_a"),  # another tenant's secret key
    ],
)
async def test_an_account_with_keys_that_are_anothers_reaches_nothing(
    own: tuple[str, str, str | None], shares_with: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Set up before set-toss checked keys, or by hand: no call goes out on it, so neither
    tenant can confirm, adopt or refund the other's payments. Every path that passes over an
    account it cannot reach (the reconciler, the webhook processor) passes over this one; the
    doors answer 503; the operator is told which accounts share keys."""
    accounts = directory(Accounts(("ten_a", "test_sk_a_0001", "test_ck_a_0001"), own))
    with pytest.raises(SharedPgAccount) as refused:
        await accounts.gateway("ten_h")
    assert (
        isinstance(refused.value, UnknownPgAccount) and refused.value.code == "SERVICE_UNAVAILABLE"
    )
    assert any("ten_h" in r.message and shares_with in r.message for r in caplog.records)
    assert (await accounts.account(DEFAULT_PG_ACCOUNT)) is DEFAULT


async def test_a_row_sealed_under_a_retired_key_is_left_out_not_held_against_the_others() -> None:
    retired = FernetSecretBox([new_key().encode()])
    store = Accounts(("ten_a", "test_sk_a_0001", "test_ck_a_0001"))
    store._sealed["ten_old"] = SealedPgAccount(
        "ten_old", retired.seal("test_sk_old_0001"), None, None, NOW, NOW
    )
    assert (await directory(store).account("ten_a")).secret_key == "test_sk_a_0001"


async def test_an_account_refused_for_shared_keys_is_not_looked_at_again_for_a_while() -> None:
    """Each look costs every row's digest; a refusal is kept as long as an opened account is,
    so deliveries to its webhook URL cannot make the service scan again and again."""
    store = Accounts(("ten_a", "test_sk_a_0001", None), ("ten_h", "test_sk_a_0001", None))
    scans = 0
    own_accounts = store.own_accounts

    async def counted() -> list[SealedPgAccount]:
        nonlocal scans
        scans += 1
        return await own_accounts()

    store.own_accounts = counted  # type: ignore[method-assign]
    accounts = directory(store)
    for _ in range(3):
        with pytest.raises(SharedPgAccount):
            await accounts.account("ten_h")
    assert scans == 1


async def test_an_account_not_admitted_reaches_nothing_and_is_asked_again_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The embedded sandbox refused to give the account books of its own (someone registered
    its public client key first): its key would reach the default books, where other tenants'
    payments are. It answers as an account with shared keys does, and is asked again once the
    refusal has aged like an opened account."""
    clock = [0.0]
    verdicts: list[str | None] = ["clientKey belongs to another account", None]
    asked: list[str] = []

    async def admit(account: PgAccount) -> str | None:
        asked.append(account.id)
        return verdicts[len(asked) - 1]

    accounts = PgAccountDirectory(
        DEFAULT,
        Accounts(("ten_a", "test_sk_a_0001", "test_ck_a_0001")),
        BOX,
        lambda account: FakeGateway(),
        admit=admit,
        monotonic=lambda: clock[0],
    )
    for _ in range(2):
        with pytest.raises(SharedPgAccount) as refused:
            await accounts.gateway("ten_a")
        assert refused.value.code == "SERVICE_UNAVAILABLE"
    with pytest.raises(SharedPgAccount):  # inside a transaction too
        accounts.gateway_at_hand("ten_a")
    assert asked == ["ten_a"]
    assert any("ten_a" in r.message and "belongs to another" in r.message for r in caplog.records)
    clock[0] += ACCOUNT_CACHE_SECONDS
    assert (await accounts.account("ten_a")).secret_key == "test_sk_a_0001"
    assert asked == ["ten_a", "ten_a"]
    assert (await accounts.account(DEFAULT_PG_ACCOUNT)) is DEFAULT  # never asked


@pytest.mark.parametrize(
    "secret", ["test_sk_a\u200b0001xyz", "test_sk_a 0001xyz", "test_sk_á0001xyz"]
)
def test_a_key_with_a_character_no_toss_key_has_is_refused(secret: str) -> None:
    with pytest.raises(AccountRefused, match="character no Toss key has"):
        check_account_keys(secret, None, production=False)


async def test_inside_a_transaction_an_account_is_at_hand_only_when_no_read_is_needed() -> None:
    """A transaction never waits for a second connection to read an account: the default is
    always at hand, an own account only while its opened copy is fresh."""
    clock = [0.0]
    accounts = directory(Accounts(("ten_a", "test_sk_a_0001", None)), lambda: clock[0])
    assert accounts.gateway_at_hand(DEFAULT_PG_ACCOUNT) is not None
    assert accounts.gateway_at_hand("ten_a") is None
    opened = await accounts.gateway("ten_a")
    assert accounts.gateway_at_hand("ten_a") is opened
    clock[0] += ACCOUNT_CACHE_SECONDS
    assert accounts.gateway_at_hand("ten_a") is None
    with pytest.raises(QuarantinedPayment):
        accounts.gateway_at_hand(QUARANTINED + "pay_1")


async def test_a_transaction_that_needed_an_account_runs_again_once_it_is_read() -> None:
    accounts = directory(Accounts(("ten_a", "test_sk_a_0001", None)))
    runs = 0

    async def transaction() -> str:
        nonlocal runs
        runs += 1
        return gateway_within(accounts, "ten_a").__class__.__name__

    assert await with_account_at_hand(accounts, transaction) == "FakeGateway"
    assert runs == 2


async def test_an_account_that_ages_out_on_every_read_ends_in_nothing_sent() -> None:
    clock = [0.0]

    def monotonic() -> float:  # every read is stale by the time the transaction asks
        clock[0] += ACCOUNT_CACHE_SECONDS
        return clock[0]

    accounts = directory(Accounts(("ten_a", "test_sk_a_0001", None)), monotonic)
    with pytest.raises(PgUnavailable, match="nothing was sent"):
        await with_account_at_hand(accounts, lambda: _needs(accounts))


async def _needs(accounts: PgAccountDirectory) -> None:
    gateway_within(accounts, "ten_a")
