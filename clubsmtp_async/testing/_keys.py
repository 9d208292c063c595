"""API keys and the checks every ``/v1`` request passes, in the API's order.

Order (the first failure answers): key present and known (401) → not expired
(401) → client address inside the key's CIDR blocks (403) → a scope entry
allows the method and path (403) → the key's leaky bucket has room (429).
The HTTPS check comes before all of these, in the ASGI layer. Requests refused
with 401/403 never touch the bucket, and a 429 does not consume it either.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._errors import ApiError
from ._rules import (
    DEFAULT_RATE_TOLERANCE,
    IPNetwork,
    gcra,
    ip_allowed,
    is_expired,
    parse_cidrs,
    parse_scope,
    scope_allows,
)
from ._state import format_timestamp

__all__ = ["ApiKey", "KeyRing", "generate_key"]

_TOKEN = re.compile(r"^sk_(test|live)_[A-Za-z0-9]{1,200}\Z")
DEFAULT_ACCOUNT = "default"
MAX_RATE = 1e9
"""The highest `requests_per_minute` a key may have."""
MAX_EXPIRES_IN = 100 * 365 * 86400.0
"""The farthest expiry, in seconds from now (either way), `expires_in` may give."""


def generate_key(*, live: bool = False) -> str:
    """A new key: ``sk_test_`` (or ``sk_live_``) and 72 random hex characters."""
    return f"sk_{'live' if live else 'test'}_{secrets.token_hex(36)}"


def _key_id(token: str) -> str:
    return "key_" + hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass
class ApiKey:
    """An API key of the emulator and its rate-limit state.

    Attributes:
        token: The secret, ``sk_test_...`` or ``sk_live_...``.
        account: The account whose objects the key sees.
        scopes: ``METHOD:/path`` entries with ``*`` wildcards.
        cidrs: Allowed client networks; empty means any address.
        expires_at: When the key stops working (UTC), or None.
        requests_per_minute: The bucket's rate.
        burst: Requests allowed back to back (1 = strict pacing).
        id: A non-secret identifier (a hash prefix of the token) for statistics.

    """

    token: str
    account: str = DEFAULT_ACCOUNT
    scopes: tuple[str, ...] = ("*:*",)
    cidrs: tuple[str, ...] = ()
    expires_at: datetime | None = None
    requests_per_minute: float = 60.0
    burst: int = 1
    id: str = ""
    tat: float | None = field(default=None, repr=False)
    networks: tuple[IPNetwork, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.token, str) or not _TOKEN.match(self.token):
            raise ValueError("an API key must be sk_test_ or sk_live_ followed by letters/digits")
        if not isinstance(self.account, str) or not self.account:
            raise ValueError("account must be a non-empty string")
        for entry in self.scopes:
            parse_scope(entry)
        self.networks = parse_cidrs(self.cidrs)
        rate = self.requests_per_minute
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate <= MAX_RATE:
            raise ValueError(f"requests_per_minute must be positive and at most {MAX_RATE:g}")
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError("burst must be an integer of at least 1")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        self.id = _key_id(self.token)

    def __repr__(self) -> str:
        return f"ApiKey(id={self.id!r}, account={self.account!r}, scopes={self.scopes!r})"

    def to_json(self) -> dict[str, Any]:
        """The key as the admin API shows it (including the token)."""
        return {
            "id": self.id,
            "key": self.token,
            "account": self.account,
            "scopes": list(self.scopes),
            "cidrs": list(self.cidrs),
            "expires_at": format_timestamp(self.expires_at),
            "requests_per_minute": self.requests_per_minute,
            "burst": self.burst,
        }


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class KeyRing:
    """The emulator's keys, and the admission checks.

    Args:
        tolerance: Seconds of early arrival the buckets forgive (jitter).

    """

    def __init__(self, *, tolerance: float = DEFAULT_RATE_TOLERANCE) -> None:
        self.tolerance = tolerance
        self._keys: dict[str, ApiKey] = {}

    def __iter__(self) -> Iterator[ApiKey]:
        return iter(list(self._keys.values()))

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: ApiKey) -> ApiKey:
        """Register `key` (replacing a key with the same token)."""
        self._keys[key.token] = key
        return key

    def get(self, token: str) -> ApiKey | None:
        """The key with this token, if any."""
        return self._keys.get(token)

    def remove(self, token: str) -> bool:
        """Forget a key; returns whether it existed."""
        return self._keys.pop(token, None) is not None

    def reset_buckets(self) -> None:
        """Empty every key's bucket."""
        for key in self._keys.values():
            key.tat = None

    def authenticate(self, headers: Mapping[str, str], utcnow: datetime) -> ApiKey:
        """The key named by the ``Authorization: Bearer`` header.

        Raises:
            ApiError: 401 ``auth_error`` if missing, unknown or expired.

        """
        token = _bearer(headers)
        if token is None:
            raise ApiError(401, "auth_error", "Missing API key: send Authorization: Bearer <key>.")
        key = self._keys.get(token)
        if key is None:
            raise ApiError(401, "auth_error", "Invalid API key.")
        if is_expired(key.expires_at, utcnow):
            raise ApiError(401, "auth_error", "API key has expired.")
        return key

    @staticmethod
    def authorize(key: ApiKey, method: str, path: str, client_host: str | None) -> None:
        """Check the key's CIDR blocks, then its scopes.

        Raises:
            ApiError: 403 ``security_error``.

        """
        if not ip_allowed(key.networks, client_host):
            raise ApiError(403, "security_error", f"IP address {client_host} is not allowed.")
        if not scope_allows(key.scopes, method, path):
            raise ApiError(403, "security_error", f"API key scope does not allow {method} {path}.")

    def throttle(self, key: ApiKey, now: float) -> None:
        """Take one request from the key's bucket.

        Raises:
            ApiError: 429 ``rate_limit_error`` with ``Retry-After``.

        """
        decision = gcra(
            key.tat,
            now,
            requests_per_minute=key.requests_per_minute,
            burst=key.burst,
            tolerance=self.tolerance,
        )
        key.tat = decision.tat
        if not decision.allowed:
            seconds = decision.retry_after
            raise ApiError(
                429,
                "rate_limit_error",
                f"Too many requests: retry after {seconds} seconds.",
                headers={"Retry-After": str(seconds)},
            )

