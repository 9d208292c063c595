"""Client settings: where the key and base URL come from, and their checks.

Nothing here does I/O, so every rule is tested without a network.
"""

from __future__ import annotations

import ipaddress
import os
import platform
from collections.abc import Mapping

import httpx

from ._errors import ValidationError
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "Secret",
    "resolve_api_key",
    "resolve_base_url",
    "resolve_timeout",
    "user_agent",
]

DEFAULT_BASE_URL = "https://api.clubsmtp.com"
DEFAULT_TIMEOUT = 30.0
# Sized for bulk work: hundreds of tasks share one pool (as the large SDKs ship).
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
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
    if not isinstance(value, str) or not value.isascii() or any(c.isspace() for c in value):
        raise ValidationError("the API key must be printable ASCII without spaces")
    return Secret(value)


def resolve_base_url(base_url: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The base URL from the argument, ``$CLUBSMTP_BASE_URL``, or the public API.

    ``http://`` is refused unless the host is loopback, where the emulator runs.

    Raises:
        ValidationError: for a malformed URL or plain HTTP to a remote host.

    """
    raw = base_url or environ.get("CLUBSMTP_BASE_URL") or DEFAULT_BASE_URL
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValidationError(f"base_url {raw!r} is not a valid URL") from exc
    if url.scheme not in ("https", "http") or not url.host:
        raise ValidationError(f"base_url must be an https:// URL, got {raw!r}")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ValidationError(
            f"base_url {raw!r} uses plain HTTP: the API requires HTTPS "
            "(http:// is allowed only for loopback hosts such as the emulator)"
        )
    if url.query or url.fragment:
        raise ValidationError(f"base_url must not have a query or fragment, got {raw!r}")
    return str(url).rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """An `httpx.Timeout` from a number of seconds (None: the default)."""
    if timeout is None:
        return httpx.Timeout(DEFAULT_TIMEOUT)
    if isinstance(timeout, httpx.Timeout):
        return timeout
    # `not timeout > 0` rather than `timeout <= 0`: it refuses NaN too.
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValidationError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return httpx.Timeout(float(timeout))


def user_agent() -> str:
    """The User-Agent naming the SDK, its version and the runtime."""
    runtime = f"{platform.python_implementation()} {platform.python_version()}"
    return f"clubsmtp-async/{__version__} ({runtime}; httpx {httpx.__version__})"
