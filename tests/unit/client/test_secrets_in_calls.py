"""A request the client builds holds what it sends, credentials included; printed (a repr, a
log line, a traceback's locals) it shows none: the authKey that issues a billing key is masked."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from sunap_client import calls
from tests.unit.client.test_billing_calls import BILLING_KEY
from tests.unit.client.test_retries import Script, client

AUTH_KEY = "bln_auth_5e1f0c9a7d3b2e8f"


def test_an_issue_call_sends_the_auth_key_and_its_repr_masks_it() -> None:
    call = calls.issue_billing_key(auth_key=AUTH_KEY, customer_key="cust-1", idempotency_key="k1")

    assert call.json is not None and call.json["authKey"] == AUTH_KEY  # what goes to Sunap
    for shown in (repr(call), str(call), f"{call}", f"{[call]}"):
        assert AUTH_KEY not in shown
        assert "'authKey': '[REDACTED]'" in shown
        assert "'customerKey': 'cust-1'" in shown and "'k1'" in shown  # the rest as it is


def test_no_log_line_of_an_issue_shows_the_auth_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(httpx.Response(200, json=BILLING_KEY))
    with client(script) as sunap:
        key = sunap.billing_keys.issue(auth_key=AUTH_KEY, customer_key="cust-1")
    call = calls.issue_billing_key(auth_key=AUTH_KEY, customer_key="cust-1", idempotency_key=None)
    logging.getLogger("shop").info("sent %s, then %r", call, call)

    assert key.id == "bk_1"
    assert json.loads(script.requests[0].content)["authKey"] == AUTH_KEY
    assert caplog.records and AUTH_KEY not in caplog.text


def test_a_refund_accounts_number_is_sent_and_shown_nowhere() -> None:
    from sunap_client.models import RefundAccount

    account = RefundAccount(bank="88", account_number="110987654321", holder_name="홍길동")
    call = calls.cancel_payment(
        "pay_1",
        cancel_reason="환불",
        cancel_amount=None,
        tax_free_amount=None,
        refund_receive_account=account,
        idempotency_key="k2",
    )

    assert call.json is not None
    assert call.json["refundReceiveAccount"]["accountNumber"] == "110987654321"
    for shown in (repr(call), repr(account), f"{[call]}"):
        assert "110987654321" not in shown
