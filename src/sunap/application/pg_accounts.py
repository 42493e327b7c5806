"""PG merchant accounts: the service's default one, and a tenant's own.

The PG knows orders, payment keys and webhooks per merchant account, so every payment records the
account it was made on, and every call about it goes to that account with that account's key.
Credentials of tenants' own accounts are stored sealed (SecretBox) and opened here, in memory, for
as long as a cached copy lives.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar
from urllib.parse import quote

from .errors import PgUnavailable, QuarantinedPayment, SharedPgAccount, UnknownPgAccount
from .ports.gateway import PaymentGateway
from .secrets import SecretBox, SecretsUnavailable

log = logging.getLogger("sunap.accounts")

T = TypeVar("T")

DEFAULT_PG_ACCOUNT = "default"
# How long an opened account is trusted before its row is read again (a rotated key takes effect).
ACCOUNT_CACHE_SECONDS = 30.0
SECRET_KEY_PREFIXES = ("test_sk_", "live_sk_", "test_gsk_", "live_gsk_")


QUARANTINED = "quarantined:"  # an account no payment can reach: see migration 0002


@dataclass(frozen=True)
class PgAccount:
    """An account as the service uses it: credentials opened, in memory only."""

    id: str
    secret_key: str = field(repr=False)
    client_key: str | None = None
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def is_live(self) -> bool:
        return self.secret_key.startswith("live_")


@dataclass(frozen=True)
class SealedPgAccount:
    """A tenant's own account as stored: its secrets sealed."""

    id: str
    secret_key_sealed: bytes = field(repr=False)
    client_key: str | None
    webhook_secret_sealed: bytes | None = field(repr=False)
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TenantAccount:
    """One line of `sunap tenants list`: never a secret."""

    tenant_id: str
    tenant_name: str
    pg_account_id: str
    client_key: str | None
    has_webhook_secret: bool
    updated_at: datetime | None


class PgAccountStore(Protocol):
    async def get(self, account_id: str) -> SealedPgAccount | None: ...

    async def give_tenant_own_account(self, tenant_id: str, account: SealedPgAccount) -> None:
        """Store the account (replacing an older one of the same id) and make it the tenant's,
        in one transaction: the tenant's new payments are made on it from then on."""
        ...

    async def tenants(self) -> list[TenantAccount]: ...

    async def own_accounts(self) -> list[SealedPgAccount]:
        """Every tenant's own account, sealed."""
        ...

    async def own_account_of(self, tenant_name: str) -> str | None:
        """The id of the tenant's own account; None if it has none (or no such tenant)."""
        ...

    async def tenant_of_account(self, account_id: str) -> str | None:
        """The name of the tenant whose own account this is; None if no tenant's."""
        ...


def tenant_webhook_path(tenant: str) -> str:
    """Where Toss must send the webhooks of the tenant's own account: the name percent-encoded,
    since a name may hold `?`, `#`, spaces or Korean (the route decodes it back)."""
    return f"/v1/webhooks/toss/{quote(tenant, safe='')}"


class PgAccounts(Protocol):
    """Every account the service can reach, and a gateway speaking for each."""

    async def account(self, account_id: str) -> PgAccount:
        """Raises UnknownPgAccount."""
        ...

    async def gateway(self, account_id: str) -> PaymentGateway:
        """Raises UnknownPgAccount."""
        ...

    def gateway_at_hand(self, account_id: str) -> PaymentGateway | None:
        """The gateway when no read of the store is needed (the default account, or one
        opened a moment ago); None when `gateway()` would read it first."""
        ...


