"""`sunap recheck` beside a real `sunap serve`, on a sandbox that sends no webhooks: refunds made
in Toss's console, which Sunap never heard of, are booked with their events; the rest is left
as it is."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.reliability.stack import Stack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("recheck"))) as running:
        yield running


def paid(stack: Stack, amount: int) -> tuple[dict[str, object], str]:
    payment = stack.new_payment(amount)
    payment_key = stack.pay_in_window(payment)
    assert stack.confirm(payment, payment_key).status_code == 200
    return payment, payment_key


def test_a_refund_made_in_tosss_console_is_booked_by_recheck_and_nothing_else_moves(
    stack: Stack,
) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    refunded, refunded_key = paid(stack, 10000)
    untouched, _ = paid(stack, 7000)
    console = stack.toss.post(
        f"/v1/payments/{refunded_key}/cancel",
        json={"cancelReason": "콘솔 환불", "cancelAmount": 4000},
        headers={"Idempotency-Key": f"console-{uuid.uuid4().hex}"},
    )
    assert console.status_code == 200, console.text
    assert stack.payment(str(refunded["id"]))["balanceAmount"] == 10000  # never told

    rows = json.loads(
        stack.service.cli("recheck", "--since", since, "--per-minute", "600", "--json")
    )

    outcomes = {row["paymentId"]: (row["outcome"], row["status"]) for row in rows}
    assert outcomes == {
        refunded["id"]: ("changed", "PARTIAL_CANCELED"),
        untouched["id"]: ("unchanged", "DONE"),
    }
    booked = stack.payment(str(refunded["id"]))
    assert (booked["balanceAmount"], [c["cancelAmount"] for c in booked["cancels"]]) == (
        6000,
        [4000],
    )
    assert booked["balanceAmount"] == stack.toss_payment(refunded_key)["balanceAmount"]
    events = [kind for kind, _ in stack.outbox_events(str(refunded["id"]))]
    assert events == ["payment.created", "payment.completed", "payment.partially_canceled"]

    again = stack.service.cli("recheck", "--since", since, "--per-minute", "600")
    assert again.splitlines()[-1] == "2 payment(s) rechecked: 2 unchanged"
    assert [kind for kind, _ in stack.outbox_events(str(refunded["id"]))] == events


def test_a_time_without_its_offset_is_refused_in_one_line(stack: Stack) -> None:
    import subprocess

    from tests.support.service import SUNAP

    done = subprocess.run(
        [*SUNAP, "recheck", "--since", "2026-11-01T00:00"],
        env=stack.service.env,
        capture_output=True,
        text=True,
        cwd=stack.service.workdir,
    )
    assert done.returncode == 2
    assert "offset" in done.stderr
    assert "Traceback" not in done.stderr
