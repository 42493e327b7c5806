"""`pip install packages/sunap-toss-sandbox` into a fresh virtual environment gives any project a
`toss_sandbox` fixture, without Sunap, FastAPI or SQLAlchemy."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]

STRANGERS_TEST = """
import importlib.util

import httpx


def test_a_payment_confirms_and_cancels_against_the_fixture(toss_sandbox):
    payment_key = toss_sandbox.open_payment(order_id="stranger-order-0001", amount=15000)
    with httpx.Client(base_url=toss_sandbox.url, auth=(toss_sandbox.secret_key, "")) as toss:
        confirmed = toss.post(
            "/v1/payments/confirm",
            json={"paymentKey": payment_key, "orderId": "stranger-order-0001", "amount": 15000},
        )
        first = toss.post(f"/v1/payments/{payment_key}/cancel", json={"cancelReason": "a", "cancelAmount": 5000})
        second = toss.post(f"/v1/payments/{payment_key}/cancel", json={"cancelReason": "b"})
    assert confirmed.json()["status"] == "DONE"
    assert first.json()["balanceAmount"] == 10000
    assert second.json()["code"] == "FORBIDDEN_CONSECUTIVE_REQUEST"


def test_the_fixture_starts_clean_and_sends_webhooks_on_demand(toss_sandbox):
    assert toss_sandbox.calls() == []
    sent = toss_sandbox.trigger_webhook("PAYMENT_STATUS_CHANGED", amount=4900)
    assert sent["data"]["status"] == "DONE"


def test_nothing_of_sunap_came_along():
    for name in ("sunap", "fastapi", "sqlalchemy"):
        assert importlib.util.find_spec(name) is None, name
"""


UV = str(Path(sys.executable).parent / "uv")


def test_a_strangers_tests_use_the_fixture_after_one_pip_install(tmp_path: Path) -> None:
    source = tmp_path / "sunap-toss-sandbox"  # a copy: building leaves nothing in the checkout
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "tests"))
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    # No ensurepip in the new environment (slow): the uv beside this interpreter (the locked
    # development install has uv, not pip) installs into it, as `pip install` would.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    install = subprocess.run(
        [UV, "pip", "install", "--python", str(python), "-q", str(source), "pytest"],
        capture_output=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stderr.decode()[-2000:]
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    (project / "test_toss.py").write_text(STRANGERS_TEST)

    run = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )

    output = run.stdout.decode() + run.stderr.decode()
    assert run.returncode == 0, output
    assert "3 passed" in output
    assert (venv / "bin" / "toss-sandbox").exists()
