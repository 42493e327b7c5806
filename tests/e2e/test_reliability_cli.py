"""`sunap reconcile`: with no workers running, one command settles what is in doubt."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.reliability.stack import CONFIRM_PATH, running_stack
from tests.support.service import SUNAP

pytestmark = pytest.mark.slow


def test_sunap_reconcile_settles_a_lost_answer_when_no_worker_runs(tmp_path: Path) -> None:
    with running_stack(
        tmp_path, SUNAP_RUN_WORKERS="false", SUNAP_RECONCILE_DELAYS="0.1,60"
    ) as stack:
        payment = stack.new_payment(11000)
        payment_key = stack.pay_in_window(payment)
        stack.fault(path=CONFIRM_PATH, dropConnection=True)  # the confirm's one attempt
        assert stack.confirm(payment, payment_key).status_code == 502

        ran = subprocess.run(
            [*SUNAP, "reconcile"],
            env=stack.service.env,
            cwd=tmp_path,
            capture_output=True,
            check=True,
            timeout=60,
        )

        out = ran.stdout.decode()
        assert f"{payment['id']}\tsettled" in out, out + ran.stderr.decode()
        settled = stack.payment(payment["id"])
        assert settled["status"] == "DONE"
        assert settled["balanceAmount"] == stack.toss_payment(payment_key)["balanceAmount"]
        again = subprocess.run(
            [*SUNAP, "reconcile"], env=stack.service.env, cwd=tmp_path, capture_output=True
        )
        assert again.returncode == 0 and "0 payment(s) checked" in again.stdout.decode()
