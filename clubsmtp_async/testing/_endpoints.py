"""Webhook endpoints and the delivery log's records (plain data, no I/O).

An endpoint is where an account's events go: a URL, or an in-process ASGI
application (tests without sockets). Each delivery of one event to one
endpoint is a `Delivery`, and each HTTP request of it a `DeliveryAttempt`.
"""

from __future__ import annotations

import base64
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.types import ASGIApp

from clubsmtp_async.webhooks import EVENT_TYPES, StandardWebhooksVerifier

from .._http import parse_url
from ._events import WebhookEvent
from ._keys import DEFAULT_ACCOUNT

__all__ = [
    "Delivery",
    "DeliveryAttempt",
    "DeliverySettings",
    "DeliveryState",
    "WebhookEndpoint",
    "generate_webhook_secret",
]

DeliveryState = Literal["pending", "delivered", "failed", "cancelled"]

_MAX_DELAY = 3600.0
_MAX_RETRIES = 100
_MAX_TIMEOUT = 600.0
_IN_PROCESS_URL = "http://webhooks.in-process/"


def generate_webhook_secret() -> str:
    """A new signing secret: ``whsec_`` and the base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _check_secret(secret: str) -> str:
    if not isinstance(secret, str):
        raise ValueError("a webhook secret must be a string ('whsec_' followed by base64)")
    StandardWebhooksVerifier(secret)  # raises ValidationError (a ValueError), never quoting it
    return secret


def _check_url(url: str) -> str:
    try:
        parsed = parse_url(url)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid webhook URL {url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"invalid webhook URL {url!r}: expected http(s)://host[:port]/path")
    return str(parsed)


def _check_event_types(types: Iterable[str] | None) -> frozenset[str] | None:
    if types is None:
        return None
    chosen = frozenset(types)
    unknown = sorted(t for t in chosen if t not in EVENT_TYPES and t != "*")
    if unknown:
        raise ValueError(f"unknown event type(s) {', '.join(unknown)}: see the webhooks docs")
    return None if "*" in chosen else chosen


@dataclass(frozen=True)
class DeliverySettings:
    """How the emulator delivers webhooks.

    Attributes:
        retry_delays: Seconds to wait before each retry of a failed attempt
            (a non-2xx answer or no answer); after the last one the delivery
            is given up as ``failed``. The default retries five times within
            about 15 seconds, what a local receiver needs.
        timeout: Seconds one attempt may take.
        max_log: Finished deliveries kept in the log (the oldest go first).

    Raises:
        ValueError: on a negative, infinite or too long delay or timeout.

    """

    retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)
    timeout: float = 5.0
    max_log: int = 10_000

    def __post_init__(self) -> None:
        delays = tuple(float(d) for d in self.retry_delays)
        if len(delays) > _MAX_RETRIES:
            raise ValueError(f"at most {_MAX_RETRIES} retries")
        if not all(math.isfinite(d) and 0 <= d <= _MAX_DELAY for d in delays):
            raise ValueError(f"retry delays must be between 0 and {_MAX_DELAY:g} seconds")
        if not (math.isfinite(self.timeout) and 0 < self.timeout <= _MAX_TIMEOUT):
            raise ValueError(f"the delivery timeout must be in (0, {_MAX_TIMEOUT:g}] seconds")
        if self.max_log < 1:
            raise ValueError("max_log must be at least 1")
        object.__setattr__(self, "retry_delays", delays)


@dataclass
class WebhookEndpoint:
    """A registered receiver of one account's events.

    Attributes:
        id: ``we_`` and 16 hex digits.
        url: Where deliveries are POSTed; for an in-process `app`, the URL of
            the request the app sees.
        secret: The ``whsec_`` signing secret (never shown in `repr`).
        account: Whose events it receives.
        event_types: The types it receives (None: all).
        app: An in-process ASGI receiver instead of the network (not saved
            in the state file).

    """

    id: str
    url: str
    secret: str = field(repr=False)
    account: str = DEFAULT_ACCOUNT
    event_types: frozenset[str] | None = None
    app: ASGIApp | None = field(default=None, repr=False)

    @classmethod
    def create(
        cls,
        url: str | None = None,
        *,
        app: ASGIApp | None = None,
        secret: str | None = None,
        account: str = DEFAULT_ACCOUNT,
        event_types: Iterable[str] | None = None,
        id: str | None = None,
    ) -> WebhookEndpoint:
        """Check the arguments and make an endpoint (see `Webhooks.add_endpoint`).

        Raises:
            ValueError: on a malformed URL, secret, account or event type.

        """
        if app is None and url is None:
            raise ValueError("a webhook endpoint needs a url or an in-process app")
        if not isinstance(account, str) or not account:
            raise ValueError("account must be a non-empty string")
        return cls(
            id=id or f"we_{secrets.token_hex(8)}",
            url=_check_url(url if url is not None else _IN_PROCESS_URL),
            secret=_check_secret(secret) if secret is not None else generate_webhook_secret(),
            account=account,
            event_types=_check_event_types(event_types),
            app=app,
        )

    def wants(self, event: WebhookEvent) -> bool:
        """Whether `event` goes to this endpoint."""
        return event.account == self.account and (
            self.event_types is None or event.type in self.event_types
        )

    def to_json(self, *, with_secret: bool = False) -> dict[str, Any]:
        """The endpoint as the admin API shows it (the secret only when asked)."""
        shown: dict[str, Any] = {
            "id": self.id,
            "url": self.url,
            "account": self.account,
            "events": sorted(self.event_types) if self.event_types is not None else ["*"],
            "in_process": self.app is not None,
        }
        if with_secret:
            shown["secret"] = self.secret
        return shown


@dataclass(frozen=True)
class DeliveryAttempt:
    """One HTTP request of a delivery.

    Attributes:
        number: 1 for the first attempt, 2 for the first retry, ...
        started_at: Unix time the attempt started (its ``webhook-timestamp``).
        latency: Seconds until the answer (or the failure).
        status_code: The receiver's HTTP status, None if it did not answer.
        error: Why there was no answer (connection refused, timeout, ...).
        response_excerpt: The start of the receiver's body.

    """

    number: int
    started_at: float
    latency: float
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str = ""

    @property
    def ok(self) -> bool:
        """Whether the receiver answered 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300

    def to_json(self) -> dict[str, Any]:
        """The attempt as the admin API shows it."""
        return {
            "number": self.number,
            "started_at": self.started_at,
            "latency_ms": round(self.latency * 1000, 3),
            "status_code": self.status_code,
            "error": self.error,
            "response_excerpt": self.response_excerpt,
        }


@dataclass
class Delivery:
    """The delivery of one event to one endpoint, with every attempt so far.

    Attributes:
        endpoint_id: The endpoint.
        event: The event (its `id` is the ``webhook-id`` of every attempt).
        state: ``pending`` (queued or being tried), ``delivered`` (a 2xx),
            ``failed`` (every retry used) or ``cancelled`` (the endpoint was
            removed or the emulator reset).
        attempts: The attempts, in order.

    """

    endpoint_id: str
    event: WebhookEvent
    state: DeliveryState = "pending"
    attempts: list[DeliveryAttempt] = field(default_factory=list)

    @property
    def id(self) -> str:
        """``<endpoint id>:<event id>``, unique in the log."""
        return f"{self.endpoint_id}:{self.event.id}"

    def to_json(self) -> dict[str, Any]:
        """The delivery as the admin API shows it."""
        return {
            "id": self.id,
            "endpoint_id": self.endpoint_id,
            "event_id": self.event.id,
            "event_type": self.event.type,
            "state": self.state,
            "attempts": [attempt.to_json() for attempt in self.attempts],
        }
