"""Billing keys: issue one at the PG, look them up, charge one now, delete one (at the PG, then
here, canceling its subscriptions). The PG's key is sealed before it is stored and opened only in
memory, right before a call that needs it."""

from __future__ import annotations

import hashlib
import logging

from sunap.domain.billing_key import BillingKey
from sunap.domain.errors import BillingKeyNotActive, BillingKeyNotFound
from sunap.domain.payment import Payment, PaymentStatus

from .audit import record_subject, record_subscription_change
from .audit_kinds import AuditStatus, AuditType, FamilyType
from .billing_charges import ChargeVerdict, claim_payment, send_charge, unknown_charge
from .billing_commands import ChargeBillingKey, IssueBillingKey
from .create_payment import refuse_reserved_order_id
from .deps import Deps
from .errors import (
    BillingRefused,
    IdempotencyKeyReused,
    PaymentRejected,
    PgTimeout,
    PgUnavailable,
    SecretsKeyMissing,
)
from .pg_accounts import gateway_within, with_account_at_hand
from .ports.billing import BillingKeyPage, BillingQuery
from .ports.gateway import GatewayDeclined, GatewayError, GatewayNotFound, GatewayUnknown
from .presenters import payment_resource
from .secrets import SecretsUnavailable

log = logging.getLogger("sunap.billing")


