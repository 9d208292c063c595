"""A ClubSMTP webhook receiver: a small Starlette app.

    pip install 'clubsmtp-async[emulator]'          # starlette and uvicorn
    export CLUBSMTP_API_KEY=sk_live_… CLUBSMTP_WEBHOOK_SECRET=whsec_…
    uvicorn --factory examples.webhook_receiver:create_app --port 8000

Point the dashboard's webhook (Settings → Webhooks) at
``https://<your host>/webhooks/clubsmtp``. What the app shows:

- One `AsyncClient` for the app's whole life, opened and closed by the lifespan
  and handed to the routes through the lifespan state (the FastAPI equivalent is
  the same lifespan plus a dependency returning ``request.state.client``).
- The route reads at most `MAX_BODY` bytes (413 beyond: no real event comes
  close), verifies the **raw** body before parsing anything, answers 400 to a
  delivery that is not authentic (the reason is logged, not sent back), then
  parses a typed event and dispatches on its class with ``match``. Whatever a
  forger sends (any header bytes, any body), the answer is a 4xx, never a 500:
  `verify` and `parse_event` raise only their two documented errors.
- On ``mailbox.created`` it whitelists the mailbox's own domain, idempotently,
  because a delivery may arrive more than once. Events it does not handle
  (unknown ones included) get 204 like the others, so they are not redelivered.
- If the API fails, the exception becomes a 500 and the sender retries later.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from typing import TypedDict

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clubsmtp_async import AsyncClient, DnsRecordStatus, Mailbox, NotFoundError
from clubsmtp_async.webhooks import (
    DomainDnsStatusChanged,
    Event,
    MailboxCreated,
    StandardWebhooksVerifier,
    Verifier,
    WebhookPayloadError,
    WebhookVerificationError,
    parse_event,
)

__all__ = ["create_app", "handle", "read_body"]

log = logging.getLogger("webhook_receiver")

PATH = "/webhooks/clubsmtp"
MAX_BODY = 1024 * 1024


class State(TypedDict):
    """What the lifespan hands to every request (as ``request.state``)."""

    client: AsyncClient
    verifier: Verifier


def create_app(
    *,
    verifier: Verifier | None = None,
    client_factory: Callable[[], AsyncClient] = AsyncClient,
) -> Starlette:
    """The receiver app.

    Args:
        verifier: How deliveries are authenticated (default: Standard Webhooks
            with the secret in ``$CLUBSMTP_WEBHOOK_SECRET``).
        client_factory: Builds the app's `AsyncClient` (default: from
            ``$CLUBSMTP_API_KEY``); tests pass one wired to the emulator.

    Returns:
        A Starlette application (``uvicorn --factory`` calls this).

    """
    if verifier is None:
        secret = os.environ.get("CLUBSMTP_WEBHOOK_SECRET")
        if not secret:
            raise SystemExit("set CLUBSMTP_WEBHOOK_SECRET to the webhook's signing secret")
        verifier = StandardWebhooksVerifier(secret)
    chosen: Verifier = verifier

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        async with client_factory() as client:
            yield {"client": client, "verifier": chosen}

    return Starlette(routes=[Route(PATH, receive, methods=["POST"])], lifespan=lifespan)


async def receive(request: Request) -> Response:
    """Verify, parse and handle one delivery."""
    body = await read_body(request, MAX_BODY)
    if body is None:
        log.warning("refused a webhook delivery: body over %d bytes", MAX_BODY)
        return JSONResponse({"error": "body too large"}, status_code=413)
    try:
        request.state.verifier.verify(body, request.headers)
        event = parse_event(body)
    except (WebhookVerificationError, WebhookPayloadError) as exc:
        log.warning("refused a webhook delivery: %s", exc)
        return JSONResponse({"error": "invalid webhook"}, status_code=400)
    await handle(event, request.state.client)
    return Response(status_code=204)


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it grows past `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async with aclosing(request.stream()) as stream:  # closed at once when left early
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


async def handle(event: Event, client: AsyncClient) -> None:
    """React to one event; every branch is safe to run twice."""
    match event:
        case MailboxCreated(data=data):
            await trust_own_domain(client, data.object)
        case DomainDnsStatusChanged(data=data):
            domain = data.object
            ok = sum(r.status is DnsRecordStatus.OK for r in domain.dns_records)
            log.info("%s: %d of %d DNS records OK", domain.name, ok, len(domain.dns_records))
        case _:
            log.debug("ignored %s %s", event.type, event.id)


async def trust_own_domain(client: AsyncClient, mailbox: Mailbox) -> None:
    """Whitelist ``*@<the mailbox's domain>`` unless it already is."""
    pattern = f"*@{mailbox.domain}"
    try:
        entries = await client.mailboxes.whitelist.list(mailbox.uuid)
        if all(entry.pattern != pattern for entry in entries):
            await client.mailboxes.whitelist.add(mailbox.uuid, pattern=pattern)
    except NotFoundError:
        log.info("mailbox %s is gone already; nothing to do", mailbox.address)
