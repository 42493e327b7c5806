"""Fill a migrated database with payments, quickly (bulk INSERTs of rows the repository would
write), for the scale benchmark (bench/scale.py) and for looking at query plans by hand.

    .venv/bin/python bench/fill_payments.py DATABASE_URL --tenant TENANT_ID --count 1000000

Payments are READY, DONE or CANCELED (one in three each), a minute apart going back from now,
spread over 1,000 customers, on the tenant's default PG account. Prints rows per second.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import insert  # noqa: E402

from sunap.adapters.sql.engine import create_engine  # noqa: E402
from sunap.adapters.sql.payment_rows import payment_to_row  # noqa: E402
from sunap.adapters.sql.tables import payments  # noqa: E402
from sunap.application.pg_accounts import DEFAULT_PG_ACCOUNT  # noqa: E402
from sunap.domain.payment import Payment, PaymentMethod  # noqa: E402

BATCH = 5_000
STATUSES = ("READY", "DONE", "CANCELED")


def template_row(tenant_id: str, now: datetime) -> dict[str, Any]:
    payment = Payment.create(
        id="pay_template",
        tenant_id=tenant_id,
        pg_account_id=DEFAULT_PG_ACCOUNT,
        order_id="order-template",
        order_name="Coffee beans 1kg",
        amount=15000,
        currency="KRW",
        now=now,
        method=PaymentMethod.CARD,
        customer_key="customer-0",
        metadata=None,
        success_url=None,
        fail_url=None,
    )
    return payment_to_row(payment) | {"version": payment.version}


def rows(tenant_id: str, start: int, count: int, now: datetime) -> list[dict[str, Any]]:
    """Rows like the template, each its own id, order and time; the statuses only label rows
    for filtering (no DONE row needs a paymentKey for a list or a look-up)."""
    base = template_row(tenant_id, now)
    made = []
    run = uuid.uuid4().hex[:8]
    for n in range(start, start + count):
        at = now - timedelta(minutes=n)
        made.append(
            base
            | {
                "id": f"pay_fill_{run}_{n:08d}",
                "order_id": f"fill-{run}-{n:08d}",
                "status": STATUSES[n % 3],
                "customer_key": f"customer-{n % 1000}",
                "created_at": at,
                "updated_at": at,
            }
        )
    return made


async def fill(url: str, tenant_id: str, count: int) -> float:
    engine = create_engine(url)
    now = datetime.now(UTC)
    started = time.monotonic()
    try:
        for start in range(0, count, BATCH):
            async with engine.begin() as conn:
                await conn.execute(
                    insert(payments), rows(tenant_id, start, min(BATCH, count - start), now)
                )
        # Fresh statistics, as autovacuum (PostgreSQL) or a routine ANALYZE would leave them.
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE payments")
    finally:
        await engine.dispose()
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--tenant", required=True, help="the tenant's id (tenants.id)")
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args()
    seconds = asyncio.run(fill(args.database_url, args.tenant, args.count))
    print(f"{args.count:,} payments in {seconds:.1f} s ({args.count / seconds:,.0f}/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
