"""`WebhookRecorder`: an in-process ASGI receiver that verifies and keeps what it gets."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from clubsmtp_async.webhooks import (
    Event,
    WebhookPayloadError,
    WebhookVerificationError,
    parse_event,
    verify,
)

__all__ = ["ReceivedWebhook", "WebhookRecorder"]


@dataclass(frozen=True)
class ReceivedWebhook:
    """One request the recorder accepted.

    Attributes:
        headers: The request headers (lower-case names).
        body: The raw body.
        event: The parsed event.

    """

    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    event: Event


class WebhookRecorder:
    """A webhook receiver for tests: verifies each delivery, parses it, records it.

    Register it as an in-process endpoint (no sockets) or serve it over a
    socket. A delivery that fails verification or parsing gets 400 and is
    counted in `rejected`; `fail_next` makes it answer errors on purpose, to
    see the emulator retry.

    Example:
        >>> recorder = WebhookRecorder()  # doctest: +SKIP
        >>> emulator.webhooks.add_endpoint(app=recorder, secret=recorder.secret)

    Args:
        secret: The ``whsec_`` secret to verify with (default: a new one).

    Attributes:
        secret: The secret.
        received: The accepted deliveries, in arrival order (redeliveries included).
        rejected: How many deliveries failed verification or parsing.

    """

    def __init__(self, secret: str | None = None) -> None:
        from ._endpoints import generate_webhook_secret

        self.secret = secret or generate_webhook_secret()
        self.received: list[ReceivedWebhook] = []
        self.rejected = 0
        self._failures: list[int] = []
        self._waiters: set[anyio.Event] = set()

    def __repr__(self) -> str:
        return f"<WebhookRecorder received={len(self.received)} rejected={self.rejected}>"

    @property
    def events(self) -> list[Event]:
        """The events of the accepted deliveries, in arrival order."""
        return [item.event for item in self.received]

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        """Answer the next `count` deliveries with `status` (without recording them)."""
        self._failures.extend([status] * count)

    async def wait_for(self, count: int, *, timeout: float = 10.0) -> list[Event]:  # noqa: ASYNC109
        """Wait until `count` deliveries were accepted; return their events.

        Raises:
            TimeoutError: if fewer arrived within `timeout` seconds.

        """
        with anyio.move_on_after(timeout):
            while len(self.received) < count:
                waiter = anyio.Event()
                self._waiters.add(waiter)
                try:
                    await waiter.wait()
                finally:
                    self._waiters.discard(waiter)
        if len(self.received) < count:
            raise TimeoutError(
                f"received {len(self.received)} of {count} webhooks in {timeout:g} s"
            )
        return self.events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI request."""
        if scope["type"] != "http":
            return
        response = await self._handle(Request(scope, receive))
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        if self._failures:
            return Response(b"failing on purpose", self._failures.pop(0))
        body = await request.body()
        try:
            verify(body, request.headers, self.secret)
            event = parse_event(body)
        except (WebhookVerificationError, WebhookPayloadError) as exc:
            self.rejected += 1
            return Response(str(exc).encode(), 400)
        self.received.append(ReceivedWebhook(dict(request.headers), body, event))
        for waiter in self._waiters:
            waiter.set()
        self._waiters.clear()
        return Response(status_code=204)
