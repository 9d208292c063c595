"""Settings from the environment: defaults, bad values named, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from clubsmtp_service.settings import ENVIRONMENT, Settings, SettingsError

KEY = "sk_live_" + "k" * 40
BASE = {"CLUBSMTP_API_KEY": KEY, "SERVICE_LIMITER_PATH": "/run/clubsmtp/limiter"}


def test_defaults() -> None:
    settings = Settings.from_env(BASE)
    assert settings.api_key == KEY
    assert settings.base_url is None
    assert settings.webhook_secret is None
    assert settings.requests_per_minute == 60
    assert settings.limiter == "file"
    assert settings.limiter_path == Path("/run/clubsmtp/limiter")
    assert settings.timeout == 30
    assert settings.max_wait is None


def test_every_variable() -> None:
    env = {**BASE, "CLUBSMTP_BASE_URL": "http://127.0.0.1:8025",
           "CLUBSMTP_WEBHOOK_SECRET": "whsec_abc", "SERVICE_RPM": "120",
           "SERVICE_LIMITER": "Redis", "SERVICE_REDIS_URL": "redis://:pw@10.0.0.5/0",
           "SERVICE_PASSWORDS_FILE": "/var/lib/svc/passwords.csv", "SERVICE_TIMEOUT": "5",
           "SERVICE_MAX_WAIT": "2.5"}
    assert set(env) <= set(ENVIRONMENT)
    settings = Settings.from_env(env)
    assert (settings.base_url, settings.webhook_secret) == ("http://127.0.0.1:8025", "whsec_abc")
    assert (settings.requests_per_minute, settings.limiter) == (120, "redis")
    assert settings.redis_url == "redis://:pw@10.0.0.5/0"
    assert settings.passwords_file == Path("/var/lib/svc/passwords.csv")
    assert settings.timeout == 5
    assert settings.max_wait == 2.5


def test_secrets_are_not_in_the_repr() -> None:
    settings = Settings.from_env({**BASE, "CLUBSMTP_WEBHOOK_SECRET": "whsec_s3cr3t",
                                  "SERVICE_LIMITER": "redis",
                                  "SERVICE_REDIS_URL": "redis://:hunter2@h/0"})
    text = repr(settings)
    assert KEY not in text
    assert "s3cr3t" not in text
    assert "hunter2" not in text


@pytest.mark.parametrize(("env", "message"), [
    ({}, "CLUBSMTP_API_KEY is not set"),
    ({**BASE, "SERVICE_RPM": "fast"}, "SERVICE_RPM must be a number, got 'fast'"),
    ({**BASE, "SERVICE_RPM": "0"}, "SERVICE_RPM must be a positive number"),
    ({**BASE, "SERVICE_RPM": "nan"}, "SERVICE_RPM must be a positive number"),
    ({**BASE, "SERVICE_TIMEOUT": "inf"}, "SERVICE_TIMEOUT must be a positive number"),
    ({**BASE, "SERVICE_MAX_WAIT": "-1"}, "SERVICE_MAX_WAIT must be a number >= 0"),
    ({**BASE, "SERVICE_LIMITER": "memcached"}, "SERVICE_LIMITER must be one of"),
    ({"CLUBSMTP_API_KEY": KEY}, "SERVICE_LIMITER=file needs SERVICE_LIMITER_PATH"),
    ({**BASE, "SERVICE_LIMITER": "redis"}, "SERVICE_LIMITER=redis needs SERVICE_REDIS_URL"),
])
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        Settings.from_env(env)
    assert KEY not in str(caught.value)
