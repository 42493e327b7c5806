"""The BillingKey aggregate: issued once, deleted once, its credential never in its repr."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sunap.domain import events as ev
from sunap.domain.billing_key import BillingKey, BillingKeyStatus
from sunap.domain.errors import IllegalTransition

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def issued() -> BillingKey:
    return BillingKey.issue(
        id="bk_1",
        tenant_id="tnt_1",
        pg_account_id="default",
        customer_key="cust-1",
        card=None,
        sealed_credential=b"sealed-credential-bytes",
        credential_digest="d" * 64,
        now=NOW,
    )


def test_an_issued_key_is_active_and_says_so_in_an_event() -> None:
    key = issued()
    assert key.status is BillingKeyStatus.ACTIVE
    assert key.events == [ev.BillingKeyIssued(billing_key_id="bk_1", sequence=1)]


def test_deleting_twice_deletes_once() -> None:
    key = issued()
    assert key.delete(NOW) is True
    assert key.delete(NOW) is False
    assert key.status is BillingKeyStatus.DELETED
    assert [e.type for e in key.events] == ["billing_key.issued", "billing_key.deleted"]


def test_the_credential_is_not_in_the_repr() -> None:
    assert "sealed-credential-bytes" not in repr(issued())
    assert "d" * 64 not in repr(issued())


def test_a_deleted_key_cannot_come_back() -> None:
    key = issued()
    key.delete(NOW)
    with pytest.raises(IllegalTransition):
        key._move_to(BillingKeyStatus.ACTIVE, NOW)
