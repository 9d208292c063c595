"""The fleet's settings, read from environment variables by the workers and the producer.

Every process of a fleet (each worker on each host, and the producer) must see
the same values for the variables they share: one Redis, one queue name, one
API key's ceiling. A bad value stops the process at start with a message
naming the variable; no value that may be secret (the API key, the Redis URL,
which can hold a password) is ever repeated in a message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

__all__ = ["ENVIRONMENT", "ConfigError", "FleetConfig"]

T = TypeVar("T", int, float)

ENVIRONMENT = {
    "FLEET_REDIS_URL": "Redis of the queue, the leases and the shared rate budget",
    "CLUBSMTP_API_KEY": "the API key (workers only)",
    "CLUBSMTP_BASE_URL": "the API's base URL (workers only; default: the public API)",
    "FLEET_RPM": "the key's ceiling in requests per minute, shared by every worker",
    "FLEET_QUEUE": "the queue's name (also the prefix of the lease keys)",
    "FLEET_JOBS_PER_WORKER": "tenants one worker process applies at a time",
    "FLEET_PASSWORDS_DIR": "where workers write generated passwords (0600 files)",
    "FLEET_HEARTBEAT": "seconds without a heartbeat after which a job counts as dead",
    "FLEET_SWEEP": "seconds between the workers' sweeps for dead jobs",
    "FLEET_ATTEMPTS": "attempts per tenant job (the first one included)",
    "FLEET_RESULT_TTL": "seconds a finished job's result is kept in Redis",
}
"""The variables, with what each one sets."""

_QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ConfigError(ValueError):
    """An environment variable of the fleet is missing or invalid."""


def _number(
    environ: Mapping[str, str], name: str, default: T, convert: Callable[[str], T], low: T
) -> T:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = convert(raw)
    except ValueError:
        kind = "a whole number" if convert is int else "a number"
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
    if not value >= low or value != value:  # the second test rejects NaN
        raise ConfigError(f"{name} must be at least {low}, got {raw!r}")
    return value


def _finite(raw: str) -> float:
    value = float(raw)
    if value in (float("inf"), float("-inf")):
        raise ValueError(raw)
    return value


@dataclass(frozen=True)
class FleetConfig:
    """The settings of one fleet process.

    Attributes:
        redis_url: ``FLEET_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``).
        api_key: ``CLUBSMTP_API_KEY``; None where it is not set (the producer needs none).
        base_url: ``CLUBSMTP_BASE_URL``; None for the client's default.
        requests_per_minute: ``FLEET_RPM``, the key's ceiling (default 60, the API's).
        queue: ``FLEET_QUEUE`` (default ``clubsmtp-onboarding``).
        jobs_per_worker: ``FLEET_JOBS_PER_WORKER`` (default 2).
        passwords_dir: ``FLEET_PASSWORDS_DIR`` (default ``fleet-passwords``).
        heartbeat: ``FLEET_HEARTBEAT`` in whole seconds (default 15).
        sweep: ``FLEET_SWEEP`` in whole seconds (default 5).
        attempts: ``FLEET_ATTEMPTS`` (default 5).
        result_ttl: ``FLEET_RESULT_TTL`` in seconds (default 86,400: a day).

    """

    redis_url: str = "redis://127.0.0.1:6379/0"
    api_key: str | None = None
    base_url: str | None = None
    requests_per_minute: float = 60.0
    queue: str = "clubsmtp-onboarding"
    jobs_per_worker: int = 2
    passwords_dir: Path = Path("fleet-passwords")
    heartbeat: int = 15
    sweep: int = 5
    attempts: int = 5
    result_ttl: int = 86_400

    def __repr__(self) -> str:
        # The API key and the Redis URL (which may hold a password) are never shown.
        return (f"FleetConfig(queue={self.queue!r}, requests_per_minute="
                f"{self.requests_per_minute:g}, jobs_per_worker={self.jobs_per_worker}, "
                f"heartbeat={self.heartbeat}, sweep={self.sweep}, attempts={self.attempts})")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FleetConfig:
        """Read the settings (see `ENVIRONMENT`).

        Args:
            environ: Where to read them (default: `os.environ`).

        Raises:
            ConfigError: naming the first variable that is invalid.

        """
        env = os.environ if environ is None else environ
        redis_url = env.get("FLEET_REDIS_URL", "").strip() or cls.redis_url
        if not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("FLEET_REDIS_URL must start with redis://, rediss:// or unix://")
        queue = env.get("FLEET_QUEUE", "").strip() or cls.queue
        if not _QUEUE_NAME.fullmatch(queue):
            raise ConfigError("FLEET_QUEUE must be 1-64 letters, digits, '.', '_' or '-', "
                              f"got {queue!r}")
        return cls(
            redis_url=redis_url,
            api_key=env.get("CLUBSMTP_API_KEY") or None,
            base_url=env.get("CLUBSMTP_BASE_URL") or None,
            requests_per_minute=_number(env, "FLEET_RPM", cls.requests_per_minute, _finite, 1.0),
            queue=queue,
            jobs_per_worker=_number(env, "FLEET_JOBS_PER_WORKER", cls.jobs_per_worker, int, 1),
            passwords_dir=Path(env.get("FLEET_PASSWORDS_DIR", "").strip() or cls.passwords_dir),
            heartbeat=_number(env, "FLEET_HEARTBEAT", cls.heartbeat, int, 1),
            sweep=_number(env, "FLEET_SWEEP", cls.sweep, int, 1),
            attempts=_number(env, "FLEET_ATTEMPTS", cls.attempts, int, 1),
            result_ttl=_number(env, "FLEET_RESULT_TTL", cls.result_ttl, int, 1),
        )

    def require_api_key(self) -> str:
        """The API key, for a worker.

        Raises:
            ConfigError: if ``CLUBSMTP_API_KEY`` is not set.

        """
        if self.api_key is None:
            raise ConfigError("CLUBSMTP_API_KEY is not set: a worker needs the API key")
        return self.api_key
