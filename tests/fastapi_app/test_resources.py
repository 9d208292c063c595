"""The lifespan: one client per process, from the environment, closed on shutdown."""

from __future__ import annotations

import pytest
from clubsmtp_service.app import create_app
from clubsmtp_service.resources import Resources
from clubsmtp_service.settings import SettingsError

from clubsmtp_async import Limiter

from .conftest import TestClient, service_settings


def test_the_lifespan_opens_one_client_and_closes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLUBSMTP_API_KEY", "sk_test_" + "e" * 40)
    monkeypatch.setenv("CLUBSMTP_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SERVICE_LIMITER", "process")
    monkeypatch.setenv("SERVICE_RPM", "120")
    with TestClient(create_app()) as http:
        resources: Resources = http.app_state["resources"]
        assert resources.settings.requests_per_minute == 120
        assert resources.client.base_url == "http://127.0.0.1:9"
        assert resources.verifier is None
        assert resources.passwords is None
        assert http.get("/healthz").status_code == 200
    assert resources.client.is_closed


def test_a_shared_limiter_is_closed_after_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[str] = []

    class Recording:
        async def acquire(self) -> None: ...

        async def on_rate_limited(self, retry_after: float | None) -> None: ...

        async def aclose(self) -> None:
            closed.append("limiter")

    limiter = Recording()
    assert isinstance(limiter, Limiter)
    monkeypatch.setattr("clubsmtp_service.resources.build_limiter", lambda settings: limiter)
    with TestClient(create_app(settings=service_settings())) as http:
        client = http.app_state["resources"].client
        original = client.aclose

        async def aclose() -> None:
            closed.append("client")
            await original()

        monkeypatch.setattr(client, "aclose", aclose)
    assert closed == ["client", "limiter"]


def test_a_bad_environment_stops_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLUBSMTP_API_KEY", raising=False)
    with pytest.raises(SettingsError, match="CLUBSMTP_API_KEY is not set"), \
            TestClient(create_app()):
        pass
