"""Take a PG's webhook delivery: check its shape and signature, store it once, answer fast.

Nothing in the body is trusted for money here; the processor re-fetches the payment from the PG
before applying anything. Two checks happen before storing because they need no PG call: a signed
delivery must verify, and a deposit callback must carry the `secret` the PG gave us for its payment.
The PG's wire format (shapes, headers, signatures, what is masked) is its adapter's, behind
`WebhookFormat`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sunap.domain.payment import PaymentStatus

from . import audit
from .audit_kinds import AuditStatus, webhook_type
from .deps import Deps
from .pg_accounts import DEFAULT_PG_ACCOUNT, PgAccount
from .ports.webhook_format import NoticeKind, SignatureInvalid, WebhookMalformed, WebhookNotice
from .ports.webhook_inbox import DeliveryStatus, WebhookDelivery, WebhookInbox

log = logging.getLogger("sunap.webhooks")

# Room for the account id in front of the key; a longer key is stored as its digest.
MAX_DEDUP_KEY = 400


class WebhookRejected(Exception):
    def __init__(self, status: int, code: str, message: str, *, early: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.event_type: str | None = None  # when the body said it before it was refused
        # Refused only because it came before we could check it (a deposit callback for a
        # payment whose confirm has not told us its secret yet): the caller sees the same
        # refusal; the metrics count it apart, as Toss's resend of a genuine one is routine.
        self.early = early


@dataclass(frozen=True)
class WebhookReceipt:
    delivery_id: str  # for a duplicate, the delivery stored first: the one kept and acted on
    duplicate: bool
    event_type: str = ""
    ignored: bool = False  # an event type we record but do not act on: settled as it came in


def dedup_key(notice: WebhookNotice, pg_account_id: str) -> str:
    """The same change delivered twice (a retry, or two registrations) to one account maps to
    one key; the same change on two accounts never does."""
    key = notice.content_key
    if len(key) > MAX_DEDUP_KEY:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return f"{pg_account_id}:{key}"


async def receive_toss_webhook(
    body: bytes,
    headers: Mapping[str, str],
    inbox: WebhookInbox,
    deps: Deps,
    account: PgAccount,
) -> WebhookReceipt:
    """Check and store one delivery that arrived at `account`'s webhook URL (header names
    lower-case). Raises WebhookRejected for what must change nothing: malformed bodies (400),
    bad signatures or deposit secrets (401)."""
    wire = deps.webhook_format
    signing_secrets = list(account.webhook_secrets)
    signed = wire.is_signed(headers)
    if signed and not signing_secrets:
        # A signature nothing here can check is not taken on trust.
        log.warning(
            "a signed webhook delivery to PG account %s was refused: no webhook secret is "
            "configured to verify it (%s)",
            account.id,
            _where_the_secret_goes(account.id),
        )
        raise WebhookRejected(
            401, "INVALID_SIGNATURE", "The delivery is signed, and no secret to verify it is set."
        )
    if signed:
        try:
            wire.verify(body, headers, signing_secrets, deps.clock.now())
        except SignatureInvalid as invalid:
            raise WebhookRejected(401, "INVALID_SIGNATURE", str(invalid)) from invalid
    try:
        notice = wire.read(body, headers)
    except WebhookMalformed as malformed:
        raise WebhookRejected(400, "INVALID_REQUEST", str(malformed)) from malformed
    try:
        if notice.signed_by_pg and signing_secrets and not signed:
            raise WebhookRejected(401, "INVALID_SIGNATURE", f"{notice.event_type} must be signed.")
        if notice.kind is NoticeKind.DEPOSIT:
            await _check_deposit_secret(notice, account.id, deps)
    except WebhookRejected as rejected:
        rejected.event_type = notice.event_type
        raise
    stored = _stored(notice, headers, len(body), account.id, deps)
    recorded = await inbox.record(stored)
    if recorded.repeats == 0:
        ignored = stored.status is DeliveryStatus.IGNORED
        return WebhookReceipt(
            stored.id, duplicate=False, event_type=notice.event_type, ignored=ignored
        )
    if recorded.repeats == 1:  # a repeated identical delivery is audited once, however often
        await _audit_duplicate(notice, stored.dedup_key, recorded.delivery_id, account.id, deps)
    return WebhookReceipt(recorded.delivery_id, duplicate=True, event_type=notice.event_type)


def _where_the_secret_goes(pg_account_id: str) -> str:
    if pg_account_id == DEFAULT_PG_ACCOUNT:
        return "set TOSS_WEBHOOK_SECRET"
    return "give it with `sunap tenants set-toss --webhook-secret-file`"


def _stored(
    notice: WebhookNotice,
    headers: Mapping[str, str],
    size: int,
    pg_account_id: str,
    deps: Deps,
) -> WebhookDelivery:
    """The delivery as it is kept: secrets digested, accounts masked, and an event we do not
    act on reduced to what says it came, settled at once."""
    now = deps.clock.now()
    acted_on = notice.kind is not NoticeKind.OTHER
    return WebhookDelivery(
        id=deps.ids.new_id("whd"),
        dedup_key=dedup_key(notice, pg_account_id),
        pg_account_id=pg_account_id,
        event_type=notice.event_type,
        headers=deps.webhook_format.kept_headers(headers),
        body=deps.webhook_format.kept_body(notice, size),
        received_at=now,
        status=DeliveryStatus.RECEIVED if acted_on else DeliveryStatus.IGNORED,
        processed_at=None if acted_on else now,
        last_error=None if acted_on else f"{notice.event_type} is recorded, not acted on",
    )


async def _check_deposit_secret(notice: WebhookNotice, pg_account_id: str, deps: Deps) -> None:
    """Refuse a deposit callback whose secret is not the one the PG gave for its payment: 401
    alike for an order we do not have, one that can take no deposit, and one whose secret we do
    not hold yet, whatever its state. Answering otherwise would tell a forger which orders exist,
    or which are mid-confirm.

    We hold the secret once the PG's record of the payment has reached us: its confirm answer,
    or the reconciler's look-up of a claim whose answer was lost. A genuine callback that comes
    before (Toss sends a virtual account's issue as it approves, racing its answer to our
    confirm) is not lost: Toss sends it again after 1, 4, 16 … minutes (docs/toss.md), by when
    we hold the secret, and the record we learn the secret from shows any deposit made before.
    Asking Toss here instead would make an anonymous request wait on a Toss call for exactly the
    orders mid-confirm: the time to answer would tell what a 200 told."""
    assert notice.order_id is not None and notice.secret_digest is not None
    message = "The deposit callback's secret does not match the payment's."
    mismatch = WebhookRejected(401, "INVALID_SIGNATURE", message)
    async with deps.uow() as uow:
        payment = await uow.payments.get_by_account_order(pg_account_id, notice.order_id)
        if payment is None:
            raise mismatch
        if payment.deposit_secret_digest is None:
            early = payment.status is PaymentStatus.IN_PROGRESS
            raise WebhookRejected(401, "INVALID_SIGNATURE", message, early=early)
        if hmac.compare_digest(notice.secret_digest, payment.deposit_secret_digest):
            return
        audit.record(
            uow,
            deps,
            payment,
            webhook_type(notice.event_type),
            AuditStatus.REJECTED,
            request={"orderId": notice.order_id, "reportedStatus": notice.reported_status},
            response={"reason": "the secret does not match"},
        )
        await uow.commit()
    raise mismatch


async def _audit_duplicate(
    notice: WebhookNotice, key: str, first_id: str, pg_account_id: str, deps: Deps
) -> None:
    """A delivery seen before changes nothing, but the payment's trail shows it arrived."""
    async with deps.uow() as uow:
        if notice.payment_key is not None:
            found = await uow.payments.get_by_payment_key(pg_account_id, notice.payment_key)
            payments = [] if found is None else [found]
        elif notice.kind is NoticeKind.DEPOSIT and notice.order_id is not None:
            offered = notice.secret_digest or ""
            found = await uow.payments.get_by_account_order(pg_account_id, notice.order_id)
            payments = [
                p
                for p in ([] if found is None else [found])
                if p.deposit_secret_digest is not None
                and hmac.compare_digest(offered, p.deposit_secret_digest)
            ]
        else:
            return
        for payment in payments:
            audit.record(
                uow,
                deps,
                payment,
                webhook_type(notice.event_type),
                AuditStatus.DUPLICATE,
                request={
                    "deliveryId": first_id,  # the delivery it repeats
                    "dedupKey": key,
                    "reportedStatus": notice.reported_status,
                },
            )
        if payments:
            await uow.commit()
