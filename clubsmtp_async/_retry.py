"""When a failed attempt is tried again, and how long to wait first.

One predicate, one wait function, one tenacity `AsyncRetrying` factory:

- a `RateLimitWaitError` (the call's own `max_wait` refused it) never is;
- 429 and failures before the request reached the server (connection refused,
  connect or pool timeout) are retried for every method;
- 5xx, read timeouts and dropped connections are *ambiguous* — the server may
  have acted — so they are retried for idempotent methods (GET, PATCH, DELETE),
  and for creates only when the caller can first look the object up by its
  natural key (see `_client`), which makes the retry safe;
- the wait is the server's ``Retry-After`` when it gave one, otherwise capped
  exponential backoff with full jitter.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import tenacity

from ._errors import (
    APIConnectionError,
    ClubSMTPError,
    RateLimitError,
    RateLimitWaitError,
    ServerError,
    ValidationError,
)
from ._validation import shown

__all__ = ["IDEMPOTENT_METHODS", "RetryPolicy", "is_ambiguous"]

logger = logging.getLogger("clubsmtp_async")

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


def is_ambiguous(exc: BaseException) -> bool:
    """True if the server may have processed the request despite the failure."""
    if isinstance(exc, ServerError):
        return True
    return isinstance(exc, APIConnectionError) and exc.request_sent


class RetryPolicy:
    """The SDK's retry rules, shared by every request of a client.

    Args:
        max_retries: Retries after the first attempt; 0 disables retrying.
        backoff_base: The first backoff, in seconds, doubled on each retry.
        backoff_max: The cap on one backoff (and on an honoured ``Retry-After``).
        sleep: The sleep used between attempts (tests pass a fake one).
        jitter: Returns a float in [0, 1) that scales each backoff.

    """

    def __init__(
        self,
        max_retries: int = 3,
        *,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValidationError(
                f"max_retries must be a whole number >= 0, got {shown(max_retries)}"
            )
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._jitter = jitter

    def should_retry(self, exc: BaseException, method: str, *, can_recover: bool = False) -> bool:
        """Whether a failed attempt of `method` may be tried again.

        Args:
            exc: What the attempt raised.
            method: The HTTP method.
            can_recover: The caller can look the object up before re-sending a create.

        """
        if isinstance(exc, RateLimitWaitError):
            return False  # refused by the caller's own max_wait: retrying would wait
        if isinstance(exc, RateLimitError):
            return True
        if isinstance(exc, APIConnectionError) and not exc.request_sent:
            return True
        if is_ambiguous(exc):
            return method in IDEMPOTENT_METHODS or can_recover
        return False

    def wait_seconds(self, exc: BaseException | None, attempt_number: int) -> float:
        """How long to wait after failed attempt number `attempt_number` (1-based)."""
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return min(exc.retry_after, self.backoff_max)
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** (attempt_number - 1))
        return float(ceiling * self._jitter())

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` with the policy's sleep (`anyio.sleep` unless a test gave another)."""
        await (self._sleep or anyio.sleep)(seconds)

    def may_retry(self, exc: BaseException, method: str, *, can_recover: bool = False) -> bool:
        """Whether a failed first attempt is retried at all (`should_retry`, retries allowed).

        The first attempt of a call runs bare (the client sends it itself): the
        retry machinery (about 40 µs a call) is set up only after it failed in
        a way that `may_retry`, by `resume`.
        """
        return bool(self.max_retries) and self.should_retry(exc, method, can_recover=can_recover)

    async def resume(
        self,
        first_failure: ClubSMTPError,
        attempt: Callable[[int], Awaitable[T]],
        method: str,
        *,
        can_recover: bool = False,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> T:
        """Go on after a first attempt that failed with `first_failure` (which `may_retry`).

        The failure is replayed into tenacity as attempt 1, so waits, logging and
        the stop rule are tenacity's alone; then ``attempt(2)``, and so on.
        """
        async for try_ in self.retrying(method, can_recover=can_recover, sleep=sleep):
            with try_:
                number = try_.retry_state.attempt_number
                if number == 1:
                    raise first_failure
                return await attempt(number)
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    def retrying(
        self,
        method: str,
        *,
        can_recover: bool = False,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> tenacity.AsyncRetrying:
        """A tenacity controller for one call."""
        return tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            retry=tenacity.retry_if_exception(
                lambda exc: self.should_retry(exc, method, can_recover=can_recover)
            ),
            wait=self._wait,
            sleep=sleep or self.sleep,
            before_sleep=_log_retry,
            reraise=True,
        )

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return self.wait_seconds(exc, state.attempt_number)


def _log_retry(state: tenacity.RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, ClubSMTPError):
        # Exception texts never carry secrets: see `_errors`.
        reason = f"{type(exc).__name__}: {exc}"
    else:
        reason = type(exc).__name__
    wait = state.next_action.sleep if state.next_action else 0.0
    logger.debug("retrying after attempt %d in %.3f s: %s", state.attempt_number, wait, reason)
