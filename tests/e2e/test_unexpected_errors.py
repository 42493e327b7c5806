"""What a real `sunap serve` does when something fails that no rule foresaw: a `500
INTERNAL_ERROR` as `{code, message}` on a keep-alive connection that stays usable, and a log
that tells the operator what failed without a single bound parameter of the statement.

The failures are real: a row corrupted in the service's SQLite file, and a trigger that makes
the database itself refuse an insert.
"""

from __future__ import annotations

import socket
import sqlite3
from contextlib import closing
from pathlib import Path

import h11
import httpx

from tests.e2e.flows import create_payment, new_order_id, wait_for
from tests.support.service import RunningService


def database_file(service: RunningService) -> Path:
    return service.workdir / "sunap.db"


def write_sql(service: RunningService, statement: str, *args: str) -> None:
    with closing(sqlite3.connect(database_file(service), timeout=30)) as db, db:
        db.execute(statement, args)


class KeepAliveConnection:
    """One TCP connection, several HTTP/1.1 requests in turn: h11 reports a closed connection as
    an error rather than quietly opening another."""

    def __init__(self, service: RunningService, key: str) -> None:
        host, port = service.base_url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        self.http = h11.Connection(h11.CLIENT)
        self.headers = [("Host", host), ("Authorization", f"Bearer {key}")]

    def get(self, target: str) -> tuple[int, dict[str, str], bytes]:
        request = h11.Request(method="GET", target=target, headers=self.headers)
        self.sock.sendall(self.http.send(request) + self.http.send(h11.EndOfMessage()))
        status, headers, body = 0, {}, b""
        while True:
            event = self.http.next_event()
            if event is h11.NEED_DATA:
                self.http.receive_data(self.sock.recv(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
                headers = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise AssertionError(f"the connection ended: {event!r}")
        self.http.start_next_cycle()  # raises if either side said the connection must close
        return status, headers, body

    def close(self) -> None:
        self.sock.close()


def test_a_500_is_json_and_the_connection_stays_open(
    service: RunningService, api: httpx.Client, merchant_key: str
) -> None:
    payment = create_payment(api)
    write_sql(service, "UPDATE payments SET status = 'BOGUS' WHERE id = ?", payment["id"])
    connection = KeepAliveConnection(service, merchant_key)
    try:
        status, headers, body = connection.get(f"/v1/payments/{payment['id']}")
        assert status == 500
        assert httpx.Response(500, content=body).json() == {
            "code": "INTERNAL_ERROR",
            "message": "Something went wrong on our side; nothing was guessed.",
        }
        assert headers.get("connection", "").lower() != "close"
        again, _, _ = connection.get("/v1/payments?status=CANCELED")
        assert again == 200
        assert connection.get("/healthz")[0] == 200
    finally:
        connection.close()
    assert "unexpected error" in service.logs() and "BOGUS" in service.logs()


def test_a_database_error_is_logged_without_its_bound_parameters(
    service: RunningService, api: httpx.Client
) -> None:
    write_sql(
        service,
        "CREATE TRIGGER refuse_marked_orders BEFORE INSERT ON payments "
        "WHEN NEW.order_name = 'refuse me' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END",
    )
    customer_key = "cust-" + new_order_id()
    secret_note = "note-" + new_order_id()
    response = api.post(
        "/v1/payments",
        json={
            "orderName": "refuse me",
            "amount": 15000,
            "customerKey": customer_key,
            "metadata": {"note": secret_note},
        },
    )
    assert response.status_code == 500, response.text
    logs = wait_for(
        lambda: service.logs() if "refused by the test trigger" in service.logs() else ""
    )
    assert "INSERT INTO payments" in logs  # the operator sees what failed…
    assert customer_key not in logs and secret_note not in logs  # …and no value it carried
    assert customer_key not in response.text and secret_note not in response.text
