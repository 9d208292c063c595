"""`AsyncClient`: configuration, lifecycle, and the one request path.

Every call of every resource goes through `AsyncClient._request`:
build → (retry loop: in-flight slot → limit → exchange → decode → map errors) → result.

- **In flight.** At most `max_in_flight` HTTP requests of a client (and its
  copies) are in flight; the others queue, FIFO, on an anyio `Semaphore`.
  httpcore's pool bookkeeping grows with the square of the requests waiting
  for a connection, so the queue is kept here, where it costs O(1) a request.
  The slot is taken *before* the rate limiter: a request past the limiter is
  sent at once, so a 429 pause holds every request not yet sent. Taking the
  slot and then the limiter's turn is one step under a FIFO lock (`_turn`), so
  callers reach the limiter in call order even where the scheduler wakes two
  of them in the same tick in another order (trio shuffles them on purpose).
- **Limit.** The rate limiter is acquired once per attempt, before an HTTP
  connection is taken, so pool and connect timeouts never tick while a request
  waits for its turn.
- **Exchange.** `_http.exchange`: no redirects, an overall deadline, a size cap.
- **Event loops.** What belongs to one event loop (the connection pool, the
  in-flight limiter, the calls `aclose()` wakes) lives in `_shared.LoopState`,
  re-created when the client is used from another loop (`_loop`).
"""

from __future__ import annotations

import enum
import functools
import logging
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar, cast

import anyio
import msgspec

from ._config import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MAX_RESPONSE_BYTES,
    attempt_deadline,
    pool_limits,
    resolve_api_key,
    resolve_base_url,
    resolve_max_in_flight,
    resolve_max_response_bytes,
    resolve_requests_per_minute,
    resolve_timeout,
    standard_headers,
)
from ._endpoint import Endpoint
from ._errors import (
    APITimeoutError,
    ClientClosedError,
    ClubSMTPError,
    NotFoundError,
    RateLimitError,
    RateLimitWaitError,
    ValidationError,
)
from ._http import (
    RequestHeaders,
    build_request,
    check_http_client,
    default_library,
    exchange,
    new_http_client,
)
from ._limiter import (
    LeakyBucketLimiter,
    Limiter,
    NoLimiter,
    accepts_max_wait,
    check_max_wait,
    pause_length,
)
from ._models import Ping
from ._resources import PING, Aliases, Domains, Mailboxes
from ._retry import RetryPolicy, is_ambiguous
from ._shared import LoopState, Shared

if TYPE_CHECKING:
    import httpx

    from ._bulk import Bulk
    from ._http import HTTPClient, HTTPRequest, HTTPResponse, HTTPTimeout

__all__ = ["AsyncClient"]

logger = logging.getLogger("clubsmtp_async")

T = TypeVar("T")

_ENCODER = msgspec.json.Encoder()
_CLOSED = "this AsyncClient is closed; create a new one"


