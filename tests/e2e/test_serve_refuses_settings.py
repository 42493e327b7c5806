"""`sunap serve` (and `sunap sandbox`) run as real processes with one setting or option they must
refuse: exit 2, before the banner, before a database is migrated or a key file is made, and a
message that never quotes the refused value (docs/operations.md, docs/cli.md)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.support.service import SUNAP, free_port

# A refused start ends within seconds; a start that was not refused serves until this ends it,
# so a missing refusal fails the test rather than hanging it.
UNTIL_KILLED = 60


def start(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    env.update(
        SUNAP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'sunap.db'}",
        SUNAP_PORT=str(free_port()),
        SUNAP_GRPC_PORT=str(free_port()),
    )
    env.update(settings)
    return subprocess.run(
        [*SUNAP, *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=UNTIL_KILLED,
    )


def assert_refused_before_anything(
    tmp_path: Path, result: subprocess.CompletedProcess[str]
) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "listening" not in result.stdout + result.stderr  # no banner
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no database, no key file


@pytest.mark.parametrize(
    ("setting", "value"),
    [("SUNAP_PORT", "99999"), ("SUNAP_PORT", "0"), ("SUNAP_GRPC_PORT", "70000")],
)
def test_a_port_setting_out_of_range_is_refused_in_one_line(
    tmp_path: Path, setting: str, value: str
) -> None:
    result = start(tmp_path, "serve", **{setting: value})
    assert_refused_before_anything(tmp_path, result)
    [line] = result.stderr.splitlines()
    assert setting in line


@pytest.mark.parametrize(
    "args",
    [
        ("serve", "--port", "99999"),
        ("serve", "--port", "0"),
        ("serve", "--port", "notanumber"),
        ("serve", "--grpc-port", "70000"),
        ("serve", "--grpc-port", "-5"),
        ("serve", "--grpc-port", "x"),
        ("sandbox", "--port", "99999"),
        ("sandbox", "--port", "0"),
        ("sandbox", "--port", "notanumber"),
        ("sandbox", "--consecutive-cancel-window", "-1"),
        ("sandbox", "--webhook-url", "notaurl"),
    ],
    ids=" ".join,
)
def test_a_port_option_that_is_no_port_is_a_usage_error_in_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """As a refused setting is: one line, exit 2 (it was typer's usage and a boxed message)."""
    result = start(tmp_path, *args)
    assert_refused_before_anything(tmp_path, result)
    [line] = result.stderr.splitlines()
    assert line.startswith(f"sunap {args[0]}: Invalid value for '{args[1]}'"), line
    assert line.endswith(f"(try 'sunap {args[0]} -h')"), line
    assert "another process may hold it" not in result.stderr


def test_a_toss_api_base_url_that_is_no_url_is_refused_at_start(tmp_path: Path) -> None:
    result = start(
        tmp_path,
        "serve",
        TOSS_API_BASE_URL="notaurl",
        TOSS_SECRET_KEY="test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R",
    )
    assert_refused_before_anything(tmp_path, result)
    [line] = result.stderr.splitlines()
    assert "TOSS_API_BASE_URL" in line and "notaurl" not in line


@pytest.mark.parametrize(
    "url", ["mqtt://sunap:SECRETPW@127.0.0.1:1883", "redis://sunap:SECRETPW@127.0.0.1:99999/0"]
)
def test_a_broker_url_sunap_cannot_use_is_refused_before_anything(tmp_path: Path, url: str) -> None:
    result = start(tmp_path, "serve", SUNAP_BROKER_URL=url)
    assert_refused_before_anything(tmp_path, result)
    [line] = result.stderr.splitlines()
    assert "SUNAP_BROKER_URL" in line
    assert "SECRETPW" not in line and "127.0.0.1" not in line  # never its value, even masked


def test_a_taken_port_is_refused_before_the_database_is_migrated(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        result = start(tmp_path, "serve", SUNAP_PORT=str(taken))
    assert_refused_before_anything(tmp_path, result)
    assert f"port {taken}" in result.stderr


def test_a_taken_port_stops_the_sandbox_before_its_banner(tmp_path: Path) -> None:
    """As `sunap serve` says of its ports: one line, exit 2 (it was the banner, uvicorn's error
    and exit 3, the code for a database that cannot be used)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        result = start(tmp_path, "sandbox", "--port", str(taken))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""  # no "Toss sandbox … at http://…"
    [line] = result.stderr.splitlines()
    assert f"port {taken}" in line and "another process may hold it" in line


def test_an_empty_metrics_token_is_refused_at_start(tmp_path: Path) -> None:
    result = start(tmp_path, "serve", SUNAP_METRICS_TOKEN="")
    assert_refused_before_anything(tmp_path, result)
    [line] = result.stderr.splitlines()
    assert "SUNAP_METRICS_TOKEN" in line


def test_an_empty_topic_prefix_is_refused_at_start(tmp_path: Path) -> None:
    """Else events went to topics with no prefix at all, and a NATS broker refused it only after
    the banner, naming the broker URL."""
    result = start(tmp_path, "serve", SUNAP_TOPIC_PREFIX="")
    assert_refused_before_anything(tmp_path, result)
    [line] = result.stderr.splitlines()
    assert "SUNAP_TOPIC_PREFIX" in line
