"""`RedisLimiter`: one GCRA budget per API key, shared by every process and host.

Needs the `redis` extra (redis-py's asyncio client, so asyncio only); the package
imports this module lazily. The shared state is one Redis string per key, the
theoretical arrival time (TAT) in microseconds of Redis's own clock, under
`key_prefix + sha256(api_key).hexdigest()`. Each `acquire()` is one EVALSHA of an
atomic script that books the next slot and returns how long to wait; the caller
then sleeps locally. `docs/rate-limiting.md` explains the algorithm and the
behaviour when Redis is unreachable.
"""

from __future__ import annotations

import hashlib
import logging
import math
import warnings
from typing import Literal

import anyio
import sniffio
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ._errors import RateLimitWaitError, ValidationError
from ._limiter import LeakyBucketLimiter, _check_burst, _check_rate, check_max_wait, pause_length
from ._loop import LoopClock
from ._validation import finite_number

__all__ = ["ACQUIRE_SCRIPT", "PAUSE_SCRIPT", "RedisLimiter", "RedisLimiterFallbackWarning"]

logger = logging.getLogger("clubsmtp_async")

# Only these mean "Redis is unreachable"; anything else (a script error, a wrong
# type at the key, an auth failure) is a bug or a misconfiguration and propagates.
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)

ACQUIRE_SCRIPT = """
-- KEYS[1]: the key's TAT (microseconds of Redis TIME); ARGV[1]: interval T (us);
-- ARGV[2]: tolerance (burst - 1) * T (us); ARGV[3]: max wait (us), -1 for none.
-- Returns the wait in microseconds, or -(wait + 1) when it exceeds the max wait
-- (then nothing is booked: checked and booked in one atomic step).
if redis.replicate_commands then redis.replicate_commands() end  -- Redis < 5 only
local t = redis.call('TIME')  -- Redis's clock: the hosts' clocks do not matter
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end  -- idle (or new): the bucket is empty
local send_at = math.max(now, tat - tolerance)
local max_wait = tonumber(ARGV[3] or '-1')
if max_wait >= 0 and send_at - now > max_wait then return -(send_at - now) - 1 end
local new_tat = math.max(tat, send_at) + interval
-- The state is worthless once new_tat has passed (an absent key means the same),
-- so it expires then; '%.0f' keeps all digits (tostring would round to 14).
redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
           'PX', math.ceil((new_tat - now) / 1000) + 1000)
return send_at - now
"""
"""Books one slot atomically (GCRA on Redis `TIME`) and returns the wait in microseconds."""

PAUSE_SCRIPT = """
-- KEYS[1]: the key's TAT; ARGV[1]: pause (us); ARGV[2]: tolerance (us).
-- Pushes the TAT so that nobody sends before Redis-now + pause, and no burst then.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local floor = now + tonumber(ARGV[1]) + tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < floor then tat = floor end
redis.call('SET', KEYS[1], string.format('%.0f', tat),
           'PX', math.ceil((tat - now) / 1000) + 1000)
return tat - tonumber(ARGV[2]) - now
"""
"""Pushes the shared TAT past a 429 pause; returns the pause left in microseconds."""


_CENTURY = 100 * 365.25 * 86_400.0  # seconds


class RedisLimiterFallbackWarning(RuntimeWarning):
    """Redis is unreachable: the limiter paces this process alone, conservatively."""


