"""sunap-client builds as a wheel of its own (with the locked uv, as a release would), typed, and
needing httpx alone."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"


def test_the_client_builds_as_a_typed_wheel_that_needs_only_httpx(tmp_path: Path) -> None:
    subprocess.run(
        [str(UV), "build", "--wheel", "--out-dir", str(tmp_path), "--no-progress",
         str(ROOT / "packages" / "sunap-client")],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    [wheel] = tmp_path.glob("sunap_client-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [metadata_name] = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    assert {
        "sunap_client/__init__.py",
        "sunap_client/client.py",
        "sunap_client/billing.py",
        "sunap_client/py.typed",
    } <= names
    assert not any(name.startswith(("sunap/", "tests/")) for name in names)
    assert metadata["Name"] == "sunap-client"
    assert [r.split(">")[0].split("<")[0].strip() for r in metadata.get_all("Requires-Dist")] == [
        "httpx"
    ]
    assert "# sunap-client" in (metadata.get_payload() or "")  # the README is its description
