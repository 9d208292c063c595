"""The FastAPI application: ``uvicorn clubsmtp_service.app:app`` (with PYTHONPATH set).

    PYTHONPATH=examples/fastapi_app uvicorn clubsmtp_service.app:app --workers 2

`create_app` builds it from its parts; the module-level `app` reads its
settings from the environment when it starts (not when it is imported).
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import health, tenants, webhooks
from .errors import install_error_handlers
from .events import EventHandlers, default_handlers
from .resources import make_lifespan
from .settings import Settings

__all__ = ["WORKER_HEADER", "WorkerHeader", "app", "create_app"]

WORKER_HEADER = "x-worker-pid"
"""The response header naming the worker process that answered (to match its log lines)."""


class WorkerHeader:
    """ASGI middleware: adds `WORKER_HEADER` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.value = str(os.getpid()).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the header to the response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", ()), (WORKER_HEADER.encode(), self.value)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)


def create_app(*, settings: Settings | None = None,
               handlers: EventHandlers | None = None) -> FastAPI:
    """The service.

    Args:
        settings: The settings (default: read from the environment at startup).
        handlers: The webhook event handlers (default: `default_handlers()`).

    """
    app = FastAPI(title="ClubSMTP provisioning service", lifespan=make_lifespan(settings))
    app.state.handlers = default_handlers() if handlers is None else handlers
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(tenants.router)
    app.include_router(webhooks.router)
    app.add_middleware(WorkerHeader)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()  # made once, then cached by FastAPI
        document.setdefault("components", {}).setdefault("schemas", {}).update(
            tenants.COMPONENTS)
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented hook
    return app


app = create_app()
