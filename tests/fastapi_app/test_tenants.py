"""``POST /tenants``: dry run, apply, re-apply, bad specs, SDK errors as HTTP answers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from clubsmtp_async.testing import Emulator, ErrorBefore, RateLimit

from .conftest import TestClient, tenant


def addresses(emulator: Emulator) -> list[str]:
    return sorted(m["address"] for m in emulator.snapshot()["mailboxes"])


def test_a_dry_run_plans_and_changes_nothing(service: TestClient,
                                             clubsmtp_emulator: Emulator) -> None:
    response = service.post("/tenants", params={"dry_run": "true"}, json=tenant())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dry_run"] is True
    assert body["changes"] is True
    assert body["plan"]["summary"]["create"] == 4  # the domain, two mailboxes, the alias
    assert body["plan"]["requests"] == 4
    assert clubsmtp_emulator.snapshot()["domains"] == []


def test_apply_onboards_and_returns_each_generated_password_once(
        service: TestClient, clubsmtp_emulator: Emulator) -> None:
    response = service.post("/tenants", json=tenant())
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["ok"] is True
    assert body["counts"] == {"done": 4, "failed": 0, "skipped": 0}
    assert addresses(clubsmtp_emulator) == ["u0@acme.example", "u1@acme.example"]
    passwords = {p["address"]: p for p in body["passwords"]}
    assert sorted(passwords) == ["u0@acme.example", "u1@acme.example"]
    uuids = {m["address"]: m["uuid"] for m in clubsmtp_emulator.snapshot()["mailboxes"]}
    for address, entry in passwords.items():
        assert entry["status"] == "created"
        assert clubsmtp_emulator.check_password(uuids[address], entry["password"])


def test_a_second_apply_changes_nothing(service: TestClient) -> None:
    assert service.post("/tenants", json=tenant()).json()["ok"] is True
    again = service.post("/tenants", json=tenant())
    assert again.status_code == 200
    body = again.json()
    assert body["actions"] == 0
    assert body["passwords"] == []
    dry = service.post("/tenants", params={"dry_run": True}, json=tenant()).json()
    assert dry["changes"] is False


def test_passwords_are_never_logged(service: TestClient,
                                    caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        body = service.post("/tenants", json=tenant()).json()
    secrets = [entry["password"] for entry in body["passwords"]]
    assert len(secrets) == 2
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "acme.example" in logged  # the route does log the outcome
    assert not any(secret in logged for secret in secrets)


def test_passwords_are_also_kept_in_the_passwords_file(
        service_factory: Callable[..., TestClient], tmp_path: Any) -> None:
    from clubsmtp_async.onboarding import PasswordFile

    from .conftest import service_settings

    path = tmp_path / "passwords.csv"
    service = service_factory(settings=service_settings(passwords_file=path))
    body = service.post("/tenants", json=tenant()).json()
    kept = dict(PasswordFile.read(path))
    assert kept == {p["address"]: p["password"] for p in body["passwords"]}
    assert path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(("spec", "place"), [
    (tenant(storage_gb=0), "request body: domains[0].mailboxes[0].storage_gb: expected `int`"),
    (tenant(quota=5), "request body: domains[0].mailboxes[0]: unknown key 'quota'"),
    (tenant(password={"env": "CLUBSMTP_API_KEY"}),
     "request body: domains[0].mailboxes[0].password: password sources are not accepted"),
    ({"domains": []}, "request body: the file declares no domain"),
])
def test_a_bad_spec_is_422_naming_the_place(service: TestClient, spec: dict[str, Any],
                                            place: str) -> None:
    response = service.post("/tenants", json=spec)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(place), response.json()
    assert response.json()["error"] == "TenantFileError"


def test_a_body_that_is_not_json_is_422_with_its_line(service: TestClient) -> None:
    response = service.post("/tenants", content=b'{"domains": [\n  oops]}')
    assert response.status_code == 422
    assert response.json()["detail"].startswith("request body: not valid JSON at line 2")


def test_a_spec_that_conflicts_with_the_account_is_409(service: TestClient,
                                                       clubsmtp_emulator: Emulator) -> None:
    clubsmtp_emulator.seed({"domains": [{"name": "acme.example",
                                         "mailboxes": [{"local_part": "u0"}],
                                         "aliases": [{"local_part": "u1",
                                                      "forward_to": ["u0"]}]}]})
    response = service.post("/tenants", json=tenant())  # u1 is an alias there
    assert response.status_code == 409
    assert response.json()["error"] == "PlanError"


def test_a_refused_api_key_is_502_without_the_key(
        service_factory: Callable[..., TestClient]) -> None:
    wrong = "sk_test_" + "x" * 40
    service = service_factory(api_key=wrong)
    response = service.post("/tenants", json=tenant())
    assert response.status_code == 502
    assert "check CLUBSMTP_API_KEY" in response.json()["detail"]
    assert wrong not in response.text


def test_the_rate_limit_is_503_with_retry_after(service_factory: Callable[..., TestClient],
                                                clubsmtp_emulator: Emulator) -> None:
    clubsmtp_emulator.faults.add("GET", "/v1/domains", RateLimit(retry_after=7))
    service = service_factory(max_retries=0)
    response = service.post("/tenants", json=tenant())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"


def test_a_plan_that_would_wait_past_max_wait_is_503_at_once(
        service_factory: Callable[..., TestClient], clubsmtp_emulator: Emulator) -> None:
    from .conftest import service_settings

    # One request a minute: the plan's second read would wait a minute for its slot.
    service = service_factory(settings=service_settings(max_wait=0.5), requests_per_minute=1)
    response = service.post("/tenants", json=tenant())
    assert response.status_code == 503
    assert response.json()["error"] == "RateLimitWaitError"
    assert 50 <= int(response.headers["retry-after"]) <= 60
    assert clubsmtp_emulator.snapshot()["domains"] == []
    assert clubsmtp_emulator.stats.rate_limited == 0  # refused before sending


def test_an_api_failure_is_502(service_factory: Callable[..., TestClient],
                               clubsmtp_emulator: Emulator) -> None:
    clubsmtp_emulator.faults.add("GET", "/v1/domains", ErrorBefore(status=500))
    service = service_factory(max_retries=0)
    response = service.post("/tenants", json=tenant())
    assert response.status_code == 502
    assert response.json()["error"] == "ServerError"


def test_a_partly_failed_apply_is_200_with_its_passwords(
        service_factory: Callable[..., TestClient], clubsmtp_emulator: Emulator) -> None:
    clubsmtp_emulator.faults.add("POST", "/v1/aliases", ErrorBefore(status=500))
    service = service_factory(max_retries=0)
    body = service.post("/tenants", json=tenant()).json()
    assert body["ok"] is False
    assert body["counts"]["failed"] == 1
    assert len(body["passwords"]) == 2  # the mailboxes were created: their passwords come back
    clubsmtp_emulator.faults.clear()
    retry = service.post("/tenants", json=tenant()).json()
    assert retry["ok"] is True
    assert retry["counts"] == {"done": 1, "failed": 0, "skipped": 0}


def test_concurrent_onboardings_of_one_tenant_create_it_once(
        service: TestClient, clubsmtp_emulator: Emulator) -> None:
    with ThreadPoolExecutor(4) as pool:
        bodies = list(pool.map(lambda _: service.post("/tenants", json=tenant()).json(),
                               range(4)))
    assert all(body["ok"] for body in bodies)
    assert sum(body["counts"]["done"] for body in bodies) == 4  # each object made once
    assert sum(len(body["passwords"]) for body in bodies) == 2
    assert addresses(clubsmtp_emulator) == ["u0@acme.example", "u1@acme.example"]


def test_a_body_over_the_cap_is_413(service: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from clubsmtp_service import tenants

    monkeypatch.setattr(tenants, "MAX_BODY", 64)
    response = service.post("/tenants", json=tenant(mailboxes=10))
    assert response.status_code == 413
