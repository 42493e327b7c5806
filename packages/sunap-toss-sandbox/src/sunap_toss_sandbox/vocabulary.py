"""Toss's words: payment methods in Korean, numeric bank and card-issuer codes."""

from __future__ import annotations

from sunap_toss_sandbox import choices

METHOD_NAMES = {
    "CARD": "카드",
    "VIRTUAL_ACCOUNT": "가상계좌",
    "EASY_PAY": "간편결제",
    "TRANSFER": "계좌이체",
    "MOBILE_PHONE": "휴대폰",
    "CULTURE_GIFT_CERTIFICATE": "문화상품권",
    "BOOK_GIFT_CERTIFICATE": "도서문화상품권",
    "GAME_GIFT_CERTIFICATE": "게임문화상품권",
}
_METHOD_BY_KOREAN = {korean: method for method, korean in METHOD_NAMES.items()}

BANK_CODES = {
    "03": "기업",
    "06": "국민",
    "11": "농협",
    "20": "우리",
    "23": "SC제일",
    "71": "우체국",
    "81": "하나",
    "88": "신한",
    "89": "케이뱅크",
    "90": "카카오뱅크",
    "92": "토스뱅크",
}
_BANK_BY_NAME = {name: code for code, name in BANK_CODES.items()}

CARD_ISSUERS = {
    "11": "국민",
    "15": "카카오뱅크",
    "21": "하나",
    "24": "토스뱅크",
    "31": "비씨",
    "33": "우리",
    "41": "신한",
    "51": "삼성",
    "61": "현대",
    "71": "롯데",
    "91": "농협",
    "4V": "VISA",
    "4M": "MASTER",
    "4J": "JCB",
    "7A": "AMEX",
}


def method_of(text: str) -> str | None:
    """`CARD` for `CARD`, `card` or `카드`; None when it names no method."""
    upper = text.strip().upper()
    if upper in METHOD_NAMES:
        return upper
    return _METHOD_BY_KOREAN.get(text.strip())


def bank_code_of(text: str) -> str | None:
    """Toss takes a bank by code (`88`) or by name (`신한`)."""
    if text in BANK_CODES:
        return text
    return _BANK_BY_NAME.get(text.removesuffix("은행"))


def issuer_of(card_number: str) -> str:
    return choices.CARD_ISSUER_BY_FIRST_DIGIT.get(card_number[:1], choices.DEFAULT_CARD_ISSUER)


def masked_card_number(card_number: str) -> str:
    """First 8 digits, `****`, 3 digits, `*`: `43301234****123*`."""
    digits = card_number.ljust(16, "0")
    return digits[:8] + "****" + digits[12:15] + "*"
