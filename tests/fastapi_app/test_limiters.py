"""The limiter by topology: the client's own, one file per host, or Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from clubsmtp_service.limiters import build_limiter
from clubsmtp_service.settings import SettingsError

from .conftest import service_settings


def test_process_leaves_the_clients_own_limiter() -> None:
    assert build_limiter(service_settings(limiter="process")) is None


@pytest.mark.asyncio
async def test_redis_is_one_budget_per_key() -> None:
    from clubsmtp_async import RedisLimiter

    limiter = build_limiter(service_settings(limiter="redis", redis_url="redis://127.0.0.1:1/0",
                                             requests_per_minute=90))
    try:
        assert isinstance(limiter, RedisLimiter)
        assert limiter.requests_per_minute == 90
        assert "sk_test" not in repr(limiter)
    finally:
        assert limiter is not None
        await limiter.aclose()


@pytest.mark.asyncio
async def test_file_is_one_budget_per_host(tmp_path: Path) -> None:
    from clubsmtp_async import FileLimiter

    settings = service_settings(limiter="file", limiter_path=tmp_path / "budget",
                                requests_per_minute=90)
    limiter = build_limiter(settings)
    try:
        assert isinstance(limiter, FileLimiter)
        assert limiter.path == tmp_path / "budget"
        assert limiter.requests_per_minute == 90
    finally:
        assert limiter is not None
        await limiter.aclose()


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    settings = service_settings(limiter="file", limiter_path=tmp_path / "missing" / "budget")
    with pytest.raises(SettingsError, match=r"SERVICE_LIMITER_PATH: .*missing"):
        build_limiter(settings)
