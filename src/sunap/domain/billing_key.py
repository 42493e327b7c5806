"""The BillingKey aggregate: a customer's stored card at the PG, which we may charge.

The PG's own key is a credential: the aggregate holds it only sealed (by the application's secret
box) and as a digest to recognise the PG's deletion notice; it never leaves in a resource or event.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from . import events as ev
from .aggregate import Aggregate, DomainEvent
from .errors import IllegalTransition
from .payment import CardDetails


class BillingKeyStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    DELETED = "DELETED"


K = BillingKeyStatus
TRANSITIONS: dict[BillingKeyStatus, frozenset[BillingKeyStatus]] = {
    K.ACTIVE: frozenset({K.DELETED}),
    K.DELETED: frozenset(),
}


@dataclass(eq=False)
class BillingKey(Aggregate):
    aggregate_type: ClassVar[str] = "billing_key"
    id: str
    tenant_id: str
    pg_account_id: str  # the PG account that issued it: every charge goes there
    customer_key: str
    method: str
    card: CardDetails | None
    status: BillingKeyStatus
    sealed_credential: bytes = field(repr=False)
    credential_digest: str = field(repr=False)  # sha256 of the PG's key
    created_at: datetime = field(kw_only=True)
    updated_at: datetime = field(kw_only=True)
    deleted_at: datetime | None = None
    version: int = 0
    event_sequence: int = 0
    events: list[DomainEvent] = field(default_factory=list, repr=False)

    @classmethod
    def issue(
        cls,
        *,
        id: str,
        tenant_id: str,
        pg_account_id: str,
        customer_key: str,
        card: CardDetails | None,
        sealed_credential: bytes,
        credential_digest: str,
        now: datetime,
    ) -> BillingKey:
        key = cls(
            id=id,
            tenant_id=tenant_id,
            pg_account_id=pg_account_id,
            customer_key=customer_key,
            method="CARD",
            card=card,
            status=K.ACTIVE,
            sealed_credential=sealed_credential,
            credential_digest=credential_digest,
            created_at=now,
            updated_at=now,
        )
        key._record(ev.BillingKeyIssued)
        return key

    @property
    def is_active(self) -> bool:
        return self.status is K.ACTIVE

    def delete(self, now: datetime) -> bool:
        """False when it was deleted already (the PG's notice after our own delete)."""
        if self.status is K.DELETED:
            return False
        self._move_to(K.DELETED, now)
        self.deleted_at = now
        self._record(ev.BillingKeyDeleted)
        return True

    def _move_to(self, target: BillingKeyStatus, now: datetime) -> None:
        if target not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"{self.status} -> {target} is not a legal transition.")
        self.status = target
        self.updated_at = now

    def _record(self, event_type: type[ev.BillingKeyEvent]) -> None:
        self.events.append(event_type(billing_key_id=self.id, sequence=self._next_sequence()))
