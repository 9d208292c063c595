"""``POST /webhooks/clubsmtp``: verify a delivery, answer at once, then run its handlers.

The **raw** body is verified (Standard Webhooks, `clubsmtp_async.webhooks`)
before anything parses it; a delivery that is not authentic (or not an
event) gets 400, with the reason logged and not sent back. An authentic one
gets 204 straight away and its handlers run after the answer is sent (FastAPI
background tasks), so a handler waiting for a rate slot never makes the
sender time out and redeliver. Events without a handler (unknown types
included) get 204 too, so they are not redelivered.

The trade-off: once 204 is sent the sender will not retry, so a handler that
fails (or a worker that stops first) loses that event's reaction. Handlers
that must not lose one should enqueue a job on a durable queue instead (see
``docs/fleets.md``).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import JSONResponse

from clubsmtp_async.webhooks import WebhookPayloadError, WebhookVerificationError, parse_event

from .body import read_body
from .resources import ClientDep, HandlersDep, VerifierDep

__all__ = ["MAX_BODY", "PATH", "router"]

log = logging.getLogger("clubsmtp_service.webhooks")

PATH = "/webhooks/clubsmtp"
MAX_BODY = 1024 * 1024
"""The largest delivery accepted (413 beyond): no real event comes close."""

router = APIRouter()


@router.post(PATH, status_code=204, responses={400: {"description": "not an authentic event"}})
async def receive_webhook(
    request: Request, background: BackgroundTasks, verifier: VerifierDep,
    handlers: HandlersDep, client: ClientDep,
) -> Response:
    """Verify and parse one delivery; its handlers run after the 204."""
    body = await read_body(request, MAX_BODY)
    try:
        verifier.verify(body, request.headers)
        event = parse_event(body)
    except (WebhookVerificationError, WebhookPayloadError) as exc:
        log.warning("refused a webhook delivery: %s", exc)
        return JSONResponse({"detail": "invalid webhook"}, status_code=400)
    log.info("webhook %s %s accepted", event.type, event.id)
    background.add_task(handlers.dispatch, event, client)
    return Response(status_code=204)
