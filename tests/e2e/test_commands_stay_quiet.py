"""Commands that run once keep standard error quiet unless something goes wrong (docs/cli.md).
On PostgreSQL without SUNAP_SECRETS_KEY, on the embedded sandbox, checkout links are signed with
a key of the serving process: `sunap serve` says so, `reconcile`, `recheck` and `billing
run-due`, which hand out no link, have nothing to say about it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.databases import create_database, drop_database, migrate
from tests.support.service import SUNAP, free_port, running_service

WARNING = "checkout links are signed with a key of this process"


def test_only_serve_warns_that_its_checkout_links_end_with_it(tmp_path: Path) -> None:
    url = create_database("postgresql", tmp_path)
    try:
        migrate(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SUNAP_", "TOSS_"))}
        env.update(SUNAP_DATABASE_URL=url, SUNAP_PORT=str(free_port()))
        recheck = ["recheck", "--since", "2026-01-01T00:00+09:00"]
        for command in (["reconcile"], ["billing", "run-due"], recheck):
            done = subprocess.run(
                [*SUNAP, *command], env=env, cwd=tmp_path, capture_output=True, text=True
            )
            assert done.returncode == 0, done.stderr
            assert done.stderr == "", (command, done.stderr)
        with running_service(tmp_path, SUNAP_DATABASE_URL=url) as service:
            assert WARNING in service.logs()
    finally:
        drop_database(url)
