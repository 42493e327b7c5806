"""Money is a positive int in the smallest unit: anything else is INVALID_REQUEST."""

from __future__ import annotations

import pytest

from sunap.domain.errors import InvalidRequest
from sunap.domain.money import MAX_AMOUNT, require_amount, require_currency


@pytest.mark.parametrize(
    "value",
    [True, False, 1.5, 15000.0, 1e4, "15000", None, 0, -1, 2**63, MAX_AMOUNT + 1],
    ids=repr,
)
def test_an_amount_that_is_not_a_positive_int_in_range_is_refused(value: object) -> None:
    with pytest.raises(InvalidRequest) as raised:
        require_amount(value)
    assert raised.value.code == "INVALID_REQUEST"


@pytest.mark.parametrize("value", [1, 15000, MAX_AMOUNT])
def test_a_positive_int_amount_is_accepted_as_is(value: int) -> None:
    assert require_amount(value) == value
    assert type(require_amount(value)) is int


def test_the_refusal_names_the_field() -> None:
    with pytest.raises(InvalidRequest, match="cancelAmount"):
        require_amount("100", field="cancelAmount")


def test_krw_is_the_supported_currency() -> None:
    assert require_currency("KRW") == "KRW"


@pytest.mark.parametrize("value", ["USD", "krw", "", None, 410])
def test_any_other_currency_is_refused(value: object) -> None:
    with pytest.raises(InvalidRequest):
        require_currency(value)
