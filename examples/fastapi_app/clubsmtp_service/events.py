"""`EventHandlers`: a small registry of webhook handlers by event type, and the defaults.

A handler is ``async def handler(event, client) -> None``. Deliveries come at
least once (a sender retries what it did not see acknowledged), so every
handler must be safe to run twice for the same event.

```python
handlers = EventHandlers()

@handlers.on("mailbox.created")
async def welcome(event: Event, client: AsyncClient) -> None: ...
```
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from clubsmtp_async import AsyncClient, DnsRecordStatus, NotFoundError
from clubsmtp_async.webhooks import (
    EVENT_TYPES,
    DomainDnsStatusChanged,
    Event,
    MailboxCreated,
)

__all__ = ["EventHandlers", "Handler", "default_handlers"]

log = logging.getLogger("clubsmtp_service.events")

Handler = Callable[[Event, AsyncClient], Awaitable[None]]
"""What a handler is: called with the parsed event and the worker's client."""

H = TypeVar("H", bound=Handler)


class EventHandlers:
    """Handlers by event type; `dispatch` runs those of one event, in registration order."""

    def __init__(self) -> None:
        self._by_type: dict[str, list[Handler]] = {}

    def on(self, *event_types: str) -> Callable[[H], H]:
        """Register the decorated handler for these event types.

        Args:
            event_types: Documented types (``"mailbox.created"``, see
                `clubsmtp_async.webhooks.EVENT_TYPES`); a typo is refused here,
                not silently never called.

        Raises:
            ValueError: for an unknown event type, or none given.

        """
        unknown = [name for name in event_types if name not in EVENT_TYPES]
        if unknown or not event_types:
            raise ValueError(f"unknown event types {unknown}: use names of EVENT_TYPES")

        def register(handler: H) -> H:
            for name in event_types:
                self._by_type.setdefault(name, []).append(handler)
            return handler

        return register

    def handlers_for(self, event: Event) -> list[Handler]:
        """The handlers of this event's type (none for an unknown type)."""
        return list(self._by_type.get(event.type, ()))

    async def dispatch(self, event: Event, client: AsyncClient) -> int:
        """Run the event's handlers one after the other; returns how many succeeded.

        A failing handler is logged (event type and id, never the payload) and
        does not stop the others.
        """
        succeeded = 0
        for handler in self.handlers_for(event):
            try:
                await handler(event, client)
            except Exception:
                log.exception("webhook %s %s: handler %s failed", event.type, event.id,
                              getattr(handler, "__name__", handler))
            else:
                succeeded += 1
        return succeeded


async def trust_own_domain(event: Event, client: AsyncClient) -> None:
    """On ``mailbox.created``: whitelist ``*@<its domain>`` unless it already is."""
    if not isinstance(event, MailboxCreated):
        return
    mailbox = event.data.object
    pattern = f"*@{mailbox.domain}"
    try:
        entries = await client.mailboxes.whitelist.list(mailbox.uuid)
        if all(entry.pattern != pattern for entry in entries):
            await client.mailboxes.whitelist.add(mailbox.uuid, pattern=pattern)
    except NotFoundError:
        log.info("mailbox %s is gone already; nothing to do", mailbox.address)


async def log_dns_status(event: Event, client: AsyncClient) -> None:
    """On ``domain.dns_status_changed``: log how many of the domain's records are OK."""
    if isinstance(event, DomainDnsStatusChanged):
        domain = event.data.object
        ok = sum(record.status is DnsRecordStatus.OK for record in domain.dns_records)
        log.info("%s: %d of %d DNS records OK", domain.name, ok, len(domain.dns_records))


def default_handlers() -> EventHandlers:
    """The service's handlers: `trust_own_domain` and `log_dns_status`."""
    handlers = EventHandlers()
    handlers.on("mailbox.created")(trust_own_domain)
    handlers.on("domain.dns_status_changed")(log_dns_status)
    return handlers
