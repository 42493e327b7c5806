"""Payments in doubt as an operator sees them on a real `sunap serve`: a confirm Toss never
answered, while Toss's look-ups fail too, shows in `sunap_payments_outcome_unknown` with the age of
its call, and leaves it once the reconciler has learnt the outcome; when they were read is shown
beside them."""

from __future__ import annotations

from tests.e2e.flows import wait_for
from tests.integration.reliability.stack import CONFIRM_PATH, Stack
from tests.support.metrics import scrape

LOOKUP_GLOB = "/v1/payments/orders/*"
UNKNOWN = "sunap_payments_outcome_unknown"
OLDEST = "sunap_payments_in_doubt_oldest_age_seconds"
MEASURED_AT = "sunap_payments_in_doubt_last_measured_timestamp_seconds"


def test_a_confirm_in_doubt_is_counted_until_the_reconciler_settles_it(stack: Stack) -> None:
    base_url = stack.service.base_url
    assert scrape(base_url).value(UNKNOWN) == 0
    payment = stack.new_payment(13000)
    payment_key = stack.pay_in_window(payment)
    stack.fault(path=LOOKUP_GLOB, status=500, times=1000)  # the reconciler cannot learn it yet
    stack.fault(path=CONFIRM_PATH, status=500, times=3)  # every attempt of the confirm fails

    assert stack.confirm(payment, payment_key).status_code == 502
    assert wait_for(lambda: scrape(base_url).value(UNKNOWN) == 1, timeout=30)
    assert wait_for(lambda: scrape(base_url).value(OLDEST) >= 1.0, timeout=30)
    assert scrape(base_url).value("sunap_payments_cancel_pending") == 0
    measured_at = scrape(base_url).value(MEASURED_AT)
    assert measured_at > 0  # when those figures were read: stale ones would show it

    stack.clear_faults()
    assert stack.settled(payment["id"])["status"] == "DONE"
    assert wait_for(lambda: scrape(base_url).value(UNKNOWN) == 0, timeout=30)
    assert scrape(base_url).value(OLDEST) == 0
    assert scrape(base_url).value(MEASURED_AT) > measured_at  # read again since
