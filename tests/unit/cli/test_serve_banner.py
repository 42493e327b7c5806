"""What `sunap serve` says when it starts: a Toss key without a client key is called out, since
the hosted checkout page cannot open Toss's window without one, and sandbox mode says that its
control plane is open to anyone who reaches the port."""

from __future__ import annotations

from pydantic import SecretStr

from sunap.cli.serve import banner
from sunap.config import Settings

POSTGRES = "postgresql://postgres@127.0.0.1:5432/sunap"
TOSS_KEY = SecretStr("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R")


def say(settings: Settings) -> str:
    return banner(settings, "http://127.0.0.1:8087", "http://127.0.0.1:8087", None)


def test_a_toss_key_without_a_client_key_is_called_out() -> None:
    text = say(Settings(database_url=POSTGRES, toss_secret_key=TOSS_KEY))
    assert "*** No TOSS_CLIENT_KEY" in text and "503" in text
    assert "test_sk_" not in text


def test_a_client_key_or_the_sandbox_says_nothing_of_it() -> None:
    keyed = Settings(
        database_url=POSTGRES,
        toss_secret_key=TOSS_KEY,
        toss_client_key="test_ck_D5GePWvyJnrK0W0k6q8gLzN97Eoq",
    )
    assert "TOSS_CLIENT_KEY" not in say(keyed)
    assert "TOSS_CLIENT_KEY" not in say(Settings(database_url=POSTGRES))


def test_the_sandbox_says_its_control_plane_is_open_to_anyone_on_the_port() -> None:
    text = say(Settings(database_url=POSTGRES))
    assert "*** SANDBOX MODE" in text
    assert "/toss-sandbox/sandbox is open to anyone who reaches this port" in text
    keyed = say(Settings(database_url=POSTGRES, toss_secret_key=TOSS_KEY))
    assert "/toss-sandbox/sandbox" not in keyed
