"""What the webhook helpers raise.

The part of the SDK's tree they add (`clubsmtp_async.ClubSMTPError` is the root)::

    ClubSMTPError
    ├── ValidationError — an argument of the wrong type or out of range: a
    │   malformed secret, a NaN, infinite or negative tolerance, a payload that
    │   is neither bytes nor text, headers that are not a mapping
    ├── WebhookVerificationError — the delivery is not authentic or too old/new,
    │   or a header is missing or not printable ASCII
    └── WebhookPayloadError (also a ValueError) — the body is not a ClubSMTP event

No message ever contains the secret or a signature.
"""

from __future__ import annotations

from .._errors import ClubSMTPError

__all__ = ["WebhookPayloadError", "WebhookVerificationError"]


class WebhookVerificationError(ClubSMTPError):
    """A delivery failed verification: answer it with a 4xx and do not process it.

    The message says why (a missing header, a malformed or out-of-tolerance
    timestamp, no matching signature); it never contains the secret.
    """


class WebhookPayloadError(ClubSMTPError, ValueError):
    """A webhook body is not a well-formed ClubSMTP event.

    Attributes:
        body_excerpt: A short, printable start of the body.

    """

    def __init__(self, message: str, *, body_excerpt: str) -> None:
        super().__init__(message)
        self.body_excerpt = body_excerpt
