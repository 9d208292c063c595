"""Client settings: where the key and base URL come from, and their checks.

Nothing here does I/O, so every rule is tested without a network.
"""

from __future__ import annotations

import ipaddress
import os
import platform
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._errors import ValidationError
from ._http import ACCEPT_ENCODING, PoolLimits, as_timeout, make_timeout, parse_url
from ._limiter import _check_rate
from ._validation import finite_number, shown, shown_url
from ._version import __version__

if TYPE_CHECKING:
    import httpx

    from ._http import Library

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_IN_FLIGHT",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_REQUESTS_PER_MINUTE",
    "DEFAULT_TIMEOUT",
    "Secret",
    "attempt_deadline",
    "pool_limits",
    "resolve_api_key",
    "resolve_base_url",
    "resolve_max_in_flight",
    "resolve_max_response_bytes",
    "resolve_requests_per_minute",
    "resolve_timeout",
    "standard_headers",
    "user_agent",
]

DEFAULT_BASE_URL = "https://api.clubsmtp.com"
DEFAULT_TIMEOUT = 30.0
# For a pool with no in-flight bound, and one made by `aiohttp_http_client()`: hundreds of
# tasks share one pool.
DEFAULT_LIMITS = PoolLimits(max_connections=1000, max_keepalive_connections=100)
DEFAULT_MAX_IN_FLIGHT = 100
"""HTTP requests one client has in flight at most (measured: see docs/performance.md)."""
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""The largest response body read, after decompression (64 MiB)."""
DEFAULT_REQUESTS_PER_MINUTE = 60.0
"""The pace when neither the argument nor ``$CLUBSMTP_REQUESTS_PER_MINUTE`` says."""
_MAX_KEEPALIVE = 100
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class Secret:
    """A string that never shows itself in ``repr()``, ``str()`` or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def resolve_api_key(api_key: str | None, environ: Mapping[str, str] = os.environ) -> Secret:
    """The API key from the argument, else ``$CLUBSMTP_API_KEY``.

    Raises:
        ValidationError: if neither is set, or the key cannot be sent in a header.

    """
    value = api_key if api_key is not None else environ.get("CLUBSMTP_API_KEY")
    if not value:
        raise ValidationError(
            "no API key: pass AsyncClient(api_key=...) or set CLUBSMTP_API_KEY "
            "(create keys in the ClubSMTP dashboard, Settings → API Keys)"
        )
    if not isinstance(value, str) or not (value.isascii() and _is_plain_text(value)):
        raise ValidationError("the API key must be printable ASCII without spaces")
    return Secret(value)


