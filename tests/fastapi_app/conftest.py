"""Shared pieces of the FastAPI service tests: the app, an emulator-backed client, TestClient.

The example package is ``examples/fastapi_app/clubsmtp_service``: its folder is
put on ``sys.path`` here, and on ``PYTHONPATH`` for the uvicorn processes.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi_app"
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

with warnings.catch_warnings():
    # Starlette 1.x's TestClient prefers httpx2 and warns once, at import, when only
    # httpx is installed. The tests do not depend on which one it drives, so this
    # one warning is let through here; with httpx2 installed it is not raised.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from clubsmtp_service.app import create_app  # noqa: E402 - needs the path above
from clubsmtp_service.events import EventHandlers  # noqa: E402
from clubsmtp_service.resources import get_client  # noqa: E402
from clubsmtp_service.settings import Settings  # noqa: E402

from clubsmtp_async import AsyncClient  # noqa: E402
from clubsmtp_async.testing import Emulator  # noqa: E402

__all__ = ["SECRET", "TestClient", "make_service", "service_settings", "tenant"]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def service_settings(**changes: Any) -> Settings:
    """Settings for in-process tests: the lifespan's own client is never used."""
    values: dict[str, Any] = {"api_key": "sk_test_lifespan_only", "limiter": "process",
                              "base_url": "http://127.0.0.1:9", "webhook_secret": SECRET}
    values.update(changes)
    return Settings(**values)


def tenant(name: str = "acme", mailboxes: int = 2, **first: Any) -> dict[str, Any]:
    """A tenant spec body: one domain, `mailboxes` mailboxes, an alias to the first."""
    boxes: list[dict[str, Any]] = [{"local_part": f"u{m}"} for m in range(mailboxes)]
    boxes[0].update(first)
    return {"domains": [{"name": f"{name}.example", "mailboxes": boxes,
                         "aliases": [{"local_part": "team", "forward_to": ["u0"]}]}]}


def make_service(emulator: Emulator, *, settings: Settings | None = None,
                 handlers: EventHandlers | None = None,
                 **client_options: Any) -> Iterator[tuple[TestClient, AsyncClient]]:
    """The app in a TestClient (lifespan entered), its client overridden by an emulator one."""
    app = create_app(settings=settings or service_settings(), handlers=handlers)
    client = emulator.client(**{"requests_per_minute": None, **client_options})
    app.dependency_overrides[get_client] = lambda: client
    with TestClient(app) as http:
        yield http, client
        http.portal.call(client.aclose)


@pytest.fixture
def service_factory(clubsmtp_emulator: Emulator) -> Iterator[Callable[..., TestClient]]:
    """Builds services on the plugin's emulator; each is closed after the test."""
    made: list[Iterator[tuple[TestClient, AsyncClient]]] = []

    def build(**options: Any) -> TestClient:
        generator = make_service(clubsmtp_emulator, **options)
        made.append(generator)
        return next(generator)[0]

    yield build
    for generator in reversed(made):
        next(generator, None)


@pytest.fixture
def service(service_factory: Callable[..., TestClient]) -> TestClient:
    """The service with default settings, on the plugin's emulator."""
    return service_factory()
