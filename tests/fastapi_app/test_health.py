"""``GET /healthz``: no API request; 503 once the worker's client is closed."""

from __future__ import annotations

import os

from clubsmtp_async.testing import Emulator

from .conftest import TestClient


def test_health_is_ok_without_calling_the_api(service: TestClient,
                                              clubsmtp_emulator: Emulator) -> None:
    response = service.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "pid": os.getpid()}
    assert sum(clubsmtp_emulator.stats.requests.values()) == 0


def test_health_is_503_once_the_client_is_closed(service: TestClient) -> None:
    from clubsmtp_service.resources import get_client

    client = service.app.dependency_overrides[get_client]()  # type: ignore[attr-defined]
    service.portal.call(client.aclose)  # type: ignore[union-attr]
    assert service.get("/healthz").status_code == 503
