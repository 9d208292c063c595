"""The emulator's ASGI application: admission checks, faults, routing, errors.

Every ``/v1`` request goes through, in order: HTTPS (plain HTTP only from a
loopback client) → API key (present, known, not expired) → CIDR → scope →
rate limit → fault rules → handler. The first failing step answers with the
API's error envelope. ``/_admin`` requests go through HTTPS → admin access
(the admin token header if one is configured, else a loopback client).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import httpx
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from ._errors import ApiError, error_body, invalid
from ._faults import Drop, ErrorAfter, ErrorBefore, FaultPlan, RateLimit
from ._rules import is_loopback
from ._v1 import ACCOUNT_SCOPE_KEY

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["ADMIN_TOKEN_HEADER", "ConnectionDropped", "EmulatorApp"]

ADMIN_TOKEN_HEADER = "x-clubsmtp-admin-token"  # noqa: S105 - a header name, not a secret
_logger = logging.getLogger("clubsmtp_async.testing")


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised in process (no socket to close) when a fault drops the connection.

    It is an `httpx.RemoteProtocolError`, so through the emulator's transport
    (`Emulator.transport`) a client sees the same exception type as when a real
    server hangs up: an httpx2 client gets it as an `httpx2.RemoteProtocolError`.
    """


async def _abort(send: Send) -> None:
    """Close the client's connection without a response.

    Under uvicorn the ASGI ``send`` is a bound method of the request cycle,
    which holds the asyncio transport: aborting it closes the socket with
    nothing written, and once uvicorn has seen the connection lost it does not
    send its own 500. Elsewhere (in process) raise `ConnectionDropped`.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not callable(getattr(transport, "abort", None)):
        raise ConnectionDropped("connection dropped by an injected fault")
    transport.abort()
    for _ in range(100):  # connection_lost() runs on a later loop iteration
        if getattr(cycle, "disconnected", True):
            return
        await anyio.lowlevel.checkpoint()


def _client_host(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def _match(routes: Sequence[Route], scope: Scope) -> tuple[Route | None, Scope, bool]:
    """The route for the request, its child scope, and whether the path exists at all."""
    partial = False
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return route, child, True
        partial = partial or match is Match.PARTIAL
    return None, {}, partial


def _fault_response(reaction: ErrorBefore) -> Response:
    if reaction.body is not None:
        return Response(reaction.body, reaction.status, media_type=reaction.content_type)
    return JSONResponse(error_body(reaction.message, reaction.type), reaction.status)


class EmulatorApp:
    """The ASGI callable behind `Emulator.app`.

    Args:
        emulator: The emulator whose state, keys, faults and clock it serves.
        v1_routes: The ``/v1`` routes.
        admin_routes: The ``/_admin`` routes.

    """

    def __init__(
        self, emulator: Emulator, v1_routes: Sequence[Route], admin_routes: Sequence[Route]
    ) -> None:
        self._emulator = emulator
        self._v1_routes = list(v1_routes)
        self._admin_routes = list(admin_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] != "http":
            raise RuntimeError(f"the emulator serves HTTP only, not {scope['type']!r}")
        elif scope["path"] == "/_admin" or scope["path"].startswith("/_admin/"):
            await self._admin(scope, receive, send)
        else:
            await self._v1(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Run the emulator's background work (webhook delivery, autosave) while served."""
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        async with self._emulator.running():
            await send({"type": "lifespan.startup.complete"})
            while message["type"] != "lifespan.shutdown":
                message = await receive()
        await send({"type": "lifespan.shutdown.complete"})

    @staticmethod
    def _require_https(scope: Scope) -> None:
        if scope.get("scheme") != "https" and not is_loopback(_client_host(scope)):
            raise ApiError(403, "security_error", "HTTPS required.")

    def _admit(self, scope: Scope, method: str, path: str) -> str:
        """Run the admission checks; return the key's account."""
        emulator = self._emulator
        self._require_https(scope)
        key = emulator.keys.authenticate(Headers(scope=scope), emulator.clock.utcnow())
        emulator.keys.authorize(key, method, path, _client_host(scope))
        now = emulator.clock.now()
        emulator.keys.throttle(key, now)
        emulator.stats.record_accepted(key.id, now)
        return key.account

    def _counting(self, send: Send) -> Send:
        stats = self._emulator.stats

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                stats.record_status(int(message["status"]))
            await send(message)

        return counting_send

    async def _v1(self, scope: Scope, receive: Receive, raw_send: Send) -> None:
        method, path = scope["method"], scope["path"]
        route, child, exists = _match(self._v1_routes, scope)
        self._emulator.stats.record_request(method, route.path if route else path)
        send = self._counting(raw_send)
        try:
            account = self._admit(scope, method, path)
            if route is None:
                problem = "Method not allowed" if exists else "Unknown endpoint"
                raise invalid(f"{problem}: {method} {path}.")
            plan = self._emulator.faults.plan(method, path)
            if plan.latency > 0:
                await self._emulator.clock.sleep(plan.latency)
            child_scope = {**scope, **child, ACCOUNT_SCOPE_KEY: account}
            await self._dispatch(plan, route, child_scope, receive, send, raw_send)
        except ApiError as error:
            await self._send_error(error, scope, receive, send)

    async def _dispatch(
        self, plan: FaultPlan, route: Route, scope: Scope, receive: Receive, send: Send,
        raw_send: Send,
    ) -> None:
        outcome = plan.outcome
        if isinstance(outcome, RateLimit):
            seconds = str(outcome.retry_after)
            raise ApiError(429, "rate_limit_error", f"Too many requests: retry after {seconds}"
                           " seconds.", headers={"Retry-After": seconds})
        if isinstance(outcome, ErrorBefore) and not isinstance(outcome, ErrorAfter):
            await _fault_response(outcome)(scope, receive, send)
            return
        if isinstance(outcome, Drop) and not outcome.after_processing:
            await self._drop(raw_send)
            return
        if outcome is None:
            await self._handle(route, scope, receive, send)
            return
        await self._handle(route, scope, receive, _discard)
        if isinstance(outcome, Drop):
            await self._drop(raw_send)
        else:
            await _fault_response(outcome)(scope, receive, send)

    async def _drop(self, send: Send) -> None:
        self._emulator.stats.dropped += 1
        await _abort(send)

    async def _handle(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await route.handle(scope, receive, tracking_send)
        except ApiError as error:
            await self._send_error(error, scope, receive, tracking_send)
        except Exception:
            _logger.exception("emulator handler failed on %s %s", scope["method"], scope["path"])
            if not started:
                failure = ApiError(500, "api_error", "Internal server error.")
                await self._send_error(failure, scope, receive, tracking_send)

    @staticmethod
    async def _send_error(error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(error.body(), error.status, headers=error.headers)
        await response(scope, receive, send)

    def _require_admin(self, scope: Scope) -> None:
        expected = self._emulator.admin_token
        if expected is None:
            if not is_loopback(_client_host(scope)):
                raise ApiError(403, "security_error", "The admin API is for loopback clients.")
            return
        given = Headers(scope=scope).get(ADMIN_TOKEN_HEADER, "")
        if not _same(given, expected):
            raise ApiError(403, "security_error", "Missing or wrong admin token.")

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            self._require_https(scope)
            self._require_admin(scope)
            route, child, exists = _match(self._admin_routes, scope)
            if route is None:
                problem = "Method not allowed" if exists else "Unknown admin endpoint"
                raise invalid(f"{problem}: {scope['method']} {scope['path']}.")
        except ApiError as error:
            await self._send_error(error, scope, receive, send)
            return
        await self._handle(route, {**scope, **child}, receive, send)


async def _discard(message: Message) -> None:
    """An ASGI send that throws the response away (for after-processing faults)."""


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
