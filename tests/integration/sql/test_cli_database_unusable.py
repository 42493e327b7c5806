"""A `sunap` command on a database it cannot use ends with exit 3 and one line naming why, on
every backend (docs/cli.md): not migrated, no such database, a role the server refuses."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.support.databases import unique
from tests.support.service import SUNAP


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
