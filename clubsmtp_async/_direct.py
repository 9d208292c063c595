"""Sending through a client's transport directly, when the client's `send()` would add nothing.

httpx's (and httpx2's) `AsyncClient.send()` wraps the call to its transport in
layers an API client with a bearer key never uses: auth flows, redirect
handling (the SDK follows none), event hooks, an INFO log line, a stream
wrapper that times the response, and a cookie extraction that builds
`http.cookiejar`'s request and response adapters for every response, cookies
or not. Over aiohttp at concurrency 100 these layers are about a quarter of the
instructions of a request (`benchmarks/bench_transports.py`).

`transport_for(http, request)` is the transport `send()` would hand `request`
to, when skipping those layers changes nothing:

- the client is open (it has sent a request already, or is inside its
  `async with`): `send()` opens an unopened one, and refuses a closed one;
- it has no auth, no event hooks, and `max_redirects` is not negative;
- the URL carries no credentials (`send()` makes them basic auth);
- the library's logger would not log the request at INFO;
- every method between `send()` and the transport is the library's own, on
  the class and not set on the instance: a subclass that overrides one, a
  tracer or a test that wraps or patches one (now or later), is sent its way.

Otherwise it is None and the caller sends with `send()`. After a direct send,
`adopt()` does what `send()` does once the transport answered (the request,
the cookies the response sets, the client's default encoding, a redirect's
`next_request`, each library's way), and `set_elapsed()` what its stream
wrapper does on close. Whichever way a request went, the client, its cookie
jar and the response end up as `send()` would leave them.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import operator
import sys
from typing import Any

__all__ = ["adopt", "set_elapsed", "transport_for"]

_INFO = logging.INFO
_COOKIE_HEADERS = (b"set-cookie", b"set-cookie2")


# The methods `send()` runs before the transport, in both libraries.
_SENDING = (
    "send",
    "_set_timeout",
    "_build_request_auth",
    "_send_handling_auth",
    "_send_handling_redirects",
    "_send_single_request",
)
_SENDING_NAMES = frozenset(_SENDING)
_sending_of = operator.attrgetter(*_SENDING)
_LIBRARIES = frozenset({"httpx", "httpx2"})


class _Kind:
    """What `transport_for` needs to know of one client class, looked up once."""

    __slots__ = ("direct", "logger", "opened", "own", "unfollowable")

    def __init__(self, client_type: type) -> None:
        self.direct = False
        self.opened: object = None
        self.own: tuple[object, ...] = ()
        # What `send()` ignores when it builds a refused redirect's `next_request`: httpx's
        # fails on a Location no request can go to, httpx2's leaves `next_request` unset.
        self.unfollowable: tuple[type[Exception], ...] = ()
        self.logger = logging.getLogger("httpx")
        library = _library_of(client_type)
        if library is None:
            return
        self.logger = logging.getLogger(library.__name__)
        # Private names of both libraries: a version without them sends with `send()`.
        client_module = sys.modules.get(f"{library.__name__}._client")
        self.opened = getattr(getattr(client_module, "ClientState", None), "OPENED", None)
        if library.__name__ == "httpx2":
            self.unfollowable = (library.RemoteProtocolError,)
        source = getattr(client_module, "__file__", None)
        methods = [getattr(client_type, name, None) for name in _SENDING]
        self.direct = (
            self.opened is not None
            and source is not None
            and callable(getattr(client_type, "_transport_for_url", None))
            and callable(getattr(client_type, "_build_redirect_request", None))
            and all(_is_from(method, source) for method in methods)
        )
        if self.direct:
            self.own = _sending_of(client_type)


def _library_of(client_type: type) -> Any | None:
    """The library (httpx or httpx2) whose `AsyncClient` is `client_type` or one of its bases."""
    for base in client_type.__mro__:
        if base.__module__ in _LIBRARIES:
            library = sys.modules[base.__module__]
            if base is getattr(library, "AsyncClient", None):
                return library
    return None


def _is_from(method: object, source: str) -> bool:
    """Whether `method` is a function of the library's `_client` module (a wrapper is not)."""
    code = getattr(method, "__code__", None)
    return code is not None and code.co_filename == source


_KINDS: dict[type, _Kind] = {}


def transport_for(http: Any, request: Any) -> Any | None:
    """The transport `http.send(request)` would use, or None when its layers are needed.

    Args:
        http: An `httpx.AsyncClient` or `httpx2.AsyncClient`.
        request: A request built by `http` (`http.build_request`).

    """
    client_type = type(http)
    kind = _KINDS.get(client_type)
    if kind is None:
        kind = _KINDS[client_type] = _Kind(client_type)
    if (
        not kind.direct
        or _sending_of(client_type) != kind.own  # patched since: sent the patched way
        or getattr(http, "_state", None) is not kind.opened
        or http.auth is not None
        or http.max_redirects < 0  # `send()` refuses before sending
        or request.url.userinfo
        or kind.logger.isEnabledFor(_INFO)
        or not _SENDING_NAMES.isdisjoint(getattr(http, "__dict__", ()))  # set on the instance
    ):
        return None
    hooks = http.event_hooks
    if hooks["request"] or hooks["response"]:
        return None
    return http._transport_for_url(request.url)


def adopt(http: Any, response: Any, request: Any) -> bool:
    """What `send()` does with a response its transport returned, done for a direct send.

    Only for a client `transport_for` returned a transport for. Returns whether
    `send()` would time the response (`set_elapsed` when it is closed): not one
    the transport returned closed already (an in-memory response), as its
    stream wrapper is never closed then.

    Raises:
        RemoteProtocolError: of httpx, for a redirect to a Location no request
            can go to, as httpx's `send()` does.

    """
    timed = not response.is_closed
    response.request = request
    response.default_encoding = http._default_encoding
    if any(key.lower() in _COOKIE_HEADERS for key, _ in response.headers.raw):
        http.cookies.extract_cookies(response)
    if response.has_redirect_location:
        with contextlib.suppress(*_KINDS[type(http)].unfollowable):
            response.next_request = http._build_redirect_request(request, response)
    return timed


def set_elapsed(response: Any, started: float, now: float) -> None:
    """`response.elapsed`, as `send()`'s stream wrapper sets it when the response is closed."""
    response.elapsed = datetime.timedelta(seconds=now - started)