def resolve_base_url(base_url: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The base URL from the argument, ``$CLUBSMTP_BASE_URL``, or the public API.

    ``http://`` is refused unless the host is loopback, where the emulator runs.

    Raises:
        ValidationError: for a malformed URL or plain HTTP to a remote host.

    """
    raw: object = base_url or environ.get("CLUBSMTP_BASE_URL") or DEFAULT_BASE_URL
    if not isinstance(raw, str) or not _is_plain_text(raw):
        raise ValidationError("base_url must be a URL string of printable characters")
    quoted = shown_url(raw)
    try:
        url = parse_url(raw)
    except ValueError as exc:
        raise ValidationError(f"base_url {quoted} is not a valid URL") from exc
    port = url.port
    if url.userinfo:
        raise ValidationError("base_url must not contain a user name or password")
    if url.scheme not in ("https", "http") or not url.host:
        raise ValidationError(f"base_url must be an https:// URL, got {quoted}")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ValidationError(
            f"base_url {quoted} uses plain HTTP: the API requires HTTPS "
            "(http:// is allowed only for loopback hosts such as the emulator)"
        )
    if url.query or url.fragment:
        raise ValidationError(f"base_url must not have a query or fragment, got {quoted}")
    if port is not None and not 0 < port < 65536:
        raise ValidationError(f"base_url has an invalid port, got {quoted}")
    return str(url).rstrip("/")


def _is_plain_text(text: str) -> bool:
    """No whitespace or control characters, and encodable (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return text.isprintable() and not any(ch.isspace() for ch in text)


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_timeout(timeout: object) -> httpx.Timeout:
    """An `httpx.Timeout` from a number of seconds or a timeout of either library (None: default).

    An `httpx2.Timeout` is taken too; the SDK keeps every timeout as an
    `httpx.Timeout` and hands each library its own kind.

    Raises:
        ValidationError: unless it is a positive finite number, or an
            `httpx.Timeout` / `httpx2.Timeout` whose phases are each None or one.

    """
    if timeout is None:
        return make_timeout(DEFAULT_TIMEOUT)
    given = as_timeout(timeout)
    if given is not None:
        phases = (given.connect, given.read, given.write, given.pool)
        if not all(phase is None or _is_seconds(phase) for phase in phases):
            raise ValidationError(
                f"each phase of timeout must be None or a positive number, got {timeout!r}"
            )
        return given
    if not _is_seconds(timeout):
        raise ValidationError(
            f"timeout must be a positive number of seconds, got {_number_or_type(timeout)}"
        )
    assert isinstance(timeout, (int, float))  # _is_seconds() said so
    return make_timeout(float(timeout))


def attempt_deadline(timeout: httpx.Timeout) -> float | None:
    """Seconds one attempt may take in all: the longest of the timeout's phases.

    httpx bounds each phase (each read, each write) on its own, so a server that
    trickles bytes keeps a request alive for ever; this bounds the whole
    attempt, from sending to the body's last byte. ``timeout=30`` gives 30 s
    for every phase and 30 s for the attempt. None when no phase has a limit.
    """
    phases = [p for p in (timeout.connect, timeout.read, timeout.write, timeout.pool) if p]
    return max(phases) if phases else None


def _is_seconds(value: object) -> bool:
    # `not value > 0` rather than `value <= 0`: it refuses NaN too.
    return finite_number(value) and value > 0


def _number_or_type(value: object) -> str:
    if isinstance(value, (int, float)):
        return shown(value)
    return f"a {type(value).__name__}"


def resolve_max_in_flight(value: object) -> int | None:
    """The in-flight bound: a whole number >= 1, or None for no bound.

    Raises:
        ValidationError: for anything else.

    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"max_in_flight must be a whole number >= 1 or None, got {_number_or_type(value)}"
        )
    return value


def resolve_max_response_bytes(value: object) -> int | None:
    """The response-size cap: a whole number of bytes >= 1, or None for no cap.

    Raises:
        ValidationError: for anything else.

    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            "max_response_bytes must be a whole number of bytes >= 1 or None, "
            f"got {_number_or_type(value)}"
        )
    return value


def pool_limits(max_in_flight: int | None) -> PoolLimits:
    """The limits of the pool the client makes: a connection for each request in flight."""
    if max_in_flight is None:
        return DEFAULT_LIMITS
    return PoolLimits(
        max_connections=max_in_flight,
        max_keepalive_connections=min(max_in_flight, _MAX_KEEPALIVE),
    )


def standard_headers(library: Library) -> dict[str, str]:
    """The headers of every request but the key's: who sends, what it takes back."""
    return {
        "User-Agent": user_agent(library),
        "Accept": "application/json",
        "Accept-Encoding": ACCEPT_ENCODING,
    }


def user_agent(library: Library) -> str:
    """The User-Agent naming the SDK, its version, the runtime and the HTTP library."""
    runtime = f"{platform.python_implementation()} {platform.python_version()}"
    return f"clubsmtp-async/{__version__} ({runtime}; {library.name} {library.version})"


def resolve_requests_per_minute(
    value: object = None, *, environ: Mapping[str, str] = os.environ
) -> float:
    """The key's ceiling from the argument, else ``$CLUBSMTP_REQUESTS_PER_MINUTE``, else 60.

    One rule for the client, the limiters and the CLI: a positive finite number
    of at most 1e9 (text is read as a decimal number). Used by the CLI as its
    option parser too.

    Raises:
        ValidationError: for anything else; an environment value is named as such.

    """
    name = "requests_per_minute"
    if value is None:
        name = "$CLUBSMTP_REQUESTS_PER_MINUTE"
        value = environ.get("CLUBSMTP_REQUESTS_PER_MINUTE", "").strip()
        if not value:
            return DEFAULT_REQUESTS_PER_MINUTE
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValidationError(
                f"{name} must be a positive finite number, got {shown(value)}"
            ) from None
    return _check_rate(value, name)  # the limiters' own rule, so they always agree
