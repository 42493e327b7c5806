"""Toss's bank and card company codes as names, and an unknown code shown as it came."""

from __future__ import annotations

from sunap.entrypoints.web.institutions import bank_name, card_company_name


def test_known_codes_are_named_and_others_are_shown_as_they_came() -> None:
    assert bank_name("88") == "신한은행" and bank_name("92") == "토스뱅크"
    assert card_company_name("61") == "현대카드" and card_company_name("4V") == "VISA"
    assert bank_name("Z9") == "Z9" and card_company_name("현대") == "현대"  # a name kept as is
    assert bank_name(None) == "" and card_company_name("") == ""
