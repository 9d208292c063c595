"""The service's settings, read once per worker process from environment variables.

Every worker of a deployment must see the same values: one API key, one
ceiling, one limiter. A bad value stops the worker at start with a message
naming the variable; a secret (the API key, the webhook secret, a Redis URL,
which can hold a password) is never repeated in a message or a ``repr()``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["ENVIRONMENT", "LIMITERS", "LimiterKind", "Settings", "SettingsError"]

LimiterKind = Literal["process", "file", "redis"]

LIMITERS: tuple[LimiterKind, ...] = ("process", "file", "redis")
"""``SERVICE_LIMITER`` values: one process, all processes of one host, many hosts."""

ENVIRONMENT = {
    "CLUBSMTP_API_KEY": "the API key (required)",
    "CLUBSMTP_BASE_URL": "the API's base URL (default: the public API)",
    "CLUBSMTP_WEBHOOK_SECRET": "the webhook signing secret, whsec_… (unset: webhooks refused)",
    "SERVICE_RPM": "the key's ceiling in requests per minute, shared by every worker (60)",
    "SERVICE_LIMITER": "process, file or redis: who shares the budget (file)",
    "SERVICE_LIMITER_PATH": "the FileLimiter's state file, the same for every worker of a host",
    "SERVICE_REDIS_URL": "the RedisLimiter's Redis, the same for every host",
    "SERVICE_PASSWORDS_FILE": "a 0600 CSV where generated passwords are also kept (unset: none)",
    "SERVICE_TIMEOUT": "seconds per attempt of an API request (30)",
    "SERVICE_MAX_WAIT": "seconds a plan may wait for each rate slot (unset: no cap)",
}
"""The variables, with what each one sets."""


class SettingsError(ValueError):
    """An environment variable of the service is missing or invalid."""


def _rate(environ: Mapping[str, str]) -> float:
    raw = environ.get("SERVICE_RPM", "").strip()
    return _positive(raw, "SERVICE_RPM") if raw else 60.0


def _positive(raw: str, name: str, *, zero: bool = False) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        least = "a number >= 0" if zero else "a positive number"
        raise SettingsError(f"{name} must be {least}, got {raw!r}")
    return value


def _limiter(environ: Mapping[str, str]) -> LimiterKind:
    raw = environ.get("SERVICE_LIMITER", "").strip().lower() or "file"
    if raw not in LIMITERS:
        raise SettingsError(f"SERVICE_LIMITER must be one of {', '.join(LIMITERS)}, got {raw!r}")
    return raw


def _optional_path(environ: Mapping[str, str], name: str) -> Path | None:
    raw = environ.get(name, "").strip()
    return Path(raw) if raw else None


@dataclass(frozen=True)
class Settings:
    """The settings of one worker process.

    Attributes:
        api_key: ``CLUBSMTP_API_KEY``.
        base_url: ``CLUBSMTP_BASE_URL``; None for the SDK's default.
        webhook_secret: ``CLUBSMTP_WEBHOOK_SECRET``; None refuses every delivery (503).
        requests_per_minute: ``SERVICE_RPM``, the key's ceiling for all workers together.
        limiter: ``SERVICE_LIMITER``: ``process`` (this worker alone), ``file``
            (all workers of the host, `FileLimiter`) or ``redis`` (all hosts,
            `RedisLimiter`).
        limiter_path: ``SERVICE_LIMITER_PATH``, required for ``file``: every
            worker of the host must name the same file, so none is guessed.
        redis_url: ``SERVICE_REDIS_URL`` (required for ``redis``).
        passwords_file: ``SERVICE_PASSWORDS_FILE``: generated passwords are also
            appended there (a `PasswordFile`) before each create is sent.
        timeout: ``SERVICE_TIMEOUT``, seconds per attempt of an API request.
        max_wait: ``SERVICE_MAX_WAIT``: a request whose plan would wait longer than
            this for a rate slot is refused at once (503 with ``Retry-After``);
            None waits as long as it takes.

    """

    api_key: str = field(repr=False)
    base_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    requests_per_minute: float = 60.0
    limiter: LimiterKind = "file"
    limiter_path: Path | None = None
    redis_url: str | None = field(default=None, repr=False)
    passwords_file: Path | None = None
    timeout: float = 30.0
    max_wait: float | None = None

    def __post_init__(self) -> None:
        if self.limiter == "file" and self.limiter_path is None:
            raise SettingsError("SERVICE_LIMITER=file needs SERVICE_LIMITER_PATH: the state "
                                "file every worker of this host shares")
        if self.limiter == "redis" and not self.redis_url:
            raise SettingsError("SERVICE_LIMITER=redis needs SERVICE_REDIS_URL")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings (see `ENVIRONMENT`).

        Args:
            environ: Where to read them (default: `os.environ`).

        Raises:
            SettingsError: naming the first variable that is missing or invalid.

        """
        env = os.environ if environ is None else environ
        api_key = env.get("CLUBSMTP_API_KEY", "").strip()
        if not api_key:
            raise SettingsError("CLUBSMTP_API_KEY is not set: the service needs the API key")
        timeout = env.get("SERVICE_TIMEOUT", "").strip()
        max_wait = env.get("SERVICE_MAX_WAIT", "").strip()
        return cls(
            api_key=api_key,
            base_url=env.get("CLUBSMTP_BASE_URL", "").strip() or None,
            webhook_secret=env.get("CLUBSMTP_WEBHOOK_SECRET", "").strip() or None,
            requests_per_minute=_rate(env),
            limiter=_limiter(env),
            limiter_path=_optional_path(env, "SERVICE_LIMITER_PATH"),
            redis_url=env.get("SERVICE_REDIS_URL", "").strip() or None,
            passwords_file=_optional_path(env, "SERVICE_PASSWORDS_FILE"),
            timeout=_positive(timeout, "SERVICE_TIMEOUT") if timeout else 30.0,
            max_wait=_positive(max_wait, "SERVICE_MAX_WAIT", zero=True) if max_wait else None,
        )
