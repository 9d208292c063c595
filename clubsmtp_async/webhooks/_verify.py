"""Webhook signatures: the Standard Webhooks scheme, behind a small protocol.

ClubSMTP does not publish how it signs webhooks. The SDK *assumes* the
`Standard Webhooks <https://www.standardwebhooks.com/>`_ scheme (the API page's
open point 1), and keeps the scheme behind the `Verifier` protocol so another one
drops in without changing callers.

The scheme, as its reference libraries implement it:

- three headers: ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
  ``webhook-signature``, a space-separated list of ``<version>,<base64>``
  entries; only ``v1`` (HMAC-SHA256) is defined, other versions are ignored;
- the signed content is ``"{id}.{timestamp}.{body}"``, the body byte for byte;
- the secret is ``whsec_`` followed by the base64 of the key (the prefix is
  optional, and unpadded base64 is accepted); a `bytes` secret is the raw key;
- a delivery passes if *any* ``v1`` entry matches (so the sender can sign with
  an old and a new secret while they are rotated), and if its timestamp is within
  the tolerance of the receiver's clock, in the past or in the future.

Whatever the input, only the documented errors come out: `ValidationError` for
an argument of the wrong type or out of range (a secret that is not text or
bytes, a NaN, infinite or negative tolerance), `WebhookVerificationError` for
anything about the delivery itself — header values included, which are checked
to be printable ASCII before use (a framework such as Starlette decodes raw
header bytes as latin-1, so a forged header can hold any character). Every
comparison with the replay window fails closed: a NaN can never widen it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Protocol, TypeGuard, runtime_checkable

from .._errors import ValidationError
from .._validation import finite_number
from ._errors import WebhookVerificationError

__all__ = [
    "DEFAULT_TOLERANCE",
    "StandardWebhooksVerifier",
    "Verifier",
    "sign",
    "verify",
]

DEFAULT_TOLERANCE = 300
"""Seconds a delivery's timestamp may differ from the receiver's clock (5 minutes)."""

_SECRET_PREFIX = "whsec_"  # noqa: S105  # a prefix, not a secret
_ID = "webhook-id"
_TIMESTAMP = "webhook-timestamp"
_SIGNATURE = "webhook-signature"
_VERSION = "v1"
_MAX_TIMESTAMP_DIGITS = 12  # far beyond year 9999: refuses absurd values early
_MAX_HEADER = 8192  # longer header values are refused unread (no real delivery comes close)
_HEADER_TEXT = re.compile(r"[\t\x20-\x7e]*\Z")  # printable ASCII, and tabs (RFC 9110)


@runtime_checkable
class Verifier(Protocol):
    """Anything that authenticates a webhook delivery.

    Implement this to verify another signing scheme; code that receives
    webhooks only calls ``verifier.verify(body, headers)``.
    """

    def verify(self, payload: bytes, headers: Mapping[str, str]) -> None:
        """Return if the delivery is authentic.

        Args:
            payload: The request body, exactly as received.
            headers: The request headers (any `Mapping`; names in any case).

        Raises:
            WebhookVerificationError: if it is not.

        """
        ...


class StandardWebhooksVerifier:
    """Verifies the Standard Webhooks scheme (the SDK's default `Verifier`).

    Build it once (it decodes the secret) and share it between requests.

    Example:
        >>> verifier = StandardWebhooksVerifier("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        >>> verifier.verify(body, request.headers)  # doctest: +SKIP

    Args:
        secret: ``whsec_<base64>`` (or the base64 alone), or the raw key as `bytes`.
        tolerance: Seconds the timestamp may be in the past or the future (a
            finite number >= 0).
        clock: Returns the current Unix time (tests pass a fixed one).

    Raises:
        ValidationError: if the secret is not text or bytes, not valid base64
            or empty, or the tolerance is not a finite number >= 0.

    """

    __slots__ = ("_clock", "_key", "_tolerance")

    def __init__(
        self,
        secret: str | bytes,
        tolerance: float = DEFAULT_TOLERANCE,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tolerance = _checked_tolerance(tolerance)
        if not callable(clock):
            raise ValidationError("clock must be a function returning the Unix time")
        self._key = _decode_secret(secret)
        self._clock = clock

    def __repr__(self) -> str:
        return f"StandardWebhooksVerifier(tolerance={self._tolerance})"

    @property
    def tolerance(self) -> float:
        """Seconds the timestamp may be in the past or the future."""
        return self._tolerance

    def verify(self, payload: bytes, headers: Mapping[str, str]) -> None:
        """Return if the delivery is authentic and recent.

        Args:
            payload: The request body, exactly as received (before any JSON
                parsing): `bytes` (or a `str`, sent as its UTF-8).
            headers: The request headers: Starlette's, httpx's or a plain `dict`
                with names in any case; values `str` or `bytes`.

        Raises:
            WebhookVerificationError: a header is missing or not printable
                ASCII, the timestamp is not Unix seconds or is outside the
                tolerance, or no ``v1`` signature matches.
            ValidationError: the payload is not bytes or text, the headers are
                not a mapping, or the clock did not return a finite time.

        """
        body = _payload_bytes(payload)
        if not isinstance(headers, Mapping) and not _looks_like_headers(headers):
            raise ValidationError(
                f"headers must be a mapping of header names to values, got a "
                f"{type(headers).__name__}"
            )
        msg_id = _header(headers, _ID)
        timestamp = _header(headers, _TIMESTAMP)
        signatures = _header(headers, _SIGNATURE)
        _check_timestamp(timestamp, now=_checked_now(self._clock()), tolerance=self._tolerance)
        expected = _digest(self._key, msg_id, timestamp, body)
        _check_signatures(signatures, expected)


def verify(
    payload: bytes,
    headers: Mapping[str, str],
    secret: str | bytes,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> None:
    """Verify a delivery signed with the Standard Webhooks scheme.

    A shortcut for ``StandardWebhooksVerifier(secret, tolerance).verify(payload, headers)``;
    a receiver that handles many deliveries can build the verifier once instead.

    Example:
        >>> verify(await request.body(), request.headers, secret)  # doctest: +SKIP

    Args:
        payload: The request body, exactly as received.
        headers: The request headers (any `Mapping`; names in any case).
        secret: ``whsec_<base64>`` (or the base64 alone), or the raw key as `bytes`.
        tolerance: Seconds the timestamp may be in the past or the future.
        now: The current Unix time (default: the system clock).

    Raises:
        WebhookVerificationError: if the delivery is not authentic or not recent.
        ValidationError: if the secret, the tolerance or `now` is malformed, or
            the payload or the headers are of the wrong type.

    """
    clock = time.time if now is None else _fixed_clock(_checked_now(now))
    StandardWebhooksVerifier(secret, tolerance, clock=clock).verify(payload, headers)


def sign(payload: bytes, secret: str | bytes, *, msg_id: str, timestamp: float) -> dict[str, str]:
    """The Standard Webhooks headers of a delivery (for tests and for the emulator).

    Example:
        >>> sign(body, secret, msg_id="msg_1", timestamp=time.time())  # doctest: +SKIP
        {'webhook-id': 'msg_1', 'webhook-timestamp': '1745244600', 'webhook-signature': 'v1,…'}

    Args:
        payload: The request body that will be sent.
        secret: ``whsec_<base64>`` (or the base64 alone), or the raw key as `bytes`.
        msg_id: The delivery's unique id (the same for every retry of it).
        timestamp: Unix time of the attempt (fractions are dropped).

    Returns:
        ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (one ``v1``
        entry); join the signature values of two calls with a space to sign
        with two secrets during a rotation.

    Raises:
        ValidationError: if the secret or the payload is malformed, `msg_id` is
            empty or not printable ASCII, or the timestamp is not a finite
            number >= 0.

    """
    if not isinstance(msg_id, str) or not msg_id.strip() or not _is_header_text(msg_id):
        raise ValidationError("msg_id must be a non-empty string of printable ASCII")
    if not _is_number(timestamp) or not 0 <= timestamp < 10**_MAX_TIMESTAMP_DIGITS:
        raise ValidationError("timestamp must be a Unix time (a finite number >= 0)")
    stamp = str(int(timestamp))
    digest = _digest(_decode_secret(secret), msg_id, stamp, _payload_bytes(payload))
    signature = base64.b64encode(digest).decode("ascii")
    return {_ID: msg_id, _TIMESTAMP: stamp, _SIGNATURE: f"{_VERSION},{signature}"}


def _fixed_clock(now: float) -> Callable[[], float]:
    return lambda: now


def _is_number(value: object) -> TypeGuard[int | float]:
    return finite_number(value)


def _checked_tolerance(tolerance: object) -> float:
    # A NaN would disable the replay window (every comparison with it is False).
    if _is_number(tolerance) and tolerance >= 0:
        return tolerance
    kind = f"a {type(tolerance).__name__}"
    shown = repr(tolerance) if isinstance(tolerance, (int, float)) else kind
    raise ValidationError(f"tolerance must be a finite number of seconds >= 0, not {shown}")


def _checked_now(now: object) -> float:
    if not _is_number(now):
        raise ValidationError("the current time (now, or the clock's) must be a finite Unix time")
    return now


def _payload_bytes(payload: object) -> bytes | bytearray | memoryview:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return payload
    if isinstance(payload, str):
        try:
            return payload.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(
                "payload text holds a lone surrogate: pass the raw body as bytes"
            ) from None
    raise ValidationError(f"payload must be the raw body as bytes, got a {type(payload).__name__}")


def _decode_secret(secret: object) -> bytes:
    # No message quotes the secret, and `from None`: nothing of it may reach a traceback.
    if isinstance(secret, str):
        text = secret.removeprefix(_SECRET_PREFIX)
        try:
            key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text (lone surrogates included)
            raise ValidationError(
                "webhook secret must be 'whsec_' followed by base64 (or raw key bytes)"
            ) from None
    elif isinstance(secret, (bytes, bytearray, memoryview)):
        key = bytes(secret)
    else:
        raise ValidationError(
            f"webhook secret must be a str ('whsec_...') or bytes, got a {type(secret).__name__}"
        )
    if not key:
        raise ValidationError("webhook secret must not be empty")
    return key


def _looks_like_headers(headers: object) -> bool:
    # Header containers that are not registered Mappings but behave as one.
    return callable(getattr(headers, "get", None)) and callable(getattr(headers, "items", None))


def _header(headers: Mapping[str, str], name: str) -> str:
    # Starlette's and httpx's Headers look names up case-insensitively; a plain
    # dict may hold any case (and str or bytes names), so fall back to a scan.
    value: object = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if _name_of(k) == name), None)
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")  # as Starlette decodes raw header bytes
    if not value:
        raise WebhookVerificationError(f"missing {name} header")
    if not isinstance(value, str):
        raise WebhookVerificationError(f"{name} header is not text")
    if len(value) > _MAX_HEADER or not _is_header_text(value):
        raise WebhookVerificationError(f"{name} header is not printable ASCII text")
    return value


def _name_of(key: object) -> str | None:
    if isinstance(key, (bytes, bytearray)):
        key = bytes(key).decode("latin-1")
    return key.lower() if isinstance(key, str) else None


def _is_header_text(value: str) -> bool:
    return _HEADER_TEXT.match(value) is not None


def _check_timestamp(timestamp: str, *, now: float, tolerance: float) -> None:
    if not timestamp.isdigit() or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise WebhookVerificationError(
            f"webhook-timestamp is not a Unix time in seconds: {timestamp[:24]!r}"
        )
    age = now - int(timestamp)
    # `not age <= tolerance` rather than `age > tolerance`: fails closed on a NaN.
    if not age <= tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {math.ceil(age)} s old, beyond the {tolerance:g} s tolerance"
        )
    if not -age <= tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {math.ceil(-age)} s in the future, "
            f"beyond the {tolerance:g} s tolerance"
        )


def _digest(
    key: bytes, msg_id: str, timestamp: str, payload: bytes | bytearray | memoryview
) -> bytes:
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode(), hashlib.sha256)
    mac.update(payload)  # the body is not copied into a new string
    return mac.digest()


def _check_signatures(header: str, expected: bytes) -> None:
    seen_v1 = False
    for entry in header.split():
        version, comma, encoded = entry.partition(",")
        if version != _VERSION or not comma:
            continue  # another scheme version: not ours to judge
        seen_v1 = True
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(candidate, expected):
            return
    if not seen_v1:
        raise WebhookVerificationError("webhook-signature has no v1 signature")
    raise WebhookVerificationError("no webhook-signature entry matches the payload")
