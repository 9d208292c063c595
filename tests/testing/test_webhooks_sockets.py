"""Webhook delivery over real sockets: every event type, verified twice, retried, ordered, async."""

from __future__ import annotations

import socket

import pytest
import standardwebhooks

from clubsmtp_async.testing import (
    DeliverySettings,
    Emulator,
    EmulatorServer,
    WebhookRecorder,
    serve,
)
from clubsmtp_async.webhooks import EVENT_TYPES

from .receivers import GatedReceiver, serve_app

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

FAST = DeliverySettings(retry_delays=(0.02, 0.02, 0.02, 0.02), timeout=5)


def make_emulator() -> Emulator:
    return Emulator(requests_per_minute=60_000, burst=1_000, webhook_settings=FAST)


async def every_change(server: EmulatorServer) -> None:
    """Cause each of the 15 event types once, through /v1 and the admin API."""
    async with server.client(requests_per_minute=None) as client, server.http_client() as admin:
        domain = await client.domains.create(name="acme.example")
        mailbox = await client.mailboxes.create(domain_uuid=domain.uuid, local_part="alice",
                                                password="pw")
        alias = await client.aliases.create(domain_uuid=domain.uuid, local_part="info",
                                            mailbox_uuids=[mailbox.uuid])
        await client.mailboxes.update(mailbox.uuid, storage_gb=20)
        await client.mailboxes.update(mailbox.uuid, enabled=False)
        await client.mailboxes.update(mailbox.uuid, enabled=True)
        response = await admin.post(f"/_admin/domains/{domain.uuid}/verify")
        assert response.status_code == 200
        for event_type in ("invite.created", "invite.accepted", "invite.expired",
                           "invoice.created", "invoice.paid"):
            response = await admin.post("/_admin/webhooks/events", json={
                "type": event_type, "object": {"uuid": f"obj-{event_type}"}})
            assert response.status_code == 200, response.text
        await client.aliases.delete(alias.uuid)
        await client.mailboxes.delete(mailbox.uuid)
        await client.domains.delete(domain.uuid)


async def test_every_event_type_end_to_end() -> None:
    recorder = WebhookRecorder()
    emulator = make_emulator()
    async with serve_app(recorder) as url, serve(emulator) as server:
        emulator.webhooks.add_endpoint(f"{url}/hooks", secret=recorder.secret)
        await every_change(server)
        await emulator.webhooks.wait_delivered(len(EVENT_TYPES))
    types = [event.type for event in recorder.events]
    assert sorted(types) == sorted(EVENT_TYPES)  # each exactly once
    assert recorder.rejected == 0  # each passed clubsmtp_async.webhooks.verify
    reference = standardwebhooks.Webhook(recorder.secret)
    for item in recorder.received:
        assert isinstance(item.event, EVENT_TYPES[item.event.type])
        payload = reference.verify(item.body, item.headers)
        assert payload["id"] == item.headers["webhook-id"] == item.event.id
    invoice = next(e for e in recorder.events if e.type == "invoice.paid")
    assert invoice.data.object == {"uuid": "obj-invoice.paid"}


async def test_retries_with_the_same_id_after_failures_and_refused_connections() -> None:
    recorder = WebhookRecorder()
    recorder.fail_next(2, status=500)
    emulator = make_emulator()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}/"  # bound, never listening
    async with serve_app(recorder) as url, serve(emulator) as server:
        emulator.webhooks.add_endpoint(url, secret=recorder.secret)
        emulator.webhooks.add_endpoint(dead_url)
        async with server.client(requests_per_minute=None) as client:
            await client.domains.create(name="acme.example")
        await emulator.webhooks.wait_delivered(1)
        await emulator.webhooks.wait_idle()
    closed.close()
    live, dead = emulator.webhooks.deliveries
    assert [a.status_code for a in live.attempts] == [500, 500, 204]
    assert [item.headers["webhook-id"] for item in recorder.received] == [live.event.id]
    assert dead.state == "failed"
    assert len(dead.attempts) == 1 + len(FAST.retry_delays)
    assert all(a.status_code is None and a.error for a in dead.attempts)


async def test_order_per_endpoint() -> None:
    recorder = WebhookRecorder()
    recorder.fail_next(3)  # early failures must not let later events overtake
    emulator = make_emulator()
    async with serve_app(recorder) as url, serve(emulator) as server:
        emulator.webhooks.add_endpoint(url, secret=recorder.secret)
        async with server.client(requests_per_minute=None) as client:
            names = [f"d{i:02}.example" for i in range(20)]
            for name in names:
                await client.domains.create(name=name)
        await emulator.webhooks.wait_delivered(20)
    assert [e.data.object.name for e in recorder.events] == names  # type: ignore[union-attr]


async def test_a_slow_receiver_does_not_slow_the_api() -> None:
    gate = GatedReceiver()
    emulator = make_emulator()
    async with serve_app(gate) as url, serve(emulator) as server:
        emulator.webhooks.add_endpoint(url)
        async with server.client(requests_per_minute=None) as client:
            await client.domains.create(name="first.example")
            await gate.arrived.wait()  # the receiver now holds the first delivery
            # These calls complete while the receiver still holds it:
            await client.domains.create(name="second.example")
            await client.domains.list()
            assert not gate.release.is_set()
            assert emulator.webhooks.pending == 2
            gate.release.set()
            await emulator.webhooks.wait_delivered(2)
    assert len(gate.bodies) == 2


async def test_admin_log_and_endpoints_over_http() -> None:
    recorder = WebhookRecorder()
    emulator = make_emulator()
    async with serve_app(recorder) as url, serve(emulator) as server, \
        server.http_client() as admin:
        created = (await admin.post("/_admin/webhooks/endpoints", json={
            "url": url, "secret": recorder.secret})).json()["endpoint"]
        assert created["secret"] == recorder.secret
        listed = (await admin.get("/_admin/webhooks/endpoints")).json()["data"]
        assert listed == [{k: v for k, v in created.items() if k != "secret"}]
        await admin.post("/_admin/webhooks/events", json={"type": "invite.created"})
        await emulator.webhooks.wait_delivered(1)
        log = (await admin.get("/_admin/webhooks/deliveries",
                               params={"state": "delivered"})).json()["data"]
        status = (await admin.get("/_admin/webhooks")).json()["webhooks"]
    assert [entry["event_type"] for entry in log] == ["invite.created"]
    attempt = log[0]["attempts"][0]
    assert attempt["status_code"] == 204
    assert attempt["latency_ms"] >= 0
    assert status == {"running": True, "delivered": 1, "failed": 0, "pending": 0}
