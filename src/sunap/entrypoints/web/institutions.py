"""Toss's codes for banks and card companies, as the names people know them by. Toss answers
with codes (`virtualAccount.bankCode`, `card.issuerCode`); a customer cannot transfer money to
"88". A code not listed here (one Toss adds later) is shown as it came."""

from __future__ import annotations

# Toss Payments' bank codes (its 'bank and securities codes' reference).
BANKS: dict[str, str] = {
    "02": "KDB산업은행",
    "03": "IBK기업은행",
    "06": "KB국민은행",
    "07": "Sh수협은행",
    "11": "NH농협은행",
    "12": "지역농축협",
    "20": "우리은행",
    "23": "SC제일은행",
    "27": "씨티은행",
    "31": "iM뱅크(대구은행)",
    "32": "부산은행",
    "34": "광주은행",
    "35": "제주은행",
    "37": "전북은행",
    "39": "경남은행",
    "45": "새마을금고",
    "48": "신협",
    "50": "저축은행중앙회",
    "54": "홍콩상하이은행",
    "64": "산림조합",
    "71": "우체국",
    "81": "하나은행",
    "88": "신한은행",
    "89": "케이뱅크",
    "90": "카카오뱅크",
    "92": "토스뱅크",
}

# Toss Payments' card company codes (issuers and acquirers).
CARD_COMPANIES: dict[str, str] = {
    "11": "KB국민카드",
    "15": "카카오뱅크",
    "21": "하나카드",
    "24": "토스뱅크",
    "30": "KDB산업은행",
    "31": "BC카드",
    "33": "우리BC카드",
    "34": "Sh수협은행",
    "35": "전북은행",
    "36": "씨티카드",
    "37": "우체국",
    "38": "새마을금고",
    "39": "저축은행중앙회",
    "3A": "케이뱅크",
    "3C": "유니온페이",
    "3K": "기업BC",
    "41": "신한카드",
    "42": "제주은행",
    "46": "광주은행",
    "4J": "JCB",
    "4M": "마스터카드",
    "4V": "VISA",
    "51": "삼성카드",
    "61": "현대카드",
    "62": "신협",
    "6D": "다이너스클럽",
    "71": "롯데카드",
    "7A": "아메리칸익스프레스",
    "91": "NH농협카드",
    "W1": "우리카드",
}


def bank_name(code: str | None) -> str:
    """The bank's name for Toss's code; the code itself when it is not one we know."""
    return BANKS.get(code or "", code or "")


def card_company_name(code: str | None) -> str:
    return CARD_COMPANIES.get(code or "", code or "")
