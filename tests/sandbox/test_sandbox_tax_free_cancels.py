"""The tax-free part of a payment through its cancels (docs/toss.md: `vat` is
round((balance - taxFree) / 11), `suppliedAmount` the rest, both recalculated on cancel). The
tax-free part never exceeds the balance, so neither is ever negative: a full cancel takes what is
left of it, a cancel that names less takes the rest (choices.py), and one that names more than is
left is refused."""

from typing import Any

import httpx

from tests.sandbox.flows import cancel, new_order_id, paid_card_payment

MONEY = ("status", "balanceAmount", "taxFreeAmount", "suppliedAmount", "vat")


async def key_in(toss: httpx.AsyncClient, amount: int, tax_free: int) -> httpx.Response:
    return await toss.post(
        "/v1/payments/key-in",
        json={
            "amount": amount,
            "taxFreeAmount": tax_free,
            "orderId": new_order_id(),
            "orderName": "면세 상품 외 1건",
            "cardNumber": "4330123412341234",
            "cardExpirationYear": "29",
            "cardExpirationMonth": "12",
            "customerIdentityNumber": "881212",
        },
    )


async def paid_with_tax_free(toss: httpx.AsyncClient, amount: int, tax_free: int) -> str:
    approved = await key_in(toss, amount, tax_free)
    assert approved.status_code == 200, approved.text
    payment_key: str = approved.json()["paymentKey"]
    return payment_key


def money(payment: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(payment[name] for name in MONEY)


async def test_a_full_cancel_takes_the_tax_free_part_left_with_it(toss: httpx.AsyncClient) -> None:
    payment_key = await paid_with_tax_free(toss, 15000, 5000)

    full = await cancel(toss, payment_key)

    assert full.status_code == 200, full.text
    assert money(full.json()) == ("CANCELED", 0, 0, 0, 0)
    assert [c["taxFreeAmount"] for c in full.json()["cancels"]] == [5000]


async def test_a_partial_cancel_of_the_tax_free_part_then_the_rest(
    toss: httpx.AsyncClient,
) -> None:
    payment_key = await paid_with_tax_free(toss, 15000, 5000)

    partial = (await cancel(toss, payment_key, 4000, taxFreeAmount=2000)).json()
    rest = (await cancel(toss, payment_key)).json()

    # 11000 left, 3000 of it tax-free: vat round(8000 / 11) = 727.
    assert money(partial) == ("PARTIAL_CANCELED", 11000, 3000, 7273, 727)
    assert money(rest) == ("CANCELED", 0, 0, 0, 0)
    assert [c["taxFreeAmount"] for c in rest["cancels"]] == [2000, 3000]


async def test_a_cancel_naming_no_tax_free_part_never_leaves_more_of_it_than_the_balance(
    toss: httpx.AsyncClient,
) -> None:
    payment_key = await paid_with_tax_free(toss, 15000, 10000)

    partial = (await cancel(toss, payment_key, 10000)).json()

    # Only 5000 was taxable: the cancel took it and 5000 of the tax-free part.
    assert money(partial) == ("PARTIAL_CANCELED", 5000, 5000, 0, 0)
    assert [c["taxFreeAmount"] for c in partial["cancels"]] == [5000]


async def test_a_tax_free_amount_above_the_tax_free_part_left_is_not_cancelable(
    toss: httpx.AsyncClient,
) -> None:
    card = await paid_card_payment(toss, 10000)  # no tax-free part at all
    mixed = await paid_with_tax_free(toss, 15000, 5000)
    assert (await cancel(toss, mixed, 4000, taxFreeAmount=2000)).status_code == 200

    refusals = [
        await cancel(toss, card["paymentKey"], 1000, taxFreeAmount=500),
        await cancel(toss, mixed, 4000, taxFreeAmount=3500),  # 3000 is left
    ]

    for refused in refusals:
        assert refused.status_code == 403
        assert refused.json() == {
            "code": "NOT_CANCELABLE_AMOUNT",
            "message": "취소 할 수 없는 금액 입니다.",
        }
    unchanged = (await toss.get(f"/v1/payments/{card['paymentKey']}")).json()
    assert (unchanged["balanceAmount"], unchanged["cancels"]) == (10000, None)
    assert money((await toss.get(f"/v1/payments/{mixed}")).json())[1:3] == (11000, 3000)


async def test_an_approval_whose_tax_free_part_is_more_than_its_amount_is_refused(
    toss: httpx.AsyncClient,
) -> None:
    refused = await key_in(toss, 1000, 5000)

    assert refused.status_code == 400
    assert refused.json()["code"] == "INVALID_REQUEST"
