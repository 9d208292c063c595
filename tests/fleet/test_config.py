"""`FleetConfig.from_env`: defaults, every variable, and errors that name it without secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from clubsmtp_fleet.config import ENVIRONMENT, ConfigError, FleetConfig

SECRET_URL = "redis://:hunter2-s3cret@cache.internal:6379/0"
API_KEY = "sk_live_" + "T0pS3cr3t" * 6


def test_defaults_when_nothing_is_set() -> None:
    config = FleetConfig.from_env({})
    assert config == FleetConfig()
    assert config.redis_url == "redis://127.0.0.1:6379/0"
    assert config.api_key is None
    assert config.base_url is None
    assert config.requests_per_minute == 60
    assert config.queue == "clubsmtp-onboarding"
    assert config.jobs_per_worker == 2
    assert config.passwords_dir == Path("fleet-passwords")
    assert (config.heartbeat, config.sweep, config.attempts) == (15, 5, 5)
    assert config.result_ttl == 86_400


def test_every_variable_is_read() -> None:
    config = FleetConfig.from_env({
        "FLEET_REDIS_URL": "rediss://cache:6380/2",
        "CLUBSMTP_API_KEY": API_KEY,
        "CLUBSMTP_BASE_URL": "http://127.0.0.1:8025",
        "FLEET_RPM": "1200.5",
        "FLEET_QUEUE": "tenants-eu_1",
        "FLEET_JOBS_PER_WORKER": "4",
        "FLEET_PASSWORDS_DIR": "/srv/secrets/fleet",
        "FLEET_HEARTBEAT": "30",
        "FLEET_SWEEP": "10",
        "FLEET_ATTEMPTS": "3",
        "FLEET_RESULT_TTL": "3600",
    })
    assert config == FleetConfig(
        redis_url="rediss://cache:6380/2", api_key=API_KEY, base_url="http://127.0.0.1:8025",
        requests_per_minute=1200.5, queue="tenants-eu_1", jobs_per_worker=4,
        passwords_dir=Path("/srv/secrets/fleet"), heartbeat=30, sweep=10, attempts=3,
        result_ttl=3600)
    assert config.require_api_key() == API_KEY
    assert set(ENVIRONMENT) == {
        "FLEET_REDIS_URL", "CLUBSMTP_API_KEY", "CLUBSMTP_BASE_URL", "FLEET_RPM", "FLEET_QUEUE",
        "FLEET_JOBS_PER_WORKER", "FLEET_PASSWORDS_DIR", "FLEET_HEARTBEAT", "FLEET_SWEEP",
        "FLEET_ATTEMPTS", "FLEET_RESULT_TTL"}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FLEET_RPM", "fast", "FLEET_RPM must be a number, got 'fast'"),
        ("FLEET_RPM", "0", "FLEET_RPM must be at least 1.0, got '0'"),
        ("FLEET_RPM", "nan", "FLEET_RPM must be at least 1.0, got 'nan'"),
        ("FLEET_RPM", "inf", "FLEET_RPM must be a number, got 'inf'"),
        ("FLEET_JOBS_PER_WORKER", "1.5", "FLEET_JOBS_PER_WORKER must be a whole number, got '1.5'"),
        ("FLEET_JOBS_PER_WORKER", "0", "FLEET_JOBS_PER_WORKER must be at least 1, got '0'"),
        ("FLEET_HEARTBEAT", "-3", "FLEET_HEARTBEAT must be at least 1, got '-3'"),
        ("FLEET_SWEEP", "0", "FLEET_SWEEP must be at least 1, got '0'"),
        ("FLEET_ATTEMPTS", "many", "FLEET_ATTEMPTS must be a whole number, got 'many'"),
        ("FLEET_RESULT_TTL", "0", "FLEET_RESULT_TTL must be at least 1, got '0'"),
        ("FLEET_QUEUE", "a queue", "FLEET_QUEUE must be 1-64 letters, digits"),
        ("FLEET_QUEUE", "-lead", "FLEET_QUEUE must be 1-64 letters, digits"),
        ("FLEET_REDIS_URL", "http://cache:6379",
         "FLEET_REDIS_URL must start with redis://, rediss:// or unix://"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        FleetConfig.from_env({name: value})
    assert str(raised.value).startswith(message)


def test_secrets_are_never_repeated() -> None:
    with pytest.raises(ConfigError) as raised:
        FleetConfig.from_env({"FLEET_REDIS_URL": SECRET_URL.replace("redis://", "redis:/")})
    assert "hunter2" not in str(raised.value)
    config = FleetConfig.from_env({"FLEET_REDIS_URL": SECRET_URL, "CLUBSMTP_API_KEY": API_KEY})
    assert "hunter2" not in repr(config)
    assert API_KEY not in repr(config)
    assert "T0pS3cr3t" not in str(config)


def test_a_worker_without_an_api_key_is_told_what_to_set() -> None:
    with pytest.raises(ConfigError, match="CLUBSMTP_API_KEY is not set"):
        FleetConfig.from_env({}).require_api_key()
