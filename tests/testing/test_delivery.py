"""Webhook delivery in process (ASGI receivers): order, retries, log, waits; asyncio and trio."""

from __future__ import annotations

import pytest

from clubsmtp_async import AsyncClient
from clubsmtp_async.testing import (
    DeliverySettings,
    Emulator,
    WebhookRecorder,
)
from clubsmtp_async.webhooks import DomainCreated, MailboxCreated, verify

pytestmark = pytest.mark.anyio

FAST = DeliverySettings(retry_delays=(0.01, 0.01, 0.01), timeout=5)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make() -> tuple[Emulator, WebhookRecorder]:
    emulator = Emulator(requests_per_minute=60_000, burst=1_000, webhook_settings=FAST)
    recorder = WebhookRecorder()
    emulator.webhooks.add_endpoint(app=recorder, secret=recorder.secret)
    return emulator, recorder


async def test_events_arrive_signed_and_in_order() -> None:
    emulator, recorder = make()
    async with emulator.running(), emulator.client(requests_per_minute=None) as client:
        names = [f"d{i}.example" for i in range(10)]
        for name in names:
            await client.domains.create(name=name)
        await emulator.webhooks.wait_delivered(10)
    assert [event.data.object.name for event in recorder.events] == names  # type: ignore[union-attr]
    assert all(isinstance(event, DomainCreated) for event in recorder.events)
    for item in recorder.received:
        verify(item.body, item.headers, recorder.secret)
        assert item.headers["webhook-id"] == item.event.id
    assert recorder.rejected == 0


async def test_retries_keep_the_webhook_id_and_the_order() -> None:
    emulator, recorder = make()
    recorder.fail_next(2, status=503)
    async with emulator.running(), emulator.client(requests_per_minute=None) as client:
        await client.domains.create(name="a.example")
        await client.domains.create(name="b.example")
        await emulator.webhooks.wait_delivered(2)
    first, second = emulator.webhooks.deliveries
    assert [a.status_code for a in first.attempts] == [503, 503, 204]
    assert [a.number for a in first.attempts] == [1, 2, 3]
    assert [a.status_code for a in second.attempts] == [204]  # waited its turn
    assert [e.data.object.name for e in recorder.events] == ["a.example", "b.example"]  # type: ignore[union-attr]
    assert recorder.received[0].headers["webhook-id"] == first.event.id


async def test_a_delivery_fails_after_its_last_retry_and_the_next_goes() -> None:
    emulator, recorder = make()
    recorder.fail_next(4)  # 1 attempt + 3 retries
    async with emulator.running():
        emulator.emit_event("invoice.paid")
        emulator.emit_event("invoice.created")
        await emulator.webhooks.wait_idle()
    failed, delivered = emulator.webhooks.deliveries
    assert (failed.state, len(failed.attempts)) == ("failed", 4)
    assert delivered.state == "delivered"
    assert (emulator.webhooks.delivered, emulator.webhooks.failed) == (1, 1)
    assert [e.type for e in recorder.events] == ["invoice.created"]


async def test_a_crashing_receiver_is_a_failed_attempt() -> None:
    emulator = Emulator(webhook_settings=DeliverySettings(retry_delays=()))
    calls = []

    async def crash(scope: object, receive: object, send: object) -> None:
        calls.append(1)
        raise RuntimeError("receiver bug")

    emulator.webhooks.add_endpoint(app=crash)
    async with emulator.running():
        emulator.emit_event("invite.created")
        await emulator.webhooks.wait_idle()
    (delivery,) = emulator.webhooks.deliveries
    assert delivery.state == "failed"
    assert delivery.attempts[0].error == "RuntimeError: receiver bug"
    assert calls == [1]


async def test_endpoints_get_their_account_and_types_only() -> None:
    emulator = Emulator(requests_per_minute=60_000, burst=1_000, webhook_settings=FAST)
    everything, mailboxes_only, other = WebhookRecorder(), WebhookRecorder(), WebhookRecorder()
    for recorder, kwargs in ((everything, {}), (mailboxes_only, {"event_types": [
            "mailbox.created"]}), (other, {"account": "other"})):
        emulator.webhooks.add_endpoint(app=recorder, secret=recorder.secret, **kwargs)
    async with emulator.running(), emulator.client(requests_per_minute=None) as client:
        domain = await client.domains.create(name="acme.example")
        await client.mailboxes.create(domain_uuid=domain.uuid, local_part="a", password="pw")
        await emulator.webhooks.wait_delivered(3)
    assert [e.type for e in everything.events] == ["domain.created", "mailbox.created"]
    assert [type(e) for e in mailboxes_only.events] == [MailboxCreated]
    assert other.events == []


