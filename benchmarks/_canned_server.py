"""A minimal ASGI app answering every request with one canned Mailbox envelope.

Run in its own process by the client benchmarks, so that the server's CPU is
not counted against the client.
"""

from __future__ import annotations

import json
from typing import Any

BODY = json.dumps(
    {
        "mailbox": {
            "uuid": "019a2b3c-4d5e-7f6a-b7c8-d9e0f1a2b3c4",
            "address": "alice@example.com",
            "domain_uuid": "018f1a2b-3c4d-7e5f-a6b7-c8d9e0f1a2b3",
            "domain": "example.com",
            "storage_gb": 20,
            "enabled": True,
            "created_at": "2026-04-21T14:30:00.000000Z",
            "updated_at": "2026-04-21T14:30:00.000000Z",
        },
        "errors": [],
    }
).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer 200 with `BODY` (lifespan events are acknowledged)."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
