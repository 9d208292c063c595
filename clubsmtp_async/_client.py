"""`AsyncClient`: configuration, lifecycle, and the one request path.

Every call of every resource goes through `AsyncClient._request`:
build → (retry loop: limit → send → decode → map errors) → result.
The limiter is acquired once per attempt, before an HTTP connection is taken,
so pool and connect timeouts never tick while a request waits for its turn.
"""

from __future__ import annotations

import functools
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar, cast

import httpx
import msgspec

from ._config import (
    DEFAULT_LIMITS,
    resolve_api_key,
    resolve_base_url,
    resolve_timeout,
    user_agent,
)
from ._endpoint import Endpoint
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ClubSMTPError,
    NotFoundError,
    RateLimitError,
)
from ._limiter import LeakyBucketLimiter, Limiter, NoLimiter
from ._models import Ping
from ._resources import PING, Aliases, Domains, Mailboxes
from ._retry import RetryPolicy, is_ambiguous

if TYPE_CHECKING:
    from ._bulk import Bulk

__all__ = ["AsyncClient"]

logger = logging.getLogger("clubsmtp_async")

T = TypeVar("T")

_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_ENCODER = msgspec.json.Encoder()


@dataclass
class _Shared:
    """What a client and its `with_options` copies share."""

    http: httpx.AsyncClient
    owns_http: bool
    limiter: Limiter
    owns_limiter: bool
    closed: bool = False


@dataclass
class _CallState:
    """Per-call memory across attempts."""

    ambiguous: bool = False  # an attempt failed after the server may have acted


