"""``POST /webhooks/clubsmtp``: verified, answered at once, dispatched by type."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from clubsmtp_service.app import create_app
from clubsmtp_service.events import EventHandlers
from clubsmtp_service.resources import get_client
from clubsmtp_service.webhooks import PATH
from starlette.types import Receive, Scope, Send

from clubsmtp_async import AsyncClient
from clubsmtp_async.testing import Emulator, build_event
from clubsmtp_async.webhooks import Event, sign

from .conftest import SECRET, TestClient, service_settings


class Recorder:
    """Handlers that remember what they were called with."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.handlers = EventHandlers()
        self.handlers.on("domain.created", "mailbox.created")(self.record)

    async def record(self, event: Event, client: AsyncClient) -> None:
        self.events.append(event)


def signed(payload: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    headers = sign(body, secret, msg_id=f"msg_{uuid.uuid4().hex}", timestamp=time.time())
    return body, {**headers, "content-type": "application/json"}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def hooks(service_factory: Callable[..., TestClient], recorder: Recorder) -> TestClient:
    return service_factory(handlers=recorder.handlers)


def test_a_signed_delivery_is_204_and_dispatched(hooks: TestClient, recorder: Recorder) -> None:
    body, headers = signed(build_event("domain.created"))
    response = hooks.post(PATH, content=body, headers=headers)
    assert response.status_code == 204
    assert [event.type for event in recorder.events] == ["domain.created"]


def test_a_bad_signature_is_400_and_not_dispatched(hooks: TestClient,
                                                    recorder: Recorder) -> None:
    body, headers = signed(build_event("domain.created"), secret="whsec_" + "A" * 32)
    response = hooks.post(PATH, content=body, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"detail": "invalid webhook"}
    assert recorder.events == []


@pytest.mark.parametrize("change", ["no headers", "tampered body", "old timestamp"])
def test_forgeries_are_400(hooks: TestClient, recorder: Recorder, change: str) -> None:
    body, headers = signed(build_event("mailbox.created"))
    if change == "no headers":
        headers = {}
    elif change == "tampered body":
        body = body.replace(b"mailbox.created", b"mailbox.deleted")
    else:
        headers = sign(body, SECRET, msg_id="msg_old", timestamp=time.time() - 3600)
    assert hooks.post(PATH, content=body, headers=headers).status_code == 400
    assert recorder.events == []


def test_a_signed_body_that_is_not_an_event_is_400(hooks: TestClient) -> None:
    body = b'{"hello": "world"}'
    headers = sign(body, SECRET, msg_id="msg_1", timestamp=time.time())
    assert hooks.post(PATH, content=body, headers=headers).status_code == 400


def test_an_event_without_handlers_is_204(hooks: TestClient, recorder: Recorder) -> None:
    for payload in (build_event("invoice.paid"),
                    {"id": "evt_1", "type": "domain.renamed", "created": 1,
                     "data": {"object": {}}}):
        body, headers = signed(payload)
        assert hooks.post(PATH, content=body, headers=headers).status_code == 204
    assert recorder.events == []


def test_without_a_secret_deliveries_are_503(service_factory: Callable[..., TestClient]) -> None:
    service = service_factory(settings=service_settings(webhook_secret=None))
    body, headers = signed(build_event("domain.created"))
    response = service.post(PATH, content=body, headers=headers)
    assert response.status_code == 503
    assert "CLUBSMTP_WEBHOOK_SECRET" in response.json()["detail"]


def test_the_default_handler_whitelists_a_new_mailboxs_domain(
        service: TestClient, clubsmtp_emulator: Emulator) -> None:
    seeded = clubsmtp_emulator.seed({"domains": [{"name": "acme.example",
                                                  "mailboxes": [{"local_part": "alice"}]}]})
    mailbox = seeded["mailboxes"][0]
    body, headers = signed(build_event("mailbox.created", data=mailbox))
    for _ in range(2):  # a redelivery changes nothing
        assert service.post(PATH, content=body, headers=headers).status_code == 204
    [stored] = clubsmtp_emulator.snapshot()["mailboxes"]
    assert [entry["pattern"] for entry in stored["whitelist"]] == ["*@acme.example"]


@pytest.mark.asyncio
async def test_the_emulators_own_deliveries_reach_the_handlers(
        clubsmtp_emulator: Emulator, recorder: Recorder) -> None:
    app = create_app(settings=service_settings(), handlers=recorder.handlers)
    async with clubsmtp_emulator.client(requests_per_minute=None) as client, \
            app.router.lifespan_context(app) as state:
        app.dependency_overrides[get_client] = lambda: client

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            await app({**scope, "state": dict(state or {})}, receive, send)  # as a server would

        clubsmtp_emulator.webhooks.add_endpoint(f"http://service{PATH}", app=with_state,
                                                secret=SECRET)
        async with clubsmtp_emulator.running():
            domain = await client.domains.create(name="acme.example")
            await client.mailboxes.create(domain_uuid=domain.uuid, local_part="bob",
                                          password="pw-0123456789")
            await clubsmtp_emulator.webhooks.wait_delivered(2)
    assert [event.type for event in recorder.events] == ["domain.created", "mailbox.created"]
    assert all(d.state == "delivered" for d in clubsmtp_emulator.webhooks.deliveries)
