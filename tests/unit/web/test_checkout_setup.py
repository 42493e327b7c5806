"""How the service sets up its checkout links: SUNAP_PUBLIC_URL, and the key they are signed with."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunap.bootstrap import build_runtime
from sunap.config import ConfigurationError, Settings
from sunap.domain.payment import PaymentStatus
from tests.fakes.payments import payment_in

SELF = "http://127.0.0.1:8087"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/not_connected_to"


async def links_of(settings: Settings) -> tuple[str | None, str | None, bool]:
    """(checkout.url of a READY payment, of a DONE one, whether cookies are Secure)."""
    runtime = build_runtime(settings, self_url=SELF)
    try:
        return (
            runtime.container.checkout_url(payment_in(PaymentStatus.READY)),
            runtime.container.checkout_url(payment_in(PaymentStatus.DONE)),
            runtime.web.secure_cookies,
        )
    finally:
        await runtime.aclose()


async def test_the_embedded_default_links_to_its_own_loopback_url(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'sunap.db'}")
    ready, done, secure = await links_of(settings)
    assert ready is not None and ready.startswith(f"{SELF}/checkout/pay_test?token=")
    assert done is None  # only a payment waiting for its customer has a checkout page
    assert not secure


async def test_the_public_url_is_the_base_of_every_link_and_https_makes_cookies_secure(
    tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'sunap.db'}",
        public_url="https://pay.example.com/",
    )
    ready, _, secure = await links_of(settings)
    assert ready is not None and ready.startswith("https://pay.example.com/checkout/pay_test?")
    assert secure


async def test_without_a_secrets_key_on_postgresql_links_are_still_handed_out() -> None:
    """The sandbox's one process signs with a key of its own."""
    ready, _, _ = await links_of(Settings(database_url=POSTGRES))
    assert ready is not None and "/checkout/pay_test?token=" in ready


async def test_without_a_secrets_key_links_are_signed_with_a_key_drawn_from_tosss() -> None:
    """Every process with one TOSS_SECRET_KEY signs alike, so a link one worker handed out
    opens on another, and after a restart; another Toss key signs otherwise."""
    toss = "test_sk_" + "a" * 24
    first = await link_key_of(Settings(database_url=POSTGRES, toss_secret_key=toss))
    second = await link_key_of(Settings(database_url=POSTGRES, toss_secret_key=toss))
    other = await link_key_of(Settings(database_url=POSTGRES, toss_secret_key=toss[:-1] + "b"))
    assert first == second and other != first
    assert toss.encode() not in first


async def link_key_of(settings: Settings) -> bytes:
    runtime = build_runtime(settings, self_url=SELF)
    try:
        return runtime.web.links.key
    finally:
        await runtime.aclose()


async def test_with_a_secrets_key_on_postgresql_links_are_signed() -> None:
    key = "bW9jay1rZXktZm9yLXRlc3RzLW9ubHktMzJieXRlcyE="
    ready, _, _ = await links_of(Settings(database_url=POSTGRES, secrets_key=key))
    assert ready is not None and "/checkout/pay_test?token=" in ready


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "pay.example.com", "https://pay.example.com/?a=1", "ftp://x"]
)
def test_a_public_url_that_is_not_a_base_url_refuses_to_start(url: str) -> None:
    with pytest.raises(ConfigurationError, match="SUNAP_PUBLIC_URL"):
        Settings(public_url=url)
