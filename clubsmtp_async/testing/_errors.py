"""The error the emulator's handlers raise, and the envelope it becomes.

Every failure inside the emulator is an `ApiError`; the ASGI layer turns it
into ``{"errors": [{"message": ..., "type": ...}]}`` with the status of the
API page's table.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "error_body", "invalid", "not_found"]


class ApiError(Exception):
    """An error response: HTTP status, error type and message.

    Args:
        status: The HTTP status code.
        type: The API's error type, e.g. ``invalid_request_error``.
        message: The human-readable message.
        headers: Extra response headers (e.g. ``Retry-After``).

    """

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON envelope of this error."""
        return error_body(self.message, self.type)


def error_body(message: str, type: str) -> dict[str, Any]:
    """The API's error envelope with one error."""
    return {"errors": [{"message": message, "type": type}]}


def invalid(message: str) -> ApiError:
    """A 400 ``invalid_request_error`` with `message`."""
    return ApiError(400, "invalid_request_error", message)


def not_found(kind: str) -> ApiError:
    """A 400 ``invalid_request_error`` saying ``"<kind> not found."``."""
    return invalid(f"{kind} not found.")
