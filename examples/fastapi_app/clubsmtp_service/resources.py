"""What one worker process holds for its whole life, and the dependencies handing it out.

The lifespan opens **one** `AsyncClient` per worker process (one connection
pool, one in-flight bound, one view of the rate budget, shared by every
request) and closes it on shutdown, then the shared limiter it was given.
Routes never build a client: they ask for one with ``Depends(get_client)``,
which is also the seam tests replace (``app.dependency_overrides[get_client]``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, TypedDict

from fastapi import Depends, FastAPI, HTTPException, Request

from clubsmtp_async import AsyncClient, ValidationError
from clubsmtp_async.onboarding import PasswordFile
from clubsmtp_async.webhooks import StandardWebhooksVerifier, Verifier

from .events import EventHandlers
from .limiters import build_limiter
from .locks import TenantLocks
from .settings import Settings, SettingsError

__all__ = [
    "ClientDep",
    "HandlersDep",
    "LocksDep",
    "PasswordsDep",
    "Resources",
    "SettingsDep",
    "State",
    "VerifierDep",
    "get_client",
    "get_handlers",
    "get_passwords",
    "get_resources",
    "get_settings",
    "get_tenant_locks",
    "get_verifier",
    "make_lifespan",
]

log = logging.getLogger("clubsmtp_service")


@dataclass(frozen=True)
class Resources:
    """The worker's long-lived objects (one set per process).

    Attributes:
        settings: What the worker was started with.
        client: The worker's only `AsyncClient`.
        verifier: Checks webhook signatures; None when no secret is set.
        locks: The per-domain onboarding locks of this process.
        passwords: Where generated passwords are also written, if configured.

    """

    settings: Settings
    client: AsyncClient
    verifier: Verifier | None
    locks: TenantLocks
    passwords: PasswordFile | None


class State(TypedDict):
    """The lifespan state: Starlette copies it into every request's ``request.state``."""

    resources: Resources


def make_lifespan(
    settings: Settings | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[State]]:
    """The lifespan of the app: open the client (and its limiter), close both on shutdown.

    Args:
        settings: The settings, or None to read them from the environment at
            startup (so importing the app needs no environment).

    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        chosen = Settings.from_env() if settings is None else settings
        async with AsyncExitStack() as stack:
            limiter = build_limiter(chosen)
            if limiter is not None:  # the client never closes a limiter it is given
                stack.push_async_callback(limiter.aclose)
            client = await stack.enter_async_context(AsyncClient(
                chosen.api_key, base_url=chosen.base_url,
                requests_per_minute=chosen.requests_per_minute, limiter=limiter,
                timeout=chosen.timeout,
            ))
            verifier = None if chosen.webhook_secret is None else _verifier(chosen.webhook_secret)
            passwords = None if chosen.passwords_file is None else PasswordFile(
                chosen.passwords_file)
            log.info("worker ready: %s limiter at %g requests/min",
                     chosen.limiter, chosen.requests_per_minute)
            yield {"resources": Resources(chosen, client, verifier, TenantLocks(), passwords)}
            log.info("worker stopping: closing the client")

    return lifespan


def _verifier(secret: str) -> StandardWebhooksVerifier:
    try:
        return StandardWebhooksVerifier(secret)
    except ValidationError as exc:  # never quotes the secret
        raise SettingsError(f"CLUBSMTP_WEBHOOK_SECRET: {exc}") from None


def get_resources(request: Request) -> Resources:
    """The worker's `Resources`, from the lifespan state."""
    resources: Resources | None = getattr(request.state, "resources", None)
    if resources is None:
        raise RuntimeError("the app's lifespan did not run: serve it with uvicorn, "
                           "or enter TestClient(app) with `with`")
    return resources


def get_settings(request: Request) -> Settings:
    """The worker's settings."""
    return get_resources(request).settings


def get_client(request: Request) -> AsyncClient:
    """The worker's `AsyncClient` (tests override this dependency)."""
    return get_resources(request).client


def get_verifier(request: Request) -> Verifier:
    """The webhook verifier; 503 when the service has no webhook secret."""
    verifier = get_resources(request).verifier
    if verifier is None:
        raise HTTPException(503, "webhooks are not configured: set CLUBSMTP_WEBHOOK_SECRET")
    return verifier


def get_tenant_locks(request: Request) -> TenantLocks:
    """The per-domain onboarding locks of this worker."""
    return get_resources(request).locks


def get_passwords(request: Request) -> PasswordFile | None:
    """The passwords file, if the service keeps one."""
    return get_resources(request).passwords


def get_handlers(request: Request) -> EventHandlers:
    """The app's webhook event handlers (set by `create_app`)."""
    handlers: EventHandlers = request.app.state.handlers
    return handlers


ClientDep = Annotated[AsyncClient, Depends(get_client)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
VerifierDep = Annotated[Verifier, Depends(get_verifier)]
LocksDep = Annotated[TenantLocks, Depends(get_tenant_locks)]
PasswordsDep = Annotated[PasswordFile | None, Depends(get_passwords)]
HandlersDep = Annotated[EventHandlers, Depends(get_handlers)]
