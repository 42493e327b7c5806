"""`sunap serve --workers N`: more than one process only where they share everything through the
database; anywhere else it refuses to start, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest.mock import patch

import pytest
from pydantic import SecretStr

from sunap.cli.serve import WORKERS_DIRECTORY, refuse_workers, remove_left_behind
from sunap.config import ConfigurationError, Settings

POSTGRES = "postgresql://postgres@127.0.0.1:5432/sunap"
TOSS_KEY = SecretStr("test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R")


def test_several_workers_on_postgresql_with_a_toss_key_may_start() -> None:
    refuse_workers(4, Settings(database_url=POSTGRES, toss_secret_key=TOSS_KEY))


def test_several_workers_on_sqlite_are_refused_naming_the_database() -> None:
    settings = Settings(database_url="sqlite+aiosqlite:///sunap.db", toss_secret_key=TOSS_KEY)
    with pytest.raises(ConfigurationError, match="PostgreSQL or MariaDB"):
        refuse_workers(2, settings)


def test_several_workers_on_the_embedded_sandbox_are_refused_naming_the_toss_key() -> None:
    with pytest.raises(ConfigurationError, match="TOSS_SECRET_KEY"):
        refuse_workers(2, Settings(database_url=POSTGRES))


def test_one_worker_runs_anywhere_and_none_is_refused() -> None:
    refuse_workers(1, Settings(database_url="sqlite+aiosqlite:///sunap.db"))
    with pytest.raises(ConfigurationError, match="at least 1"):
        refuse_workers(0, Settings(database_url=POSTGRES, toss_secret_key=TOSS_KEY))


def test_a_killed_runs_directory_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    """`serve --workers N` killed with kill -9 cannot remove its directory; the next run does,
    never one whose parent still runs."""
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(finished.stdout)
    with patch.object(tempfile, "tempdir", str(tmp_path)):
        left = tmp_path / f"{WORKERS_DIRECTORY}{dead_pid}-abc"
        running = tmp_path / f"{WORKERS_DIRECTORY}{os.getpid()}-def"
        unrelated = tmp_path / "sunap-something-else"
        for directory in (left, running, unrelated):
            (directory / "metrics").mkdir(parents=True)
        remove_left_behind()
    assert not left.exists()
    assert running.exists() and unrelated.exists()
