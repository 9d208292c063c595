"""The 20 endpoints over the in-process transport: envelopes, validation, state."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from clubsmtp_async.testing import Emulator, FakeClock

pytestmark = pytest.mark.anyio

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
MISSING = "00000000-0000-7000-8000-000000000000"


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["errors"] == []
    return body


def error(response: httpx.Response, status: int = 400, kind: str = "invalid_request_error") -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"}
    [err] = body["errors"]
    assert err["type"] == kind
    message: str = err["message"]
    return message


async def make_domain(http: httpx.AsyncClient, name: str = "example.com") -> dict[str, Any]:
    domain: dict[str, Any] = ok(await http.post("/v1/domains", json={"name": name}))["domain"]
    return domain


async def make_mailbox(
    http: httpx.AsyncClient, domain_uuid: str, local_part: str = "alice", **extra: Any
) -> dict[str, Any]:
    body = {"domain_uuid": domain_uuid, "local_part": local_part, "password": "pw", **extra}
    mailbox: dict[str, Any] = ok(await http.post("/v1/mailboxes", json=body))["mailbox"]
    return mailbox


async def test_ping(http: httpx.AsyncClient) -> None:
    assert ok(await http.get("/v1/ping")) == {
        "timestamp": "Thu, 15 Jan 2026 09:00:00 GMT",
        "errors": [],
    }


class TestDomains:
    async def test_create_seeds_six_pending_records(self, http: httpx.AsyncClient) -> None:
        domain = await make_domain(http, "Example.COM")
        assert set(domain) == {"uuid", "name", "created_at", "dns_records"}
        assert domain["name"] == "example.com"
        assert UUID7.match(domain["uuid"])
        assert domain["created_at"] == "2026-01-15T09:00:00.000000Z"
        types = [record["record_type"] for record in domain["dns_records"]]
        assert types == ["MX", "SPF", "DKIM", "DMARC", "autoconfig", "autodiscover"]
        for record in domain["dns_records"]:
            assert UUID7.match(record["uuid"])
            assert record["status"] == 1
            assert record["expected_value"] is None
            assert record["actual_value"] is None
            assert record["last_checked_at"] is None

    async def test_list_get_delete(self, http: httpx.AsyncClient, clock: FakeClock) -> None:
        first = await make_domain(http, "a.example")
        clock.advance(1.5)
        second = await make_domain(http, "b.example")
        assert second["created_at"] == "2026-01-15T09:00:01.500000Z"
        listed = ok(await http.get("/v1/domains"))["data"]
        assert [d["uuid"] for d in listed] == [first["uuid"], second["uuid"]]
        assert ok(await http.get(f"/v1/domains/{first['uuid']}"))["domain"] == first
        assert ok(await http.delete(f"/v1/domains/{first['uuid']}")) == {
            "success": True,
            "errors": [],
        }
        assert [d["name"] for d in ok(await http.get("/v1/domains"))["data"]] == ["b.example"]
        message = error(await http.get(f"/v1/domains/{first['uuid']}"))
        assert message == "Domain not found."
        assert error(await http.delete(f"/v1/domains/{first['uuid']}")) == "Domain not found."

    async def test_names_are_unique_across_accounts_case_insensitively(
        self, http: httpx.AsyncClient, other: httpx.AsyncClient
    ) -> None:
        await make_domain(http, "example.com")
        assert "already exists" in error(
            await http.post("/v1/domains", json={"name": "EXAMPLE.com"})
        )
        assert "already exists" in error(
            await other.post("/v1/domains", json={"name": "example.com"})
        )

    async def test_other_accounts_domains_are_not_found(
        self, http: httpx.AsyncClient, other: httpx.AsyncClient
    ) -> None:
        domain = await make_domain(http)
        assert ok(await other.get("/v1/domains"))["data"] == []
        assert error(await other.get(f"/v1/domains/{domain['uuid']}")) == "Domain not found."
        assert error(await other.delete(f"/v1/domains/{domain['uuid']}")) == "Domain not found."

    @pytest.mark.parametrize(
        "name",
        [
            "localhost",
            "-bad.example",
            "bad-.example",
            "a..example",
            "exa mple.com",
            "x" * 64 + ".com",
            ".example.com",
            "example.com.",
            "example.123",
            "bücher.example",
            "under_score.example",
            ("a" * 63 + ".") * 4 + "com",
            "",
            42,
            None,
            ["example.com"],
        ],
    )
    async def test_rejects_malformed_names(self, http: httpx.AsyncClient, name: object) -> None:
        assert error(await http.post("/v1/domains", json={"name": name})).startswith("Invalid name")

    @pytest.mark.parametrize(
        "name", ["xn--bcher-kva.example", "a-b.c0.example", "x.io", "1.example"]
    )
    async def test_accepts_well_formed_names(self, http: httpx.AsyncClient, name: str) -> None:
        assert (await make_domain(http, name))["name"] == name

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (b"", "Request body must be a JSON object."),
            (b"{not json", "Request body is not valid JSON."),
            (b"\xff\xfe", "Request body is not valid JSON."),
            (b"[1, 2]", "Request body must be a JSON object."),
            (b'"example.com"', "Request body must be a JSON object."),
            (b"{}", "Missing required parameter: name."),
            (b'{"name": "example.com", "extra": 1}', "Unknown parameter: extra."),
            (b"[" * 100_000, "Request body is not valid JSON."),
        ],
    )
    async def test_rejects_bad_bodies(
        self, http: httpx.AsyncClient, content: bytes, message: str
    ) -> None:
        response = await http.post("/v1/domains", content=content)
        assert error(response) == message

    async def test_malformed_uuid_is_invalid_not_not_found(self, http: httpx.AsyncClient) -> None:
        message = error(await http.get("/v1/domains/not-a-uuid"))
        assert message == "Invalid domain UUID: expected a UUID string."

    async def test_uppercase_uuid_finds_the_domain(self, http: httpx.AsyncClient) -> None:
        domain = await make_domain(http)
        assert ok(await http.get(f"/v1/domains/{domain['uuid'].upper()}"))["domain"] == domain


class TestMailboxes:
    async def test_create_defaults_and_shape(
        self, http: httpx.AsyncClient, emulator: Emulator
    ) -> None:
        domain = await make_domain(http)
        mailbox = await make_mailbox(http, domain["uuid"], "Alice.Smith")
        assert mailbox == {
            "uuid": mailbox["uuid"],
            "address": "alice.smith@example.com",
            "domain_uuid": domain["uuid"],
            "domain": "example.com",
            "storage_gb": 10,
            "enabled": True,
            "created_at": "2026-01-15T09:00:00.000000Z",
            "updated_at": "2026-01-15T09:00:00.000000Z",
        }
        assert "password" not in str(emulator.snapshot())
        assert emulator.check_password(mailbox["uuid"], "pw")
        assert not emulator.check_password(mailbox["uuid"], "PW")

    async def test_list_filter_get_update_delete(
        self, http: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        one, two = await make_domain(http, "one.example"), await make_domain(http, "two.example")
        a = await make_mailbox(http, one["uuid"], "a", storage_gb=20)
        b = await make_mailbox(http, two["uuid"], "b")
        assert a["storage_gb"] == 20
        assert [m["uuid"] for m in ok(await http.get("/v1/mailboxes"))["data"]] == [
            a["uuid"],
            b["uuid"],
        ]
        filtered = ok(await http.get("/v1/mailboxes", params={"domain_uuid": two["uuid"]}))["data"]
        assert [m["uuid"] for m in filtered] == [b["uuid"]]
        assert ok(await http.get(f"/v1/mailboxes/{a['uuid']}"))["mailbox"] == a
        clock.advance(60)
        updated = ok(await http.patch(f"/v1/mailboxes/{a['uuid']}", json={"enabled": False}))
        assert updated["mailbox"]["enabled"] is False
        assert updated["mailbox"]["storage_gb"] == 20
        assert updated["mailbox"]["updated_at"] == "2026-01-15T09:01:00.000000Z"
        assert updated["mailbox"]["created_at"] == a["created_at"]
        both = {"enabled": True, "storage_gb": 1}
        updated = ok(await http.patch(f"/v1/mailboxes/{a['uuid']}", json=both))["mailbox"]
        assert (updated["enabled"], updated["storage_gb"]) == (True, 1)
        assert ok(await http.delete(f"/v1/mailboxes/{a['uuid']}"))["success"] is True
        assert error(await http.get(f"/v1/mailboxes/{a['uuid']}")) == "Mailbox not found."

    async def test_filter_by_unknown_or_malformed_domain(self, http: httpx.AsyncClient) -> None:
        response = await http.get("/v1/mailboxes", params={"domain_uuid": MISSING})
        assert error(response) == "Domain not found."
        response = await http.get("/v1/mailboxes", params={"domain_uuid": "x"})
        assert error(response).startswith("Invalid domain_uuid")

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"local_part": "a", "password": "p"}, "Missing required parameter: domain_uuid."),
            ({"domain_uuid": "D", "password": "p"}, "Missing required parameter: local_part."),
            ({"domain_uuid": "D", "local_part": "a"}, "Missing required parameter: password."),
            ({"domain_uuid": "nope", "local_part": "a", "password": "p"}, "Invalid domain_uuid"),
            ({"domain_uuid": "D", "local_part": "a b", "password": "p"}, "Invalid local_part"),
            ({"domain_uuid": "D", "local_part": ".a", "password": "p"}, "Invalid local_part"),
            ({"domain_uuid": "D", "local_part": "a..b", "password": "p"}, "Invalid local_part"),
            ({"domain_uuid": "D", "local_part": "a@b", "password": "p"}, "Invalid local_part"),
            ({"domain_uuid": "D", "local_part": "x" * 65, "password": "p"}, "Invalid local_part"),
            ({"domain_uuid": "D", "local_part": 7, "password": "p"}, "Invalid local_part"),
            ({"domain_uuid": "D", "local_part": "a", "password": ""}, "Invalid password"),
            ({"domain_uuid": "D", "local_part": "a", "password": 1}, "Invalid password"),
            (
                {"domain_uuid": "D", "local_part": "a", "password": "p", "storage_gb": 0},
                "Invalid storage_gb: the minimum is 1.",
            ),
            (
                {"domain_uuid": "D", "local_part": "a", "password": "p", "storage_gb": True},
                "Invalid storage_gb: expected an integer.",
            ),
            (
                {"domain_uuid": "D", "local_part": "a", "password": "p", "storage_gb": 1.5},
                "Invalid storage_gb: expected an integer.",
            ),
            (
                {"domain_uuid": "D", "local_part": "a", "password": "p", "storage_gb": None},
                "Invalid storage_gb: expected an integer.",
            ),
            (
                {"domain_uuid": "D", "local_part": "a", "password": "p", "enabled": True},
                "Unknown parameter: enabled.",
            ),
        ],
    )
    async def test_create_validation(
        self, http: httpx.AsyncClient, body: dict[str, Any], message: str
    ) -> None:
        domain = await make_domain(http)
        if body.get("domain_uuid") == "D":
            body["domain_uuid"] = domain["uuid"]
        assert error(await http.post("/v1/mailboxes", json=body)).startswith(message)

    async def test_create_on_unknown_or_foreign_domain(
        self, http: httpx.AsyncClient, other: httpx.AsyncClient
    ) -> None:
        domain = await make_domain(http)
        for client, uuid in ((http, MISSING), (other, domain["uuid"])):
            body = {"domain_uuid": uuid, "local_part": "a", "password": "p"}
            assert error(await client.post("/v1/mailboxes", json=body)) == "Domain not found."

    async def test_addresses_unique_per_domain(self, http: httpx.AsyncClient) -> None:
        one, two = await make_domain(http, "one.example"), await make_domain(http, "two.example")
        await make_mailbox(http, one["uuid"], "alice")
        await make_mailbox(http, two["uuid"], "alice")  # same local part, other domain
        body = {"domain_uuid": one["uuid"], "local_part": "ALICE", "password": "p"}
        message = error(await http.post("/v1/mailboxes", json=body))
        assert message == "Address alice@one.example already exists."

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({}, "Nothing to update"),
            ({"enabled": "yes"}, "Invalid enabled: expected a boolean."),
            ({"enabled": 1}, "Invalid enabled: expected a boolean."),
            ({"storage_gb": 0}, "Invalid storage_gb: the minimum is 1."),
            ({"storage_gb": False}, "Invalid storage_gb: expected an integer."),
            ({"password": "new"}, "Unknown parameter: password."),
        ],
    )
    async def test_update_validation(
        self, http: httpx.AsyncClient, body: dict[str, Any], message: str
    ) -> None:
        mailbox = await make_mailbox(http, (await make_domain(http))["uuid"])
        response = await http.patch(f"/v1/mailboxes/{mailbox['uuid']}", json=body)
        assert error(response).startswith(message)

    async def test_update_unknown(self, http: httpx.AsyncClient) -> None:
        response = await http.patch(f"/v1/mailboxes/{MISSING}", json={"enabled": True})
        assert error(response) == "Mailbox not found."


@pytest.mark.parametrize("kind", ["whitelist", "blacklist"])
class TestLists:
    async def test_add_list_remove(
        self, http: httpx.AsyncClient, clock: FakeClock, kind: str
    ) -> None:
        mailbox = await make_mailbox(http, (await make_domain(http))["uuid"])
        url = f"/v1/mailboxes/{mailbox['uuid']}/{kind}"
        first = ok(await http.post(url, json={"pattern": "*@Trusted.com"}))["entry"]
        assert set(first) == {"uuid", "pattern", "created_at"}
        assert first["pattern"] == "*@trusted.com"
        assert TIMESTAMP.match(first["created_at"])
        clock.advance(1)
        second = ok(await http.post(url, json={"pattern": "noreply@example.com"}))["entry"]
        assert ok(await http.get(url))["data"] == [first, second]
        assert ok(await http.delete(f"{url}/{first['uuid']}"))["success"] is True
        assert ok(await http.get(url))["data"] == [second]
        assert error(await http.delete(f"{url}/{first['uuid']}")) == "Entry not found."

    async def test_lists_are_independent(self, http: httpx.AsyncClient, kind: str) -> None:
        mailbox = await make_mailbox(http, (await make_domain(http))["uuid"])
        ok(await http.post(f"/v1/mailboxes/{mailbox['uuid']}/{kind}", json={"pattern": "a@b.c"}))
        opposite = "blacklist" if kind == "whitelist" else "whitelist"
        assert ok(await http.get(f"/v1/mailboxes/{mailbox['uuid']}/{opposite}"))["data"] == []

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({}, "Missing required parameter: pattern."),
            ({"pattern": ""}, "Invalid pattern"),
            ({"pattern": 5}, "Invalid pattern"),
            ({"pattern": "a b@c.d"}, "Invalid pattern"),
            ({"pattern": "x" * 321}, "Invalid pattern"),
        ],
    )
    async def test_add_validation(
        self, http: httpx.AsyncClient, kind: str, body: dict[str, Any], message: str
    ) -> None:
        mailbox = await make_mailbox(http, (await make_domain(http))["uuid"])
        response = await http.post(f"/v1/mailboxes/{mailbox['uuid']}/{kind}", json=body)
        assert error(response).startswith(message)

    async def test_duplicate_pattern(self, http: httpx.AsyncClient, kind: str) -> None:
        mailbox = await make_mailbox(http, (await make_domain(http))["uuid"])
        url = f"/v1/mailboxes/{mailbox['uuid']}/{kind}"
        ok(await http.post(url, json={"pattern": "*@x.com"}))
        assert "already in the" in error(await http.post(url, json={"pattern": "*@X.com"}))

    async def test_unknown_mailbox(
        self, http: httpx.AsyncClient, other: httpx.AsyncClient, kind: str
    ) -> None:
        mailbox = await make_mailbox(http, (await make_domain(http))["uuid"])
        for client, uuid in ((http, MISSING), (other, mailbox["uuid"])):
            url = f"/v1/mailboxes/{uuid}/{kind}"
            assert error(await client.get(url)) == "Mailbox not found."
            assert error(await client.post(url, json={"pattern": "a@b.c"})) == "Mailbox not found."
            assert error(await client.delete(f"{url}/{MISSING}")) == "Mailbox not found."


class TestAliases:
    async def test_create_list_get_delete(self, http: httpx.AsyncClient) -> None:
        domain = await make_domain(http)
        alice = await make_mailbox(http, domain["uuid"], "alice")
        bob = await make_mailbox(http, domain["uuid"], "bob")
        body = {
            "domain_uuid": domain["uuid"],
            "local_part": "Info",
            "mailbox_uuids": [bob["uuid"], alice["uuid"], bob["uuid"]],
        }
        alias = ok(await http.post("/v1/aliases", json=body))["alias"]
        assert alias == {
            "uuid": alias["uuid"],
            "address": "info@example.com",
            "domain_uuid": domain["uuid"],
            "domain": "example.com",
            "forwarding_to": [
                {"uuid": bob["uuid"], "address": "bob@example.com"},
                {"uuid": alice["uuid"], "address": "alice@example.com"},
            ],
            "created_at": "2026-01-15T09:00:00.000000Z",
            "updated_at": "2026-01-15T09:00:00.000000Z",
        }
        assert ok(await http.get("/v1/aliases"))["data"] == [alias]
        assert ok(await http.get(f"/v1/aliases/{alias['uuid']}"))["alias"] == alias
        assert ok(await http.delete(f"/v1/aliases/{alias['uuid']}"))["success"] is True
        assert error(await http.get(f"/v1/aliases/{alias['uuid']}")) == "Alias not found."
        assert ok(await http.get(f"/v1/mailboxes/{alice['uuid']}"))["mailbox"] == alice

    @pytest.mark.parametrize(
        ("mailbox_uuids", "message"),
        [
            ([], "Invalid mailbox_uuids: at least one mailbox is required."),
            ("abc", "Invalid mailbox_uuids: expected an array"),
            (None, "Invalid mailbox_uuids: expected an array"),
            (["nope"], "Invalid mailbox_uuids item"),
            ([MISSING], "Mailbox not found."),
        ],
    )
    async def test_create_validation(
        self, http: httpx.AsyncClient, mailbox_uuids: object, message: str
    ) -> None:
        domain = await make_domain(http)
        body = {"domain_uuid": domain["uuid"], "local_part": "info", "mailbox_uuids": mailbox_uuids}
        assert error(await http.post("/v1/aliases", json=body)).startswith(message)

    async def test_missing_mailbox_uuids(self, http: httpx.AsyncClient) -> None:
        domain = await make_domain(http)
        body = {"domain_uuid": domain["uuid"], "local_part": "info"}
        message = error(await http.post("/v1/aliases", json=body))
        assert message == "Missing required parameter: mailbox_uuids."

    async def test_targets_must_be_on_the_alias_domain_and_account(
        self, http: httpx.AsyncClient, other: httpx.AsyncClient, emulator: Emulator
    ) -> None:
        emulator.store.allow_cross_domain_aliases = False  # a stricter server
        one, two = await make_domain(http, "one.example"), await make_domain(http, "two.example")
        alice = await make_mailbox(http, one["uuid"], "alice")
        body = {"domain_uuid": two["uuid"], "local_part": "info", "mailbox_uuids": [alice["uuid"]]}
        assert "is not on domain two.example" in error(await http.post("/v1/aliases", json=body))
        theirs = await make_domain(other, "theirs.example")
        body = {"domain_uuid": theirs["uuid"], "local_part": "x", "mailbox_uuids": [alice["uuid"]]}
        assert error(await other.post("/v1/aliases", json=body)) == "Mailbox not found."

    async def test_cross_domain_targets_when_allowed(self, clock: FakeClock) -> None:
        from .conftest import KEY, http_client

        emulator = Emulator(
            clock=clock,
            allow_cross_domain_aliases=True,
            api_keys=[KEY],
            requests_per_minute=6000,
            burst=100,
        )
        async with http_client(emulator) as http:
            one, two = (
                await make_domain(http, "one.example"),
                await make_domain(http, "two.example"),
            )
            alice = await make_mailbox(http, one["uuid"], "alice")
            body = {
                "domain_uuid": two["uuid"],
                "local_part": "info",
                "mailbox_uuids": [alice["uuid"]],
            }
            alias = ok(await http.post("/v1/aliases", json=body))["alias"]
            assert alias["forwarding_to"] == [
                {"uuid": alice["uuid"], "address": "alice@one.example"}
            ]

    async def test_address_shared_with_mailboxes(self, http: httpx.AsyncClient) -> None:
        domain = await make_domain(http)
        alice = await make_mailbox(http, domain["uuid"], "alice")
        body = {
            "domain_uuid": domain["uuid"],
            "local_part": "alice",
            "mailbox_uuids": [alice["uuid"]],
        }
        assert "already exists" in error(await http.post("/v1/aliases", json=body))
        body["local_part"] = "info"
        ok(await http.post("/v1/aliases", json=body))
        mailbox = {"domain_uuid": domain["uuid"], "local_part": "INFO", "password": "p"}
        assert "already exists" in error(await http.post("/v1/mailboxes", json=mailbox))


class TestCascades:
    async def test_deleting_a_mailbox_unlinks_it_from_aliases(
        self, http: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        domain = await make_domain(http)
        alice = await make_mailbox(http, domain["uuid"], "alice")
        bob = await make_mailbox(http, domain["uuid"], "bob")
        body = {
            "domain_uuid": domain["uuid"],
            "local_part": "team",
            "mailbox_uuids": [alice["uuid"], bob["uuid"]],
        }
        alias = ok(await http.post("/v1/aliases", json=body))["alias"]
        clock.advance(5)
        ok(await http.delete(f"/v1/mailboxes/{alice['uuid']}"))
        after = ok(await http.get(f"/v1/aliases/{alias['uuid']}"))["alias"]
        assert after["forwarding_to"] == [{"uuid": bob["uuid"], "address": "bob@example.com"}]
        assert after["updated_at"] == "2026-01-15T09:00:05.000000Z"
        ok(await http.delete(f"/v1/mailboxes/{bob['uuid']}"))
        assert ok(await http.get(f"/v1/aliases/{alias['uuid']}"))["alias"]["forwarding_to"] == []
        # The address of a deleted mailbox is free again.
        await make_mailbox(http, domain["uuid"], "alice")

    async def test_deleting_a_domain_cascades(
        self, http: httpx.AsyncClient, emulator: Emulator
    ) -> None:
        keep = await make_domain(http, "keep.example")
        kept = await make_mailbox(http, keep["uuid"], "k")
        domain = await make_domain(http)
        alice = await make_mailbox(http, domain["uuid"], "alice")
        ok(await http.post(f"/v1/mailboxes/{alice['uuid']}/whitelist", json={"pattern": "a@b.c"}))
        body = {
            "domain_uuid": domain["uuid"],
            "local_part": "info",
            "mailbox_uuids": [alice["uuid"]],
        }
        alias = ok(await http.post("/v1/aliases", json=body))["alias"]
        ok(await http.delete(f"/v1/domains/{domain['uuid']}"))
        assert error(await http.get(f"/v1/mailboxes/{alice['uuid']}")) == "Mailbox not found."
        assert error(await http.get(f"/v1/aliases/{alias['uuid']}")) == "Alias not found."
        assert ok(await http.get("/v1/mailboxes"))["data"] == [kept]
        assert ok(await http.get("/v1/aliases"))["data"] == []
        record = domain["dns_records"][0]["uuid"]
        with pytest.raises(ValueError, match="DNS record not found"):
            emulator.set_dns_record(record, status=2)
        # The name is free again.
        await make_domain(http, "example.com")


class TestRouting:
    async def test_unknown_endpoint(self, http: httpx.AsyncClient) -> None:
        assert error(await http.get("/v1/nothing")) == "Unknown endpoint: GET /v1/nothing."
        assert error(await http.get("/")) == "Unknown endpoint: GET /."

    async def test_method_not_allowed(self, http: httpx.AsyncClient) -> None:
        message = error(await http.put("/v1/domains", json={}))
        assert message == "Method not allowed: PUT /v1/domains."

    async def test_unknown_endpoint_still_needs_a_key(self, emulator: Emulator) -> None:
        from .conftest import http_client

        async with http_client(emulator, None) as anonymous:
            error(await anonymous.get("/v1/nothing"), 401, "auth_error")


async def test_seeded_emulators_make_the_same_uuids() -> None:
    from .conftest import KEY, http_client

    names = []
    for _ in range(2):
        emulator = Emulator(clock=FakeClock(), seed=42, api_keys=[KEY])
        async with http_client(emulator) as http:
            names.append(await make_domain(http))
    assert names[0] == names[1]
    unseeded = Emulator(clock=FakeClock(), api_keys=[KEY])
    async with http_client(unseeded) as http:
        assert (await make_domain(http))["uuid"] != names[0]["uuid"]


async def test_an_internal_bug_is_a_500_api_error(
    http: httpx.AsyncClient, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(account: str) -> None:
        raise KeyError(account)

    monkeypatch.setattr(emulator.store, "list_domains", broken)
    message = error(await http.get("/v1/domains"), 500, "api_error")
    assert message == "Internal server error."
    assert emulator.stats.statuses[500] == 1


async def test_head_is_allowed_where_get_is(http: httpx.AsyncClient) -> None:
    response = await http.head("/v1/ping")
    assert response.status_code == 200
    assert response.content == b""


async def test_a_trailing_newline_is_never_accepted(http: httpx.AsyncClient) -> None:
    assert "not a fully-qualified" in error(
        await http.post("/v1/domains", json={"name": "a.example\n"})
    )
    domain = await make_domain(http)
    body = {"domain_uuid": domain["uuid"], "local_part": "alice\n", "password": "pw"}
    assert "not a valid local part" in error(await http.post("/v1/mailboxes", json=body))
    body = {"domain_uuid": domain["uuid"] + "\n", "local_part": "alice", "password": "pw"}
    error(await http.post("/v1/mailboxes", json=body))
