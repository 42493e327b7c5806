"""Toss's billingKey never leaves the vault: not in an answer, a log line, an audit row, an event,
a stored webhook delivery, the embedded sandbox's control plane (open to anyone on the port) or
anywhere in the database's files in the clear."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.billing_flows import (
    after,
    billing_key,
    customer_key,
    refuse_next_charges,
    run_due,
    subscribe,
)
from tests.e2e.flows import wait_for
from tests.support.databases import selected_backends
from tests.support.service import RunningService, running_service, running_service_on
from tests.support.vault import toss_billing_keys_of


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with running_service(Path(tmp_path_factory.mktemp("billing-secrecy"))) as svc:
        yield svc


def test_the_billing_key_appears_nowhere_but_sealed(service: RunningService) -> None:
    answers: list[str] = []
    run_due_logs: list[str] = []
    key_api = service.create_key("secrecy", "billing", "payments:read")
    with (
        service.client(key_api) as api,
        httpx.Client(base_url=service.sandbox_url, timeout=30) as sandbox,
    ):

        def keep(response: httpx.Response) -> httpx.Response:
            answers.append(response.text)
            return response

        key = billing_key(api, sandbox, customer_key())
        sub = keep(subscribe(api, key)).json()
        one_off = keep(
            api.post(
                f"/v1/billing-keys/{key['id']}/charges", json={"orderName": "x", "amount": 700}
            )
        ).json()
        refuse_next_charges(sandbox)
        run_due(service, after(sub["currentPeriodEnd"], minutes=1), logs_into=run_due_logs)
        for path in (
            f"/v1/billing-keys/{key['id']}",
            "/v1/billing-keys",
            f"/v1/subscriptions/{sub['id']}",
            f"/v1/subscriptions/{sub['id']}/payments",
            f"/v1/payments/{one_off['id']}",
            f"/v1/payments/{one_off['id']}/transactions",
            f"/v1/payments/{sub['latestPaymentId']}/transactions",
        ):
            assert keep(api.get(path)).status_code == 200, path
        # The vault, opened with the service's own secrets key, is the only place to read it.
        toss_key = toss_billing_keys_of(service)[key["id"]]
        assert len(toss_key) >= 16
        keep(api.delete(f"/v1/billing-keys/{key['id']}"))  # Toss sends BILLING_DELETED back
        assert wait_for(lambda: _deliveries(service.workdir), timeout=20)
        # The sandbox logged the charges and the deletion, and the webhook, by the template.
        calls, hooks = sandbox.get("/sandbox/calls").text, sandbox.get("/sandbox/webhooks").text
        assert '"/v1/billing/{billingKey}"' in calls and "BILLING_DELETED" in hooks
        for control_plane in (calls, hooks):
            assert toss_key not in control_plane and quote(toss_key, safe="") not in control_plane

    assert all(toss_key not in text for text in answers)
    # Every log line (the events written to the log too), of the service and of `run-due`, in
    # any spelling of the key: httpx logged request URLs, where '=' is '%3D'.
    assert run_due_logs and all(" INFO " not in log for log in run_due_logs)  # quiet in a script
    for log in (service.logs(), *run_due_logs):
        assert toss_key not in log and quote(toss_key, safe="") not in log
        assert not re.search(r"/v1/billing/(?!\{billingKey\}|authorizations)[^\s\"']+", log)
    with closing(sqlite3.connect(service.workdir / "sunap.db")) as db:
        audit = db.execute("SELECT request_data, response_data FROM audit_entries").fetchall()
        events = db.execute("SELECT payload FROM outbox").fetchall()
        stored = db.execute("SELECT credential_sealed FROM billing_keys").fetchall()
        deliveries = db.execute("SELECT body FROM webhook_deliveries").fetchall()
    assert len(audit) > 5 and len(events) > 5 and len(stored) == 1 and deliveries
    assert all(toss_key not in str(row) for row in [*audit, *events])
    assert all(toss_key.encode() not in bytes(row[0]) for row in deliveries)
    for file in service.workdir.iterdir():  # the database, its journal, the key file
        if file.is_file() and file.name != "serve.log":
            assert toss_key.encode() not in file.read_bytes(), file.name


def _deliveries(workdir: Path) -> int:
    with closing(sqlite3.connect(workdir / "sunap.db")) as db:
        found = db.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE event_type = 'BILLING_DELETED'"
        ).fetchone()
    return int(found[0])


@pytest.mark.skipif("postgresql" not in selected_backends(), reason="PostgreSQL not selected")
def test_a_process_without_the_secrets_key_refuses_a_charge_and_claims_nothing(
    tmp_path: Path,
) -> None:
    """It claimed the payment and answered 502 PG_UNAVAILABLE, nothing sent to Toss, the payment
    left IN_PROGRESS for the reconciler; issuing a key in the same situation is 503."""
    with running_service_on("postgresql", tmp_path) as service:
        key_api = service.create_key("no-vault", "billing", "payments:read")
        with (
            service.client(key_api) as api,
            httpx.Client(base_url=service.sandbox_url, timeout=30) as sandbox,
        ):
            key = billing_key(api, sandbox, customer_key())
        service.stop()
        del service.env["SUNAP_SECRETS_KEY"]
        service.start()
        with service.client(key_api) as api:
            charge = api.post(
                f"/v1/billing-keys/{key['id']}/charges", json={"orderName": "x", "amount": 700}
            )
            assert charge.status_code == 503, charge.text
            assert charge.json()["code"] == "SERVICE_UNAVAILABLE"
            assert "SUNAP_SECRETS_KEY" in charge.json()["message"]
            assert api.get("/v1/payments").json()["items"] == []
