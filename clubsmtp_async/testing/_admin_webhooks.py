"""The ``/_admin/webhooks`` endpoints: endpoints, emitted events, the delivery log."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse

from . import _admin_schema as schema
from ._errors import invalid

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["webhook_routes"]

_STATES = ("pending", "delivered", "failed", "cancelled")


def _ok(**payload: Any) -> JSONResponse:
    return JSONResponse({**payload, "errors": []})


def webhook_routes(emulator: Emulator) -> list[tuple[str, Callable[[Request], Any], str]]:
    """(path, handler, method) of the webhook admin endpoints of `emulator`."""
    webhooks = emulator.webhooks

    async def status(request: Request) -> JSONResponse:
        return _ok(webhooks=webhooks.to_json())

    async def list_endpoints(request: Request) -> JSONResponse:
        return _ok(data=[endpoint.to_json() for endpoint in webhooks.endpoints])

    async def add_endpoint(request: Request) -> JSONResponse:
        body = schema.given(schema.decode_body(await request.body(), schema.NewEndpoint))
        events = body.pop("events", None)
        endpoint = webhooks.add_endpoint(**body, event_types=events)
        return _ok(endpoint=endpoint.to_json(with_secret=True))

    async def remove_endpoint(request: Request) -> JSONResponse:
        if not webhooks.remove_endpoint(request.path_params["id"]):
            raise invalid("Webhook endpoint not found.")
        return _ok(success=True)

    async def list_events(request: Request) -> JSONResponse:
        return _ok(data=[event.summary() for event in webhooks.events])

    async def emit_event(request: Request) -> JSONResponse:
        body: schema.EmitEvent = schema.decode_body(await request.body(), schema.EmitEvent)
        obj = None if isinstance(body.object, msgspec.UnsetType) else body.object
        event = emulator.emit_event(body.type, obj, account=body.account)
        return _ok(event=event.summary())

    async def list_deliveries(request: Request) -> JSONResponse:
        endpoint_id = request.query_params.get("endpoint_id")
        state = request.query_params.get("state")
        if state is not None and state not in _STATES:
            raise invalid(f"Invalid state: expected one of {', '.join(_STATES)}.")
        found = [
            delivery.to_json() for delivery in webhooks.deliveries
            if endpoint_id in (None, delivery.endpoint_id) and state in (None, delivery.state)
        ]
        return _ok(data=found)

    return [
        ("/_admin/webhooks", status, "GET"),
        ("/_admin/webhooks/endpoints", list_endpoints, "GET"),
        ("/_admin/webhooks/endpoints", add_endpoint, "POST"),
        ("/_admin/webhooks/endpoints/{id}", remove_endpoint, "DELETE"),
        ("/_admin/webhooks/events", list_events, "GET"),
        ("/_admin/webhooks/events", emit_event, "POST"),
        ("/_admin/webhooks/deliveries", list_deliveries, "GET"),
    ]
