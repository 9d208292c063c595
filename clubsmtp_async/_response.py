"""Turning a response into a model or a typed exception.

Every success body is an envelope ``{"<field>": ..., "errors": []}``. For each
endpoint a typed decoder of its envelope is built once, and the raw bytes are
decoded straight into models: no ``response.json()``, no intermediate dicts.

Times without a zone are refused, here as in the models (`_models`): an HTTP
date must name its zone (``GMT``, an offset, or ``-0000``, which RFC 5322
defines as UTC); one without (or with a zone name nobody defines) makes the
ping an `UnexpectedResponseError` and a ``Retry-After`` unusable (ignored).
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

from ._errors import (
    APIStatusError,
    ErrorDetail,
    RateLimitError,
    UnexpectedResponseError,
    error_class,
    excerpt,
)
from ._models import Ping

if TYPE_CHECKING:
    from ._http import HTTPResponse

__all__ = [
    "EnvelopeDecoder",
    "http_date",
    "ping_decoder",
    "raise_for_errors",
    "retry_after_seconds",
]

T = TypeVar("T")


class _ErrorEnvelope(msgspec.Struct):
    errors: list[ErrorDetail] = []


_ERRORS = msgspec.json.Decoder(_ErrorEnvelope)


class EnvelopeDecoder(Generic[T]):
    """Decodes ``{"<field>": T, "errors": [...]}`` bodies into ``T``.

    Args:
        field: The envelope's data field (``"domain"``, ``"data"``, ``"success"``…).
        type_: The type of that field.
        convert: Applied to the decoded field (e.g. to parse an HTTP date).

    """

    __slots__ = ("_convert", "_decoder", "_field")

    def __init__(self, field: str, type_: Any, convert: Callable[[Any], T] | None = None) -> None:
        envelope = msgspec.defstruct(
            f"{field.title()}Envelope", [(field, type_), ("errors", list[ErrorDetail], [])]
        )
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(envelope)
        self._field = field
        self._convert = convert

    def __call__(self, response: HTTPResponse) -> T:
        """The model in a response, or the typed exception the response stands for."""
        if not 200 <= response.status_code < 300:
            raise_for_errors(response)
        try:
            envelope = self._decoder.decode(response.content)
        except (msgspec.DecodeError, RecursionError) as exc:  # ValidationError included
            # RecursionError: nesting deeper than the decoder goes, even in a
            # field it would skip.
            raise_for_errors(response, cause=exc)
        if envelope.errors:
            raise _status_error(response, envelope.errors)
        value = getattr(envelope, self._field)
        if self._convert is None:
            return value  # type: ignore[no-any-return]
        try:
            return self._convert(value)
        except ValueError as exc:
            return raise_for_errors(response, cause=exc)  # type: ignore[no-any-return]


def raise_for_errors(response: HTTPResponse, cause: Exception | None = None) -> Any:
    """Raise the exception an error (or undecodable) response stands for."""
    try:
        errors = _ERRORS.decode(response.content).errors
    except (msgspec.DecodeError, RecursionError):
        errors = []
    if errors:
        raise _status_error(response, errors) from cause
    status = response.status_code
    snippet = excerpt(response.content)
    if not response.content:
        what = "an empty body"
    elif isinstance(cause, RecursionError):
        what = f"JSON nested too deeply: {snippet!r}"
    elif isinstance(cause, (msgspec.ValidationError, ValueError)) and str(cause):
        # JSON of another shape: say where (msgspec names the path, e.g. `$.data[3]`).
        what = f"a body that is not the API's JSON ({_reason(cause)}): {snippet!r}"
    else:
        what = f"a body that is not the API's JSON: {snippet!r}"
    cls = error_class(status, []) if status >= 300 else UnexpectedResponseError
    raise _with_retry_after(
        cls(
            f"HTTP {status} with {what}",
            status_code=status,
            response=response,
            body_excerpt=snippet,
        ),
        response,
    ) from cause


def _reason(cause: Exception) -> str:
    text = " ".join(str(cause).split())
    return text[:160] + ("…" if len(text) > 160 else "")


def _status_error(response: HTTPResponse, errors: list[ErrorDetail]) -> APIStatusError:
    cls = error_class(response.status_code, errors)
    message = "; ".join(e.message for e in errors if e.message) or f"HTTP {response.status_code}"
    error = cls(message, status_code=response.status_code, errors=errors, response=response)
    return _with_retry_after(error, response)


def _with_retry_after(error: APIStatusError, response: HTTPResponse) -> APIStatusError:
    if isinstance(error, RateLimitError):
        error.retry_after = retry_after_seconds(response.headers.get("retry-after"))
    return error


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        when = http_date(value)
        if when is None:
            return None
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


_MINUS_ZERO = re.compile(r"\s-0000\s*\Z")  # RFC 5322: UTC, the local offset unknown


def http_date(value: str) -> datetime | None:
    """An RFC 1123 / RFC 5322 date as an aware `datetime`; None if malformed or zone-less."""
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        if not _MINUS_ZERO.search(value):
            return None  # no zone, or one nobody defines: refused, never guessed
        when = when.replace(tzinfo=timezone.utc)
    try:
        when.astimezone(timezone.utc)  # the instant must exist in UTC too (year 1 to 9999)
    except OverflowError:
        return None
    return when


def _ping(timestamp: str) -> Ping:
    when = http_date(timestamp)
    if when is None:
        raise ValueError(f"timestamp {timestamp[:64]!r} is not an RFC 1123 date with a zone")
    return Ping(timestamp=when)


ping_decoder: EnvelopeDecoder[Ping] = EnvelopeDecoder("timestamp", str, _ping)
