"""`EventHandlers`: registration by type, typos refused, one failure does not stop the rest."""

from __future__ import annotations

import logging
import time

import pytest
from clubsmtp_service.events import EventHandlers, default_handlers

from clubsmtp_async import AsyncClient
from clubsmtp_async.testing import build_event
from clubsmtp_async.webhooks import Event, parse_event


def event(event_type: str) -> Event:
    import json

    payload = build_event(event_type)
    payload["created"] = int(time.time())
    return parse_event(json.dumps(payload))


@pytest.mark.anyio
async def test_dispatch_runs_the_types_handlers_in_order(
        caplog: pytest.LogCaptureFixture) -> None:
    handlers = EventHandlers()
    calls: list[str] = []

    @handlers.on("mailbox.created", "mailbox.deleted")
    async def first(event: Event, client: AsyncClient) -> None:
        calls.append(f"first {event.type}")

    @handlers.on("mailbox.created")
    async def broken(event: Event, client: AsyncClient) -> None:
        raise RuntimeError("boom")

    @handlers.on("mailbox.created")
    async def last(event: Event, client: AsyncClient) -> None:
        calls.append("last")

    client = AsyncClient("sk_test_unused", base_url="http://127.0.0.1:9")
    with caplog.at_level(logging.ERROR):
        assert await handlers.dispatch(event("mailbox.created"), client) == 2
    assert calls == ["first mailbox.created", "last"]
    assert "handler broken failed" in caplog.text
    assert await handlers.dispatch(event("alias.created"), client) == 0
    await client.aclose()


def test_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\['mailbox\.create'\]"):
        EventHandlers().on("mailbox.create")
    with pytest.raises(ValueError, match="unknown event types"):
        EventHandlers().on()


def test_the_defaults() -> None:
    handlers = default_handlers()
    assert handlers.handlers_for(event("mailbox.created"))
    assert handlers.handlers_for(event("domain.dns_status_changed"))
    assert not handlers.handlers_for(event("invoice.paid"))