class _Default(enum.Enum):
    """Markers for "not given" where None has a meaning of its own."""

    FROM_ENV = "from $CLUBSMTP_REQUESTS_PER_MINUTE, else 60"
    KEEP = "keep the original's"


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
            None disables pacing (a 429 still pauses every task). Not given:
            ``$CLUBSMTP_REQUESTS_PER_MINUTE``, else 60 (unused with `limiter`).
        max_retries: Retries after a failed attempt; 0 disables retrying.
        timeout: Seconds, or an `httpx.Timeout` (or `httpx2.Timeout`): each phase
            (connect, each read, each write, pool) is bounded by it, and a whole
            attempt by its longest phase (``timeout=30``: 30 s per attempt).
        limiter: A shared limiter (e.g. `RedisLimiter`) used instead of the in-process one.
        http_client: Your own `httpx.AsyncClient` or `httpx2.AsyncClient`; the SDK
            never closes it. Redirects are never followed, whatever it was built
            with. Without one the SDK makes its own pool: httpx2 when it is
            installed, else httpx (``$CLUBSMTP_HTTP_LIBRARY`` chooses).
        max_in_flight: At most this many HTTP requests in flight at once (the
            others wait their turn, first come first served); shared with the
            `with_options` copies. None removes the bound.
        max_response_bytes: The largest response body read (after
            decompression); a larger one raises `UnexpectedResponseError`.
            None removes the cap.
        max_wait: Seconds a call may wait for its turn in the rate limiter
            (each attempt's turn, retries included): a call whose turn would
            come later is refused at once with `RateLimitWaitError`, taking no
            slot. 0: only if a slot is free now. None (default): no cap.

    Raises:
        ValidationError: if there is no API key, or an argument is of the wrong
            type or out of range (e.g. an ``http://`` URL to a remote host).

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
        requests_per_minute: float | _Default | None = _Default.FROM_ENV,
        max_retries: int = 3,
        timeout: float | HTTPTimeout | None = 30.0,
        limiter: Limiter | None = None,
        http_client: HTTPClient | None = None,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        max_wait: float | None = None,
    ) -> None:
        # Everything is checked before anything is made.
        self._api_key = resolve_api_key(api_key)
        self.base_url = resolve_base_url(base_url)
        self._timeout = resolve_timeout(timeout)
        self._deadline = attempt_deadline(self._timeout)
        self._retry = RetryPolicy(max_retries)
        self._max_response_bytes = resolve_max_response_bytes(max_response_bytes)
        in_flight = resolve_max_in_flight(max_in_flight)
        if limiter is not None and not isinstance(limiter, Limiter):
            raise ValidationError(
                "limiter must be a Limiter (with acquire, on_rate_limited and aclose), "
                f"got a {type(limiter).__name__}"
            )
        library = default_library() if http_client is None else check_http_client(http_client)
        self._request_timeout = library.timeout(self._timeout)  # in the pool's library
        self._max_wait = check_max_wait(max_wait)
        chosen_limiter = limiter or _default_limiter(requests_per_minute)
        _check_limiter_takes_max_wait(chosen_limiter, self._max_wait)
        self._headers = RequestHeaders(
            {
                "Authorization": f"Bearer {self._api_key.reveal()}",
                **standard_headers(library),
            },
            body={"Content-Type": "application/json"},
        )
        self._shared = Shared(
            http=http_client
            or new_http_client(library, pool_limits(in_flight), self._timeout, self._headers),
            library=library,
            owns_http=http_client is None,
            limiter=chosen_limiter,
            owns_limiter=limiter is None,
            max_in_flight=in_flight,
            timeout=self._timeout,
            headers=self._headers,
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
        """The timeout of each phase of an attempt (an `httpx.Timeout`, whatever was passed)."""
        return self._timeout

    @property
    def attempt_deadline(self) -> float | None:
        """Seconds one attempt may take in all (the longest phase of `timeout`)."""
        return self._deadline

    @property
    def max_in_flight(self) -> int | None:
        """At most this many HTTP requests in flight at once (shared with the copies)."""
        return self._shared.max_in_flight

    @property
    def max_response_bytes(self) -> int | None:
        """The largest response body read, after decompression."""
        return self._max_response_bytes

    @property
    def max_wait(self) -> float | None:
        """Seconds a call may wait for its turn in the rate limiter (None: no cap)."""
        return self._max_wait

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
        timeout: float | HTTPTimeout | None = None,
        max_response_bytes: int | None = None,
        max_wait: float | _Default | None = _Default.KEEP,
    ) -> AsyncClient:
        """A copy with other settings that shares the pool, the limiter and `max_in_flight`.

        Closing a copy does nothing; closing the original closes the pool for both.

        Args:
            max_retries: Retries after a failed attempt (None: keep).
            timeout: Seconds or an `httpx.Timeout` / `httpx2.Timeout` (None: keep).
            max_response_bytes: The largest response body read (None: keep).
            max_wait: The cap on the wait for a turn in the limiter; None removes
                it (not given: keep).

        Raises:
            ValidationError: if an option is of the wrong type or out of range.

        """
        copy = object.__new__(AsyncClient)
        copy.__dict__.update(self.__dict__)
        copy._owner = False  # first: a copy whose options fail to validate must not warn in __del__
        if max_retries is not None:
            copy._retry = RetryPolicy(max_retries)
        if timeout is not None:
            copy._timeout = resolve_timeout(timeout)
            copy._deadline = attempt_deadline(copy._timeout)
            copy._request_timeout = self._shared.library.timeout(copy._timeout)
        if max_response_bytes is not None:
            copy._max_response_bytes = resolve_max_response_bytes(max_response_bytes)
        if max_wait is not _Default.KEEP:
            copy._max_wait = check_max_wait(max_wait)
            _check_limiter_takes_max_wait(self._shared.limiter, copy._max_wait)
        copy._attach_resources()
        return copy

    async def ping(self) -> Ping:
        """Check connectivity and that the key is valid; returns the server's clock."""
        return await self._request(PING)

    async def aclose(self) -> None:
        """Close the connection pool and limiter the client created. Idempotent.

        Every call still in progress (waiting for its turn in the limiter, for
        an in-flight slot, for a retry, or for its response) ends at once with
        `ClientClosedError`; so do the calls of the copies.
        """
        shared = self._shared
        if not self._owner or shared.closed:
            return
        shared.closed = True
        shared.wake_calls()
        # Shielded: a caller cancelled meanwhile (or closing from inside a call,
        # whose scope was just cancelled) still closes everything.
        with anyio.CancelScope(shield=True):
            # A pool whose connections belong to an earlier, ended event loop
            # cannot be closed from this one; it is dropped instead.
            if shared.owns_http and shared.pool_is_here():
                await shared.http.aclose()
            if shared.owns_limiter:
                await shared.limiter.aclose()

    async def __aenter__(self) -> AsyncClient:
        if self._shared.closed:
            raise ClientClosedError(_CLOSED)
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
            raise ClientClosedError(_CLOSED)
        here = self._shared.for_this_loop()
        path = endpoint.format_path(ids)
        content = None if body is None else _encode(body)
        state = _CallState()
        can_recover = find_existing is not None
        try:
            # The first attempt runs bare; the retry policy takes over after a failure.
            try:
                return await self._attempt(
                    here, endpoint, path, query, content, state, find_existing, 1
                )
            except ClubSMTPError as exc:
                if not self._retry.may_retry(exc, endpoint.method, can_recover=can_recover):
                    raise
                first_failure = exc
            attempt = functools.partial(
                self._attempt, here, endpoint, path, query, content, state, find_existing
            )
            return await self._retry.resume(
                first_failure,
                attempt,
                endpoint.method,
                can_recover=can_recover,
                sleep=self._backoff,
            )
        except ClubSMTPError as failure:
            if state.ambiguous and find_existing is not None:
                try:
                    existing = await find_existing()
                except ClubSMTPError:
                    # The create's own failure is the answer; the failed look-up
                    # stays visible as its context.
                    raise failure  # noqa: B904 - the look-up error becomes its __context__
                if existing is not None:
                    return existing
            raise

    async def _attempt(
        self,
        here: LoopState,
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
            response = await self._send(here, endpoint.method, path, query, content)
            self._log(endpoint.method, path, response, number)
            try:
                return endpoint.decode(response)
            except RateLimitError as exc:
                await self._pause_for(exc)
                raise
        except NotFoundError:
            if state.ambiguous and endpoint.method == "DELETE":
                return cast(T, None)  # an earlier attempt did delete it
            raise
        except ClubSMTPError as exc:
            state.ambiguous = state.ambiguous or is_ambiguous(exc)
            raise

    async def _send(
        self,
        here: LoopState,
        method: str,
        path: str,
        query: Mapping[str, str] | None,
        content: bytes | None,
    ) -> HTTPResponse:
        """One attempt: its turn, then its exchange, in one cancel scope.

        `aclose()` cancels the scope, wherever the attempt waits; during the
        exchange the scope also carries the attempt's deadline. One scope, not
        two: each costs microseconds on every request.
        """
        request: HTTPRequest | None = None
        what = f"{method} {path}"
        with here.cancel_scope() as scope:
            here.calls.add(scope)
            try:
                await self._take_turn(here)
                try:
                    request = build_request(
                        here.http,
                        method,
                        self.base_url + path,
                        params=query,
                        content=content,
                        headers=self._headers,
                        timeout=self._request_timeout,
                        pool_has_headers=self._shared.owns_http,
                    )
                    if self._deadline is not None:
                        here.deadlines.start(scope, self._deadline)
                    try:
                        return await exchange(
                            here.http, request, what=what, max_bytes=self._max_response_bytes
                        )
                    except RuntimeError as exc:
                        if here.foreign_http and not isinstance(exc, ClubSMTPError):
                            raise _foreign_loop(what) from exc
                        raise
                finally:
                    if here.in_flight is not None:
                        here.in_flight.release()
            finally:
                here.calls.discard(scope)
                here.deadlines.end(scope)
        if self._shared.closed or self._deadline is None:  # only aclose() or the deadline
            raise ClientClosedError(f"{what}: the AsyncClient was closed meanwhile")
        raise APITimeoutError(
            f"{what} timed out: no complete response within the attempt deadline "
            f"of {self._deadline:g} s",
            request=request,
            request_sent=True,  # perhaps: the deadline may have passed at any point
        )

    async def _backoff(self, seconds: float) -> None:
        """The wait before a retry, which `aclose()` ends at once too."""
        here = self._shared.for_this_loop()
        with anyio.CancelScope() as scope:
            here.calls.add(scope)
            try:
                await self._retry.sleep(seconds)
            finally:
                here.calls.discard(scope)
        if scope.cancelled_caught:  # only aclose() cancels it
            raise ClientClosedError("the AsyncClient was closed while a call waited to retry")

    async def _take_turn(self, here: LoopState) -> None:
        """Wait for an in-flight slot, then for the limiter: in call order (see the module doc)."""
        shared = self._shared
        in_flight = here.in_flight
        if self._max_wait is not None:
            await self._take_capped_turn(here)
        elif in_flight is None:
            await shared.limiter.acquire()
        else:
            await _acquire(here.turn)
            try:
                await _acquire(in_flight)
                try:
                    await shared.limiter.acquire()
                except BaseException:
                    in_flight.release()
                    raise
            finally:
                here.turn.release()
        if shared.closed:
            if in_flight is not None:
                in_flight.release()
            raise ClientClosedError("this AsyncClient was closed while the request waited")

    async def _take_capped_turn(self, here: LoopState) -> None:
        """With `max_wait`: an in-flight slot, then the limiter's check-and-book.

        The limiter's own queue is the turn: the call books (or is refused) when
        it is made, without waiting behind uncapped calls that have not booked yet.
        """
        in_flight = here.in_flight
        if in_flight is not None:
            await _acquire(in_flight)
        try:
            acquire = cast("Callable[..., Awaitable[None]]", self._shared.limiter.acquire)
            await acquire(max_wait=self._max_wait)
        except BaseException:
            if in_flight is not None:
                in_flight.release()
            raise

    def _log(self, method: str, path: str, response: HTTPResponse, number: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            elapsed = response.elapsed.total_seconds() * 1000 if _has_elapsed(response) else 0.0
            logger.debug(
                "%s %s -> %d in %.1f ms (attempt %d)",
                method,
                path,
                response.status_code,
                elapsed,
                number,
            )

    async def _pause_for(self, exc: RateLimitError) -> None:
        """After a 429: pause every caller; refuse the retry now if it would outwait `max_wait`."""
        # Capped like the retry wait: a far-future Retry-After must not park every task.
        pause = exc.retry_after
        if pause is not None:
            pause = min(pause, self._retry.backoff_max)
        await self._shared.limiter.on_rate_limited(pause)
        if self._max_wait is not None and pause_length(pause) > self._max_wait:
            # The retry's turn comes after the pause: refused, as its acquire would be.
            raise RateLimitWaitError(pause_length(pause), max_wait=self._max_wait) from exc


async def _acquire(gate: anyio.Semaphore) -> None:
    # Free, it is taken without a trip through the scheduler (fair: never past a waiter).
    try:
        gate.acquire_nowait()
    except anyio.WouldBlock:
        await gate.acquire()


def _encode(body: msgspec.Struct) -> bytes:
    # Validation refuses what cannot be sent; this is the last guard, and it
    # never quotes the body (it may hold a password).
    try:
        return _ENCODER.encode(body)
    except (UnicodeEncodeError, TypeError, msgspec.EncodeError):
        raise ValidationError(
            "the request body cannot be encoded as JSON (text with a lone surrogate?)"
        ) from None


def _foreign_loop(what: str) -> ClubSMTPError:
    return ClubSMTPError(
        f"{what}: the http_client passed to AsyncClient belongs to another event loop "
        "and cannot send from this one. Create the AsyncClient and its http_client inside "
        "the event loop that uses them (e.g. in the app's lifespan), or leave http_client "
        "out: the client's own pool is re-created in each event loop."
    )


def _has_elapsed(response: HTTPResponse) -> bool:
    try:
        response.elapsed  # noqa: B018 - the property raises until the response is closed
    except RuntimeError:
        return False
    return True


def _default_limiter(requests_per_minute: float | _Default | None) -> Limiter:
    if requests_per_minute is None:
        return NoLimiter()
    if isinstance(requests_per_minute, _Default):  # not given
        return LeakyBucketLimiter(resolve_requests_per_minute())
    return LeakyBucketLimiter(requests_per_minute)


def _check_limiter_takes_max_wait(limiter: Limiter, max_wait: float | None) -> None:
    if max_wait is not None and not accepts_max_wait(limiter):
        raise ValidationError(
            f"max_wait needs a limiter whose acquire() takes max_wait; "
            f"{type(limiter).__name__}.acquire() does not"
        )
