"""SDK errors as HTTP answers: one table, looked up along the exception's class tree.

| raised | status | why |
|---|---|---|
| `ValidationError` (e.g. `TenantFileError`) | 422 | the caller's input; the message says where |
| `PlanError` | 409 | the spec conflicts with the account as it is |
| `WebhookVerificationError`, `WebhookPayloadError` | 400 | not an authentic event |
| `AuthError`, `SecurityError` | 502 | the API refused *the service's* key: an operator must act |
| `RateLimitError` | 503, ``Retry-After`` | the key's budget, exhausted after the SDK's retries |
| `RateLimitWaitError` | 503, ``Retry-After`` | refused at once: no slot within ``max_wait`` |
| `APITimeoutError` | 504 | the API did not answer in time |
| `APIConnectionError`, any other `APIStatusError` | 502 | the API failed |
| `ClientClosedError` | 503 | the worker is shutting down |
| any other `ClubSMTPError` | 500 | a bug |

Bodies are ``{"detail": message, "error": class name}``. The SDK never puts a
secret in a message, and the auth answers say which setting to check, not the key.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from clubsmtp_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthError,
    ClientClosedError,
    ClubSMTPError,
    RateLimitError,
    RateLimitWaitError,
    SecurityError,
    ValidationError,
)
from clubsmtp_async.onboarding import PlanError
from clubsmtp_async.webhooks import WebhookPayloadError, WebhookVerificationError

__all__ = ["STATUSES", "error_response", "install_error_handlers"]

log = logging.getLogger("clubsmtp_service")

STATUSES: Mapping[type[BaseException], tuple[int, str | None]] = {
    ValidationError: (422, None),
    PlanError: (409, None),
    WebhookVerificationError: (400, "invalid webhook"),
    WebhookPayloadError: (400, "invalid webhook"),
    AuthError: (502, "the ClubSMTP API refused the service's API key (401): "
                     "check CLUBSMTP_API_KEY"),
    SecurityError: (502, "the ClubSMTP API refused the service's request (403): check the "
                         "key's scopes and allowed IP ranges"),
    RateLimitError: (503, "the ClubSMTP API's rate limit is reached: retry later"),
    RateLimitWaitError: (503, "the API key's rate budget is busy for longer than this "
                              "service waits: retry later"),
    APITimeoutError: (504, "the ClubSMTP API did not answer in time"),
    APIConnectionError: (502, "the ClubSMTP API could not be reached"),
    ClientClosedError: (503, "the service is shutting down: retry"),
    APIStatusError: (502, None),
    ClubSMTPError: (500, "internal error"),
}
"""Status and message (None: the exception's own) per class; the nearest class wins."""


def _lookup(exc: BaseException) -> tuple[int, str | None]:
    for cls in type(exc).__mro__:
        if cls in STATUSES:
            return STATUSES[cls]
    return 500, "internal error"


def error_response(exc: ClubSMTPError) -> JSONResponse:
    """The answer to `exc` (see the table above)."""
    status, message = _lookup(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimitError):
        wait = exc.retry_after
        seconds = math.ceil(wait) if wait is not None and math.isfinite(wait) else 1
        headers["Retry-After"] = str(max(1, seconds))
    if message is None:
        message = _own_message(exc)
    if status >= 500:
        # Never the exception's text: an upstream body (a proxy's page) can echo anything.
        log.warning("answered %d to %s: %s", status, type(exc).__name__, message)
    detail = message
    return JSONResponse({"detail": detail, "error": type(exc).__name__}, status_code=status,
                        headers=headers)


def _own_message(exc: ClubSMTPError) -> str:
    """What the caller may read of an error: never a body the API (or a proxy) sent."""
    if isinstance(exc, APIStatusError):
        said = "; ".join(detail.message for detail in exc.errors if detail.message)
        return f"the ClubSMTP API answered HTTP {exc.status_code}" + (f": {said}" if said else "")
    return str(exc)  # the SDK's own text (a ValidationError names the place, never a secret)


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ClubSMTPError)
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every `ClubSMTPError` a route lets through with `error_response`."""
    app.add_exception_handler(ClubSMTPError, _handle)
