"""A `sunap` command on a database it cannot use ends with exit 3 and one line naming why, on
every backend (docs/cli.md): not migrated, no such database, a role the server refuses; on SQLite
also the commands that first make the embedded default's key file beside the database."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import unique
from tests.support.service import SUNAP, free_port


def unusable_urls(empty_database_url: str, tmp_path: Path) -> dict[str, str]:
    url = make_url(empty_database_url)
    if url.get_backend_name() == "sqlite":
        return {
            "not migrated": empty_database_url,
            "no such database": f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'x.db'}",
        }
    return {
        "not migrated": empty_database_url,
        "no such database": url.set(database=unique("cli_missing")).render_as_string(False),
        "unknown role": url.set(
            username=unique("cli_role"), password="never-shown-pw"
        ).render_as_string(False),
    }


def test_a_command_on_a_database_it_cannot_use_exits_3_with_one_line(
    empty_database_url: str, tmp_path: Path
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    for case, url in unusable_urls(empty_database_url, tmp_path).items():
        done = subprocess.run(
            [*SUNAP, "keys", "list"],
            env=base | {"SUNAP_DATABASE_URL": url},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 3, (case, done.stderr[-3000:])
        (line,) = done.stderr.splitlines()
        assert line.startswith("sunap: the database cannot be used ("), (case, line)
        assert "sunap migrate" in line and "never-shown-pw" not in line, (case, line)
        assert done.stdout == "", case


@pytest.mark.parametrize(
    "command",
    [["serve", "--grpc-port", "0"], ["worker"], ["tenants", "set-toss"]],
    ids=["serve", "worker", "tenants set-toss"],
)
def test_a_command_that_makes_the_embedded_key_file_in_a_missing_directory_exits_3_too(
    command: list[str], tmp_path: Path
) -> None:
    """The embedded default's key file goes beside the SQLite file: where that file's directory
    does not exist, the commands that open the key file first say what `keys list` says."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
    missing = tmp_path / "no-such-dir" / "x.db"
    args = [*command]
    if command[0] == "serve":
        args += ["--port", str(free_port())]  # refused before it would listen
    if command[0] == "tenants":
        args += ["--tenant", "shop", "--secret-key-file", "-"]
    done = subprocess.run(
        [*SUNAP, *args],
        env=base | {"SUNAP_DATABASE_URL": f"sqlite:///{missing}"},
        input="test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R",
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    line = done.stderr.splitlines()[-1]  # `worker` logs its start at INFO before it
    assert line.startswith("sunap: the database cannot be used ("), line
    assert "SUNAP_DATABASE_URL" in line, line
    assert not missing.parent.exists()  # nothing made on the way
