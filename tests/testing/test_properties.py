"""Property-based: whatever arrives at /v1 or /_admin, the emulator never answers 500.

Each example is a short sequence of requests against a fresh emulator that
already holds a domain, a mailbox, an alias and a webhook endpoint, so paths
and bodies can name real objects as well as made-up ones.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clubsmtp_async.testing import Emulator

KEY = "sk_test_" + "f6" * 36
DOCUMENTED = {200, 400, 401, 403, 429}
ERROR_TYPES = {"invalid_request_error", "auth_error", "security_error", "rate_limit_error"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=3),
    max_leaves=8,
)
FIELDS = ["name", "domain_uuid", "local_part", "password", "storage_gb", "enabled", "pattern",
          "mailbox_uuids", "key", "live", "account", "scopes", "cidrs", "expires_at",
          "expires_in", "requests_per_minute", "burst", "status", "expected_value",
          "actual_value", "last_checked_at", "kind", "method", "path", "seconds", "max_seconds",
          "times", "probability", "message", "type", "body", "content_type", "after_processing",
          "retry_after", "seed", "url", "secret", "events", "object", "keys", "webhooks",
          "domains", "mailboxes", "aliases", "forward_to"]
KINDS = ["latency", "error_before", "error_after", "drop", "rate_limit", "other"]

ROUTES = [
    ("GET", "/v1/ping"), ("GET", "/v1/domains"), ("POST", "/v1/domains"),
    ("GET", "/v1/domains/{d}"), ("DELETE", "/v1/domains/{d}"), ("GET", "/v1/mailboxes"),
    ("POST", "/v1/mailboxes"), ("GET", "/v1/mailboxes/{m}"), ("PATCH", "/v1/mailboxes/{m}"),
    ("DELETE", "/v1/mailboxes/{m}"), ("GET", "/v1/mailboxes/{m}/whitelist"),
    ("POST", "/v1/mailboxes/{m}/blacklist"), ("DELETE", "/v1/mailboxes/{m}/whitelist/{x}"),
    ("GET", "/v1/aliases"), ("POST", "/v1/aliases"), ("GET", "/v1/aliases/{a}"),
    ("DELETE", "/v1/aliases/{a}"), ("PUT", "/v1/domains"), ("GET", "/v1/{x}"),
    ("GET", "/_admin/keys"), ("POST", "/_admin/keys"), ("DELETE", "/_admin/keys/{x}"),
    ("POST", "/_admin/reset"), ("POST", "/_admin/seed"), ("GET", "/_admin/state"),
    ("PATCH", "/_admin/dns-records/{r}"), ("POST", "/_admin/domains/{d}/verify"),
    ("GET", "/_admin/stats"), ("DELETE", "/_admin/stats"), ("GET", "/_admin/faults"),
    ("POST", "/_admin/faults"), ("DELETE", "/_admin/faults"), ("POST", "/_admin/faults/seed"),
    ("DELETE", "/_admin/faults/{x}"), ("GET", "/_admin/webhooks"),
    ("GET", "/_admin/webhooks/endpoints"), ("POST", "/_admin/webhooks/endpoints"),
    ("DELETE", "/_admin/webhooks/endpoints/{w}"), ("GET", "/_admin/webhooks/events"),
    ("POST", "/_admin/webhooks/events"), ("GET", "/_admin/webhooks/deliveries"),
    ("POST", "/_admin/nothing"),
]


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(st.binary(max_size=30))
    if choice == 1:
        return json.dumps(draw(json_values)).encode()
    body = draw(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5))
    if choice <= 3:
        body["kind"] = draw(st.sampled_from(KINDS))
    return json.dumps(body).encode()


requests = st.tuples(st.sampled_from(ROUTES), st.integers(0, 3), bodies(),
                     st.sampled_from([KEY, None, "sk_test_unknown"]))


def fresh() -> tuple[Emulator, dict[str, list[str]]]:
    emulator = Emulator(seed=1, requests_per_minute=60_000, burst=1_000, api_keys=[KEY])
    created = emulator.seed({"domains": [{"name": "acme.example", "mailboxes": [
        {"local_part": "alice", "whitelist": ["*@ok.example"]}],
        "aliases": [{"local_part": "info", "forward_to": ["alice"]}]}]})
    endpoint = emulator.webhooks.add_endpoint("http://127.0.0.1:9/")
    mailbox = created["mailboxes"][0]["uuid"]
    entry = next(iter(emulator.store.mailboxes[mailbox].whitelist))
    ids = {
        "d": [created["domains"][0]["uuid"]], "m": [mailbox], "a": [created["aliases"][0]["uuid"]],
        "r": [created["domains"][0]["dns_records"][0]["uuid"]], "w": [endpoint.id],
        "x": [entry, "fault_1", KEY],
    }
    return emulator, ids


def path_for(template: str, ids: dict[str, list[str]], pick: int) -> str:
    for name, values in ids.items():
        made_up = ["0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b", "not-a-uuid", "%E2%98%83", "*"]
        options = values + made_up
        template = template.replace("{" + name + "}", options[pick % len(options)])
    return template


class _FailOnHandlerErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(requests, min_size=1, max_size=6))
def test_the_emulator_never_answers_500(sequence: list[Any]) -> None:
    emulator, ids = fresh()
    handler = _FailOnHandlerErrors()
    logger = logging.getLogger("clubsmtp_async.testing")
    logger.addHandler(handler)

    async def run() -> None:
        transport = emulator.transport()
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            for (method, template), pick, body, key in sequence:
                headers = {"Authorization": f"Bearer {key}"} if key else {}
                response = await http.request(method, path_for(template, ids, pick),
                                              content=body, headers=headers)
                check(response)

    try:
        anyio.run(run)
    finally:
        logger.removeHandler(handler)
    assert handler.records == []


def check(response: httpx.Response) -> None:
    assert response.status_code in DOCUMENTED, (response.status_code, response.text)
    payload = response.json()
    assert isinstance(payload["errors"], list)
    if response.status_code != 200:
        (error,) = payload["errors"]
        assert error["type"] in ERROR_TYPES
        assert isinstance(error["message"], str)
        assert error["message"]
