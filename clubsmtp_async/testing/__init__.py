"""A local, stateful ClubSMTP API for tests, demos and benchmarks (extra ``emulator``).

Three ways to run it:

- In process: ``Emulator().transport()`` / ``Emulator().client()`` — the ASGI
  app through an in-process transport that httpx and httpx2 clients both
  take, no sockets.
- Over sockets: ``async with serve(emulator, port=0, tls=True) as server:``
  (uvicorn; asyncio only), or the ``clubsmtp emulator`` command.
- In pytest: the ``clubsmtp_emulator`` and ``clubsmtp_client`` fixtures.

Webhooks: every state change emits its event; ``emulator.webhooks`` holds the
endpoints, the events and the delivery log, and delivers inside
``emulator.running()`` (entered by the served app and the fixtures).
`send_webhook` sends one signed test event to any receiver.

See ``docs/emulator.md`` for the admin API, the fault rules and every
behaviour the API page leaves open.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import ADMIN_TOKEN_HEADER, ConnectionDropped
    from ._clock import Clock, FakeClock, SystemClock
    from ._delivery import Webhooks
    from ._emulator import UNSET, Emulator
    from ._endpoints import (
        Delivery,
        DeliveryAttempt,
        DeliverySettings,
        WebhookEndpoint,
        generate_webhook_secret,
    )
    from ._errors import ApiError
    from ._events import WebhookEvent
    from ._faults import (
        Drop,
        ErrorAfter,
        ErrorBefore,
        FaultInjector,
        FaultRule,
        Latency,
        RateLimit,
        Reaction,
    )
    from ._keys import ApiKey, generate_key
    from ._persist import StateFileError
    from ._receiver import ReceivedWebhook, WebhookRecorder
    from ._rules import (
        RateDecision,
        gcra,
        ip_allowed,
        is_loopback,
        matches_pattern,
        scope_allows,
    )
    from ._samples import sample_object
    from ._send import SendResult, build_event, send_webhook
    from ._server import EmulatorServer, make_certificates, serve
    from ._stats import Stats
    from ._tenant import seed_tenant

# Names are imported on first use (PEP 562), so that importing the package, e.g.
# through the pytest plugin's entry point, needs none of the `emulator` extra's
# dependencies until an emulator is actually used.
_WHERE = {
    "seed_tenant": "_tenant",
    "ADMIN_TOKEN_HEADER": "_app",
    "ConnectionDropped": "_app",
    "Clock": "_clock",
    "FakeClock": "_clock",
    "SystemClock": "_clock",
    "Webhooks": "_delivery",
    "UNSET": "_emulator",
    "Emulator": "_emulator",
    "Delivery": "_endpoints",
    "DeliveryAttempt": "_endpoints",
    "DeliverySettings": "_endpoints",
    "WebhookEndpoint": "_endpoints",
    "generate_webhook_secret": "_endpoints",
    "ApiError": "_errors",
    "WebhookEvent": "_events",
    "Drop": "_faults",
    "ErrorAfter": "_faults",
    "ErrorBefore": "_faults",
    "FaultInjector": "_faults",
    "FaultRule": "_faults",
    "Latency": "_faults",
    "RateLimit": "_faults",
    "Reaction": "_faults",
    "ApiKey": "_keys",
    "generate_key": "_keys",
    "StateFileError": "_persist",
    "ReceivedWebhook": "_receiver",
    "WebhookRecorder": "_receiver",
    "RateDecision": "_rules",
    "gcra": "_rules",
    "ip_allowed": "_rules",
    "is_loopback": "_rules",
    "matches_pattern": "_rules",
    "scope_allows": "_rules",
    "sample_object": "_samples",
    "SendResult": "_send",
    "build_event": "_send",
    "send_webhook": "_send",
    "EmulatorServer": "_server",
    "make_certificates": "_server",
    "serve": "_server",
    "Stats": "_stats",
}


_EXTRA_MODULES = frozenset({"starlette", "uvicorn", "trustme"})


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in _EXTRA_MODULES:
            raise
        raise ImportError(
            f"clubsmtp_async.testing needs the 'emulator' extra ({missing} is missing): "
            "pip install 'clubsmtp-async[emulator]'"
        ) from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "ADMIN_TOKEN_HEADER",
    "ApiError",
    "ApiKey",
    "Clock",
    "ConnectionDropped",
    "Delivery",
    "DeliveryAttempt",
    "DeliverySettings",
    "Drop",
    "Emulator",
    "EmulatorServer",
    "ErrorAfter",
    "ErrorBefore",
    "FakeClock",
    "FaultInjector",
    "FaultRule",
    "Latency",
    "RateDecision",
    "RateLimit",
    "Reaction",
    "ReceivedWebhook",
    "SendResult",
    "StateFileError",
    "Stats",
    "SystemClock",
    "UNSET",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookRecorder",
    "Webhooks",
    "build_event",
    "gcra",
    "generate_key",
    "generate_webhook_secret",
    "ip_allowed",
    "is_loopback",
    "make_certificates",
    "matches_pattern",
    "sample_object",
    "scope_allows",
    "seed_tenant",
    "send_webhook",
    "serve",
]
