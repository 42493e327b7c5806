"""The dashboard's cancel form read into the API's cancel: a refund account is taken whole and
only if the API would take it (the browser test shows the page's refusal end to end)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sunap.application.commands import CancelPayment
from sunap.application.ports.gateway import RefundAccount
from sunap.application.web_sessions import WebSession
from sunap.entrypoints.web.dashboard import _cancel_command

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SESSION = WebSession("s", "k", "t", "shop", "default", frozenset({"admin"}), "c", NOW, NOW, NOW)


def _form(bank: str, number: str, holder: str) -> dict[str, str]:
    return {
        "cancel_reason": "단순 변심",
        "expected_balance": "15000",
        "refund_bank": bank,
        "refund_account_number": number,
        "refund_holder_name": holder,
    }


def test_an_account_the_api_takes_is_sent_as_entered_less_surrounding_spaces() -> None:
    command = _cancel_command(SESSION, "p1", _form(" 88 ", "1" * 20, "김" * 60))
    assert isinstance(command, CancelPayment)
    assert command.refund_account == RefundAccount("88", "1" * 20, "김" * 60)


@pytest.mark.parametrize(
    ("bank", "number", "holder"),
    [
        ("88", "1" * 21, "김토스"),
        ("88", "110-123-456789", "김토스"),
        ("88", "١٢٣", "김토스"),  # digits, but not ASCII ones
        ("8" * 21, "11012345678901", "김토스"),
        ("88", "11012345678901", "김" * 61),
        ("8\t8", "11012345678901", "김토스"),
        ("88", "11012345678901", "김\x85토스"),
        ("88", "", "김토스"),
    ],
)
def test_an_account_the_api_refuses_is_refused_never_shortened(
    bank: str, number: str, holder: str
) -> None:
    assert _cancel_command(SESSION, "p1", _form(bank, number, holder)) == "INVALID_REFUND_ACCOUNT"


def test_the_form_names_the_balance_it_was_drawn_with_and_a_typed_amount() -> None:
    """Held to the balance the operator saw; an empty amount is no longer "everything"."""
    form = {"cancel_reason": "파손", "expected_balance": "8,000", "cancel_amount": "1,000"}
    command = _cancel_command(SESSION, "p1", form)
    assert isinstance(command, CancelPayment)
    assert (command.amount, command.expected_cancelable) == (1000, 8000)
    assert _cancel_command(SESSION, "p1", form | {"cancel_amount": ""}) == "INVALID_AMOUNT"
    without_balance = {k: v for k, v in form.items() if k != "expected_balance"}
    assert _cancel_command(SESSION, "p1", without_balance) == "INVALID_REQUEST"
    ready = {"cancel_reason": "주문 취소", "expected_balance": "15000"}  # no amount field
    command = _cancel_command(SESSION, "p1", ready)
    assert isinstance(command, CancelPayment) and command.amount is None


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("1000", 1000), ("10,000", 10000), (" 1,234,567 ", 1234567), ("999,999,999,999", 10**12 - 1)],
)
def test_an_amount_in_digits_or_grouped_by_thousands_is_taken(typed: str, amount: int) -> None:
    form = {
        "cancel_reason": "파손",
        "expected_balance": "999,999,999,999",
        "cancel_amount": typed,
    }
    command = _cancel_command(SESSION, "p1", form)
    assert isinstance(command, CancelPayment) and command.amount == amount


@pytest.mark.parametrize(
    "typed",
    # A misplaced comma is a typo: "1,0000" was read as 10,000 (a mistyped 1,000, ten times it).
    [
        *("1,0000", "15,00", "1,2,3", ",100", "100,", "1234,567", "1,,000", "1 000", "1.000"),
        *("0", "-1", "1e3", "１５０００", "1,000,000,000,000", "1" * 13),
    ],
)
def test_any_other_amount_is_refused_with_its_own_message(typed: str) -> None:
    form = {"cancel_reason": "파손", "expected_balance": "20,000", "cancel_amount": typed}
    assert _cancel_command(SESSION, "p1", form) == "INVALID_AMOUNT"
