"""The audit trail's types and statuses: named in one place, written as the same strings, and
read back whatever an older version stored."""

from __future__ import annotations

import pytest

from sunap.application.audit_kinds import (
    AuditStatus,
    AuditType,
    pg_call_type,
    read_back,
    webhook_type,
)
from sunap.application.ports.gateway import PgOperation, PgOutcome


@pytest.mark.parametrize("outcome", list(PgOutcome))
def test_every_pg_outcome_is_an_audit_status_of_the_same_value(outcome: PgOutcome) -> None:
    assert AuditStatus.of(outcome) == outcome.value


def test_the_family_types_are_the_strings_written_before() -> None:
    assert pg_call_type(PgOperation.BILLING_CHARGE) == "pg.billing.charge"
    assert pg_call_type(PgOperation.RECONCILE) == "pg.reconcile"
    assert webhook_type("DEPOSIT_CALLBACK") == "webhook.DEPOSIT_CALLBACK"
    assert type(pg_call_type(PgOperation.CONFIRM)) is str  # no enum repr can reach a row


def test_a_stored_value_this_version_names_is_read_as_its_member() -> None:
    assert read_back(AuditStatus, "duplicate") is AuditStatus.DUPLICATE
    assert read_back(AuditType, "confirm.claimed") is AuditType.CONFIRM_CLAIMED


@pytest.mark.parametrize(
    ("kind", "stored"),
    [(AuditStatus, "SUCCESS"), (AuditType, "pg.confirm"), (AuditType, "webhook.SELLER_CHANGED")],
)
def test_a_stored_value_with_no_member_is_read_as_stored(
    kind: type[AuditStatus] | type[AuditType], stored: str
) -> None:
    value = read_back(kind, stored)
    assert type(value) is str and value == stored
