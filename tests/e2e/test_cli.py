"""The `sunap` command as operators and scripts use it, run as a real process: JSON that a
script can parse (and that holds no secret), the documented exit codes (docs/cli.md), progress
kept off stdout, and shell completion that completes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from sunap.application.authentication import SCOPES
from tests.e2e.flows import wait_for
from tests.support.service import SUNAP, RunningService, free_port, running_service


def sunap(
    service: RunningService, *args: str, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SUNAP, *args],
        env=service.env | extra_env,
        cwd=service.workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )


def as_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def unmatched_delivery(service: RunningService) -> str:
    """A Toss webhook about a payment nobody has: stored, then marked UNMATCHED."""
    body = {
        "eventType": "PAYMENT_STATUS_CHANGED",
        "createdAt": "2026-01-15T09:00:00.000000",
        "data": {
            "paymentKey": f"tnhig{time.time_ns()}",
            "orderId": f"order-nobody-{time.time_ns()}",
            "status": "DONE",
        },
    }
    response = httpx.post(f"{service.base_url}/v1/webhooks/toss", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["deliveryId"])


def deliveries(service: RunningService, *args: str) -> dict[str, dict[str, Any]]:
    return {d["id"]: d for d in as_json(sunap(service, "webhooks", "list", "--json", *args))}


def test_keys_list_shows_each_key_as_json_without_the_key_or_its_hash(
    service: RunningService,
) -> None:
    key = service.create_key("cli-keys", "payments:read", "billing")
    listed = as_json(sunap(service, "keys", "list", "--tenant", "cli-keys", "--json"))
    assert [(k["tenant"], k["scopes"]) for k in listed] == [
        ("cli-keys", ["billing", "payments:read"])
    ]
    assert listed[0]["id"].startswith("key_") and listed[0]["createdAt"]
    everything = sunap(service, "keys", "list", "--json").stdout
    assert key not in everything and "sk_sunap_" not in everything
    assert "cli-keys" in sunap(service, "keys", "list").stdout.splitlines()[1]


@contextmanager
def signed_in_dashboard(service: RunningService, key: str) -> Iterator[httpx.Client]:
    """A browser's cookie jar signed in to the dashboard with `key`."""
    with httpx.Client(base_url=service.base_url, timeout=30) as browser:
        yield sign_in(browser, key)


def sign_in(browser: httpx.Client, key: str) -> httpx.Client:
    form = browser.get("/dashboard/sign-in")
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert found is not None, form.text
    signed = browser.post(
        "/dashboard/sign-in", data={"csrf": found.group(1), "api_key": key, "next": "/dashboard"}
    )
    assert signed.status_code == 303, signed.text
    assert browser.get("/dashboard").status_code == 200
    return browser


def test_keys_revoke_ends_a_leaked_key_everywhere_within_seconds(service: RunningService) -> None:
    leaked = service.create_key("cli-revoke", "payments:read", "payments:write")
    kept = service.create_key("cli-revoke", "payments:read")
    [listed, kept_row] = as_json(sunap(service, "keys", "list", "--tenant", "cli-revoke", "--json"))
    with service.client(leaked) as api, signed_in_dashboard(service, leaked) as browser:
        assert api.get("/v1/payments").status_code == 200  # remembered by the server from now

        revoked = sunap(service, "keys", "revoke", listed["id"])
        assert revoked.returncode == 0, revoked.stderr
        assert revoked.stdout == "" and "revoked" in revoked.stderr

        assert wait_for(lambda: api.get("/v1/payments").status_code == 401, timeout=15)
        signed_out = browser.get("/dashboard")
        assert signed_out.status_code == 303
        assert signed_out.headers["location"].startswith("/dashboard/sign-in")
    with service.client(kept) as colleague:  # the tenant's other key goes on
        assert colleague.get("/v1/payments").status_code == 200
    remaining = as_json(sunap(service, "keys", "list", "--tenant", "cli-revoke", "--json"))
    assert [k["id"] for k in remaining] == [kept_row["id"]]
    again = sunap(service, "keys", "revoke", listed["id"])
    assert again.returncode == 1 and "No API key has the id" in again.stderr


def test_keys_create_json_hands_the_new_key_to_a_script_and_the_key_works(
    service: RunningService,
) -> None:
    created = as_json(
        sunap(
            service, "keys", "create", "--tenant", "cli-json", "--scope", "payments:read", "--json"
        )
    )
    assert created["tenant"] == "cli-json" and created["scopes"] == ["payments:read"]
    with service.client(created["key"]) as api:
        assert api.get("/v1/payments").status_code == 200
    # Without --json, standard output is the key alone; the words around it go to stderr.
    plain = sunap(service, "keys", "create", "--tenant", "cli-json", "--scope", "payments:read")
    assert plain.returncode == 0 and "Store it now" in plain.stderr
    (key,) = plain.stdout.splitlines()
    with service.client(key) as api:
        assert api.get("/v1/payments").status_code == 200


