"""Every number a client sends has a documented range: amounts 1 – 10,000,000,000, tax-free
amounts 0 – 10,000,000,000."""

from __future__ import annotations

import pytest

from sunap.domain.errors import InvalidRequest
from sunap.domain.money import require_amount, require_tax_free_amount

TEN_BILLION = 10_000_000_000


def test_ten_billion_is_the_largest_amount_taken() -> None:
    assert require_amount(TEN_BILLION) == TEN_BILLION
    with pytest.raises(InvalidRequest, match="10000000000"):
        require_amount(TEN_BILLION + 1)


@pytest.mark.parametrize("value", [0, 1, 15000, TEN_BILLION])
def test_a_tax_free_amount_from_zero_to_ten_billion_is_taken(value: int) -> None:
    assert require_tax_free_amount(value) == value


@pytest.mark.parametrize("value", [-1, TEN_BILLION + 1, 2**63, True, 1.0, "0", None])
def test_any_other_tax_free_amount_is_refused_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidRequest, match="taxFreeAmount"):
        require_tax_free_amount(value)
