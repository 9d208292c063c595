"""What an `AsyncClient` and its `with_options` copies share, and what belongs to one loop.

`Shared` holds the pool (and its HTTP library), the limiter and the closed flag; `LoopState` what is
bound to the event loop the client runs in (the connection pool in use, the
in-flight limiter and its FIFO turn, the calls `aclose()` wakes), re-made by
`Shared.for_this_loop()` when the client is used from another loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

from ._config import pool_limits
from ._deadlines import Deadlines, deadlines_for
from ._http import Library, RequestHeaders, new_http_client
from ._limiter import Limiter
from ._loop import LoopRef, current_loop

if TYPE_CHECKING:
    import httpx

    from ._http import HTTPClient

__all__ = ["LoopState", "Shared"]


@dataclass
class LoopState:
    """What belongs to the event loop the client is used in."""

    loop: LoopRef
    deadlines: Deadlines  # the attempts' deadlines in this loop
    # anyio's CancelScope class for this loop's backend: a scope made through it
    # skips anyio's search for the running library (about 1.5 µs a request).
    cancel_scope: Callable[[], anyio.CancelScope]
    http: HTTPClient
    in_flight: anyio.Semaphore | None
    turn: anyio.Semaphore = field(default_factory=lambda: _gate(1))  # `AsyncClient._take_turn`
    calls: set[anyio.CancelScope] = field(default_factory=set)  # woken by aclose()
    foreign_http: bool = False  # the caller's http_client, first used in another loop


@dataclass
class Shared:
    """What a client and its `with_options` copies share."""

    http: HTTPClient
    library: Library  # the library of `http`, and of the pools made in other loops
    owns_http: bool
    limiter: Limiter
    owns_limiter: bool
    max_in_flight: int | None
    timeout: httpx.Timeout
    headers: RequestHeaders  # carried by the pools it makes (`new_http_client`)
    closed: bool = False
    here: LoopState | None = None

    def for_this_loop(self) -> LoopState:
        """The state of the running event loop, made on first use in it."""
        loop = current_loop()
        here = self.here
        if here is None or not here.loop.is_(loop):
            here = self.here = self._enter(loop, first=here is None)
        return here

    def _enter(self, loop: object, *, first: bool) -> LoopState:
        # A pool is bound to the loop that opened its connections: the client's
        # own is replaced (the old loop's connections are dropped with it); the
        # caller's is kept, and a failure in it is explained (`_client._foreign_loop`).
        if not first and self.owns_http:
            self.http = new_http_client(
                self.library, pool_limits(self.max_in_flight), self.timeout, self.headers
            )
        in_flight = None if self.max_in_flight is None else _gate(self.max_in_flight)
        foreign_http = not first and not self.owns_http
        return LoopState(
            LoopRef(loop),
            deadlines_for(loop),
            type(anyio.CancelScope()),
            self.http,
            in_flight,
            foreign_http=foreign_http,
        )

    def wake_calls(self) -> None:
        """Cancel every call in progress in the running loop (for `aclose`)."""
        here = self.here
        if here is not None and here.loop.is_(current_loop()):
            for scope in here.calls:
                scope.cancel()

    def pool_is_here(self) -> bool:
        """Whether the current pool was opened in the running loop (or never used)."""
        return self.here is None or self.here.loop.is_(current_loop())


def _gate(tokens: int) -> anyio.Semaphore:
    """A FIFO gate of `tokens` places: a release hands the place to the longest waiter."""
    return anyio.Semaphore(tokens, max_value=tokens, fast_acquire=True)