def test_keys_create_names_the_new_keys_id_so_a_leaked_key_is_revoked_alone(
    service: RunningService,
) -> None:
    created = as_json(
        sunap(service, "keys", "create", "--tenant", "cli-id", "--scope", "admin", "--json")
    )
    plain = sunap(service, "keys", "create", "--tenant", "cli-id", "--scope", "admin")
    assert plain.returncode == 0, plain.stderr
    (leaked,) = plain.stdout.splitlines()  # the key alone, as `| tail -n1` expects
    found = re.search(r"Its id is (key_\S+) \(fingerprint ([0-9a-f]{8})\)", plain.stderr)
    assert found is not None, plain.stderr
    leaked_id, fingerprint = found.groups()
    # Anyone holding the leaked key finds its row by the fingerprint, which gives none of it away.
    assert fingerprint == hashlib.sha256(leaked.encode()).hexdigest()[:8]
    assert fingerprint not in leaked

    listed = as_json(sunap(service, "keys", "list", "--tenant", "cli-id", "--json"))
    assert {(k["id"], k["fingerprint"]) for k in listed} == {
        (created["id"], created["fingerprint"]),
        (leaked_id, fingerprint),
    }
    header, *rows = sunap(service, "keys", "list", "--tenant", "cli-id").stdout.splitlines()
    assert header.split("\t")[:2] == ["id", "fingerprint"]
    assert any(row.startswith(f"{leaked_id}\t{fingerprint}\tcli-id\t") for row in rows), rows

    assert sunap(service, "keys", "revoke", leaked_id).returncode == 0
    with service.client(leaked) as api, service.client(created["key"]) as other:
        assert wait_for(lambda: api.get("/v1/payments").status_code == 401, timeout=15)
        assert other.get("/v1/payments").status_code == 200


@pytest.mark.parametrize(
    ("tenant", "printed"),
    [
        ("a?b#c", "/v1/webhooks/toss/a%3Fb%23c"),
        ("가게 1", "/v1/webhooks/toss/%EA%B0%80%EA%B2%8C%201"),
        ("plain-shop.1", "/v1/webhooks/toss/plain-shop.1"),
    ],
)
def test_tenants_set_toss_prints_a_webhook_path_that_reaches_the_tenant(
    service: RunningService, tenant: str, printed: str
) -> None:
    secret = service.workdir / f"sk-{hashlib.sha256(tenant.encode()).hexdigest()[:8]}"
    secret.write_text(f"test_sk_own_{time.time_ns()}")
    done = sunap(
        service, "tenants", "set-toss", "--tenant", tenant, "--secret-key-file", str(secret)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == printed + "\n"

    body = {
        "eventType": "PAYMENT_STATUS_CHANGED",
        "createdAt": "2026-01-15T09:00:00.000000",
        "data": {"paymentKey": f"tk{time.time_ns()}", "orderId": "order-nobody", "status": "DONE"},
    }
    delivered = httpx.post(f"{service.base_url}{done.stdout.strip()}", json=body, timeout=30)
    assert delivered.status_code == 200, delivered.text  # the tenant was found: stored


def test_tenants_list_json_names_the_account_and_never_a_secret(service: RunningService) -> None:
    service.create_key("cli-tenant", "admin")
    tenants = {t["tenant"]: t for t in as_json(sunap(service, "tenants", "list", "--json"))}
    assert tenants["cli-tenant"] == {
        "tenant": "cli-tenant",
        "account": "default",
        "clientKey": None,
        "webhookSecret": False,
        "updatedAt": None,
    }


def test_webhooks_list_json_filters_by_status_and_replay_by_status_queues_each_one(
    service: RunningService,
) -> None:
    ids = [unmatched_delivery(service), unmatched_delivery(service)]
    assert wait_for(
        lambda: all(deliveries(service).get(i, {}).get("status") == "UNMATCHED" for i in ids)
    )
    unmatched = deliveries(service, "--status", "UNMATCHED", "--limit", "500")
    assert set(ids) <= set(unmatched)
    assert {d["status"] for d in unmatched.values()} == {"UNMATCHED"}
    assert "body" not in unmatched[ids[0]]  # listings summarise; `webhooks show` has the rest
    header, *rows = sunap(service, "webhooks", "list").stdout.splitlines()
    assert header.split("\t")[-1] == "ERROR"
    assert rows and all("" not in row.split("\t") for row in rows), rows  # `-` for nothing

    replayed = sunap(service, "webhooks", "replay", "--status", "UNMATCHED", "--json")
    queued = {r["id"]: r["queued"] for r in as_json(replayed)}
    assert all(queued[i] for i in ids)
    assert replayed.stderr == ""  # no terminal: no progress bar, and nothing on stdout but JSON
    assert wait_for(lambda: all(deliveries(service)[i]["attempts"] == 2 for i in ids))


def test_reconcile_json_is_a_list_of_outcomes(service: RunningService) -> None:
    assert as_json(sunap(service, "reconcile", "--json")) == []


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("webhooks", "show", "whd_nobody"), 1, "no delivery whd_nobody"),
        (("webhooks", "replay"), 2, "name a delivery"),
        (("keys", "create", "--tenant", "t", "--scope", "everything"), 2, "unknown scope"),
        (("keys", "create", "--tenant", "", "--scope", "admin"), 2, "name is empty"),
        (("keys", "create", "--tenant", " shop", "--scope", "admin"), 2, "with a space"),
        (("keys", "create", "--tenant", "a/b", "--scope", "admin"), 2, "'/'"),
        (("keys", "create", "--tenant", "x" * 201, "--scope", "admin"), 2, "longer than 200"),
        (("no-such-command",), 2, "No such command"),
    ],
)
def test_exit_codes_tell_a_failure_from_a_usage_error(
    service: RunningService, args: tuple[str, ...], code: int, says: str
) -> None:
    result = sunap(service, *args)
    assert result.returncode == code, result.stdout + result.stderr
    assert says in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("setting", "value", "code", "says"),
    [
        ("TOSS_SECRET_KEY", "live_sk_never_printed_0123", 2, "live key"),
        ("SUNAP_PORT", "eighty", 2, "SUNAP_PORT"),
        ("SUNAP_DATABASE_URL", "sqlite+aiosqlite:///never-migrated.db", 3, "sunap migrate"),
    ],
)
def test_a_refused_configuration_or_an_unusable_database_is_a_message_not_a_traceback(
    service: RunningService, setting: str, value: str, code: int, says: str
) -> None:
    result = sunap(service, "tenants", "list", **{setting: value})
    assert result.returncode == code
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert "live_sk_never_printed" not in result.stdout + result.stderr


