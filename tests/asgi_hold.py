"""An ASGI wrapper that holds mailbox creates, for interrupting clients at a known moment."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio


class HoldCreates:
    """After the first `allowed` ``POST /v1/mailboxes``, hold each one until `release` is set.

    With ``processed=True`` the create is made and only its answer is held: the
    server has created mailboxes whose creator never learns it did — the most
    ambiguous moment to interrupt a client. Otherwise the request waits before
    the emulator sees it. `held` counts the requests being held.
    """

    def __init__(self, app: Any, allowed: int, *, processed: bool) -> None:
        self.app = app
        self.allowed = allowed
        self.processed = processed
        self.seen = 0
        self.held = 0
        self.release = anyio.Event()

    def _holds(self, scope: Any) -> bool:
        if scope["type"] != "http" or self.release.is_set():
            return False
        if (scope["method"], scope["path"]) != ("POST", "/v1/mailboxes"):
            return False
        self.seen += 1
        return self.seen > self.allowed

    async def __call__(self, scope: Any, receive: Any,
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if not self._holds(scope):
            await self.app(scope, receive, send)
            return
        if not self.processed:
            self.held += 1
            await self.release.wait()
            await self.app(scope, receive, send)
            return

        async def held_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.held += 1
                await self.release.wait()
            await send(message)

        await self.app(scope, receive, held_send)
