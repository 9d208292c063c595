"""An `httpx.AsyncClient` that sends through aiohttp: the fast option on asyncio.

httpx's own connection pool (httpcore) costs about 1 to 2 ms of CPU per request on
a busy client; aiohttp's costs a fraction of that. `aiohttp_http_client()`
returns an httpx client backed by the `httpx-aiohttp` transport, so the SDK's
request path is unchanged and only the sending is faster (extra ``aiohttp``;
asyncio only, as aiohttp is). The SDK never closes a client you pass in:

```python
async with aiohttp_http_client() as http, AsyncClient(http_client=http) as client:
    ...
```

The transport is wrapped so that its errors keep the distinction the retry
policy relies on: `httpx-aiohttp` reports every aiohttp connection error —
a server that dropped the connection *after* receiving the request included —
as a connect timeout, which would make an ambiguous create look unsent and be
re-sent blindly. Here only a failure to connect counts as unsent. (Errors
while the body is read need no wrapper: the SDK counts every error after the
status line as sent, whatever its name; see `_http.connection_error`.)

`httpx-aiohttp` is a transport for httpx, not httpx2, so this client is an
`httpx.AsyncClient` whichever library the SDK's own pools use; the SDK takes
either kind of client.
"""

from __future__ import annotations

import ssl

import httpx

from ._config import DEFAULT_LIMITS as _POOL
from ._config import resolve_timeout, standard_headers
from ._http import library_named

__all__ = ["aiohttp_http_client"]

DEFAULT_LIMITS = httpx.Limits(
    max_connections=_POOL.max_connections, max_keepalive_connections=_POOL.max_keepalive_connections
)
"""The pool's default size: 1000 connections, 100 kept alive."""


def aiohttp_http_client(
    *,
    timeout: float | httpx.Timeout | None = None,
    limits: httpx.Limits = DEFAULT_LIMITS,
    verify: ssl.SSLContext | str | bool = True,
) -> httpx.AsyncClient:
    """An httpx client over aiohttp, for `AsyncClient(http_client=...)` on asyncio (httpx only).

    Args:
        timeout: Seconds or an `httpx.Timeout` (the SDK also sets one per request).
        limits: Pool limits; the SDK's default (1000 connections, 100 kept alive).
        verify: TLS verification: True, a CA bundle path, or an `ssl.SSLContext`.

    Returns:
        An `httpx.AsyncClient`; close it yourself (``async with``).

    Raises:
        ImportError: if the ``aiohttp`` extra is not installed.

    """
    try:
        from httpx_aiohttp import AiohttpTransport
    except ModuleNotFoundError as exc:
        raise ImportError(
            "aiohttp_http_client needs the 'aiohttp' extra: pip install 'clubsmtp-async[aiohttp]'"
        ) from exc

    class _Transport(AiohttpTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                response: httpx.Response = await super().handle_async_request(request)
            except httpx.TransportError as exc:
                raise precise_error(exc, request) from exc.__cause__
            return response

    transport = _Transport(verify=verify, limits=limits)
    return httpx.AsyncClient(
        transport=transport,
        timeout=resolve_timeout(timeout),
        # The SDK's own, so that its requests only add the key.
        headers=standard_headers(library_named("httpx")),
    )


def precise_error(exc: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    """The httpx error that says whether the request may have reached the server.

    Args:
        exc: What `httpx-aiohttp` raised; its ``__cause__`` is aiohttp's own error.
        request: The request, attached to the new error.

    """
    import aiohttp

    cause = exc.__cause__
    message = str(exc) or type(cause).__name__
    if isinstance(cause, getattr(aiohttp, "ConnectionTimeoutError", ())):
        return httpx.ConnectTimeout(message, request=request)  # never connected
    if isinstance(cause, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)  # never connected
    if isinstance(cause, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message, request=request)  # sent, no answer in time
    if isinstance(cause, aiohttp.ClientConnectionError):
        return httpx.RemoteProtocolError(message, request=request)  # sent, then dropped
    return exc
