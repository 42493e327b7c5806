"""Toss's error codes: HTTP status and message in Korean and English (docs/toss.md 4.2).

The English messages are Toss's own wording (the 영문 에러 메시지 column of
https://docs.tosspayments.com/reference/error-codes), typos included, for every code that table
lists; the few codes it does not list carry the sandbox's wording.

Any code here is also a valid `TossPayments-Test-Code`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorKind:
    status: int
    korean: str
    english: str | None = None


_C = ErrorKind

CATALOGUE: dict[str, ErrorKind] = {
    # Confirm / key-in / billing approval.
    "ALREADY_PROCESSED_PAYMENT": _C(
        400, "이미 처리된 결제 입니다.", "This is a payment that has already been processed."
    ),
    "PROVIDER_ERROR": _C(
        400,
        "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요.",
        "This is temporary error. Please try again in a few minutes.",
    ),
    "EXCEED_MAX_CARD_INSTALLMENT_PLAN": _C(
        400,
        "설정 가능한 최대 할부 개월 수를 초과했습니다.",
        "You have exceeded the maximum number of installment months that can be set.",
    ),
    "INVALID_REQUEST": _C(400, "잘못된 요청입니다.", "The bad request."),
    "NOT_ALLOWED_POINT_USE": _C(
        400,
        "포인트 사용이 불가한 카드로 카드 포인트 결제에 실패했습니다.",
        "Card point payment failed because the card cannot be used points.",
    ),
    "INVALID_API_KEY": _C(400, "잘못된 시크릿키 연동 정보 입니다.", "Incorrect secret key."),
    "INVALID_REJECT_CARD": _C(
        400,
        "카드 사용이 거절되었습니다. 카드사 문의가 필요합니다.",
        "Refer to card issuer/decline.",
    ),
    "BELOW_MINIMUM_AMOUNT": _C(
        400,
        "신용카드는 결제금액이 100원 이상, 계좌는 200원이상부터 결제가 가능합니다.",
        "Payment can be made from 100 won or more by credit card, and 200 won or more for account.",
    ),
    "INVALID_CARD_EXPIRATION": _C(
        400,
        "카드 정보를 다시 확인해주세요. (유효기간)",
        "Please check the card expiration date information again.",
    ),
    "INVALID_STOPPED_CARD": _C(400, "정지된 카드 입니다.", "This is a suspended card."),
    "EXCEED_MAX_DAILY_PAYMENT_COUNT": _C(
        400,
        "하루 결제 가능 횟수를 초과했습니다.",
        "You have exceeded the number of daily payments.",
    ),
    "NOT_SUPPORTED_INSTALLMENT_PLAN_CARD_OR_MERCHANT": _C(
        400, "할부가 지원되지 않는 카드 또는 가맹점 입니다."
    ),
    "INVALID_CARD_INSTALLMENT_PLAN": _C(400, "할부 개월 정보가 잘못되었습니다."),
    "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN": _C(
        400,
        "할부가 지원되지 않는 카드입니다.",
        "This card does not support installment or interest-free installment.",
    ),
    "NOT_SUPPORTED_MONTHLY_INSTALLMENT_PLAN_BELOW_AMOUNT": _C(
        400, "5만원 이하의 결제는 할부가 불가능해서 결제에 실패했습니다."
    ),
    "EXCEED_MAX_PAYMENT_AMOUNT": _C(
        400,
        "하루 결제 가능 금액을 초과했습니다.",
        "You have exceeded the amount you can pay per day.",
    ),
    "NOT_FOUND_TERMINAL_ID": _C(
        400,
        "단말기번호(Terminal Id)가 없습니다. 토스페이먼츠로 문의 바랍니다.",
        "There is no Terminal Id. Please contact Toss Payments.",
    ),
    "INVALID_AUTHORIZE_AUTH": _C(
        400, "유효하지 않은 인증 방식입니다.", "Incorrect authentication."
    ),
    "INVALID_CARD_LOST_OR_STOLEN": _C(400, "분실 혹은 도난 카드입니다."),
    "RESTRICTED_TRANSFER_ACCOUNT": _C(400, "계좌는 등록 후 12시간 뒤부터 결제할 수 있습니다."),
    "INVALID_CARD_NUMBER": _C(
        400, "카드번호를 다시 확인해주세요.", "Please check your card number again."
    ),
    "INVALID_UNREGISTERED_SUBMALL": _C(400, "등록되지 않은 서브몰입니다."),
    "NOT_REGISTERED_BUSINESS": _C(
        400, "등록되지 않은 사업자 번호입니다.", "Unregsitered business registration number"
    ),
    "EXCEED_MAX_ONE_DAY_WITHDRAW_AMOUNT": _C(
        400, "1일 출금 한도를 초과했습니다.", "You have exceeded the one-day withdrawal limit."
    ),
    "EXCEED_MAX_ONE_TIME_WITHDRAW_AMOUNT": _C(
        400, "1회 출금 한도를 초과했습니다.", "You have exceeded the one-time withdrawal limit."
    ),
    "CARD_PROCESSING_ERROR": _C(400, "카드사에서 오류가 발생했습니다."),
    "EXCEED_MAX_AMOUNT": _C(
        400, "거래금액 한도를 초과했습니다.", "The transaction amount limit has been exceeded."
    ),
    "INVALID_ACCOUNT_INFO_RE_REGISTER": _C(
        400, "유효하지 않은 계좌입니다. 계좌 재등록 후 시도해주세요."
    ),
    "NOT_AVAILABLE_PAYMENT": _C(400, "결제가 불가능한 시간대입니다."),
    "UNAPPROVED_ORDER_ID": _C(400, "아직 승인되지 않은 주문번호입니다."),
    "EXCEED_MAX_MONTHLY_PAYMENT_AMOUNT": _C(
        400, "당월 결제 가능금액인 1,000,000원을 초과 하셨습니다."
    ),
    "UNAUTHORIZED_KEY": _C(
        401,
        "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
        "This is an unauthenticated secret key or client key.",
    ),
    "REJECT_ACCOUNT_PAYMENT": _C(
        403, "잔액부족으로 결제에 실패했습니다.", "Payment failed due to insufficient balance"
    ),
    "REJECT_CARD_PAYMENT": _C(
        403,
        "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
        "Payment failed: card limit exceeded or insufficient balance.",
    ),
    "REJECT_CARD_COMPANY": _C(403, "결제 승인이 거절되었습니다.", "Payment confirm is rejected"),
    "FORBIDDEN_REQUEST": _C(403, "허용되지 않은 요청입니다.", "This request is not allowed."),
    "REJECT_TOSSPAY_INVALID_ACCOUNT": _C(
        403, "선택하신 출금 계좌가 출금이체 등록이 되어 있지 않아요."
    ),
    "EXCEED_MAX_AUTH_COUNT": _C(
        403,
        "최대 인증 횟수를 초과했습니다.",
        "The maximum number of authentications has been exceeded. Please contact your credit card company.",
    ),
    "EXCEED_MAX_ONE_DAY_AMOUNT": _C(403, "일일 한도를 초과했습니다."),
    "NOT_AVAILABLE_BANK": _C(403, "은행 서비스 시간이 아닙니다.", "Not bank service time."),
    "INVALID_PASSWORD": _C(
        403, "결제 비밀번호가 일치하지 않습니다.", "Payment password does not match."
    ),
    "INCORRECT_BASIC_AUTH_FORMAT": _C(
        403,
        "잘못된 요청입니다. ':' 를 포함해 인코딩해주세요.",
        "Invalid request. Encode the key including ':'.",
    ),
    "FDS_ERROR": _C(
        403,
        "위험거래가 감지되어 결제가 제한됩니다.",
        "A risky transaction was detected; the payment is restricted.",
    ),
    "NOT_FOUND_PAYMENT": _C(404, "존재하지 않는 결제 정보 입니다.", "The payment does not exist."),
    "NOT_FOUND_PAYMENT_SESSION": _C(
        404,
        "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.",
        "Payment session does not exist because the session time has expired.",
    ),
    "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING": _C(
        500,
        "결제가 완료되지 않았어요. 다시 시도해주세요.",
        "Provider error. The error message received from provider will be displayed.",
    ),
    "FAILED_INTERNAL_SYSTEM_PROCESSING": _C(
        500,
        "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.",
        "Internal system processing operation has failed. Please try again in a few minutes.",
    ),
    "UNKNOWN_PAYMENT_ERROR": _C(
        500, "결제에 실패했어요. 같은 문제가 반복된다면 은행이나 카드사로 문의해주세요."
    ),
    # Cancel.
    "ALREADY_CANCELED_PAYMENT": _C(
        400, "이미 취소된 결제 입니다.", "The payment has already been canceled."
    ),
    "INVALID_REFUND_ACCOUNT_INFO": _C(
        400,
        "환불 계좌번호와 예금주명이 일치하지 않습니다.",
        "Refund account number and account holder name do not match.",
    ),
    "EXCEED_CANCEL_AMOUNT_DISCOUNT_AMOUNT": _C(
        400, "즉시할인금액보다 적은 금액은 부분취소가 불가능합니다."
    ),
    "INVALID_REFUND_ACCOUNT_NUMBER": _C(
        400, "잘못된 환불 계좌번호입니다.", "Incorrect refund account number."
    ),
    "INVALID_BANK": _C(400, "유효하지 않은 은행입니다.", "It is an Invalid bank."),
    "NOT_MATCHES_REFUNDABLE_AMOUNT": _C(
        400, "잔액 결과가 일치하지 않습니다.", "Balance results do not match."
    ),
    "REFUND_REJECTED": _C(
        400,
        "환불이 거절됐습니다. 결제사에 문의 부탁드립니다.",
        "The refund has been rejected. Please contact the respective payment provider.",
    ),
    "ALREADY_REFUND_PAYMENT": _C(
        400, "이미 환불된 결제입니다.", "The payment has already been refunded."
    ),
    "FORBIDDEN_BANK_REFUND_REQUEST": _C(400, "고객 계좌가 입금이 되지 않는 상태입니다."),
    "NOT_CANCELABLE_AMOUNT": _C(
        403, "취소 할 수 없는 금액 입니다.", "This is a non-cancelable amount."
    ),
    "NOT_CANCELABLE_PAYMENT": _C(
        403, "취소 할 수 없는 결제 입니다.", "This is a non-cancelable payment."
    ),
    "FORBIDDEN_CONSECUTIVE_REQUEST": _C(
        403,
        "반복적인 요청은 허용되지 않습니다.",
        "Repetitive requests are not allowed. Please try again in a few minutes.",
    ),
    "EXCEED_MAX_REFUND_DUE": _C(
        403, "환불 가능한 기간이 지났습니다.", "The refundable period has been exceeded."
    ),
    "NOT_ALLOWED_PARTIAL_REFUND_WAITING_DEPOSIT": _C(
        403,
        "입금 대기중인 결제는 부분 환불이 불가합니다.",
        "Partial refunds are not available while pending deposit.",
    ),
    "NOT_ALLOWED_PARTIAL_REFUND": _C(
        403,
        "에스크로 주문, 현금 카드 결제일 때는 부분 환불이 불가합니다.",
        "Partial refunds are not available for reasons such as escrow or cash payment.",
    ),
    "NOT_CANCELABLE_PAYMENT_FOR_DORMANT_USER": _C(
        403, "휴면 처리된 회원의 결제는 취소할 수 없습니다."
    ),
    "EXCEED_CANCEL_LIMIT": _C(403, "취소 한도를 초과했습니다."),
    "EXCEED_MAX_REFUND_AMOUNT": _C(
        403,
        "환불 한도를 초과했습니다.",
        "This merchant have exceeded your daily or monthly refundable amount.",
    ),
    "FAILED_REFUND_PROCESS": _C(
        500,
        "은행 응답시간 지연이나 일시적인 오류로 환불요청에 실패했습니다.",
        "The refund request failed due to a delay in the bank response time or a temporary error.",
    ),
    "FAILED_PARTIAL_REFUND": _C(500, "은행 점검, 해약 계좌 등의 사유로 부분 환불이 실패했습니다."),
    "FAILED_METHOD_HANDLING_CANCEL": _C(
        500,
        "취소 중 결제 시 사용한 결제 수단 처리과정에서 일시적인 오류가 발생했습니다.",
        "A temporary error occurred while processing cancellation.",
    ),
    "COMMON_ERROR": _C(
        500,
        "일시적인 오류가 발생했습니다. 잠시 후 다시 시도해주세요.",
        "A temporary error has occurred. Please try again in a few minutes.",
    ),
    # Billing, virtual accounts and the rest.
    "DUPLICATED_ORDER_ID": _C(
        400,
        "이미 승인 및 취소가 진행된 중복된 주문번호 입니다. 다른 주문번호로 진행해주세요.",
        "This is a duplicate order id that has already been approved or canceled. Please proceed with a different order id.",
    ),
    "NOT_MATCHES_CUSTOMER_KEY": _C(
        400,
        "빌링 인증 고객키와 결제 요청 고객키가 일치하지 않습니다.",
        "The billing authentication customer key and the payment request customer key do not match.",
    ),
    "INVALID_BILL_KEY_REQUEST": _C(
        400,
        "빌링키 요청 정보가 잘못되었습니다.",
        "Billing key authentication has not been completed or is an invalid billing transaction.",
    ),
    "INVALID_BILLING_AUTH": _C(
        400, "유효하지 않은 빌링 인증입니다.", "Invalid billing authentication."
    ),
    "INVALID_CUSTOMER_KEY": _C(
        400,
        "유효하지 않은 고객키입니다.",
        "`customerKey` must be at least 2 and maximum 20 upper and lower case alphabets, numbers, special characters (-, _, =, ., @).",
    ),
    "INVALID_CARD_IDENTITY": _C(
        400,
        "입력하신 주민번호/사업자번호가 카드 소유주 정보와 일치하지 않습니다.",
        "The entered resident registration number/business number does not match the cardholder information.",
    ),
    "INVALID_CARD_PASSWORD": _C(
        400, "카드 정보를 다시 확인해주세요. (비밀번호)", "Please check the card information again."
    ),
    "INVALID_BIRTH_DAY_FORMAT": _C(
        400,
        "생년월일 정보는 6자리의 yyMMdd 형식이어야 합니다.",
        "The birth date format must be in 6 length of yyMMdd format.",
    ),
    "NOT_SUPPORTED_CARD_TYPE": _C(
        400, "지원되지 않는 카드 종류입니다.", "This card type is not supported."
    ),
    "NOT_REGISTERED_CARD_COMPANY": _C(400, "카드를 사용 등록 후 이용해주세요."),
    "NOT_SUPPORTED_METHOD": _C(
        400, "지원되지 않는 결제수단입니다.", "This payment method is not supported."
    ),
    "INVALID_EMAIL": _C(
        400, "유효하지 않은 이메일 주소 형식입니다.", "It doesn't match the email address format."
    ),
    "INVALID_ORDER_ID": _C(
        400,
        "유효하지 않은 주문번호입니다.",
        "The order id must be at least 6 and maximum 64 upper and lower case alphabets, numbers, special characters (-, _, =).",
    ),
    "INVALID_ORDER_NAME": _C(
        400, "유효하지 않은 주문명입니다.", "The order name must be 100 characters or less."
    ),
    "INVALID_PAYMENT_KEY": _C(400, "유효하지 않은 결제 키입니다.", "Invalid payment key."),
    "BELOW_ZERO_AMOUNT": _C(400, "금액은 0보다 커야 합니다.", "The amount must be greater than 0."),
    "REQUIRED_AMOUNT": _C(400, "금액은 필수 입력값입니다.", "Amount value is required."),
    "INVALID_REQUIRED_PARAM": _C(400, "필수 파라미터가 누락되었습니다."),
    "INVALID_CURRENCY": _C(400, "유효하지 않은 통화입니다.", "Invalid currency value."),
    "INVALID_DATE": _C(400, "날짜 데이터가 잘못 되었습니다.", "The date data is invalid."),
    "INVALID_ISO_DATE_FORMAT": _C(
        400,
        "ISO 8601 형식의 날짜가 아닙니다.",
        "The format is incorrect. The time format must conform to ISO 8601 format.",
    ),
    "EXCEED_MAX_VALID_HOURS": _C(
        400,
        "가상계좌의 최대 유효만료 기간을 초과했습니다.",
        "The maximum validity time of the virtual account has been exceeded.",
    ),
    "EXCEED_MAX_DUE_DATE": _C(
        400,
        "가상 계좌의 최대 유효만료 기간을 초과했습니다.",
        "You have exceeded the maximum expiry period for your virtual account.",
    ),
    "INVALID_VALID_HOURS_WITH_DUE_DATE_AND_SINGLE": _C(
        400,
        "유효 시간과 만료일을 동시에 설정할 수 없습니다.",
        "validHours and dueDate cannot be used together.",
    ),
    "INVALID_VIRTUAL_ACCOUNT_TYPE": _C(
        400, "유효하지 않은 가상계좌 타입입니다.", "Invalid virtual account type."
    ),
    "REQUIRED_ACCOUNT_KEY": _C(
        400,
        "고정 가상계좌는 accountKey가 필요합니다.",
        "For fixed accounts, a customer key value is required.",
    ),
    "DUPLICATED_CASH_RECEIPT": _C(
        400,
        "이미 발급된 현금영수증이 존재합니다.",
        "This is a duplicate request that has already been issued.",
    ),
    "DUPLICATED_REQUEST": _C(400, "중복된 요청입니다.", "This is a duplicate request."),
    "ALREADY_COMPLETED_PAYMENT": _C(
        400, "이미 완료된 결제입니다.", "This is a payment that has already been completed."
    ),
    "ALREADY_REFUNDING_PAYMENT": _C(
        400, "이미 환불 중인 결제입니다.", "The payment is already being refunded."
    ),
    "API_VERSION_UPDATE_NEEDED": _C(400, "API 버전 업데이트가 필요합니다."),
    "EXCEED_MAX_QUERY_LIMIT": _C(
        400,
        "조회 가능한 최대 건수를 초과했습니다.",
        "You have exceeded the maximum number of query limit.",
    ),
    "INVALID_PAGING_KEY": _C(400, "유효하지 않은 페이징 키입니다.", "Bad paging key."),
    "PAY_PROCESS_ABORTED": _C(
        400,
        "결제 진행 중 승인에 실패하여 결제가 중단되었습니다.",
        "Payment has been canceled or has not been processed.",
    ),
    "PAY_PROCESS_CANCELED": _C(
        400, "사용자에 의해 결제가 취소되었습니다.", "Payment has been canceled by the customer."
    ),
    "MAINTAINED_METHOD": _C(400, "결제 수단이 점검중입니다.", "The method is being maintained now"),
    "INVALID_IDEMPOTENCY_KEY": _C(
        400,
        "멱등키는 300자 이하여야 합니다.",
        "The idempotency key must be 300 characters or fewer.",
    ),
    "INVALID_TEST_CODE": _C(400, "유효하지 않은 테스트 코드입니다.", "Invalid test code"),
    "NOT_FOUND": _C(404, "존재하지 않는 정보 입니다.", "This information does not exist."),
    "NOT_FOUND_BILLING": _C(
        404,
        "존재하지 않는 빌링 정보입니다.",
        "Billing payment authentication information that does not exist.",
    ),
    "NOT_FOUND_MERCHANT": _C(404, "존재하지 않는 상점 정보입니다.", "The merchant does not exist."),
    "NOT_FOUND_METHOD": _C(
        404, "존재하지 않는 결제수단입니다.", "This payment method does not exist."
    ),
    "IDEMPOTENT_REQUEST_PROCESSING": _C(
        409,
        "이전 멱등 요청이 처리중입니다.",
        "The previous idempotent request is still processing.",
    ),
    "TOO_MANY_REQUESTS": _C(
        429,
        "요청이 너무 많습니다. 잠시 후 다시 시도해주세요.",
        "Too many requests. Please try again later.",
    ),
    "FAILED_DB_PROCESSING": _C(
        500,
        "잘못된 요청 값으로 처리 중 DB 에러가 발생했습니다.",
        "A DB error occurred while processing with an invalid request value.",
    ),
    "FAILED_BILL_KEY_AUTH_CREATION": _C(
        500,
        "빌링키 인증 생성에 실패했습니다.",
        "Key generation failed during billing payment verification. Please try again in a few minutes.",
    ),
    "FAILED_BILLING_AUTO_CANCEL": _C(
        500,
        "자동결제 자동 취소에 실패했습니다.",
        "A temporary error occurred while billing auth cancellation.",
    ),
    "FAILED_CARD_COMPANY_RESPONSE": _C(
        500, "카드사에서 에러가 발생했습니다. 잠시 후 다시 시도해 주세요."
    ),
    "FAILED_METHOD_HANDLING": _C(
        500,
        "결제수단 처리 중 일시적인 오류가 발생했습니다.",
        "There was a temporary error in processing the payment method you selected during checkout.",
    ),
    "UNKNOWN_ERROR": _C(
        500,
        "알 수 없는 에러가 발생했습니다.",
        "An unknown error occurred. Please try again in a few minutes.",
    ),
    # Only seen in Payment.failure, not as an answer, but harmless as a test code.
    "EXPIRED_PAYMENT": _C(
        403, "결제가 만료되었습니다. 다시 시도해주세요.", "The payment expired. Please try again."
    ),
}


def kind_of(code: str) -> ErrorKind:
    """The catalogue entry for `code`; an unknown code is an internal failure."""
    return CATALOGUE.get(code) or ErrorKind(500, "알 수 없는 에러가 발생했습니다.")


def message_for(code: str, english: bool) -> str:
    kind = kind_of(code)
    if english:
        # Sentence made from the code when no English text was written down.
        return kind.english or code.replace("_", " ").capitalize() + "."
    return kind.korean


@dataclass(frozen=True)
class Wording:
    """A message of the sandbox's own for one answer, where the code's catalogue message would
    mislead (e.g. INVALID_IDEMPOTENCY_KEY's "must be 300 characters or fewer" for an empty key)."""

    korean: str
    english: str

    def in_language(self, english: bool) -> str:
        return self.english if english else self.korean


class TossError(Exception):
    """An answer Toss would give as `{code, message}` with the code's HTTP status; `wording`
    replaces the code's message when it would not say what is wrong."""

    def __init__(
        self, code: str, status: int | None = None, *, wording: Wording | None = None
    ) -> None:
        super().__init__(code)
        self.code = code
        self.status = status if status is not None else kind_of(code).status
        self.wording = wording

    def message(self, english: bool) -> str:
        return (
            self.wording.in_language(english) if self.wording else message_for(self.code, english)
        )
