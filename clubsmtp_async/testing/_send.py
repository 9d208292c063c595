"""Send one signed test event to a webhook receiver, as ``clubsmtp webhooks send`` does."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from clubsmtp_async.webhooks import EVENT_TYPES, StandardWebhooksVerifier, sign

from .._http import HTTP_ERRORS, new_client, parse_url
from ._ids import UuidFactory
from ._samples import sample_object

if TYPE_CHECKING:
    from .._http import HTTPClient

__all__ = ["SendResult", "build_event", "send_webhook"]

_EXCERPT = 500


@dataclass(frozen=True)
class SendResult:
    """What happened to one test delivery.

    Attributes:
        url: Where it was sent.
        event: The payload sent.
        webhook_id: Its ``webhook-id`` (the event's id).
        status_code: The receiver's HTTP status, or None if it did not answer.
        body_excerpt: The start of the receiver's body (up to 500 characters).
        error: Why there was no answer (connection refused, timeout, ...).
        elapsed: Seconds until the answer or the failure.

    """

    url: str
    event: dict[str, Any] = field(repr=False)
    webhook_id: str
    status_code: int | None
    body_excerpt: str = ""
    error: str | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the receiver answered 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300


def build_event(event_type: str, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A realistic event payload of `event_type`.

    Args:
        event_type: A documented type, e.g. ``"mailbox.created"``.
        data: The ``data.object`` to send instead of the sample (any JSON object,
            sent as given, so a receiver's handling of odd objects can be tried).

    Raises:
        ValueError: on an unknown event type or an object that is not a JSON object.

    """
    if event_type not in EVENT_TYPES:
        raise ValueError(
            f"unknown event type {event_type!r}; one of: {', '.join(sorted(EVENT_TYPES))}"
        )
    now = datetime.now(timezone.utc)
    if data is None:
        obj = sample_object(event_type, now=now)
    elif isinstance(data, Mapping):
        obj = dict(data)
    else:
        raise ValueError("the event's data must be a JSON object")
    event_id = UuidFactory().new(now)
    return {"id": event_id, "type": event_type, "created": int(now.timestamp()),
            "data": {"object": obj}}


async def send_webhook(
    url: str,
    secret: str,
    event_type: str,
    *,
    data: Mapping[str, Any] | None = None,
    timeout: float = 10.0,
    http_client: HTTPClient | None = None,
) -> SendResult:
    """POST one signed event of `event_type` to `url` (a receiver under test).

    The delivery is signed like the emulator's (Standard Webhooks, with the
    current time), so a receiver that verifies it with `verify()` accepts it.

    Example:
        >>> result = await send_webhook(  # doctest: +SKIP
        ...     "http://127.0.0.1:8000/webhooks", "whsec_...", "mailbox.created")
        >>> result.ok, result.status_code

    Args:
        url: The receiver's URL.
        secret: The ``whsec_`` secret the receiver verifies with.
        event_type: A documented event type.
        data: The ``data.object`` to send instead of a realistic sample.
        timeout: Seconds to wait for the answer.
        http_client: The `httpx.AsyncClient` or `httpx2.AsyncClient` to send with
            (default: a new one, of the library the SDK's own pools use).

    Returns:
        The result; its `ok` says whether the receiver answered 2xx. A receiver
        that cannot be reached is a result with `error`, not an exception.

    Raises:
        ValueError: on an unknown event type, a malformed secret or URL, or
            `data` that is not a JSON object.

    """
    StandardWebhooksVerifier(secret)  # a malformed secret is refused before anything is sent
    event = build_event(event_type, data)
    try:
        target = str(parse_url(url))
    except ValueError as exc:
        raise ValueError(f"invalid URL {url!r}: {exc}") from None
    if not target.startswith(("http://", "https://")):
        raise ValueError(f"invalid URL {url!r}: expected http(s)://...")
    body = json.dumps(event, separators=(",", ":")).encode()
    headers = {**sign(body, secret, msg_id=event["id"], timestamp=time.time()),
               "content-type": "application/json"}
    started = time.perf_counter()
    client: Any = http_client or new_client(timeout=timeout)
    try:
        response = await client.post(target, content=body, headers=headers, timeout=timeout)
    except HTTP_ERRORS as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return SendResult(target, event, event["id"], None, error=reason,
                          elapsed=time.perf_counter() - started)
    finally:
        if http_client is None:
            await client.aclose()
    return SendResult(
        target, event, event["id"], response.status_code,
        body_excerpt=response.content[:_EXCERPT].decode("utf-8", errors="replace"),
        elapsed=time.perf_counter() - started,
    )
