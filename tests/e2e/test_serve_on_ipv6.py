"""`sunap serve` on an IPv6 address (SUNAP_HOST=::1): every URL it builds from its host and port
brackets the address (`http://[::1]:8087`), so the checkout link opens and a confirm reaches the
embedded sandbox. Unbracketed, `http://::1:8087/…` is no URL: every confirm answered 500."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sunap.bootstrap import loopback_url
from sunap_toss_sandbox.server import base_url
from tests.e2e.flows import confirm, create_payment, pay_in_window
from tests.support.service import RunningService


def free_ipv6_port() -> int:
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def ipv6_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    try:
        port = free_ipv6_port()
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    workdir = Path(tmp_path_factory.mktemp("ipv6"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    env.update(
        SUNAP_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'sunap.db'}",
        SUNAP_HOST="::1",
        SUNAP_PORT=str(port),
        SUNAP_GRPC_PORT=str(free_ipv6_port()),
    )
    service = RunningService(
        base_url=f"http://[::1]:{port}", env=env, workdir=workdir, log_path=workdir / "serve.log"
    )
    service.start()
    try:
        yield service
    finally:
        service.stop()


def test_a_payment_on_an_ipv6_service_links_to_its_checkout_and_confirms(
    ipv6_service: RunningService,
) -> None:
    key = ipv6_service.create_key("ipv6-shop", "payments:read", "payments:write")
    with (
        ipv6_service.client(key) as api,
        httpx.Client(base_url=ipv6_service.sandbox_url, timeout=30) as sandbox,
    ):
        payment = create_payment(api)
        assert payment["checkout"]["url"].startswith(f"{ipv6_service.base_url}/checkout/")
        assert httpx.get(payment["checkout"]["url"], timeout=30).status_code == 200

        confirmed = confirm(api, payment, pay_in_window(sandbox, payment))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "DONE"


def test_the_banner_names_the_bracketed_address(ipv6_service: RunningService) -> None:
    assert f"Sunap listening on {ipv6_service.base_url} " in ipv6_service.logs()
    assert f"at {ipv6_service.base_url}/toss-sandbox" in ipv6_service.logs()
    assert f"on [::1]:{ipv6_service.env['SUNAP_GRPC_PORT']}" in ipv6_service.logs()


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("::1", "http://[::1]:8087"),
        ("::", "http://[::1]:8087"),  # every address: reached on the loopback of its family
        ("fe80::1%eth0", "http://[fe80::1%25eth0]:8087"),
        ("0.0.0.0", "http://127.0.0.1:8087"),
        ("localhost", "http://localhost:8087"),
    ],
)
def test_the_loopback_url_brackets_an_ipv6_address(host: str, url: str) -> None:
    assert loopback_url(host, 8087) == url


def test_sunap_sandbox_names_its_ipv6_address_in_brackets() -> None:
    assert base_url("::1", 8090) == "http://[::1]:8090"
    assert base_url("127.0.0.1", 8090) == "http://127.0.0.1:8090"
