"""Migration 0004 on a database that already holds webhook bodies with secrets: the virtual-account
`secret` becomes its digest and refund accounts are masked in place, on every database (MariaDB
included, where bytes travel as hex)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from sunap.adapters.sql.columns import Blob, Json, UtcDateTime
from sunap.adapters.sql.engine import create_engine
from sunap.adapters.sql.migrate import upgrade_async

deliveries_0003 = sa.table(
    "webhook_deliveries",
    sa.column("id", sa.String),
    sa.column("dedup_key", sa.String),
    sa.column("event_type", sa.String),
    sa.column("headers", Json),
    sa.column("body", Blob),
    sa.column("received_at", UtcDateTime),
    sa.column("status", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("pg_account_id", sa.String),
)

SECRET_BODY = {
    "eventType": "DEPOSIT_CALLBACK",
    "secret": "ps_deposit_secret_value",
    "data": {
        "refundReceiveAccount": {"accountNumber": "110123456789", "holderName": "김토스"},
        "status": "DONE",
    },
}


async def test_stored_webhook_secrets_are_digested_and_accounts_masked_by_the_upgrade(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await upgrade_async(url, "0003")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                deliveries_0003.insert(),
                [
                    {
                        "id": "whd_secret",
                        "dedup_key": "default:dc:1",
                        "event_type": "DEPOSIT_CALLBACK",
                        "headers": {},
                        "body": json.dumps(SECRET_BODY, ensure_ascii=False).encode(),
                        "received_at": datetime(2026, 11, 1, tzinfo=UTC),
                        "status": "APPLIED",
                        "attempts": 1,
                        "pg_account_id": "default",
                    },
                    {
                        "id": "whd_text",
                        "dedup_key": "default:x:2",
                        "event_type": "UNKNOWN",
                        "headers": {},
                        "body": b"not json",
                        "received_at": datetime(2026, 11, 1, tzinfo=UTC),
                        "status": "IGNORED",
                        "attempts": 1,
                        "pg_account_id": "default",
                    },
                ],
            )
    finally:
        await engine.dispose()

    await upgrade_async(url)

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = dict(
                (await conn.execute(sa.select(deliveries_0003.c.id, deliveries_0003.c.body))).all()
            )
    finally:
        await engine.dispose()
    stored = bytes(rows["whd_secret"])
    assert b"ps_deposit_secret_value" not in stored
    assert b"110123456789" not in stored
    body = json.loads(stored)
    assert body["secret"].startswith("sha256:")
    assert body["data"]["refundReceiveAccount"]["accountNumber"].endswith("6789")
    assert body["data"]["status"] == "DONE"
    assert bytes(rows["whd_text"]) == b"not json"  # not JSON: left as it was