async def test_events_wait_for_running_and_are_delivered_then() -> None:
    emulator, recorder = make()
    emulator.seed({"domains": [{"name": "acme.example"}]})  # no delivery running yet
    assert emulator.webhooks.pending == 1
    with pytest.raises(RuntimeError, match="not running"):
        await emulator.webhooks.wait_delivered(1)
    async with emulator.running():
        await emulator.webhooks.wait_delivered(1)
    assert [e.type for e in recorder.events] == ["domain.created"]


async def test_wait_times_out_with_the_counts() -> None:
    emulator, _recorder = make()
    async with emulator.running():
        with pytest.raises(TimeoutError, match="delivered 0, failed 0, pending 0"):
            await emulator.webhooks.wait_delivered(1, timeout=0.05)


async def test_an_endpoint_added_while_running_gets_later_events() -> None:
    emulator = Emulator(webhook_settings=FAST)
    async with emulator.running():
        emulator.emit_event("invite.created")
        recorder = WebhookRecorder()
        emulator.webhooks.add_endpoint(app=recorder, secret=recorder.secret)
        emulator.emit_event("invite.accepted")
        await emulator.webhooks.wait_delivered(1)
    assert [e.type for e in recorder.events] == ["invite.accepted"]


async def test_removing_an_endpoint_cancels_its_deliveries() -> None:
    emulator, _recorder = make()
    endpoint = emulator.webhooks.endpoints[0]
    emulator.emit_event("invite.created")
    assert emulator.webhooks.remove_endpoint(endpoint.id)
    assert not emulator.webhooks.remove_endpoint(endpoint.id)
    assert [d.state for d in emulator.webhooks.deliveries] == ["cancelled"]
    assert emulator.webhooks.pending == 0


async def test_stopping_mid_retry_keeps_the_delivery_pending() -> None:
    emulator = Emulator(webhook_settings=DeliverySettings(retry_delays=(3600,)))
    recorder = WebhookRecorder()
    recorder.fail_next(1)
    emulator.webhooks.add_endpoint(app=recorder, secret=recorder.secret)
    async with emulator.running():
        emulator.emit_event("invite.created")
        delivery = emulator.webhooks.deliveries[0]
        while not delivery.attempts:  # the first attempt fails, then the retry waits an hour
            await emulator.webhooks._wait_for(lambda: bool(delivery.attempts), 5, "attempt")
    assert emulator.webhooks.pending == 1
    assert delivery.state == "pending"
    assert emulator.webhooks.pending_deliveries() == [delivery]


async def test_nested_running_shares_the_workers() -> None:
    emulator, recorder = make()
    async with emulator.running():
        async with emulator.running():
            emulator.emit_event("invite.created")
        await emulator.webhooks.wait_delivered(1)  # the outer one still delivers
    assert len(recorder.events) == 1


async def test_pytest_fixtures_deliver_to_the_recorder(
    clubsmtp_client: AsyncClient, clubsmtp_emulator: Emulator,
    clubsmtp_webhook_recorder: WebhookRecorder,
) -> None:
    await clubsmtp_client.domains.create(name="example.com")
    assert [e.type for e in await clubsmtp_webhook_recorder.wait_for(1)] == ["domain.created"]


@pytest.mark.parametrize(
    "kwargs",
    [{"retry_delays": (-1,)}, {"retry_delays": (float("inf"),)}, {"timeout": 0},
     {"retry_delays": (1,) * 101}, {"max_log": 0}],
)
def test_settings_are_checked(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"retr|timeout|max_log"):
        DeliverySettings(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "ftp://x"}, "invalid webhook URL"),
        ({"url": "http://"}, "invalid webhook URL"),
        ({}, "needs a url"),
        ({"url": "http://x", "secret": "not base64!"}, "whsec_"),
        ({"url": "http://x", "event_types": ["nope"]}, "unknown event type"),
        ({"url": "http://x", "account": ""}, "account"),
    ],
)
def test_endpoints_are_checked(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Emulator().webhooks.add_endpoint(**kwargs)  # type: ignore[arg-type]


def test_the_log_keeps_the_newest_finished() -> None:
    from clubsmtp_async.testing import Delivery

    emulator = Emulator(webhook_settings=DeliverySettings(max_log=2))
    webhooks = emulator.webhooks
    webhooks.add_endpoint("http://127.0.0.1:9/")
    for _ in range(3):
        emulator.emit_event("invite.created")
    first: Delivery = webhooks.deliveries[0]
    first.state = "delivered"
    webhooks._finished(first)
    assert len(webhooks.deliveries) == 2
    assert first not in webhooks.deliveries
