"""`pip install packages/sunap-toss` in a fresh virtual environment gives a client that confirms
and cancels against a standalone sandbox, with none of Sunap's server stack installed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import StandaloneSandbox

PACKAGE = Path(__file__).resolve().parents[1]

# Runs inside the fresh environment: what a stranger's code would do after `pip install`.
STRANGER = textwrap.dedent(
    """
    import importlib.util, json, sys
    from sunap_toss import TossClient

    url, payment_key, order_id = sys.argv[1:4]
    absent = [name for name in ("fastapi", "sqlalchemy", "pydantic", "starlette", "sunap")
              if importlib.util.find_spec(name) is not None]
    with TossClient(secret_key="test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R", base_url=url) as toss:
        paid = toss.confirm(payment_key=payment_key, order_id=order_id, amount=15000)
        part = toss.cancel(payment_key=payment_key, cancel_reason="one item", cancel_amount=5000)
    print(json.dumps({"installed_but_should_not_be": absent, "confirmed": paid.status,
                      "after_cancel": [part.status, part.balance_amount]}))
    """
)


UV = str(Path(sys.executable).parent / "uv")


def test_the_client_installs_alone_and_confirms_and_cancels(
    sandbox: StandaloneSandbox, tmp_path: Path, order_id: str
) -> None:
    venv = tmp_path / "venv"
    # A venv without its own pip (ensurepip takes half a minute here); the uv beside this
    # interpreter (the locked development install has uv, not pip) installs into it, as `pip
    # install` would, resolving httpx and its dependencies from the index.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [UV, "pip", "install", "--python", str(python), "-q", str(PACKAGE)],
        check=True,
        capture_output=True,
    )
    payment_key = sandbox.pay_in_window(order_id, 15000)

    ran = subprocess.run(
        [str(python), "-c", STRANGER, sandbox.url, payment_key, order_id],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the checkout: nothing importable by accident
    )

    assert json.loads(ran.stdout) == {
        "installed_but_should_not_be": [],
        "confirmed": "DONE",
        "after_cancel": ["PARTIAL_CANCELED", 10000],
    }