class AsyncClient:
    """The async client for the ClubSMTP API; share one across all your tasks.

    Args:
        api_key: The secret key; defaults to ``$CLUBSMTP_API_KEY``.
        base_url: Defaults to ``$CLUBSMTP_BASE_URL``, then ``https://api.clubsmtp.com``.
            ``http://`` is refused except for loopback hosts (the emulator).
        requests_per_minute: The key's ceiling; the client never sends faster.
            None disables pacing (a 429 still pauses every task).
        max_retries: Retries after a failed attempt; 0 disables retrying.
        timeout: Seconds, or an `httpx.Timeout`.
        limiter: A shared limiter (e.g. `RedisLimiter`) used instead of the in-process one.
        http_client: Your own `httpx.AsyncClient`; the SDK never closes it.

    Raises:
        ValidationError: if there is no API key or the base URL is refused.

    Example:
        ```python
        async with AsyncClient() as client:
            domain = await client.domains.create(name="example.com")
        ```

    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        requests_per_minute: float | None = 60,
        max_retries: int = 3,
        timeout: float | httpx.Timeout | None = 30.0,
        limiter: Limiter | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._api_key = resolve_api_key(api_key)
        self.base_url = resolve_base_url(base_url)
        self._timeout = resolve_timeout(timeout)
        self._retry = RetryPolicy(max_retries)
        self._headers = httpx.Headers(
            {
                "Authorization": f"Bearer {self._api_key.reveal()}",
                "User-Agent": user_agent(),
                "Accept": "application/json",
            }
        )
        self._json_headers = self._headers.copy()
        self._json_headers["Content-Type"] = "application/json"
        http = http_client or httpx.AsyncClient(limits=DEFAULT_LIMITS, timeout=self._timeout)
        self._shared = _Shared(
            http=http,
            owns_http=http_client is None,
            limiter=limiter or _default_limiter(requests_per_minute),
            owns_limiter=limiter is None,
        )
        self._owner = True
        self._attach_resources()

    def _attach_resources(self) -> None:
        self.domains = Domains(self)
        """The account's domains."""
        self.mailboxes = Mailboxes(self)
        """The account's mailboxes, with their whitelists and blacklists."""
        self.aliases = Aliases(self)
        """The account's forwarding aliases."""
        self._bulk: Bulk | None = None

    @property
    def bulk(self) -> Bulk:
        """Concurrent operations over many items, with per-item results."""
        if self._bulk is None:
            from ._bulk import Bulk

            self._bulk = Bulk(self)
        return self._bulk

    @property
    def max_retries(self) -> int:
        """Retries after a failed attempt."""
        return self._retry.max_retries

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeout of each attempt."""
        return self._timeout

    @property
    def limiter(self) -> Limiter:
        """The limiter pacing this client's requests (shared with its copies)."""
        return self._shared.limiter

    @property
    def is_closed(self) -> bool:
        """True once the client (or the client it was copied from) was closed."""
        return self._shared.closed

    def with_options(
        self,
        *,
        max_retries: int | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> AsyncClient:
        """A copy with other settings that shares the connection pool and the limiter.

        Closing a copy does nothing; closing the original closes the pool for both.
        """
        copy = object.__new__(AsyncClient)
        copy.__dict__.update(self.__dict__)
        copy._owner = False  # first: a copy whose options fail to validate must not warn in __del__
        if max_retries is not None:
            copy._retry = RetryPolicy(max_retries)
        if timeout is not None:
            copy._timeout = resolve_timeout(timeout)
        copy._attach_resources()
        return copy

    async def ping(self) -> Ping:
        """Check connectivity and that the key is valid; returns the server's clock."""
        return await self._request(PING)

    async def aclose(self) -> None:
        """Close the connection pool and limiter the client created. Idempotent."""
        if not self._owner or self._shared.closed:
            return
        self._shared.closed = True
        if self._shared.owns_http:
            await self._shared.http.aclose()
        if self._shared.owns_limiter:
            await self._shared.limiter.aclose()

    async def __aenter__(self) -> AsyncClient:
        if self._shared.closed:
            raise ClientClosedError("this AsyncClient is closed; create a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._shared.closed else "open"
        return f"<AsyncClient base_url={self.base_url!r} api_key='***' {state}>"

    def __del__(self) -> None:
        # Warn only: closing needs the event loop, which may be gone by now.
        shared = self.__dict__.get("_shared")
        if shared is not None and self.__dict__.get("_owner") and not shared.closed:
            warnings.warn(
                f"unclosed {self!r}: use 'async with AsyncClient()' or 'await client.aclose()'",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )

    async def _request(
        self,
        endpoint: Endpoint[T],
        *ids: str,
        query: Mapping[str, str] | None = None,
        body: msgspec.Struct | None = None,
        find_existing: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        """Send one call with retries; the path every resource method takes.

        Args:
            endpoint: What to call.
            ids: Validated, quoted identifiers for the path's ``{}``.
            query: Query parameters.
            body: The request body (validated already).
            find_existing: For creates: looks the object up by its natural key,
                so that after an ambiguous failure the create is never repeated blindly.

        """
        if self._shared.closed:
            raise ClientClosedError("this AsyncClient is closed; create a new one")
        path = endpoint.format_path(ids)
        content = None if body is None else _ENCODER.encode(body)
        state = _CallState()
        attempt = functools.partial(
            self._attempt, endpoint, path, query, content, state, find_existing
        )
        try:
            return await self._retry.call(
                attempt, endpoint.method, can_recover=find_existing is not None
            )
        except ClubSMTPError:
            if state.ambiguous and find_existing is not None:
                existing = await find_existing()
                if existing is not None:
                    return existing
            raise

    async def _attempt(
        self,
        endpoint: Endpoint[T],
        path: str,
        query: Mapping[str, str] | None,
        content: bytes | None,
        state: _CallState,
        find_existing: Callable[[], Awaitable[T | None]] | None,
        number: int,
    ) -> T:
        if state.ambiguous and find_existing is not None:
            existing = await find_existing()
            if existing is not None:
                return existing
        try:
            return await self._send(endpoint, path, query, content, number)
        except NotFoundError:
            if state.ambiguous and endpoint.method == "DELETE":
                return cast(T, None)  # an earlier attempt did delete it
            raise
        except ClubSMTPError as exc:
            state.ambiguous = state.ambiguous or is_ambiguous(exc)
            raise

    async def _send(
        self,
        endpoint: Endpoint[T],
        path: str,
        query: Mapping[str, str] | None,
        content: bytes | None,
        number: int,
    ) -> T:
        shared = self._shared
        await shared.limiter.acquire()
        if shared.closed:
            raise ClientClosedError("this AsyncClient was closed while the request waited")
        request = shared.http.build_request(
            endpoint.method,
            self.base_url + path,
            params=query,
            content=content,
            headers=self._headers if content is None else self._json_headers,
            timeout=self._timeout,
        )
        started = time.perf_counter()
        try:
            response = await shared.http.send(request)
        except httpx.RequestError as exc:  # transport errors, and e.g. a body that fails to decode
            raise _connection_error(exc, endpoint.method, path) from exc
        if logger.isEnabledFor(logging.DEBUG):
            elapsed_ms = (time.perf_counter() - started) * 1000
            logger.debug(
                "%s %s -> %d in %.1f ms (attempt %d)",
                endpoint.method,
                path,
                response.status_code,
                elapsed_ms,
                number,
            )
        try:
            return endpoint.decode(response)
        except RateLimitError as exc:
            # Capped like the retry wait: a far-future Retry-After must not park every task.
            pause = exc.retry_after
            if pause is not None:
                pause = min(pause, self._retry.backoff_max)
            await shared.limiter.on_rate_limited(pause)
            raise


def _connection_error(exc: httpx.RequestError, method: str, path: str) -> APIConnectionError:
    timed_out = isinstance(exc, httpx.TimeoutException)
    cls = APITimeoutError if timed_out else APIConnectionError
    what = "timed out" if timed_out else "failed"
    return cls(
        f"{method} {path} {what}: {type(exc).__name__}: {str(exc) or 'no detail'}",
        request=exc.request if _has_request(exc) else None,
        request_sent=not isinstance(exc, _UNSENT),
    )


def _has_request(exc: httpx.RequestError) -> bool:
    try:
        exc.request  # noqa: B018 - the property raises when no request was attached
    except RuntimeError:
        return False
    return True


def _default_limiter(requests_per_minute: float | None) -> Limiter:
    if requests_per_minute is None:
        return NoLimiter()
    return LeakyBucketLimiter(requests_per_minute)
