"""SUNAP_LOG_LEVEL=DEBUG on the embedded default: more lines, never a value (docs/limits.md).
aiosqlite logs every call it runs at DEBUG, bound parameters included: an API key's hash among
them, with which the key's row is found."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.support.service import running_service


def test_debug_logging_on_sqlite_logs_no_bound_parameter(tmp_path: Path) -> None:
    with running_service(tmp_path, SUNAP_LOG_LEVEL="DEBUG") as service:
        key = service.create_key("debug-shop", "payments:read")
        with service.client(key) as api:
            assert api.get("/v1/payments").status_code == 200
        logs = service.logs()
    assert " DEBUG " in logs  # the level took
    assert hashlib.sha256(key.encode()).hexdigest() not in logs
    assert " aiosqlite " not in logs
