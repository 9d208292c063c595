"""Receive ClubSMTP webhooks: verify a delivery's signature, parse it into a typed event.

```python
from clubsmtp_async.webhooks import MailboxCreated, parse_event, verify

verify(body, request.headers, secret)      # raises WebhookVerificationError
event = parse_event(body)                  # MailboxCreated, ..., or UnknownEvent
if isinstance(event, MailboxCreated):
    print(event.data.object.address)       # a clubsmtp_async.Mailbox
```

ClubSMTP does not publish its signing scheme: the SDK assumes Standard Webhooks
(see ``docs/webhooks.md``) and takes any other scheme as a `Verifier`.
"""

from __future__ import annotations

from ._errors import WebhookPayloadError, WebhookVerificationError
from ._events import (
    EVENT_TYPES,
    AliasCreated,
    AliasDeleted,
    AliasEvent,
    BaseEvent,
    DomainCreated,
    DomainDeleted,
    DomainDnsStatusChanged,
    DomainEvent,
    Event,
    EventData,
    InviteAccepted,
    InviteCreated,
    InviteEvent,
    InviteExpired,
    InvoiceCreated,
    InvoiceEvent,
    InvoicePaid,
    KnownEvent,
    MailboxCreated,
    MailboxDeleted,
    MailboxDisabled,
    MailboxEnabled,
    MailboxEvent,
    MailboxUpdated,
    UnknownEvent,
    parse_event,
)
from ._verify import DEFAULT_TOLERANCE, StandardWebhooksVerifier, Verifier, sign, verify

__all__ = [
    "AliasCreated",
    "AliasDeleted",
    "AliasEvent",
    "BaseEvent",
    "DEFAULT_TOLERANCE",
    "DomainCreated",
    "DomainDeleted",
    "DomainDnsStatusChanged",
    "DomainEvent",
    "EVENT_TYPES",
    "Event",
    "EventData",
    "InviteAccepted",
    "InviteCreated",
    "InviteEvent",
    "InviteExpired",
    "InvoiceCreated",
    "InvoiceEvent",
    "InvoicePaid",
    "KnownEvent",
    "MailboxCreated",
    "MailboxDeleted",
    "MailboxDisabled",
    "MailboxEnabled",
    "MailboxEvent",
    "MailboxUpdated",
    "StandardWebhooksVerifier",
    "UnknownEvent",
    "Verifier",
    "WebhookPayloadError",
    "WebhookVerificationError",
    "parse_event",
    "sign",
    "verify",
]
