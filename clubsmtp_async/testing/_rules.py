"""The emulator's access rules as pure functions: no I/O, no clock reads.

Scope patterns
    A scope entry is ``METHOD:/path``. ``METHOD`` is an HTTP method (compared
    case-insensitively) or ``*`` for any method. In the path, ``*`` matches any
    run of characters *including* ``/`` (the IAM convention), so
    ``*:/v1/mailboxes/*`` covers ``/v1/mailboxes/{uuid}`` and
    ``/v1/mailboxes/{uuid}/whitelist/{entry}`` but not ``/v1/mailboxes``
    itself, and a bare ``*`` path covers everything. All other characters match
    themselves.

Rate limit (GCRA)
    The per-key leaky bucket is the Generic Cell Rate Algorithm. Each key keeps
    a *theoretical arrival time* (TAT). With ``interval = 60 / rpm`` and
    ``allowance = (burst - 1) * interval + tolerance``, a request at ``now`` is
    accepted when ``now >= TAT - allowance``; the TAT then becomes
    ``max(TAT, now) + interval``. With ``burst=1`` and ``tolerance=0`` this is
    strict smooth pacing: one request per interval, never two closer together
    than the interval. A refused request leaves the TAT unchanged (it consumes
    nothing) and is told to wait ``ceil(TAT - allowance - now)`` seconds, at
    least 1.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

__all__ = [
    "DEFAULT_RATE_TOLERANCE",
    "RateDecision",
    "gcra",
    "ip_allowed",
    "is_expired",
    "is_loopback",
    "matches_pattern",
    "parse_cidrs",
    "parse_scope",
    "scope_allows",
]

# Float sums of the same interval can differ in the last bit; never refuse a
# request for that.
_EPSILON = 1e-9

DEFAULT_RATE_TOLERANCE = 0.05
"""Seconds of early arrival a bucket forgives: the jitter no client controls."""

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one GCRA check.

    Attributes:
        allowed: Whether the request may proceed.
        tat: The key's theoretical arrival time to store (unchanged if refused).
        retry_after: Whole seconds to wait (0 when allowed, else at least 1).

    """

    allowed: bool
    tat: float
    retry_after: int


def gcra(
    tat: float | None,
    now: float,
    *,
    requests_per_minute: float,
    burst: int = 1,
    tolerance: float = 0.0,
) -> RateDecision:
    """Decide one request against a key's bucket.

    Args:
        tat: The stored theoretical arrival time, or None for a fresh key.
        now: The current monotonic time in seconds.
        requests_per_minute: The key's ceiling (> 0).
        burst: How many requests may arrive back to back (>= 1).
        tolerance: Extra seconds of early arrival forgiven (scheduler jitter).

    Returns:
        The decision and the TAT to store.

    """
    interval = 60.0 / requests_per_minute
    allowance = (burst - 1) * interval + tolerance
    current = now if tat is None else tat
    if now + _EPSILON >= current - allowance:
        return RateDecision(allowed=True, tat=max(current, now) + interval, retry_after=0)
    wait = current - allowance - now
    return RateDecision(allowed=False, tat=current, retry_after=max(1, math.ceil(wait)))


@lru_cache(maxsize=1024)
def _segments(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.split("*"))


def matches_pattern(pattern: str, text: str) -> bool:
    """Whether `text` matches `pattern`, where ``*`` matches any characters.

    Runs in time linear in ``len(pattern) + len(text)`` whatever the number of
    ``*``: the literal pieces between the stars are found left to right, each at
    its first occurrence (the leftmost match is never worse for the pieces after
    it), so nothing backtracks.

    Example:
        >>> matches_pattern("/v1/mailboxes/*", "/v1/mailboxes/abc/whitelist")
        True

    """
    first, *middle_and_last = _segments(pattern)
    if not middle_and_last:
        return text == first
    *middle, last = middle_and_last
    if len(text) < len(first) + len(last) or not text.startswith(first):
        return False
    position, end = len(first), len(text) - len(last)
    for piece in middle:
        found = text.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return text.endswith(last, position)


def parse_scope(entry: str) -> tuple[str, str]:
    """Split a scope entry into (METHOD, path pattern).

    Raises:
        ValueError: if the entry is not ``METHOD:/path``, ``METHOD:*`` or ``*:*``.

    """
    if not isinstance(entry, str):
        raise ValueError(f"invalid scope entry {entry!r}: expected METHOD:/path")
    method, sep, path = entry.partition(":")
    method = method.strip().upper()
    valid_method = method == "*" or (method.isascii() and method.isalpha())
    if not sep or not valid_method or not (path == "*" or path.startswith("/")):
        raise ValueError(f"invalid scope entry {entry!r}: expected METHOD:/path")
    return method, path


def scope_allows(scopes: Iterable[str], method: str, path: str) -> bool:
    """Whether any scope entry allows `method` on `path`.

    Args:
        scopes: Entries like ``GET:/v1/domains`` or ``*:*``.
        method: The request's HTTP method.
        path: The request's path (no query string).

    """
    method = method.upper()
    for entry in scopes:
        scope_method, scope_path = parse_scope(entry)
        if scope_method in ("*", method) and matches_pattern(scope_path, path):
            return True
    return False


def parse_cidrs(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse CIDR blocks (host bits may be set, e.g. ``10.0.0.1/8``).

    Raises:
        ValueError: if one is not a CIDR block or an address.

    """
    networks = []
    for cidr in cidrs:
        if not isinstance(cidr, str):
            raise ValueError(f"{cidr!r} is not a CIDR block")
        networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
    return tuple(networks)


def _address(host: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if host is None:
        return None
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def ip_allowed(networks: Sequence[IPNetwork], host: str | None) -> bool:
    """Whether the client address `host` may use a key restricted to `networks`.

    No networks means no restriction. An unknown or unparsable client address
    is outside every network.
    """
    if not networks:
        return True
    address = _address(host)
    if address is None:
        return False
    return any(address.version == net.version and address in net for net in networks)


def is_loopback(host: str | None) -> bool:
    """Whether `host` is a loopback address (127.0.0.0/8 or ::1)."""
    address = _address(host)
    return address is not None and address.is_loopback


def is_expired(expires_at: datetime | None, now: datetime) -> bool:
    """Whether a key that expires at `expires_at` is expired at `now` (inclusive)."""
    return expires_at is not None and now >= expires_at
