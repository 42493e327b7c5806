"""Checkout link tokens: bound to one payment's id, orderId and amount, and to an expiry."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sunap.application.checkout_links import CheckoutLinks, LinkCheck
from tests.fakes.payments import NOW, new_payment

LINKS = CheckoutLinks(b"k" * 32, ttl=timedelta(hours=1))


def test_a_fresh_token_opens_its_own_payment() -> None:
    payment = new_payment()
    assert LINKS.check(LINKS.token(payment, NOW), payment, NOW) is LinkCheck.VALID


def test_a_token_does_not_open_another_payment() -> None:
    token = LINKS.token(new_payment(id="pay_a", order_id="order-a"), NOW)
    assert LINKS.check(token, new_payment(id="pay_b", order_id="order-a"), NOW) is LinkCheck.INVALID


def test_a_token_is_bound_to_the_order_id_and_the_amount() -> None:
    payment = new_payment(amount=15000)
    token = LINKS.token(payment, NOW)
    other_amount = dataclasses.replace(payment, amount=1500)
    other_order = dataclasses.replace(payment, order_id="order-9999")
    assert LINKS.check(token, other_amount, NOW) is LinkCheck.INVALID
    assert LINKS.check(token, other_order, NOW) is LinkCheck.INVALID


def test_a_token_expires_after_its_time_to_live() -> None:
    payment = new_payment()
    token = LINKS.token(payment, NOW)
    assert LINKS.check(token, payment, NOW + timedelta(minutes=59)) is LinkCheck.VALID
    assert LINKS.check(token, payment, NOW + timedelta(hours=1)) is LinkCheck.EXPIRED


def test_a_pushed_back_expiry_or_an_edited_signature_is_refused() -> None:
    payment = new_payment()
    expires, _, mac = LINKS.token(payment, NOW).partition(".")
    later = str(int(expires) + 86400)
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    assert LINKS.check(f"{later}.{mac}", payment, NOW) is LinkCheck.INVALID
    assert LINKS.check(f"{expires}.{flipped}", payment, NOW) is LinkCheck.INVALID


def test_a_token_signed_with_another_key_is_refused() -> None:
    payment = new_payment()
    foreign = CheckoutLinks(b"x" * 32).token(payment, NOW)
    assert LINKS.check(foreign, payment, NOW) is LinkCheck.INVALID


def test_garbage_in_place_of_a_token_is_refused_without_an_error() -> None:
    payment = new_payment()
    for junk in (None, "", ".", "abc", "12.", "１２.abc", "9" * 40 + ".x", "x" * 500, "-1.abc"):
        assert LINKS.check(junk, payment, NOW) is LinkCheck.INVALID
