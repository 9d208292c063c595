"""The /_admin endpoints and the matching Python methods of `Emulator`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from clubsmtp_async.testing import Emulator, FakeClock

from .conftest import KEY, http_client
from .test_app import error, make_domain, make_mailbox, ok

pytestmark = pytest.mark.anyio

SEED: dict[str, Any] = {
    "domains": [
        {
            "name": "acme.example",
            "mailboxes": [
                {
                    "local_part": "alice",
                    "password": "pw",
                    "storage_gb": 20,
                    "whitelist": ["*@trusted.example"],
                    "blacklist": ["*@spam.example"],
                },
                {"local_part": "bob", "enabled": False},
            ],
            "aliases": [{"local_part": "info", "forward_to": ["alice", "BOB"]}],
        }
    ]
}


@pytest.fixture
async def admin(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(emulator, None) as client:
        yield client


class TestAccess:
    async def test_loopback_only_without_token(self, emulator: Emulator) -> None:
        async with http_client(emulator, None, address="203.0.113.9", scheme="https") as remote:
            message = error(await remote.get("/_admin/stats"), 403, "security_error")
        assert "loopback" in message

    async def test_plain_http_from_remote_is_refused_first(self, emulator: Emulator) -> None:
        async with http_client(emulator, None, address="203.0.113.9") as remote:
            assert (
                error(await remote.get("/_admin/stats"), 403, "security_error") == "HTTPS required."
            )

    async def test_token_when_configured(self, clock: FakeClock) -> None:
        emulator = Emulator(clock=clock, admin_token="s3cret")
        async with http_client(emulator, None) as local:
            error(await local.get("/_admin/stats"), 403, "security_error")
            wrong = {"X-ClubSMTP-Admin-Token": "nope"}
            error(await local.get("/_admin/stats", headers=wrong), 403, "security_error")
            right = {"X-ClubSMTP-Admin-Token": "s3cret"}
            ok(await local.get("/_admin/stats", headers=right))

    async def test_unknown_admin_endpoint(self, admin: httpx.AsyncClient) -> None:
        assert error(await admin.get("/_admin/nothing")).startswith("Unknown admin endpoint")
        assert error(await admin.put("/_admin/keys")).startswith("Method not allowed")

    async def test_admin_traffic_is_not_counted(
        self, admin: httpx.AsyncClient, emulator: Emulator
    ) -> None:
        ok(await admin.get("/_admin/stats"))
        assert emulator.stats.total == 0


class TestKeys:
    async def test_create_list_use_delete(
        self, admin: httpx.AsyncClient, emulator: Emulator
    ) -> None:
        body = {
            "account": "acct2",
            "scopes": ["GET:/v1/ping"],
            "cidrs": ["127.0.0.0/8"],
            "expires_at": "2026-02-01T00:00:00Z",
            "requests_per_minute": 120,
            "burst": 2,
        }
        key = ok(await admin.post("/_admin/keys", json=body))["key"]
        assert key["key"].startswith("sk_test_")
        assert key["expires_at"] == "2026-02-01T00:00:00.000000Z"
        assert (key["account"], key["requests_per_minute"], key["burst"]) == ("acct2", 120, 2)
        listed = ok(await admin.get("/_admin/keys"))["data"]
        assert [k["key"] for k in listed] == [
            KEY,
            emulator.keys.get(listed[1]["key"]).token,
            key["key"],
        ]  # type: ignore[union-attr]
        async with http_client(emulator, key["key"]) as http:
            ok(await http.get("/v1/ping"))
            error(await http.get("/v1/domains"), 403, "security_error")
            ok(await admin.delete(f"/_admin/keys/{key['key']}"))
            error(await http.get("/v1/ping"), 401, "auth_error")
        assert error(await admin.delete(f"/_admin/keys/{key['key']}")) == "Key not found."

    async def test_explicit_token_and_expires_in(
        self, admin: httpx.AsyncClient, emulator: Emulator, clock: FakeClock
    ) -> None:
        token = "sk_live_" + "c" * 72
        ok(await admin.post("/_admin/keys", json={"key": token, "expires_in": 5}))
        async with http_client(emulator, token) as http:
            ok(await http.get("/v1/ping"))
            clock.advance(5)
            error(await http.get("/v1/ping"), 401, "auth_error")

    @pytest.mark.parametrize(
        "body",
        [
            {"key": "nope"},
            {"scopes": "*:*"},
            {"scopes": ["bad"]},
            {"cidrs": ["x"]},
            {"expires_at": "soon"},
            {"expires_at": "2026-01-01T00:00:00"},
            {"requests_per_minute": "fast"},
            {"burst": 0},
            {"color": "red"},
        ],
    )
    async def test_invalid_keys(self, admin: httpx.AsyncClient, body: dict[str, Any]) -> None:
        error(await admin.post("/_admin/keys", json=body))


class TestSeedStateReset:
    async def test_seed_over_http(
        self, admin: httpx.AsyncClient, http: httpx.AsyncClient, emulator: Emulator
    ) -> None:
        created = ok(await admin.post("/_admin/seed", json=SEED))
        assert [d["name"] for d in created["domains"]] == ["acme.example"]
        assert [m["address"] for m in created["mailboxes"]] == [
            "alice@acme.example",
            "bob@acme.example",
        ]
        [alias] = created["aliases"]
        assert [t["address"] for t in alias["forwarding_to"]] == [
            "alice@acme.example",
            "bob@acme.example",
        ]
        # Seeded objects are the default account's, as seen through /v1.
        mailboxes = ok(await http.get("/v1/mailboxes"))["data"]
        assert [(m["storage_gb"], m["enabled"]) for m in mailboxes] == [(20, True), (10, False)]
        alice = mailboxes[0]["uuid"]
        whitelist = ok(await http.get(f"/v1/mailboxes/{alice}/whitelist"))["data"]
        assert [e["pattern"] for e in whitelist] == ["*@trusted.example"]
        assert emulator.check_password(alice, "pw")
        state = ok(await admin.get("/_admin/state"))
        assert state["mailboxes"][0]["account"] == "default"
        assert state["mailboxes"][0]["blacklist"][0]["pattern"] == "*@spam.example"

    async def test_seed_other_account(self, emulator: Emulator, other: httpx.AsyncClient) -> None:
        emulator.seed({"account": "other", "domains": [{"name": "theirs.example"}]})
        assert [d["name"] for d in ok(await other.get("/v1/domains"))["data"]] == ["theirs.example"]

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ({"domains": "x"}, "Invalid domains"),
            ({"domains": [{"name": "bad"}]}, "Invalid name"),
            ({"account": 3}, "Invalid account"),
            (
                {"domains": [{"name": "a.example", "mailboxes": [{"local_part": "a b"}]}]},
                "Invalid local_part",
            ),
            (
                {
                    "domains": [
                        {
                            "name": "a.example",
                            "aliases": [{"local_part": "i", "forward_to": ["ghost"]}],
                        }
                    ]
                },
                "Invalid forward_to",
            ),
            (
                {"domains": [{"name": "a.example", "aliases": [{"local_part": "i"}]}]},
                "Invalid forward_to",
            ),
        ],
    )
    def test_seed_validation(self, emulator: Emulator, spec: dict[str, Any], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            emulator.seed(spec)

    async def test_seed_errors_over_http(self, admin: httpx.AsyncClient) -> None:
        assert (
            error(await admin.post("/_admin/seed", content=b"{"))
            == "Request body is not valid JSON."
        )
        error(await admin.post("/_admin/seed", json={"domains": [{"name": "bad"}]}))

    async def test_reset(
        self, admin: httpx.AsyncClient, http: httpx.AsyncClient, emulator: Emulator
    ) -> None:
        emulator.seed(SEED)
        emulator.faults.add("GET", "*", __import__("clubsmtp_async.testing").testing.Drop())
        ok(await admin.post("/_admin/reset"))
        assert ok(await http.get("/v1/domains"))["data"] == []
        assert emulator.faults.rules == []
        assert emulator.stats.total == 1
        ok(await admin.post("/_admin/reset", json={"keys": True}))
        error(await http.get("/v1/ping"), 401, "auth_error")
        assert len(emulator.keys) == 0


class TestDns:
    async def test_update_a_record(
        self, admin: httpx.AsyncClient, http: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        domain = await make_domain(http)
        mx = domain["dns_records"][0]["uuid"]
        clock.advance(30)
        body = {"status": 2, "expected_value": "10 mx.example.", "actual_value": "10 mx.example."}
        record = ok(await admin.patch(f"/_admin/dns-records/{mx}", json=body))["dns_record"]
        assert record["status"] == 2
        assert record["last_checked_at"] == "2026-01-15T09:00:30.000000Z"
        fetched = ok(await http.get(f"/v1/domains/{domain['uuid']}"))["domain"]["dns_records"][0]
        assert fetched == record
        body = {"status": 3, "actual_value": None, "last_checked_at": "2026-03-01T00:00:00Z"}
        record = ok(await admin.patch(f"/_admin/dns-records/{mx}", json=body))["dns_record"]
        assert (record["status"], record["actual_value"]) == (3, None)
        assert record["expected_value"] == "10 mx.example."
        assert record["last_checked_at"] == "2026-03-01T00:00:00.000000Z"

    async def test_unknown_status_values_are_allowed(
        self, http: httpx.AsyncClient, emulator: Emulator
    ) -> None:
        domain = await make_domain(http)
        emulator.set_dns_record(domain["dns_records"][5]["uuid"], status=9)
        fetched = ok(await http.get(f"/v1/domains/{domain['uuid']}"))["domain"]
        assert fetched["dns_records"][5]["status"] == 9

    @pytest.mark.parametrize(
        "body",
        [
            {"status": "ok"},
            {"status": True},
            {"expected_value": 1},
            {"colour": 1},
            {"last_checked_at": "yesterday"},
        ],
    )
    async def test_invalid_updates(
        self, admin: httpx.AsyncClient, http: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        domain = await make_domain(http)
        error(
            await admin.patch(f"/_admin/dns-records/{domain['dns_records'][0]['uuid']}", json=body)
        )

    async def test_unknown_record(self, admin: httpx.AsyncClient) -> None:
        response = await admin.patch("/_admin/dns-records/abc", json={"status": 2})
        assert error(response) == "DNS record not found."

    async def test_verify_domain(self, admin: httpx.AsyncClient, http: httpx.AsyncClient) -> None:
        domain = await make_domain(http)
        verified = ok(await admin.post(f"/_admin/domains/{domain['uuid']}/verify"))["domain"]
        assert {r["status"] for r in verified["dns_records"]} == {2}
        assert all(
            r["expected_value"] == r["actual_value"] is not None for r in verified["dns_records"]
        )
        failed = ok(
            await admin.post(f"/_admin/domains/{domain['uuid']}/verify", json={"status": 3})
        )["domain"]
        assert {r["actual_value"] for r in failed["dns_records"]} == {None}
        missing = "00000000-0000-7000-8000-000000000000"
        error(await admin.post(f"/_admin/domains/{missing}/verify"))


class TestStatsAndFaults:
    async def test_stats(
        self, admin: httpx.AsyncClient, http: httpx.AsyncClient, emulator: Emulator
    ) -> None:
        domain = await make_domain(http)
        await make_mailbox(http, domain["uuid"])
        ok(await http.get(f"/v1/domains/{domain['uuid']}"))
        stats = ok(await admin.get("/_admin/stats"))["stats"]
        assert stats["requests"] == {
            "POST /v1/domains": 1,
            "POST /v1/mailboxes": 1,
            "GET /v1/domains/{uuid}": 1,
        }
        assert stats["statuses"] == {"200": 3}
        assert stats["rate_limited"] == 0
        assert stats["accepted"] == {emulator.keys.get(KEY).id: [0.0, 0.0, 0.0]}  # type: ignore[union-attr]
        ok(await admin.delete("/_admin/stats"))
        assert ok(await admin.get("/_admin/stats"))["stats"]["total"] == 0

    async def test_fault_rules(self, admin: httpx.AsyncClient, http: httpx.AsyncClient) -> None:
        rule = {
            "method": "POST",
            "path": "/v1/domains",
            "kind": "error_before",
            "status": 503,
            "times": 1,
        }
        created = ok(await admin.post("/_admin/faults", json=rule))["fault"]
        assert created["id"] == "fault_1"
        assert ok(await admin.get("/_admin/faults"))["data"] == [created]
        error(await http.post("/v1/domains", json={"name": "a.example"}), 503, "api_error")
        assert ok(await admin.get("/_admin/faults"))["data"] == []
        drop = ok(await admin.post("/_admin/faults", json={"kind": "drop", "probability": 0.5}))
        ok(await admin.post("/_admin/faults/seed", json={"seed": 11}))
        ok(await admin.delete(f"/_admin/faults/{drop['fault']['id']}"))
        assert error(await admin.delete(f"/_admin/faults/{drop['fault']['id']}")).startswith(
            "Fault rule not found"
        )
        ok(await admin.post("/_admin/faults", json={"kind": "latency", "seconds": 0.1}))
        ok(await admin.delete("/_admin/faults"))
        assert ok(await admin.get("/_admin/faults"))["data"] == []

    @pytest.mark.parametrize(
        "rule",
        [
            {"kind": "nope"},
            {},
            {"kind": "latency"},
            {"kind": "latency", "seconds": "slow"},
            {"kind": "drop", "times": 0},
            {"kind": "drop", "probability": 2},
            {"kind": "error_before", "status": 200},
        ],
    )
    async def test_invalid_fault_rules(
        self, admin: httpx.AsyncClient, rule: dict[str, Any]
    ) -> None:
        error(await admin.post("/_admin/faults", json=rule))

    async def test_invalid_seed(self, admin: httpx.AsyncClient) -> None:
        error(await admin.post("/_admin/faults/seed", json={"seed": [1]}))


def test_emulator_repr_and_default_key() -> None:
    emulator = Emulator()
    assert emulator.api_key.startswith("sk_test_")  # created on demand
    assert emulator.api_key == emulator.api_key
    assert "keys=1" in repr(emulator)
    with pytest.raises(ValueError, match="Domain not found"):
        emulator.verify_domain("00000000-0000-7000-8000-000000000000")
