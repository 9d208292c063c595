"""The admin API refuses malformed bodies with a clear 400, like /v1, never a 500 later."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clubsmtp_async.testing import Emulator, FaultInjector

from .conftest import http_client
from .test_app import make_domain

pytestmark = pytest.mark.anyio


@pytest.fixture
async def admin(emulator: Emulator) -> Any:
    async with http_client(emulator, None) as client:
        yield client


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/_admin/keys", {"account": 5}, "$.account"),
        ("/_admin/keys", {"account": None}, "$.account"),
        ("/_admin/keys", {"account": ""}, "$.account"),
        ("/_admin/keys", {"burst": 1.5}, "$.burst"),
        ("/_admin/keys", {"burst": True}, "$.burst"),
        ("/_admin/keys", {"requests_per_minute": 0}, "$.requests_per_minute"),
        ("/_admin/keys", {"requests_per_minute": "60"}, "$.requests_per_minute"),
        ("/_admin/keys", {"expires_in": 1e300}, "$.expires_in"),
        ("/_admin/keys", {"expires_at": "2026-01-01T00:00:00"}, "$.expires_at"),
        ("/_admin/keys", {"scopes": "*:*"}, "$.scopes"),
        ("/_admin/keys", {"scopes": [1]}, "$.scopes[0]"),
        ("/_admin/keys", {"nope": 1}, "nope"),
        ("/_admin/reset", {"keys": "yes"}, "$.keys"),
        ("/_admin/faults", {"kind": "latency", "seconds": 1e308}, "$.seconds"),
        ("/_admin/faults", {"kind": "latency"}, "seconds"),
        ("/_admin/faults", {"kind": "error_before", "status": 500.5}, "$.status"),
        ("/_admin/faults", {"kind": "error_before", "status": 200}, "$.status"),
        ("/_admin/faults", {"kind": "error_before", "body": 5}, "$.body"),
        ("/_admin/faults", {"kind": "error_before", "content_type": "a\r\nb: c"},
         "$.content_type"),
        ("/_admin/faults", {"kind": "drop", "times": 1.5}, "$.times"),
        ("/_admin/faults", {"kind": "drop", "probability": 2}, "$.probability"),
        ("/_admin/faults", {"kind": "drop", "path": "v1"}, "$.path"),
        ("/_admin/faults", {"kind": "rate_limit", "retry_after": -1}, "$.retry_after"),
        ("/_admin/faults", {"kind": "boom"}, "$.kind"),
        ("/_admin/faults/seed", {"seed": 1.5}, "$.seed"),
        ("/_admin/webhooks/endpoints", {"url": 5}, "$.url"),
        ("/_admin/webhooks/endpoints", {}, "url"),
        ("/_admin/webhooks/events", {"type": "invite.created", "object": []}, "$.object"),
    ],
)
async def test_malformed_bodies_are_400(
    admin: httpx.AsyncClient, path: str, body: dict[str, Any], where: str
) -> None:
    response = await admin.post(path, json=body)
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["type"] == "invalid_request_error"
    assert where in error["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": "ftp://x"}, "invalid webhook URL"),
        ({"url": "http://x", "secret": "no pe!"}, "whsec_"),
        ({"url": "http://x", "events": ["nope"]}, "unknown event type"),
    ],
)
async def test_webhook_endpoints_are_checked(
    admin: httpx.AsyncClient, body: dict[str, Any], message: str
) -> None:
    response = await admin.post("/_admin/webhooks/endpoints", json=body)
    assert response.status_code == 400
    assert message in response.json()["errors"][0]["message"]


async def test_emit_refuses_state_change_types(admin: httpx.AsyncClient) -> None:
    response = await admin.post("/_admin/webhooks/events", json={"type": "mailbox.created"})
    assert response.status_code == 400
    assert "come from the changes" in response.json()["errors"][0]["message"]


async def test_dns_patch_types(admin: httpx.AsyncClient, http: httpx.AsyncClient) -> None:
    record = (await make_domain(http))["dns_records"][0]["uuid"]
    for body in ({"status": "2"}, {"status": 2**40}, {"expected_value": 5},
                 {"last_checked_at": "noon"}):
        response = await admin.patch(f"/_admin/dns-records/{record}", json=body)
        assert response.status_code == 400, body
    response = await admin.patch(f"/_admin/dns-records/{record}", json={
        "status": 2, "expected_value": None, "last_checked_at": None})
    assert response.status_code == 200


async def test_a_key_made_by_the_admin_api_works_on_v1(
    admin: httpx.AsyncClient, emulator: Emulator
) -> None:
    response = await admin.post("/_admin/keys", json={
        "account": "acme", "requests_per_minute": 600, "burst": 2, "expires_in": 3600})
    token = response.json()["key"]["key"]
    async with http_client(emulator, token) as client:
        assert (await client.get("/v1/domains")).status_code == 200


@pytest.mark.parametrize(
    "spec",
    [{"kind": "latency", "seconds": float("nan")}, {"kind": "drop", "times": True},
     {"kind": "error_after", "status": "500"}, {"kind": "latency", "seconds": 2,
                                                 "max_seconds": 1}],
)
def test_add_json_uses_the_same_checks(spec: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"latency|fault rule"):
        FaultInjector().add_json(spec)


def test_python_api_refuses_what_would_break_v1() -> None:
    emulator = Emulator()
    for kwargs in ({"account": 5}, {"burst": 1.5}, {"requests_per_minute": float("inf")},
                   {"expires_in": 1e300}, {"scopes": [5]}, {"cidrs": [5]}):
        with pytest.raises(ValueError, match=r"account|burst|per_minute|expires_in|scope|CIDR"):
            emulator.create_key(**kwargs)  # type: ignore[arg-type]
