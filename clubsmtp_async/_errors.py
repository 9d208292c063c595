"""Everything the SDK raises.

The tree::

    ClubSMTPError
    ├── ValidationError (also a ValueError) — bad input caught before sending
    ├── APIConnectionError — no usable response
    │   └── APITimeoutError — an httpx timeout, or the attempt's overall deadline
    ├── ClientClosedError — the client was used after aclose()
    ├── BulkError — items of a bulk operation failed (`clubsmtp_async._bulk_types`)
    │   └── BulkAborted — ``fail_fast=True`` stopped at the first failure
    ├── WebhookVerificationError — a delivery's signature or timestamp is not valid
    ├── WebhookPayloadError (also a ValueError) — a delivery's body is not an event
    └── APIStatusError — the server answered with an error
        ├── AuthError — 401 / auth_error
        ├── SecurityError — 403 / security_error
        ├── InvalidRequestError — 400 / invalid_request_error
        │   └── NotFoundError — the resource does not exist
        ├── RateLimitError — 429 / rate_limit_error, once retries ran out
        │   └── RateLimitWaitError — refused before sending: the turn is beyond ``max_wait``
        ├── ServerError — 500 / api_error, any other 5xx
        └── UnexpectedResponseError — a response the API never sends: a redirect (never
            followed), a body over ``max_response_bytes``, an encoding not asked
            for, or a success whose body is not the documented JSON

Every `APIStatusError` carries the HTTP status, the server's `errors` and, when
the body was not the documented JSON, a short excerpt of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthError",
    "ClientClosedError",
    "ClubSMTPError",
    "ErrorDetail",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitError",
    "RateLimitWaitError",
    "SecurityError",
    "ServerError",
    "UnexpectedResponseError",
    "ValidationError",
]

_EXCERPT_LENGTH = 200


class ErrorDetail(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a response's `errors` array."""

    message: str = ""
    type: str = ""


class ClubSMTPError(Exception):
    """Base class of every exception the SDK raises."""


class ValidationError(ClubSMTPError, ValueError):
    """Input rejected by the SDK before any request was sent."""


class ClientClosedError(ClubSMTPError, RuntimeError):
    """The client was used after it was closed, or closed while the call was in progress."""


class APIConnectionError(ClubSMTPError):
    """No usable response: the connection failed, broke or could not be made.

    Attributes:
        request_sent: False when the request certainly never reached the server
            (connection refused, pool or connect timeout), so any call may be retried.

    """

    def __init__(
        self, message: str, *, request: httpx.Request | None = None, request_sent: bool = True
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """The request timed out: an httpx timeout, or the attempt's overall deadline."""


class APIStatusError(ClubSMTPError):
    """The server answered with an error (base of the status-specific classes).

    Attributes:
        status_code: The HTTP status of the response.
        errors: The server's `errors` array (empty when the body was not JSON).
        message: The first error's message, or a description of the response.
        response: The `httpx.Response`, when there was one.
        body_excerpt: The start of the body when it was not the documented JSON.

    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        errors: list[ErrorDetail] | None = None,
        response: httpx.Response | None = None,
        body_excerpt: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.errors = errors or []
        self.response = response
        self.body_excerpt = body_excerpt

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status_code})"


class AuthError(APIStatusError):
    """401 `auth_error`: the API key is missing, invalid or expired."""


class SecurityError(APIStatusError):
    """403 `security_error`: HTTPS required, IP blocked, out of scope, or no account."""


class InvalidRequestError(APIStatusError):
    """400 `invalid_request_error`: a parameter is missing or invalid."""


class NotFoundError(InvalidRequestError):
    """400 `invalid_request_error` saying the resource was not found."""


class RateLimitError(APIStatusError):
    """429 `rate_limit_error` after the retries ran out.

    Attributes:
        retry_after: Seconds the server asked to wait, when it said.

    """

    retry_after: float | None = None


class RateLimitWaitError(RateLimitError):
    """Refused before sending: the call's turn in the rate limiter is further away than `max_wait`.

    Nothing was sent and no slot was taken: the budget of the other callers is
    unchanged. `status_code` is 429 (as the server would have answered) and
    `response` None.

    Attributes:
        retry_after: Seconds from the refusal until a slot would be free (the
            next slot, or the end of a 429 pause).
        max_wait: The cap that was exceeded, in seconds.

    """

    def __init__(self, retry_after: float, *, max_wait: float) -> None:
        super().__init__(
            f"rate limit: the next request slot is {retry_after:.3f} s away, more than "
            f"max_wait={max_wait:g} s; nothing was sent",
            status_code=429,
        )
        self.retry_after = retry_after
        self.max_wait = max_wait

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        return (_rate_limit_wait_error, (self.retry_after, self.max_wait))


def _rate_limit_wait_error(retry_after: float, max_wait: float) -> RateLimitWaitError:
    return RateLimitWaitError(retry_after, max_wait=max_wait)


class ServerError(APIStatusError):
    """500 `api_error` or any other 5xx."""


class UnexpectedResponseError(APIStatusError):
    """A response the API never sends: a redirect, an oversized body, or a 2xx that is not JSON."""


_BY_TYPE: Mapping[str, type[APIStatusError]] = {
    "auth_error": AuthError,
    "security_error": SecurityError,
    "invalid_request_error": InvalidRequestError,
    "rate_limit_error": RateLimitError,
    "api_error": ServerError,
}

_BY_STATUS: Mapping[int, type[APIStatusError]] = {
    400: InvalidRequestError,
    401: AuthError,
    403: SecurityError,
    404: NotFoundError,
    429: RateLimitError,
}

_NOT_FOUND = re.compile(r"\bnot\s+found\b", re.IGNORECASE)


def error_class(status_code: int, errors: list[ErrorDetail]) -> type[APIStatusError]:
    """Choose the exception class: the first error's `type`, then the HTTP status."""
    cls = _BY_TYPE.get(errors[0].type) if errors else None
    if cls is None:
        cls = _BY_STATUS.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else APIStatusError
    if cls is InvalidRequestError and any(_NOT_FOUND.search(e.message) for e in errors):
        cls = NotFoundError
    return cls


def excerpt(body: bytes) -> str:
    """A short, printable start of a response body for error messages.

    Runs of whitespace become one space; any other character that does not
    print (a control character, undecodable bytes) becomes U+FFFD.
    """
    text = body[:_EXCERPT_LENGTH].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else "\ufffd" for ch in text)
    return text + ("…" if len(body) > _EXCERPT_LENGTH else "")
