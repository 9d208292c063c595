"""examples/webhook_receiver.py, driven end to end against the in-process emulator."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clubsmtp_async import AsyncClient
from clubsmtp_async.testing import Emulator
from clubsmtp_async.webhooks import StandardWebhooksVerifier, sign

EXAMPLE = Path(__file__).parents[2] / "examples" / "webhook_receiver.py"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_800_000_000


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_receiver_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


receiver = load_example()


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan as a server would, and send requests to it in process.

    (Starlette's TestClient would do this, but warns on plain httpx.)
    """
    state: dict[str, Any] = {}
    to_app, app_inbox = anyio.create_memory_object_stream[Message](1)
    app_outbox, from_app = anyio.create_memory_object_stream[Message](1)

    async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "state": dict(state)}, receive, send)

    async with to_app, app_inbox, app_outbox, from_app, anyio.create_task_group() as tg:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
        tg.start_soon(app, scope, app_inbox.receive, app_outbox.send)
        await to_app.send({"type": "lifespan.startup"})
        assert (await from_app.receive())["type"] == "lifespan.startup.complete"
        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as http:
            yield http
        await to_app.send({"type": "lifespan.shutdown"})
        assert (await from_app.receive())["type"] == "lifespan.shutdown.complete"


class Delivery:
    """Signed POSTs to the receiver, as ClubSMTP (or an attacker) would send them."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.count = 0

    def body(self, event_type: str, obj: Any) -> bytes:
        self.count += 1
        return json.dumps({"id": f"evt_{self.count}", "type": event_type, "created": NOW,
                           "data": {"object": obj}}).encode()

    async def post(self, body: bytes, *, secret: str = SECRET, timestamp: int = NOW,
                   headers: dict[str, str] | None = None) -> int:
        signed = sign(body, secret, msg_id=f"msg_{self.count}", timestamp=timestamp)
        response = await self.http.post(receiver.PATH, content=body, headers=headers or signed)
        return response.status_code


@asynccontextmanager
async def receiving(emulator: Emulator) -> AsyncIterator[Delivery]:
    clients: list[AsyncClient] = []

    def factory() -> AsyncClient:
        clients.append(emulator.client(requests_per_minute=None, max_retries=0))
        return clients[-1]

    app = receiver.create_app(
        verifier=StandardWebhooksVerifier(SECRET, clock=lambda: NOW), client_factory=factory
    )
    assert clients == []
    async with served(app) as http:
        assert len(clients) == 1  # opened once, by the lifespan
        yield Delivery(http)
        assert len(clients) == 1
    assert clients[0].is_closed  # closed by the lifespan


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(api_keys=["sk_test_receiver"], requests_per_minute=60_000, burst=100)


@pytest.fixture
def seeded(emulator: Emulator) -> dict[str, Any]:
    return emulator.seed({"domains": [{"name": "acme.example", "mailboxes": [
        {"local_part": "alice", "password": "correct-horse-battery-1"}]}]})


def whitelist(emulator: Emulator) -> list[str]:
    (mailbox,) = emulator.snapshot()["mailboxes"]
    return [entry["pattern"] for entry in mailbox["whitelist"]]


@pytest.mark.anyio
async def test_mailbox_created_whitelists_the_own_domain(
    emulator: Emulator, seeded: dict[str, Any]
) -> None:
    (mailbox,) = seeded["mailboxes"]
    async with receiving(emulator) as delivery:
        body = delivery.body("mailbox.created", mailbox)
        assert await delivery.post(body) == 204
        assert whitelist(emulator) == ["*@acme.example"]
        assert await delivery.post(body) == 204  # redelivered: handled idempotently
    assert whitelist(emulator) == ["*@acme.example"]


@pytest.mark.anyio
async def test_forged_stale_or_unsigned_deliveries_are_refused(
    emulator: Emulator, seeded: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    (mailbox,) = seeded["mailboxes"]
    forged = "whsec_" + "QUJDRA" * 4
    with caplog.at_level(logging.WARNING, logger="webhook_receiver"):
        async with receiving(emulator) as delivery:
            body = delivery.body("mailbox.created", mailbox)
            assert await delivery.post(body, secret=forged) == 400
            assert await delivery.post(body, timestamp=NOW - 3600) == 400
            assert await delivery.post(body, headers={"content-type": "application/json"}) == 400
    assert whitelist(emulator) == []
    assert "no webhook-signature entry matches" in caplog.text
    assert "3600 s old" in caplog.text
    assert "missing webhook-id header" in caplog.text
    assert SECRET.removeprefix("whsec_") not in caplog.text


@pytest.mark.anyio
async def test_malformed_authentic_payload_is_refused(emulator: Emulator) -> None:
    async with receiving(emulator) as delivery:
        assert await delivery.post(b"<html>not json</html>") == 400
        assert await delivery.post(delivery.body("mailbox.created", {"uuid": "m1"})) == 400


@pytest.mark.anyio
async def test_other_and_unknown_events_are_acknowledged(
    emulator: Emulator, seeded: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    (domain,) = seeded["domains"]
    emulator.verify_domain(domain["uuid"])
    (domain,) = emulator.snapshot()["domains"]
    domain.pop("account")
    with caplog.at_level(logging.DEBUG, logger="webhook_receiver"):
        async with receiving(emulator) as delivery:
            assert await delivery.post(delivery.body("domain.dns_status_changed", domain)) == 204
            assert await delivery.post(delivery.body("invoice.paid", {"uuid": "in_1"})) == 204
            assert await delivery.post(delivery.body("mailbox.quota_exceeded", {"u": 1})) == 204
    assert "acme.example: 6 of 6 DNS records OK" in caplog.text
    assert "ignored invoice.paid evt_2" in caplog.text
    assert "ignored mailbox.quota_exceeded evt_3" in caplog.text


@pytest.mark.anyio
async def test_mailbox_already_deleted_is_not_an_error(
    emulator: Emulator, seeded: dict[str, Any]
) -> None:
    (mailbox,) = seeded["mailboxes"]
    gone = {**mailbox, "uuid": "01a21093-0000-7000-8000-000000000000"}
    async with receiving(emulator) as delivery:
        assert await delivery.post(delivery.body("mailbox.created", gone)) == 204


def test_missing_secret_is_a_clear_startup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLUBSMTP_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SystemExit, match="CLUBSMTP_WEBHOOK_SECRET"):
        receiver.create_app()
    monkeypatch.setenv("CLUBSMTP_WEBHOOK_SECRET", SECRET)
    assert receiver.create_app().routes


# --- Any forged delivery gets a 4xx, never a 500 ------------------------------------------------

forged_header_values = st.binary(max_size=80) | st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80
)
forged_headers = st.fixed_dictionaries(
    {},
    optional={name: forged_header_values
              for name in ("webhook-id", "webhook-timestamp", "webhook-signature")},
)
forged_bodies = st.binary(max_size=300) | st.just(b"x" * (receiver.MAX_BODY + 1))


@pytest.mark.anyio
# The receiver stops reading an oversized body, so httpx's in-process transport (the
# test's client) is left with its request-body generator unfinished; trio reports it.
@pytest.mark.filterwarnings(
    "ignore:Async generator 'httpx._content.ByteStream.__aiter__':ResourceWarning"
)
@settings(max_examples=15, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(deliveries=st.lists(st.tuples(forged_headers, forged_bodies), min_size=1, max_size=12))
async def test_any_forged_delivery_gets_a_4xx(
    emulator: Emulator, deliveries: list[tuple[dict[str, Any], bytes]]
) -> None:
    async with receiving(emulator) as delivery:
        for headers, body in deliveries:
            # Raw header bytes reach the app as sent (Starlette decodes them as latin-1).
            response = await delivery.http.post(receiver.PATH, content=body, headers=headers)
            expected = 413 if len(body) > receiver.MAX_BODY else 400
            assert response.status_code == expected


@pytest.mark.anyio
async def test_a_signed_body_with_forged_header_bytes_is_refused(
    emulator: Emulator, seeded: dict[str, Any]
) -> None:
    (mailbox,) = seeded["mailboxes"]
    async with receiving(emulator) as delivery:
        body = delivery.body("mailbox.created", mailbox)
        signed = sign(body, SECRET, msg_id="msg_1", timestamp=NOW)
        for name in signed:
            raw = {**signed, name: signed[name].encode() + b"\xe9\xff"}
            assert await delivery.post(body, headers=raw) == 400  # type: ignore[arg-type]
    assert whitelist(emulator) == []
