"""Sunap's own wheel is what a deployment installs (`pip install 'sunap[postgresql]'`): nothing
of the repository around it is there, so `sunap migrate` must find its migrations inside the
installed package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"


def test_sunap_migrate_from_the_installed_wheel_builds_the_schema(tmp_path: Path) -> None:
    subprocess.run(
        [str(UV), "build", "--wheel", "--out-dir", str(tmp_path / "dist"), "--no-progress",
         str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("sunap-*.whl")
    # Installed: a pure-Python wheel's files unpacked into a directory on the path. It comes
    # first, ahead of this environment's editable sunap (whose dependencies it uses), and the
    # process runs far from the repository.
    installed = tmp_path / "site-packages"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(installed)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    database = elsewhere / "fresh.db"
    program = (
        "import sys, sunap; from sunap.cli import main; "
        "print(sunap.__file__); sys.exit(main(['migrate']))"
    )
    ran = subprocess.run(
        [sys.executable, "-c", program],
        cwd=elsewhere,
        env=os.environ
        | {
            "PYTHONPATH": str(installed),
            "SUNAP_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[0].startswith(str(installed))  # the wheel's sunap, not src/
    import sqlite3

    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"alembic_version", "payments", "api_keys"} <= tables