class RedisLimiter:
    """A `Limiter` whose budget lives in Redis, shared by every process using the key.

    Every process that uses the same API key must use the same `requests_per_minute`
    (the key's ceiling) and Redis. Each process keeps at most one booked slot
    outstanding (its callers take turns, FIFO), so a 429 pause pushed to Redis by
    any process is seen by every other within one slot.

    Args:
        redis_url_or_client: A `redis://` URL (the limiter creates and closes a
            bounded pool) or a `redis.asyncio.Redis` it will use but never close.
        api_key: The key whose budget this is. Only its SHA-256 is stored or shown.
        requests_per_minute: The key's ceiling, shared by all processes.
        burst: How many requests may go at once after an idle period (>= 1).
        key_prefix: Prefix of the Redis key (followed by the key's SHA-256 hex).
        max_connections: Size of the pool created from a URL.
        on_redis_error: "fallback": on connection or timeout errors, pace this
            process alone at `requests_per_minute / fallback_processes` (one
            warning per outage) and retry Redis every `redis_retry_interval`
            seconds; "raise": let the redis error propagate.
        fallback_processes: How many processes to assume share the key during an outage.
        redis_retry_interval: Seconds between reconnection attempts during an outage.
        timeout: Connect and command timeout (seconds) of the pool created from a URL.

    Raises:
        ValidationError: An argument is of the wrong type or out of range.

    """

    def __init__(
        self,
        redis_url_or_client: str | Redis,
        api_key: str,
        *,
        requests_per_minute: float = 60,
        burst: int = 1,
        key_prefix: str = "clubsmtp:limiter:",
        max_connections: int = 10,
        on_redis_error: Literal["fallback", "raise"] = "fallback",
        fallback_processes: int = 4,
        redis_retry_interval: float = 5.0,
        timeout: float = 1.0,
    ) -> None:
        self._rpm = _check_rate(requests_per_minute)
        self._burst = _check_burst(burst)
        _check_options(api_key, on_redis_error, fallback_processes, redis_retry_interval)
        self._fallback = LeakyBucketLimiter(self._rpm / fallback_processes, burst=burst)
        self._interval_us = math.ceil(60_000_000 / self._rpm)  # rounded up: never faster
        self._tolerance_us = (burst - 1) * self._interval_us
        if not isinstance(key_prefix, str):
            raise ValidationError("key_prefix must be a string")
        self._key = key_prefix + hashlib.sha256(api_key.encode()).hexdigest()
        self._client, self._pool = _connect(redis_url_or_client, max_connections, timeout)
        self._acquire_script = self._client.register_script(ACQUIRE_SCRIPT)
        self._pause_script = self._client.register_script(PAUSE_SCRIPT)
        self._on_error = on_redis_error
        self._retry_interval = redis_retry_interval
        self._turn = anyio.Lock()  # one booked slot outstanding per process
        self._clock = LoopClock()  # local times below stay valid if the event loop changes
        self._paused_until = -math.inf  # local clock; this process's 429s
        self._slot_at = -math.inf  # local clock; the booked slot of the task holding `_turn`
        self._down_since: float | None = None  # local clock; None while Redis answers
        self._retry_at = -math.inf
        self._closed = False

    def __repr__(self) -> str:
        # The key name holds a hash of the API key, never the key itself.
        return (
            f"RedisLimiter(key={self._key!r}, requests_per_minute={self._rpm:g}, "
            f"burst={self._burst})"
        )

    @property
    def key(self) -> str:
        """The Redis key holding the shared state (`key_prefix` + SHA-256 of the API key)."""
        return self._key

    @property
    def requests_per_minute(self) -> float:
        """The key's ceiling shared by all processes."""
        return self._rpm

    @property
    def fallback_active(self) -> bool:
        """Whether Redis is unreachable and the in-process fallback paces requests."""
        return self._down_since is not None

    async def acquire(self, *, max_wait: float | None = None) -> None:
        """Wait for this request's shared slot (one Redis round trip, then a local sleep).

        Cancelling the wait after the slot was booked leaves that shared slot unused:
        it lowers throughput a little and can never exceed the limit.

        Args:
            max_wait: Refuse, booking nothing, when the slot (or the end of a 429
                pause) is further away than this many seconds. At once when this
                process's own queue or the shared TAT shows it; a caller that
                waits for this process's turn is refused when the turn comes too
                late, never after more than `max_wait`.

        Raises:
            RateLimitWaitError: The slot is further away than `max_wait`.
            RuntimeError: Called outside asyncio (redis-py's client is asyncio-only).
            redis.exceptions.ConnectionError: Redis unreachable with `on_redis_error="raise"`.
            redis.exceptions.TimeoutError: Likewise, on a timeout.

        """
        cap = check_max_wait(max_wait)
        _require_asyncio()
        deadline = None if cap is None else self._clock() + cap
        await self._take_turn(cap)
        try:
            while True:
                await self._sleep_through_pause(cap, deadline)
                wait = await self._book(self._left(deadline))
                if wait is None:
                    await self._fallback.acquire(max_wait=self._left(deadline))
                    return
                self._slot_at = self._clock() + wait
                await anyio.sleep(wait)
                # A 429 answered while we slept: our slot predates the pause, book again.
                if self._clock() >= self._paused_until:
                    return
        finally:
            self._slot_at = -math.inf
            self._turn.release()

    async def _take_turn(self, cap: float | None) -> None:
        """Take this process's turn (one booked slot at a time); with a cap, refuse if too late."""
        if cap is None or not self._turn.locked():
            await self._turn.acquire()
            return
        # A lower bound of the wait: the holder's slot, then one interval per caller.
        ahead = self._turn.statistics().tasks_waiting
        interval = self._interval_us / 1_000_000
        floor = max(self._slot_at - self._clock(), 0.0) + interval * (ahead + 1)
        floor -= self._tolerance_us / 1_000_000
        if floor > cap:
            raise RateLimitWaitError(floor, max_wait=cap)
        with anyio.move_on_after(cap):
            await self._turn.acquire()
            return
        raise RateLimitWaitError(max(floor, cap), max_wait=cap)

    def _left(self, deadline: float | None) -> float | None:
        return None if deadline is None else max(0.0, deadline - self._clock())

    async def on_rate_limited(self, retry_after: float | None) -> None:
        """Pause every process using the key: push the shared TAT past `retry_after`.

        Args:
            retry_after: The server's `Retry-After` in seconds; None means the default.

        """
        pause = pause_length(retry_after)
        self._paused_until = max(self._paused_until, self._clock() + pause)
        if self._down_since is not None:
            await self._fallback.on_rate_limited(retry_after)
            if self._clock() < self._retry_at:
                return
        args = [math.ceil(pause * 1_000_000), self._tolerance_us]
        try:
            await self._pause_script(keys=[self._key], args=args)
        except _UNREACHABLE as exc:
            self._unreachable(exc)
            await self._fallback.on_rate_limited(retry_after)
        else:
            self._reachable()

    async def aclose(self) -> None:
        """Close the connection pool if this limiter created it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._pool is not None:
            await self._client.aclose()
            await self._pool.aclose()

    async def _book(self, max_wait: float | None = None) -> float | None:
        """Book the next shared slot: the seconds to wait, or None to use the fallback.

        Raises:
            RateLimitWaitError: the slot is more than `max_wait` away (nothing booked).

        """
        if self._down_since is not None and self._clock() < self._retry_at:
            return None
        # A cap beyond a century is no cap; bounded so its microseconds fit an integer.
        cap_us = -1 if max_wait is None else math.floor(min(max_wait, _CENTURY) * 1_000_000)
        args = [self._interval_us, self._tolerance_us, cap_us]
        try:
            wait_us = int(await self._acquire_script(keys=[self._key], args=args))
        except _UNREACHABLE as exc:
            self._unreachable(exc)
            return None
        self._reachable()
        if wait_us < 0:
            assert max_wait is not None  # only a capped booking is refused
            raise RateLimitWaitError((-wait_us - 1) / 1_000_000, max_wait=max_wait)
        return wait_us / 1_000_000

    async def _sleep_through_pause(
        self, cap: float | None = None, deadline: float | None = None
    ) -> None:
        delay = self._paused_until - self._clock()
        if cap is not None and deadline is not None and self._paused_until > deadline:
            raise RateLimitWaitError(max(delay, 0.0), max_wait=cap)
        while delay > 0:
            await anyio.sleep(delay)
            # Re-read: another 429 may have extended the pause while we slept.
            delay = self._paused_until - self._clock()

    def _unreachable(self, exc: Exception) -> None:
        """Enter (or stay in) fallback mode, or re-raise in "raise" mode."""
        if self._on_error == "raise":
            raise exc
        now = self._clock()
        self._retry_at = now + self._retry_interval
        if self._down_since is not None:
            return  # one warning per outage, not per request
        self._down_since = now
        message = (
            f"Redis unreachable for rate limiter key {self._key} "
            f"({type(exc).__name__}); pacing this process alone at "
            f"{self._fallback.requests_per_minute:g} requests/min until it is back"
        )
        logger.warning(message)
        warnings.warn(message, RedisLimiterFallbackWarning, stacklevel=4)

    def _reachable(self) -> None:
        if self._down_since is not None:
            logger.info("Redis reachable again for rate limiter key %s", self._key)
            self._down_since = None


def _check_options(
    api_key: str, on_redis_error: str, fallback_processes: int, redis_retry_interval: float
) -> None:
    if not isinstance(api_key, str) or not api_key or not api_key.isascii():
        # Never echoed: it is a secret.
        raise ValidationError("api_key must be a non-empty string of ASCII characters")
    if not isinstance(on_redis_error, str) or on_redis_error not in ("fallback", "raise"):
        raise ValidationError("on_redis_error must be 'fallback' or 'raise'")
    try:
        _check_burst(fallback_processes)  # the same rule: an integer >= 1
    except ValidationError:
        raise ValidationError("fallback_processes must be an integer >= 1") from None
    _check_seconds(redis_retry_interval, "redis_retry_interval")


def _check_seconds(value: object, name: str) -> None:
    if not finite_number(value) or not value > 0:
        raise ValidationError(f"{name} must be > 0 seconds (a finite number)")


def _connect(
    redis_url_or_client: str | Redis, max_connections: int, timeout: float
) -> tuple[Redis, BlockingConnectionPool | None]:
    """Use the caller's client as is, or build one on a bounded pool we own."""
    if not isinstance(redis_url_or_client, str):
        if not isinstance(redis_url_or_client, Redis):
            raise ValidationError("redis_url_or_client must be a redis:// URL or a Redis client")
        return redis_url_or_client, None
    if isinstance(max_connections, bool) or not isinstance(max_connections, int):
        raise ValidationError("max_connections must be an integer >= 1")
    if max_connections < 1:
        raise ValidationError(f"max_connections must be >= 1, got {max_connections!r}")
    _check_seconds(timeout, "timeout")
    # Blocking: when all connections are busy, wait for one instead of failing
    # (a failure would look like an outage and switch to the fallback).
    pool = BlockingConnectionPool.from_url(
        redis_url_or_client,
        max_connections=max_connections,
        timeout=timeout,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
    )
    return Redis(connection_pool=pool), pool


def _require_asyncio() -> None:
    library = sniffio.current_async_library()
    if library != "asyncio":
        raise RuntimeError(f"RedisLimiter needs asyncio (redis-py's client), not {library}")