@pytest.mark.parametrize("door", ["--port", "--grpc-port"])
def test_serve_on_a_port_another_process_holds_is_one_line_and_exit_2(
    service: RunningService, door: str
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = {"--port": str(free_port()), "--grpc-port": "0", door: str(taken)}
        result = sunap(
            service, "serve", "--host", "127.0.0.1", *(x for p in ports.items() for x in p)
        )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"port {taken}" in result.stderr and "another port" in result.stderr
    assert "Traceback" not in result.stderr and "Sunap listening" not in result.stdout


def test_completion_scripts_are_generated_for_each_shell(tmp_path: Path) -> None:
    # Shells are named explicitly: which shell a test runs under is not the test's business.
    env = os.environ | {"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    for shell, marker in [
        ("bash", "complete -o default -F"),
        ("zsh", "#compdef sunap"),
        ("fish", "complete --command sunap"),
    ]:
        shown = subprocess.run(
            [*SUNAP, "--show-completion", shell],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert shown.returncode == 0, shown.stderr
        assert marker in shown.stdout and "_SUNAP_COMPLETE" in shown.stdout


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("sunap ke", {"keys"}),
        ("sunap keys create --scope pay", {s for s in SCOPES if s.startswith("pay")}),
    ],
)
def test_the_completion_the_scripts_ask_for_completes_commands_scopes_and_statuses(
    tmp_path: Path, words: str, expected: set[str]
) -> None:
    env = os.environ | {
        "_SUNAP_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }
    answer = subprocess.run(
        [*SUNAP], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert answer.returncode == 0, answer.stderr
    assert set(answer.stdout.split()) == expected


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_serve_stopped_by_a_signal_shuts_down_cleanly_and_exits_0(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    with running_service(tmp_path) as service:
        process = service.process
        assert process is not None
        service.stop(stop_signal)
        assert process.returncode == 0, service.logs()[-2000:]
        assert "Application shutdown complete" in service.logs()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_sandbox_stopped_by_a_signal_exits_0_as_serve_does(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*SUNAP, "sandbox", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/sandbox/calls", timeout=1).is_success
            except httpx.TransportError:
                return False

        assert wait_for(answers, timeout=60)
        process.send_signal(stop_signal)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        process.wait()
