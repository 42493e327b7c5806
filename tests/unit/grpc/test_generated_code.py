"""The checked-in `sunap.v1` package is exactly what `make proto` generates from the proto."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CHECKED_IN = ROOT / "src" / "sunap" / "v1"


def test_regenerating_from_the_proto_gives_the_checked_in_code_byte_for_byte(
    tmp_path: Path,
) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "proto" / "generate.py"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    fresh = tmp_path / "sunap" / "v1"
    names = sorted(p.name for p in fresh.iterdir() if p.is_file())
    assert names == sorted(p.name for p in CHECKED_IN.iterdir() if p.is_file()), (
        "run `make proto` and commit src/sunap/v1"
    )
    stale = [n for n in names if (fresh / n).read_bytes() != (CHECKED_IN / n).read_bytes()]
    assert stale == [], f"{stale} differ from the proto: run `make proto` and commit them"


def test_the_generated_service_is_the_one_the_proto_declares() -> None:
    from sunap.v1 import payments_pb2

    service = payments_pb2.DESCRIPTOR.services_by_name["PaymentService"]
    assert payments_pb2.DESCRIPTOR.name == "sunap/v1/payments.proto"
    assert service.full_name == "sunap.v1.PaymentService"
    assert [m.name for m in service.methods] == [
        "CreatePayment",
        "ConfirmPayment",
        "GetPayment",
        "ListPayments",
        "CancelPayment",
        "RefundPayment",
        "WatchPayment",
    ]