class PgAccountDirectory:
    """PgAccounts over the default account and a store of sealed ones. One gateway per account
    and key, kept across cache refreshes, so each account has its own circuit breaker."""

    def __init__(
        self,
        default: PgAccount,
        store: PgAccountStore,
        box: SecretBox,
        make_gateway: Callable[[PgAccount], PaymentGateway],
        *,
        admit: Callable[[PgAccount], Awaitable[str | None]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._default = default
        self._store = store
        self._box = box
        self._make_gateway = make_gateway
        # Asked each time an own account is opened: None, or why nothing may be sent on it
        # (the embedded sandbox would not give it books of its own).
        self._admit = admit
        self._monotonic = monotonic
        self._opened: dict[str, tuple[float, PgAccount]] = {}
        self._gateways: dict[tuple[str, str], PaymentGateway] = {}
        # Digests of own accounts' secret keys by id, with the row's updated_at: the check for
        # shared keys opens a row again only once it has changed.
        self._digests: dict[str, tuple[datetime, str]] = {}
        # Accounts nothing may be sent on (shared keys, not admitted), when, and what to answer.
        self._refused: dict[str, tuple[float, str]] = {}

    async def account(self, account_id: str) -> PgAccount:
        now = self._monotonic()
        at_hand = self._at_hand(account_id, now)
        if at_hand is not None:
            return at_hand
        sealed = await self._store.get(account_id)
        if sealed is None:
            raise UnknownPgAccount(f"No PG account {account_id!r}.")
        account = open_account(sealed, self._box)
        holder = await holder_of_keys(
            account, self._default, self._store, self._box, known=self._digests
        )
        if holder is not None:
            # Toss keeps one set of orders and payment keys per account: two tenants on one
            # account as if on two would each reach the other's payments. Nothing is sent.
            log.error("PG account %s is also %s's; nothing is sent on it", account_id, holder)
            raise self._refuse(account_id, now, SHARED_KEYS)
        refusal = await self._admit(account) if self._admit is not None else None
        if refusal is not None:
            log.error(
                "PG account %s cannot be used: %s; nothing is sent on it", account_id, refusal
            )
            raise self._refuse(account_id, now, NOT_ADMITTED)
        self._refused.pop(account_id, None)
        self._opened[account_id] = (now, account)
        return account

    async def gateway(self, account_id: str) -> PaymentGateway:
        return self._gateway_of(await self.account(account_id))

    def gateway_at_hand(self, account_id: str) -> PaymentGateway | None:
        account = self._at_hand(account_id, self._monotonic())
        return None if account is None else self._gateway_of(account)

    def _at_hand(self, account_id: str, now: float) -> PgAccount | None:
        """The account if no store read is needed for it, else None; raises what a read
        would not change."""
        if account_id == DEFAULT_PG_ACCOUNT:
            return self._default
        if account_id.startswith(QUARANTINED):
            raise QuarantinedPayment(
                "This payment's orderId was also used by another payment on the same Toss "
                "account; it is set aside for a person to review."
            )
        cached = self._opened.get(account_id)
        if cached is not None and now - cached[0] < ACCOUNT_CACHE_SECONDS:
            return cached[1]
        refused = self._refused.get(account_id)
        if refused is not None and now - refused[0] < ACCOUNT_CACHE_SECONDS:
            raise SharedPgAccount(refused[1])
        return None

    def _refuse(self, account_id: str, now: float, answer: str) -> SharedPgAccount:
        self._opened.pop(account_id, None)
        self._refused[account_id] = (now, answer)
        return SharedPgAccount(answer)

    def _gateway_of(self, account: PgAccount) -> PaymentGateway:
        key = (account.id, _fingerprint(account.secret_key))
        gateway = self._gateways.get(key)
        if gateway is None:
            self._gateways = {k: g for k, g in self._gateways.items() if k[0] != account.id}
            gateway = self._gateways[key] = self._make_gateway(account)
        return gateway


class AccountNotAtHand(Exception):
    """A transaction needs an account that must first be read from the store (gateway_within)."""

    def __init__(self, account_id: str) -> None:
        super().__init__(account_id)
        self.account_id = account_id


def gateway_within(accounts: PgAccounts, account_id: str) -> PaymentGateway:
    """The account's gateway for use inside a transaction; raises AccountNotAtHand rather
    than read the store there. Run the transaction with `with_account_at_hand`."""
    gateway = accounts.gateway_at_hand(account_id)
    if gateway is None:
        raise AccountNotAtHand(account_id)
    return gateway


# One read makes an account at hand for ACCOUNT_CACHE_SECONDS: a second miss in a row is rare.
AT_HAND_ATTEMPTS = 3


async def with_account_at_hand(accounts: PgAccounts, run: Callable[[], Awaitable[T]]) -> T:
    """Run `run`, a transaction that asks `gateway_within` for an account. If the account must
    first be read, `run` leaves (rolled back, nothing written), the account is read with no
    transaction open, and `run` goes again. A transaction holding a connection and a row lock
    must not wait for another connection: with the pool full of such transactions, every one
    of them would wait on the others until the pool timed out."""
    for _ in range(AT_HAND_ATTEMPTS):
        try:
            return await run()
        except AccountNotAtHand as missing:
            await accounts.gateway(missing.account_id)
    raise PgUnavailable("The payment gateway account could not be read; nothing was sent.")


def open_account(sealed: SealedPgAccount, box: SecretBox) -> PgAccount:
    webhook = box.open(sealed.webhook_secret_sealed) if sealed.webhook_secret_sealed else ""
    return PgAccount(
        id=sealed.id,
        secret_key=box.open(sealed.secret_key_sealed),
        client_key=sealed.client_key,
        webhook_secrets=split_secrets(webhook),
    )


def split_secrets(raw: str) -> tuple[str, ...]:
    """One webhook signing secret, or two separated by a comma while rotating."""
    return tuple(s.strip() for s in raw.split(",") if s.strip())


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def holder_of_keys(
    account: PgAccount,
    default: PgAccount | None,
    store: PgAccountStore,
    box: SecretBox,
    *,
    known: dict[str, tuple[datetime, str]] | None = None,
) -> str | None:
    """The id of another account with `account`'s secret key or client key (the default one
    included, when it is known), or None. A Toss account is its keys: two ids for one account
    would split one set of orders and payment keys between two tenants. `known` keeps the
    digests of rows already opened, by id and updated_at. A row that cannot be opened (sealed
    under a key no longer configured) is left out, with a warning, not held against others."""
    mine = _fingerprint(account.secret_key)
    if default is not None and (
        hmac.compare_digest(mine, _fingerprint(default.secret_key))
        or _same_client(account, default)
    ):
        return DEFAULT_PG_ACCOUNT
    for sealed in await store.own_accounts():
        if sealed.id == account.id:
            continue
        if account.client_key is not None and account.client_key == sealed.client_key:
            return sealed.id
        theirs = _sealed_fingerprint(sealed, box, known)
        if theirs is not None and hmac.compare_digest(mine, theirs):
            return sealed.id
    return None


def _sealed_fingerprint(
    sealed: SealedPgAccount, box: SecretBox, known: dict[str, tuple[datetime, str]] | None
) -> str | None:
    remembered = known.get(sealed.id) if known is not None else None
    if remembered is not None and remembered[0] == sealed.updated_at:
        return remembered[1]
    try:
        digest = _fingerprint(box.open(sealed.secret_key_sealed))
    except SecretsUnavailable:
        log.warning("PG account %s cannot be opened: its keys are not compared", sealed.id)
        return None
    if known is not None:
        known[sealed.id] = (sealed.updated_at, digest)
    return digest


def _same_client(one: PgAccount, other: PgAccount) -> bool:
    return one.client_key is not None and one.client_key == other.client_key


SHARED_KEYS = (
    "This tenant's Toss account is set up with keys another account has too; "
    "nothing is sent to Toss on it until an operator sorts the accounts out."
)
NOT_ADMITTED = (
    "This tenant's Toss account cannot be used as it is set up; "
    "nothing is sent to Toss on it until an operator sorts the account out."
)


class AccountRefused(Exception):
    """The account given to `sunap tenants set-toss` cannot be used; the message says why."""


CLIENT_KEY_PREFIXES = ("test_ck_", "live_ck_", "test_gck_", "live_gck_")


def secret_key_problem(secret_key: str) -> str | None:
    """Why `secret_key` cannot be a Toss secret key, if it cannot; never quotes it. The same
    check for TOSS_SECRET_KEY (the default account) and for a tenant's own account."""
    if not secret_key.startswith(SECRET_KEY_PREFIXES) or len(secret_key) <= len("test_gsk_"):
        return "The secret key is not a Toss secret key (test_sk_… or live_sk_…)."
    return _characters_problem(secret_key, "secret key")


def _characters_problem(key: str, what: str) -> str | None:
    if not (key.isascii() and key.isprintable()) or " " in key:
        return (
            f"The {what} holds a character no Toss key has (a space, a control or a "
            "non-ASCII character: check what was pasted)."
        )
    return None


def check_account_keys(secret_key: str, client_key: str | None, *, production: bool) -> None:
    """The same rules as for the default account: a live key only in production, a test key
    never in production, and a client key of the same kind as its secret key."""
    for problem in (
        secret_key_problem(secret_key),
        _characters_problem(client_key or "", "client key"),
    ):
        if problem is not None:
            raise AccountRefused(problem)
    live = secret_key.startswith("live_")
    if live and not production:
        raise AccountRefused("A live secret key takes real money: only with SUNAP_PRODUCTION=true.")
    if not live and production:
        raise AccountRefused("SUNAP_PRODUCTION=true needs a live secret key.")
    if client_key is None:
        return
    if not client_key.startswith(CLIENT_KEY_PREFIXES):
        raise AccountRefused("The client key is not a Toss client key (test_ck_… or live_ck_…).")
    if client_key.startswith("live_") != live:
        raise AccountRefused("The client key and the secret key must both be test keys or live.")
    if ("_gck_" in client_key) != ("_gsk_" in secret_key):
        raise AccountRefused(
            "The client key and the secret key must be of one kind: the payment widget's "
            "(…_gck_ with …_gsk_) or the API's own (…_ck_ with …_sk_)."
        )


async def seal_own_account(
    tenant_id: str,
    *,
    secret_key: str,
    client_key: str | None,
    webhook_secret: str | None,
    store: PgAccountStore,
    box: SecretBox,
    now: datetime,
    production: bool,
    default: PgAccount | None = None,
) -> SealedPgAccount:
    """A tenant's own account, checked and sealed, not yet stored; AccountRefused says why not.
    Its id is the tenant's id: an own account belongs to one tenant. Keys already the default
    account's (`default`, when known) or another tenant's are refused. (Toss gives one merchant
    two key sets, `test_sk_` and `test_gsk_`: keys cannot tell those apart.)"""
    secret_key = secret_key.strip().lstrip("\ufeff")
    check_account_keys(secret_key, client_key, production=production)
    wanted = PgAccount(tenant_id, secret_key, client_key)
    holder = await holder_of_keys(wanted, default, store, box)
    if holder == DEFAULT_PG_ACCOUNT:
        raise AccountRefused(
            "These are the keys of the service's default Toss account: a tenant on that "
            "account needs no account of its own (it already shares the default)."
        )
    if holder is not None:
        raise AccountRefused(
            "These keys are already another tenant's own Toss account. Toss keeps one set of "
            "orders per account, so two tenants on one account must both use the default."
        )
    existing = await store.get(tenant_id)
    sealed = SealedPgAccount(
        id=tenant_id,
        secret_key_sealed=box.seal(secret_key),
        client_key=client_key,
        webhook_secret_sealed=box.seal(webhook_secret.strip()) if webhook_secret else None,
        created_at=existing.created_at if existing else now,
        updated_at=now,
    )
    return sealed
