"""A real `sunap serve` in production (`SUNAP_PRODUCTION=true` with a `live_` key): the API's
docs and schema are not served unless `SUNAP_PUBLIC_DOCS=true`, and `/metrics` asks for
`SUNAP_METRICS_TOKEN`. These routes never call Toss, so Toss's URL points where nothing listens.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.service import RunningService, free_port, running_service

METRICS_TOKEN = "metrics-token-for-the-scraper-0001"


def production(workdir: Path, **env: str) -> dict[str, str]:
    return {
        "SUNAP_PRODUCTION": "true",
        "TOSS_SECRET_KEY": "live_sk_limits_e2e_never_used_0001",
        "TOSS_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
        **env,
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp("sunap-production"))
    with running_service(workdir, **production(workdir, SUNAP_METRICS_TOKEN=METRICS_TOKEN)) as svc:
        yield svc


@pytest.fixture(scope="module")
def live_with_public_docs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp("sunap-production-docs"))
    with running_service(workdir, **production(workdir, SUNAP_PUBLIC_DOCS="true")) as svc:
        yield svc


def test_production_serves_no_docs_and_no_schema(live: RunningService) -> None:
    with live.client() as anyone:
        for path in ("/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect"):
            response = anyone.get(path)
            assert response.status_code == 404, path
            assert response.json()["code"] == "NOT_FOUND"
        assert anyone.get("/healthz").status_code == 200


def test_production_serves_docs_when_asked_to(live_with_public_docs: RunningService) -> None:
    with live_with_public_docs.client() as anyone:
        assert anyone.get("/docs").status_code == 200
        assert "/v1/payments" in anyone.get("/openapi.json").json()["paths"]
        # No token configured: the metrics are open, as before.
        assert "sunap_outbox_unpublished" in anyone.get("/metrics").text


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong-token",
        f"Basic {METRICS_TOKEN}",
        f"Bearer {METRICS_TOKEN}x",
    ],
)
def test_metrics_without_the_token_are_401(live: RunningService, authorization: str | None):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = httpx.get(f"{live.base_url}/metrics", headers=headers, timeout=30)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
    assert "sunap_" not in response.text


def test_metrics_with_the_token_are_served(live: RunningService) -> None:
    response = httpx.get(
        f"{live.base_url}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 200
    assert "sunap_outbox_unpublished" in response.text
    assert METRICS_TOKEN not in live.logs()
