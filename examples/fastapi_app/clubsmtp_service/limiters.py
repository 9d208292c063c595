"""Which rate limiter the worker's client uses: the choice is the deployment's topology.

- ``process``: the client's own in-process leaky bucket. Right for exactly one
  worker process; with ``uvicorn --workers 2`` each worker would pace alone and
  the two together would send twice the key's ceiling (429s).
- ``file``: `clubsmtp_async.FileLimiter`, one budget for every process of one
  host, kept in a file under an OS lock: no server to run.
- ``redis``: `clubsmtp_async.RedisLimiter`, one budget for every process of
  every host, kept in Redis.
"""

from __future__ import annotations

from clubsmtp_async import ClubSMTPError, FileLimiter, Limiter

from .settings import Settings, SettingsError

__all__ = ["build_limiter"]


def build_limiter(settings: Settings) -> Limiter | None:
    """The shared limiter the settings ask for, or None for the client's own.

    The caller owns what is returned: the client never closes a limiter it was
    given, so the lifespan closes it after the client.

    Raises:
        SettingsError: if the Redis limiter's extra is missing.
        ValidationError: if the limiter refuses its settings (e.g. the
            FileLimiter's folder does not exist).

    """
    if settings.limiter == "process":
        return None
    if settings.limiter == "redis":
        assert settings.redis_url is not None  # checked by Settings
        try:
            from clubsmtp_async import RedisLimiter
        except ImportError as exc:
            raise SettingsError(f"SERVICE_LIMITER=redis: {exc}") from None
        return RedisLimiter(settings.redis_url, settings.api_key,
                            requests_per_minute=settings.requests_per_minute)
    assert settings.limiter_path is not None  # checked by Settings
    try:
        return FileLimiter(settings.limiter_path, settings.requests_per_minute)
    except ClubSMTPError as exc:  # a bad path: say which setting it came from
        raise SettingsError(f"SERVICE_LIMITER_PATH: {exc}") from None
