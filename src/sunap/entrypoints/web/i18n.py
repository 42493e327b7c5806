"""The pages' words, Korean first (the customers are Korean), English when the browser prefers it.

One catalogue of `key: (Korean, English)`; a missing key is a bug that the unit tests catch, not
a blank on a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Lang = Literal["ko", "en"]
LANGS: tuple[Lang, ...] = ("ko", "en")

CATALOGUE: Mapping[str, tuple[str, str]] = {
    # -- common --
    "skip_to_content": ("본문으로 건너뛰기", "Skip to content"),
    "back": ("돌아가기", "Back"),
    "error_code": ("오류 코드", "Error code"),
    # -- checkout --
    "checkout_title": ("결제하기", "Checkout"),
    "sandbox_note": (
        "테스트 결제입니다 (샌드박스). 실제로 돈이 나가지 않습니다.",
        "Test payment (sandbox). No real money moves.",
    ),
    "order_name": ("주문 상품", "Order"),
    "order_id": ("주문번호", "Order ID"),
    "method": ("결제수단", "Method"),
    "pay_now": ("결제하기", "Pay now"),
    "window_unavailable": (
        "결제창을 열지 못했습니다. 잠시 후 다시 시도해 주세요.",
        "The payment window could not be opened. Please try again shortly.",
    ),
    "needs_javascript": (
        "결제창을 열려면 JavaScript를 켜 주세요.",
        "Turn on JavaScript to open the payment window.",
    ),
    "secured_by": (
        "결제는 토스페이먼츠를 통해 안전하게 처리됩니다.",
        "Payments are processed securely by Toss Payments.",
    ),
    "try_again": ("다시 결제하기", "Try again"),
    "back_to_shop": ("상점으로 돌아가기", "Back to the shop"),
    "result_paid": ("결제가 완료되었습니다", "Payment complete"),
    "result_paid_text": ("결제해 주셔서 감사합니다.", "Thank you for your payment."),
    "result_deposit": ("가상계좌가 발급되었습니다", "Your virtual account is ready"),
    "result_deposit_text": (
        "아래 계좌로 입금 기한까지 입금해 주세요. 입금이 확인되면 결제가 완료됩니다.",
        "Please transfer the amount to the account below by the due time; the payment is done "
        "once the deposit arrives.",
    ),
    "deposit_due": ("입금 기한", "Pay by"),
    "depositor_name": ("입금자명", "Depositor"),
    "result_failed": ("결제하지 못했습니다", "The payment did not go through"),
    "result_failed_text": (
        "결제가 승인되지 않았습니다. 다시 시도하거나 다른 결제수단을 선택해 주세요.",
        "The payment was not approved. Please try again or choose another method.",
    ),
    "result_given_up_text": ("결제를 취소하셨습니다.", "You canceled the payment."),
    "result_amount_text": (
        "결제 금액이 주문 금액과 달라 결제를 진행하지 않았습니다.",
        "The amount differs from the order's, so nothing was charged.",
    ),
    # The failUrl's `message` for Sunap's own codes (the merchant shows it to the customer).
    "fail_AMOUNT_MISMATCH": (
        "결제 금액이 주문 금액과 달라 결제를 진행하지 않았습니다. 다시 결제해 주세요.",
        "The amount differs from the order's, so nothing was charged. Please pay again.",
    ),
    "fail_INVALID_PAYMENT_KEY": (
        "결제 정보를 확인할 수 없어 결제를 진행하지 않았습니다. 다시 결제해 주세요.",
        "The payment could not be verified, so nothing was charged. Please pay again.",
    ),
    "fail_INVALID_REQUEST": (
        "결제 정보가 올바르지 않아 결제를 진행하지 않았습니다. 다시 결제해 주세요.",
        "The payment details were not valid, so nothing was charged. Please pay again.",
    ),
    "fail_NOT_CONFIRMABLE_STATUS": (
        "취소되었거나 만료되어 더 이상 결제할 수 없는 주문입니다.",
        "This order was canceled or has expired and can no longer be paid.",
    ),
    "fail_ALREADY_PROCESSED_PAYMENT": (
        "이미 다른 결제로 처리된 주문입니다.",
        "This order was already paid with another payment.",
    ),
    "fail_PG_MISMATCH": (
        "결제 내역을 확인하고 있습니다. 상점에서 결과를 안내해 드립니다.",
        "We are checking this payment; the shop will let you know.",
    ),
    "fail_PG_REJECTED": (  # Toss refused and gave no message of its own
        "결제가 승인되지 않았습니다. 다시 시도하거나 다른 결제수단을 선택해 주세요.",
        "The payment was not approved. Please try again or choose another method.",
    ),
    "fail_PAY_PROCESS_ABORTED": (
        "결제가 완료되지 않았습니다. 다시 시도해 주세요.",
        "The payment was not completed. Please try again.",
    ),
    "fail_other": (
        "결제를 완료하지 못했습니다. 잠시 후 다시 시도해 주세요.",
        "The payment could not be completed. Please try again shortly.",
    ),
    "result_pending": ("결제를 확인하고 있습니다", "Checking your payment"),
    "result_pending_text": (
        "잠시만 기다려 주세요. 이 페이지는 자동으로 새로 고쳐집니다. 결제가 두 번 되지 않습니다.",
        "Please wait; this page refreshes by itself. You will not be charged twice.",
    ),
    "result_busy": ("잠시 후 다시 확인합니다", "Checking again in a moment"),
    "result_busy_text": (
        "이 결제에 요청이 많았습니다. 이 페이지는 자동으로 새로 고쳐집니다. 결제가 두 번 되지 "
        "않습니다.",
        "This payment has had many requests lately; this page refreshes by itself. You will not "
        "be charged twice.",
    ),
    "result_review_text": (
        "결제 내역을 확인 중입니다. 상점에서 결과를 안내해 드립니다.",
        "We are checking this payment by hand; the shop will let you know.",
    ),
    "result_invalid": ("유효하지 않은 결제 링크입니다", "This payment link is not valid"),
    "result_invalid_text": (
        "상점에서 받은 결제 링크를 다시 확인해 주세요.",
        "Please check the payment link the shop gave you.",
    ),
    "result_expired": ("결제 링크가 만료되었습니다", "This payment link has expired"),
    "result_expired_text": (
        "상점에서 결제를 다시 시작해 주세요.",
        "Please start the payment again at the shop.",
    ),
    "result_closed": ("더 이상 결제할 수 없는 주문입니다", "This order can no longer be paid"),
    "result_closed_text": (
        "주문이 취소되었거나 결제 기한이 지났습니다. 상점에 문의해 주세요.",
        "The order was canceled or its time to pay has passed. Please contact the shop.",
    ),
    "result_unavailable": ("결제 페이지를 열 수 없습니다", "The payment page is not available"),
    "result_unavailable_text": (
        "상점의 결제 설정에 문제가 있습니다. 상점에 문의해 주세요.",
        "The shop's payment setup is incomplete. Please contact the shop.",
    ),
    # -- dashboard: frame --
    "dashboard": ("대시보드", "Dashboard"),
    "main_nav": ("주 메뉴", "Main menu"),
    "nav_overview": ("개요", "Overview"),
    "nav_payments": ("결제", "Payments"),
    "nav_review": ("검토 대기", "Needs review"),
    "nav_webhooks": ("웹훅", "Webhooks"),
    "nav_subscriptions": ("구독", "Subscriptions"),
    "count_waiting": ("{count}건 대기", "{count} waiting"),
    "signed_in_as": ("로그인한 상점", "Signed in as"),
    "sign_in": ("로그인", "Sign in"),
    "sign_out": ("로그아웃", "Sign out"),
    "sign_in_help": (
        "API 키(admin 또는 payments:read 권한)로 로그인하세요. 키는 저장되지 않습니다.",
        "Sign in with an API key that has the admin or payments:read scope. The key is not kept.",
    ),
    "api_key": ("API 키", "API key"),
    # -- dashboard: overview --
    "last_24_hours": ("최근 24시간", "Last 24 hours"),
    "kpi_volume_24h": ("승인 금액 (24시간)", "Approved volume (24 h)"),
    "kpi_payments_24h": ("결제 건수 (24시간)", "Payments (24 h)"),
    "kpi_approval_24h": ("승인율 (24시간)", "Approval rate (24 h)"),
    "kpi_refund_24h": ("환불률 (24시간)", "Refund rate (24 h)"),
    "by_hour": ("시간별 (최근 24시간)", "By hour (last 24 hours)"),
    "by_day": ("일별 (최근 30일)", "By day (last 30 days)"),
    "chart_volume": ("승인 금액", "Approved volume"),
    "chart_approval": ("승인율", "Approval rate"),
    "chart_refund": ("환불률", "Refund rate"),
    "chart_data": ("데이터 표로 보기", "Show the data as a table"),
    "chart_empty": ("결제 없음", "no payments"),
    "chart_summary": ("{count}개 구간, 최댓값 {max}", "{count} periods, highest {max}"),
    "period": ("구간", "Period"),
    "value": ("값", "Value"),
    "charts_note": (
        "한국 표준시(KST) 기준, 결제 생성 시각으로 묶었습니다. 승인율 = 승인 ÷ (승인 + 거절), "
        "환불률 = 취소된 금액 ÷ 승인 금액.",
        "Grouped by the time each payment was created, in Korea Standard Time. Approval rate = "
        "approved ÷ (approved + refused); refund rate = amount canceled ÷ amount approved.",
    ),
    # -- dashboard: payments --
    "filter_payments": ("결제 검색", "Search payments"),
    "search": ("검색", "Search"),
    "search_placeholder": ("orderId, paymentKey, customerKey", "orderId, paymentKey, customerKey"),
    "status": ("상태", "Status"),
    "all_statuses": ("전체", "All"),
    "date_from": ("시작일", "From"),
    "date_to": ("종료일", "To"),
    "apply_filters": ("적용", "Apply"),
    "clear_filters": ("초기화", "Clear"),
    "created_at": ("생성 시각", "Created"),
    "order": ("주문", "Order"),
    "amount": ("금액", "Amount"),
    "balance": ("잔액", "Balance"),
    "needs_review": ("검토 필요", "Needs review"),
    "no_payments": ("조건에 맞는 결제가 없습니다.", "No payments match."),
    "pages": ("페이지", "Pages"),
    "newer": ("최신", "Newer"),
    "older": ("이전", "Older"),
    "page_n": ("{n} 페이지", "Page {n}"),
    # -- dashboard: one payment --
    "summary": ("요약", "Summary"),
    "pending_cancel": ("처리 중인 취소", "Cancel in progress"),
    "payment_id": ("결제 ID", "Payment ID"),
    "card": ("카드", "Card"),
    "virtual_account": ("가상계좌", "Virtual account"),
    "failure": ("실패 사유", "Failure"),
    "approved_at": ("승인 시각", "Approved"),
    "timeline": ("타임라인", "Timeline"),
    "cancels": ("취소 내역", "Cancels"),
    "requested_at": ("요청 시각", "Requested"),
    "reason": ("사유", "Reason"),
    "canceled_at": ("취소 시각", "Canceled"),
    "no_cancels": ("취소 내역이 없습니다.", "No cancels."),
    "cancel_payment": ("결제 취소", "Cancel the payment"),
    "cancel_amount": ("취소 금액", "Amount to cancel"),
    "cancel_amount_help": (
        "취소할 수 있는 금액: {amount} (전액 취소는 이 금액을 입력하세요)",
        "Cancelable: {amount} (enter all of it to cancel in full)",
    ),
    "cancel_ready_help": (
        "아직 결제되지 않은 주문입니다. 취소하면 주문이 닫히고 토스에는 아무것도 보내지 않습니다.",
        "Nobody has paid yet: canceling closes the order, and nothing is sent to Toss.",
    ),
    "refund_account": ("환불 계좌", "Refund account"),
    "bank": ("은행", "Bank"),
    "account_number": ("계좌번호", "Account number"),
    "holder_name": ("예금주", "Account holder"),
    "cancel_submit": ("취소하기", "Cancel payment"),
    "cancel_needs_scope": (
        "취소하려면 payments:cancel 권한이 있는 키로 로그인하세요.",
        "Sign in with a key that has the payments:cancel scope to cancel.",
    ),
    "resolve_review": ("검토 완료 처리", "Resolve the review"),
    "resolution_note": ("처리 내용 메모", "How it was resolved"),
    "mark_resolved": ("검토 완료", "Mark resolved"),
    "needs_admin": ("admin 권한이 필요합니다.", "This needs the admin scope."),
    "audit_trail": ("감사 기록", "Audit trail"),
    "time": ("시각", "Time"),
    "type": ("종류", "Type"),
    "result": ("결과", "Result"),
    "details": ("내용", "Details"),
    "show": ("보기", "Show"),
    "tl_created": ("결제 생성 ({amount})", "Payment created ({amount})"),
    "tl_requested": ("승인 요청", "Confirm sent to Toss"),
    "tl_approved": ("승인 완료", "Approved"),
    "tl_failed": ("승인 거절: {code}", "Refused: {code}"),
    "tl_canceled": ("{amount} 취소", "{amount} canceled"),
    "tl_flagged": ("검토 필요로 표시됨", "Flagged for review"),
    "tl_resolved": ("검토 완료: {note}", "Review resolved: {note}"),
    "tl_webhook": ("웹훅 수신", "Webhook received"),
    "tl_now": ("현재 상태: {status}", "Now: {status}"),
    # -- dashboard: review and webhooks --
    "review_help": (
        "자동으로 정리할 수 없어 사람이 확인해야 하는 결제입니다. 토스페이먼츠 상점관리자에서 "
        "확인한 뒤 처리 내용을 남기세요.",
        "Payments nothing automatic could settle. Check each one in Toss's merchant console, "
        "then say how you resolved it.",
    ),
    "review_empty": ("검토할 결제가 없습니다.", "Nothing needs review."),
    "webhooks_help": (
        "내 결제에 연결된 웹훅과 내 토스 계정으로 온 웹훅입니다. 공용 계정으로 온, 어느 결제에도 "
        "연결되지 않은 웹훅은 운영자가 `sunap webhooks list`로 봅니다.",
        "Deliveries matched to your payments, and every delivery to your own Toss account. "
        "Unmatched deliveries to the shared account are for the service operator "
        "(`sunap webhooks list`).",
    ),
    "received_at": ("수신 시각", "Received"),
    "event": ("이벤트", "Event"),
    "attempts": ("처리 횟수", "Attempts"),
    "payment": ("결제", "Payment"),
    "error": ("오류", "Error"),
    "actions": ("작업", "Actions"),
    "replay": ("다시 처리", "Replay"),
    "replay_delivery": ("{id} 다시 처리", "Replay {id}"),
    "no_deliveries": ("웹훅이 없습니다.", "No deliveries."),
    # -- dashboard: subscriptions --
    "filter_subscriptions": ("구독 검색", "Search subscriptions"),
    "subscriptions_help": (
        "읽기 전용입니다. 구독 변경, 해지, 일시정지, 재개는 API로 합니다.",
        "Read-only: change, cancel, pause and resume a subscription through the API.",
    ),
    "customer_key_placeholder": ("customerKey 전체", "the whole customerKey"),
    "plan": ("플랜", "Plan"),
    "amount_per_interval": ("주기별 금액", "Amount per period"),
    "period_end_next_charge": ("현재 기간 종료 / 다음 결제", "Period ends / next charge"),
    "current_period": ("현재 기간", "Current period"),
    "period_ends": ("기간 종료", "Period ends"),
    "next_charge": ("다음 결제", "Next charge"),
    "trial_end": ("체험 종료", "Trial ends"),
    "ends_at_period_end": ("기간 종료 시 해지", "Ends at period end"),
    "canceled_on": ("해지 시각", "Canceled"),
    "cancel_reason": ("해지 사유", "Cancel reason"),
    "failed_attempts": ("실패한 결제 시도", "Failed attempts"),
    "subscription_id": ("구독 ID", "Subscription ID"),
    "updated_at": ("변경 시각", "Updated"),
    "metadata": ("메타데이터", "Metadata"),
    "no_subscriptions": ("조건에 맞는 구독이 없습니다.", "No subscriptions match."),
    "first_page": ("처음으로", "First page"),
    "billing_key": ("빌링키", "Billing key"),
    "billing_key_id": ("빌링키 ID", "Billing key ID"),
    "billing_key_missing": ("빌링키를 찾을 수 없습니다.", "The billing key cannot be found."),
    "card_type": ("카드 종류", "Card type"),
    "deleted_at": ("삭제 시각", "Deleted"),
    "charges": ("결제 내역", "Charges"),
    "no_charges": ("아직 결제가 없습니다.", "No charges yet."),
    "older_charges": ("이전 결제", "Older charges"),
    "latest_charges": ("최근 결제", "Latest charges"),
    # -- dashboard: notices and problems --
    "notice_canceled": ("취소했습니다.", "Canceled."),
    "notice_cancel_pending": (
        "취소를 요청했지만 토스의 응답을 받지 못했습니다. 잠시 후 자동으로 확인합니다.",
        "The cancel was sent but Toss's answer did not arrive; Sunap finds out by itself shortly.",
    ),
    "notice_cancel_in_flight": (
        "같은 취소 요청이 처리 중입니다.",
        "The same cancel request is still being processed.",
    ),
    "notice_resolved": ("검토 완료로 표시했습니다.", "Marked as resolved."),
    "notice_replay_queued": (
        "웹훅을 다시 처리하도록 대기열에 넣었습니다.",
        "The delivery is queued to be processed again.",
    ),
    "notice_replay_busy": (
        "지금 처리 중인 웹훅입니다. 잠시 후 다시 시도하세요.",
        "That delivery is being processed right now; try again shortly.",
    ),
    "notice_signed_out": ("로그아웃했습니다.", "Signed out."),
    "notice_session_ended": (
        "세션이 끝나 보낸 양식을 처리하지 않았습니다. 아무것도 변경되지 않았습니다. 다시 로그인하면 "
        "원래 페이지로 돌아갑니다.",
        "Your session had ended, so the form you sent was not acted on: nothing was changed. "
        "Sign in again to go back to its page.",
    ),
    "problem_sign_in": (
        "로그인하지 못했습니다. API 키를 확인하세요.",
        "Could not sign in: check the API key.",
    ),
    "problem_sign_in_scope": (
        "이 API 키로는 대시보드를 열 수 없습니다 (admin 또는 payments:read 권한 필요).",
        "This API key cannot open the dashboard (it needs admin or payments:read).",
    ),
    "problem_cookies": (
        "로그인 양식이 만료되었거나 쿠키가 꺼져 있습니다. 다시 시도하세요.",
        "The sign-in form expired or cookies are off; please try again.",
    ),
    "problem_other_page": (
        "다른 페이지에서 보낸 로그인 양식은 받지 않습니다. 이 페이지에서 다시 로그인하세요.",
        "A sign-in form sent from another page is not accepted; sign in on this page.",
    ),
    "problem_origin_null": (
        "브라우저가 이 로그인 양식을 보낸 곳을 알려 주지 않아(Origin: null) 로그인할 수 없습니다. "
        "이 사이트에서 리퍼러(Referer)를 막는 브라우저 설정이나 확장 프로그램을 끄거나, https "
        "주소로 접속한 뒤 다시 시도하세요.",
        "Your browser did not say where this sign-in form came from (Origin: null), so it cannot "
        "be accepted. Allow referrers for this site (a browser setting or an extension withholds "
        "them), or use the service's https address, and try again.",
    ),
    "problem_session_ended": (
        "세션이 끝났습니다. 다시 로그인하세요.",
        "Your session ended; please sign in again.",
    ),
    "problem_EXCEEDS_BALANCE": (
        "취소 금액이 취소할 수 있는 금액보다 큽니다.",
        "The amount is more than can be canceled.",
    ),
    "problem_BALANCE_CHANGED": (
        "이 양식을 연 뒤 결제의 취소 가능 금액이 바뀌었습니다 (다른 취소가 있었습니다). 취소하지 "
        "않았습니다. 아래 취소 내역과 잔액을 확인하고 다시 입력하세요.",
        "The payment's cancelable balance changed after this form was shown (another cancel "
        "was made). Nothing was canceled: check the cancels and balance below, then enter it again.",
    ),
    "problem_FORM_USED": (
        "이미 제출한 취소 양식입니다. 취소하지 않았습니다. 다시 취소하려면 페이지를 새로 고치세요.",
        "This cancel form was already sent; nothing was canceled. Reload the page to cancel again.",
    ),
    "problem_NOT_CANCELABLE_STATUS": (
        "지금 상태에서는 취소할 수 없습니다.",
        "The payment cannot be canceled in its current status.",
    ),
    "problem_REFUND_ACCOUNT_REQUIRED": (
        "가상계좌 결제는 환불 계좌가 필요합니다.",
        "A paid virtual-account payment needs a refund account.",
    ),
    "problem_INVALID_REFUND_ACCOUNT": (
        "환불 계좌를 확인하세요: 은행은 20자 이내, 계좌번호는 '-' 없이 숫자 1~20자리, 예금주는 "
        "60자 이내입니다. 취소하지 않았습니다.",
        "Check the refund account: a bank of up to 20 characters, an account number of 1 to 20 "
        "digits with no dashes, a holder name of up to 60 characters. Nothing was canceled.",
    ),
    "problem_PARTIAL_CANCEL_NOT_ALLOWED": (
        "입금 전 가상계좌는 전액만 취소할 수 있습니다.",
        "A virtual account awaiting its deposit can only be canceled in full.",
    ),
    "problem_PG_REJECTED": ("토스가 취소를 거절했습니다.", "Toss refused the cancel."),
    "problem_PG_UNAVAILABLE": (
        "토스에 연결할 수 없습니다. 아무것도 보내지 않았습니다.",
        "Toss cannot be reached; nothing was sent.",
    ),
    "problem_INVALID_AMOUNT": (
        "취소 금액을 확인하세요. 숫자만 입력하거나 세 자리마다 쉼표를 넣어 입력하세요 (예: 10000 "
        "또는 10,000). 아무것도 취소하지 않았습니다.",
        "Check the amount: enter digits only, or with a comma every three digits (10000 or "
        "10,000). Nothing was canceled.",
    ),
    "problem_INVALID_REQUEST": ("입력값을 확인하세요.", "Check what you entered."),
    "problem_NOT_UNDER_REVIEW": (
        "이미 검토가 끝난 결제입니다.",
        "That payment is no longer waiting for review.",
    ),
    "problem_generic": ("요청을 처리하지 못했습니다.", "The request could not be done."),
    "forbidden": ("권한이 없습니다", "Not allowed"),
    "forbidden_text": (
        "이 작업에 필요한 권한이 없거나, 양식이 만료되었습니다 (CSRF). 페이지를 새로 고쳐 다시 "
        "시도하세요.",
        "You lack the scope for this, or the form expired (CSRF). Reload the page and try again.",
    ),
    "not_found": ("찾을 수 없습니다", "Not found"),
    "not_found_text": ("해당 항목이 없습니다.", "There is no such item."),
    "form_only": ("양식으로만 여는 주소입니다", "This address only takes a form"),
    "form_only_text": (
        "이 주소는 페이지의 양식이 보내는 곳입니다. 아무것도 변경하지 않았습니다.",
        "A page's form sends to this address; nothing was changed.",
    ),
}

STATUS_LABELS: Mapping[str, tuple[str, str]] = {
    "READY": ("결제 대기", "Ready"),
    "IN_PROGRESS": ("승인 중", "In progress"),
    "WAITING_FOR_DEPOSIT": ("입금 대기", "Waiting for deposit"),
    "DONE": ("결제 완료", "Done"),
    "PARTIAL_CANCELED": ("부분 취소", "Partially canceled"),
    "CANCELED": ("취소", "Canceled"),
    "ABORTED": ("승인 거절", "Aborted"),
    "EXPIRED": ("만료", "Expired"),
}
SUBSCRIPTION_STATUS_LABELS: Mapping[str, tuple[str, str]] = {
    "INCOMPLETE": ("첫 결제 확인 중", "Incomplete"),
    "TRIALING": ("체험 중", "Trialing"),
    "ACTIVE": ("이용 중", "Active"),
    "PAST_DUE": ("결제 연체", "Past due"),
    "PAUSED": ("일시정지", "Paused"),
    "CANCELED": ("해지", "Canceled"),
    "UNPAID": ("미납", "Unpaid"),
}
SUBSCRIPTION_CANCEL_REASONS: Mapping[str, tuple[str, str]] = {
    "FIRST_CHARGE_FAILED": ("첫 결제 실패", "The first charge failed"),
    "PAYMENT_FAILED": ("결제 재시도 모두 실패", "Every retry of a charge failed"),
    "BILLING_KEY_DELETED": ("빌링키 삭제됨", "The billing key was deleted"),
}
BILLING_KEY_STATUS_LABELS: Mapping[str, tuple[str, str]] = {
    "ACTIVE": ("사용 중", "Active"),
    "DELETED": ("삭제됨", "Deleted"),
}
# A subscription's period: "1개월", "3 months".
INTERVAL_UNITS: Mapping[str, tuple[str, str]] = {
    "day": ("일", "day"),
    "week": ("주", "week"),
    "month": ("개월", "month"),
    "year": ("년", "year"),
}
METHOD_LABELS: Mapping[str, tuple[str, str]] = {
    "CARD": ("카드", "Card"),
    "VIRTUAL_ACCOUNT": ("가상계좌", "Virtual account"),
    "TRANSFER": ("계좌이체", "Bank transfer"),
    "MOBILE_PHONE": ("휴대폰", "Mobile phone"),
    "EASY_PAY": ("간편결제", "Easy pay"),
    "GIFT_CERTIFICATE": ("상품권", "Gift certificate"),
}
CANCEL_STATUS_LABELS: Mapping[str, tuple[str, str]] = {
    "PENDING": ("처리 중", "Pending"),
    "DONE": ("완료", "Done"),
    "FAILED": ("실패", "Failed"),
}
DELIVERY_STATUS_LABELS: Mapping[str, tuple[str, str]] = {
    "RECEIVED": ("대기", "Received"),
    "APPLIED": ("반영됨", "Applied"),
    "UNMATCHED": ("결제 없음", "Unmatched"),
    "IGNORED": ("무시", "Ignored"),
    "REJECTED": ("거부", "Rejected"),
    "FAILED": ("실패", "Failed"),
}


def negotiate(accept_language: str | None) -> Lang:
    """The language the browser prefers among ours (RFC 9110 q-values); Korean when it names
    neither."""
    best: tuple[float, int, Lang] | None = None
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGS:
            continue
        q = _quality(params)
        if q <= 0:
            continue
        candidate = (q, -position, primary)
        if best is None or candidate[:2] > best[:2]:
            best = (q, -position, "ko" if primary == "ko" else "en")
    return "ko" if best is None else best[2]


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


@dataclass(frozen=True)
class Translator:
    lang: Lang

    def __call__(self, key: str, **values: Any) -> str:
        return self.pick(CATALOGUE[key]).format(**values) if values else self.pick(CATALOGUE[key])

    def has(self, key: str) -> bool:
        return key in CATALOGUE

    def pick(self, words: tuple[str, str]) -> str:
        return words[0] if self.lang == "ko" else words[1]

    def label(self, table: Mapping[str, tuple[str, str]], value: object) -> str:
        if value is None:
            return "—"
        words = table.get(str(value))
        return str(value) if words is None else self.pick(words)