def credential_digest(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


async def issue_billing_key(cmd: IssueBillingKey, deps: Deps) -> BillingKey:
    gateway = await deps.accounts.gateway(cmd.pg_account_id)
    if not gateway.accepts_new_operations():
        raise PgUnavailable("The payment gateway is unavailable; nothing was sent. Retry later.")
    _require_box(deps)  # refuse before the PG issues a key we could not keep
    try:
        issued = await gateway.issue_billing_key(
            auth_key=cmd.auth_key,
            customer_key=cmd.customer_key,
            idempotency_key=issue_idempotency_key(cmd),
        )
    except (GatewayDeclined, GatewayNotFound) as refused:
        raise BillingRefused(refused.code, refused.message) from None
    except GatewayError as error:
        raise ask_again(
            error, "the card registration", "the same request again (the same authKey)"
        ) from None
    now = deps.clock.now()
    digest = credential_digest(issued.billing_key)
    key = BillingKey.issue(
        id=deps.ids.new_id("bk"),
        tenant_id=cmd.tenant_id,
        pg_account_id=cmd.pg_account_id,
        customer_key=issued.customer_key or cmd.customer_key,
        card=issued.card,
        sealed_credential=deps.billing.box.seal(issued.billing_key),
        credential_digest=digest,
        now=now,
    )
    async with deps.uow() as uow:
        kept = await uow.billing_keys.get_by_digest(cmd.pg_account_id, digest)
        if kept is not None and kept.tenant_id == cmd.tenant_id:
            return kept  # the same registration sent again: Toss answered it as the first time
        uow.billing_keys.add(key)
        record_subject(
            uow, deps, key.tenant_id, key.id, AuditType.BILLING_KEY_ISSUED, AuditStatus.OK
        )
        await uow.commit()
    return key


def ask_again(error: GatewayError, what: str, again: str) -> PgTimeout | PgUnavailable:
    """The answer to a registration or a deletion whose outcome is unknown. No one finds it out
    later (no reconciler follows either, unlike a charge): the caller does, by sending it again,
    which is safe. A registration sent again gets Toss's first answer (its Toss key is made from
    the authKey) and the one billing key; a deletion sent again deletes, or finds the key gone at
    Toss and deletes it here. Said to be "being checked", the caller was told to wait for
    nothing."""
    advice = f"Send {again} to learn the outcome: it is done once however often it is sent."
    if isinstance(error, GatewayUnknown) and error.timed_out:
        return PgTimeout(f"The payment gateway did not answer {what} in time. {advice}")
    return PgUnavailable(
        f"The payment gateway could not be reached for {what}, or its answer was lost. {advice}"
    )


def issue_idempotency_key(cmd: IssueBillingKey) -> str:
    """The Toss key of a card registration: the same for the same authKey of the same tenant, so
    that sending it again (its process died before the billing key was kept) gets Toss's first
    answer, where a new key gets a refusal (an authKey is used once) and a billing key no one
    keeps. Another tenant sending that authKey has another key: Toss refuses it."""
    identity = f"{cmd.tenant_id}\n{cmd.pg_account_id}\n{cmd.auth_key}".encode()
    return f"sunap-issue-{hashlib.sha256(identity).hexdigest()[:40]}"


async def get_billing_key(tenant_id: str, key_id: str, deps: Deps) -> BillingKey:
    async with deps.uow() as uow:
        key = await uow.billing_keys.get(tenant_id, key_id)
    if key is None:
        raise BillingKeyNotFound()
    return key


async def list_billing_keys(tenant_id: str, query: BillingQuery, deps: Deps) -> BillingKeyPage:
    async with deps.uow() as uow:
        return await uow.billing_keys.list(tenant_id, query)


async def delete_billing_key(tenant_id: str, key_id: str, deps: Deps) -> BillingKey:
    """At the PG first: a key we forget but the PG keeps could still be charged."""
    key = await get_billing_key(tenant_id, key_id, deps)
    if not key.is_active:
        return key
    gateway = await deps.accounts.gateway(key.pg_account_id)
    try:
        await gateway.delete_billing_key(deps.billing.box.open(key.sealed_credential))
    except GatewayNotFound:
        pass  # the PG no longer has it: deleted there already
    except GatewayError as error:
        raise ask_again(error, "the billing key's deletion", "the same DELETE again") from None
    return await forget_billing_key(key.id, deps, AuditType.BILLING_KEY_DELETED)


async def forget_billing_key(
    key_id: str, deps: Deps, audit_type: AuditType | FamilyType
) -> BillingKey:
    """The PG no longer holds the key: DELETED here, and its live subscriptions CANCELED."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        key = await uow.billing_keys.get_any_tenant(key_id, for_update=True)
        assert key is not None
        if key.delete(now):
            record_subject(uow, deps, key.tenant_id, key.id, audit_type, AuditStatus.OK)
            for sub_id in await uow.subscriptions.live_on_billing_key(key.id):
                sub = await uow.subscriptions.get_any_tenant(sub_id, for_update=True)
                if sub is not None:
                    sub.billing_key_deleted(now)
                    record_subscription_change(uow, deps, sub, AuditType.SUBSCRIPTION_CANCELED)
            await uow.commit()
    return key


async def charge_billing_key(cmd: ChargeBillingKey, deps: Deps) -> Payment:
    """One charge now: DONE, or PaymentRejected (ABORTED), or an unknown outcome the reconciler
    settles; never charged twice."""
    refuse_reserved_order_id(cmd.order_id)
    payment, earlier = await with_account_at_hand(deps.accounts, lambda: _claim_charge(cmd, deps))
    if payment.status is not PaymentStatus.IN_PROGRESS:  # this request's, charged before
        return answer_of_charge(payment)
    result = await send_charge(payment.id, deps, again=earlier)
    if result.verdict is ChargeVerdict.UNKNOWN:
        unknown = unknown_charge(result)
        unknown.extra = {"payment": payment_resource(result.payment)}
        raise unknown
    return answer_of_charge(result.payment)  # approved, or its refusal


async def _claim_charge(cmd: ChargeBillingKey, deps: Deps) -> tuple[Payment, bool]:
    """The charge's payment, IN_PROGRESS with its outbound key, before anything is sent, and
    whether an earlier request under the key claimed it (its charge may have been sent)."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        key = await uow.billing_keys.get(cmd.tenant_id, cmd.billing_key_id)
        if key is None:
            raise BillingKeyNotFound()
        if not key.is_active:
            raise BillingKeyNotActive("A deleted billing key cannot be charged.")
        gateway = gateway_within(deps.accounts, key.pg_account_id)
        if not gateway.accepts_new_operations():
            raise PgUnavailable("The payment gateway is unavailable; nothing was sent.")
        charge_id = f"ord_{cmd.request_key}" if cmd.request_key else deps.ids.new_id("ord")
        order_id = cmd.order_id or charge_id.replace("_", "-")
        outbound_key = f"sunap-charge-{charge_id}"
        if cmd.request_key is not None:
            earlier = await uow.payments.get_by_order_id(cmd.tenant_id, order_id)
            # This request's charge, sent again once its key let go (a crash): never twice. A
            # payment of another request with the orderId is refused below as taken.
            if earlier is not None and earlier.confirm_idempotency_key == outbound_key:
                _require_same_charge(earlier, cmd)
                return earlier, True  # IN_PROGRESS: sent again under its own Toss key
        payment = claim_payment(
            uow,
            deps,
            key,
            order_id=order_id,
            order_name=cmd.order_name,
            amount=cmd.amount,
            idempotency_key=outbound_key,
            now=now,
            metadata=cmd.metadata,
            tax_free_amount=cmd.tax_free_amount,
        )
        await uow.commit()  # a taken orderId: DuplicateOrderId, nothing sent
        return payment, False


def _require_same_charge(earlier: Payment, cmd: ChargeBillingKey) -> None:
    same = (earlier.billing_key_id, earlier.amount, earlier.order_name) == (
        cmd.billing_key_id,
        cmd.amount,
        cmd.order_name,
    )
    if not same:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another charge; use a new key for a new request."
        )


def answer_of_charge(payment: Payment) -> Payment:
    """A charge the PG has answered: the payment, or its refusal."""
    if payment.status is PaymentStatus.ABORTED:
        failure = payment.failure
        code, message = (failure.code, failure.message) if failure else ("REJECTED", "refused")
        raise PaymentRejected(payment, code, message)
    return payment


def _require_box(deps: Deps) -> None:
    try:
        deps.billing.box.seal("probe")
    except SecretsUnavailable as missing:
        raise SecretsKeyMissing(str(missing)) from None
