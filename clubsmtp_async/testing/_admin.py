"""The ``/_admin`` endpoints: test controls over HTTP, mirroring `Emulator`'s methods.

Bodies and answers are JSON with the API's envelope (``"errors": []`` on
success). Access is checked by the ASGI layer. Every body is decoded into its
typed schema (`clubsmtp_async.testing._admin_schema`) before a handler uses
it. See ``docs/emulator.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import _admin_schema as schema
from . import _validate as check
from ._admin_webhooks import webhook_routes
from ._errors import invalid

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["AdminApi"]

Handler = Callable[[Request], Any]


def _ok(**payload: Any) -> JSONResponse:
    return JSONResponse({**payload, "errors": []})


async def _typed(request: Request, body_type: Any) -> Any:
    return schema.decode_body(await request.body(), body_type)


def _wrap_value_errors(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Any:
        try:
            return await handler(request)
        except (ValueError, TypeError) as exc:
            raise invalid(str(exc)) from exc

    return wrapped


class AdminApi:
    """The ``/_admin`` endpoints of one emulator.

    Args:
        emulator: The emulator they control.

    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def routes(self) -> list[Route]:
        """Starlette routes of the admin endpoints."""
        table: list[tuple[str, Handler, str]] = [
            ("/_admin/keys", self.list_keys, "GET"),
            ("/_admin/keys", self.create_key, "POST"),
            ("/_admin/keys/{key}", self.delete_key, "DELETE"),
            ("/_admin/reset", self.reset, "POST"),
            ("/_admin/seed", self.seed, "POST"),
            ("/_admin/state", self.state, "GET"),
            ("/_admin/dns-records/{uuid}", self.update_dns_record, "PATCH"),
            ("/_admin/domains/{uuid}/verify", self.verify_domain, "POST"),
            ("/_admin/stats", self.get_stats, "GET"),
            ("/_admin/stats", self.reset_stats, "DELETE"),
            ("/_admin/faults", self.list_faults, "GET"),
            ("/_admin/faults", self.add_fault, "POST"),
            ("/_admin/faults", self.clear_faults, "DELETE"),
            ("/_admin/faults/seed", self.reseed_faults, "POST"),
            ("/_admin/faults/{id}", self.remove_fault, "DELETE"),
        ]
        table += webhook_routes(self.emulator)
        return [Route(path, _wrap_value_errors(fn), methods=[m]) for path, fn, m in table]

    async def list_keys(self, request: Request) -> JSONResponse:
        """GET /_admin/keys."""
        return _ok(data=[key.to_json() for key in self.emulator.keys])

    async def create_key(self, request: Request) -> JSONResponse:
        """POST /_admin/keys: every field optional (see `Emulator.create_key`)."""
        kwargs = schema.given(await _typed(request, schema.CreateKey))
        token = kwargs.pop("key", None)
        kwargs["scopes"], kwargs["cidrs"] = tuple(kwargs["scopes"]), tuple(kwargs["cidrs"])
        return _ok(key=self.emulator.create_key(token, **kwargs).to_json())

    async def delete_key(self, request: Request) -> JSONResponse:
        """DELETE /_admin/keys/{key}."""
        if not self.emulator.remove_key(request.path_params["key"]):
            raise invalid("Key not found.")
        return _ok(success=True)

    async def reset(self, request: Request) -> JSONResponse:
        """POST /_admin/reset, optional body ``{"keys": true, "webhooks": true}``."""
        body: schema.Reset = await _typed(request, schema.Reset)
        self.emulator.reset(keys=body.keys, webhooks=body.webhooks)
        return _ok(success=True)

    async def seed(self, request: Request) -> JSONResponse:
        """POST /_admin/seed with a nested description of the objects."""
        raw = await request.body()
        created = self.emulator.seed(check.json_object(raw) if raw.strip() else {})
        return _ok(**created)

    async def state(self, request: Request) -> JSONResponse:
        """GET /_admin/state: every object of every account."""
        return _ok(**self.emulator.snapshot())

    async def update_dns_record(self, request: Request) -> JSONResponse:
        """PATCH /_admin/dns-records/{uuid}."""
        changes = schema.given(await _typed(request, schema.DnsRecordPatch))
        record = self.emulator.set_dns_record(request.path_params["uuid"], **changes)
        return _ok(dns_record=record.to_json())

    async def verify_domain(self, request: Request) -> JSONResponse:
        """POST /_admin/domains/{uuid}/verify, optional body ``{"status": 3}``."""
        body: schema.VerifyDomain = await _typed(request, schema.VerifyDomain)
        domain = self.emulator.verify_domain(request.path_params["uuid"], status=body.status)
        return _ok(domain=domain.to_json())

    async def get_stats(self, request: Request) -> JSONResponse:
        """GET /_admin/stats."""
        return _ok(stats=self.emulator.stats.to_json())

    async def reset_stats(self, request: Request) -> JSONResponse:
        """DELETE /_admin/stats."""
        self.emulator.stats.reset()
        return _ok(success=True)

    async def list_faults(self, request: Request) -> JSONResponse:
        """GET /_admin/faults."""
        return _ok(data=[rule.to_json() for rule in self.emulator.faults.rules])

    async def add_fault(self, request: Request) -> JSONResponse:
        """POST /_admin/faults with a rule in JSON form."""
        spec = await _typed(request, schema.FaultRuleSpec)
        rule = self.emulator.faults.add(spec.method, spec.path, schema.reaction_of(spec),
                                        times=spec.times, probability=spec.probability)
        return _ok(fault=rule.to_json())

    async def clear_faults(self, request: Request) -> JSONResponse:
        """DELETE /_admin/faults."""
        self.emulator.faults.clear()
        return _ok(success=True)

    async def reseed_faults(self, request: Request) -> JSONResponse:
        """POST /_admin/faults/seed with ``{"seed": 42}``."""
        body: schema.FaultSeed = await _typed(request, schema.FaultSeed)
        self.emulator.faults.reseed(body.seed)
        return _ok(success=True)

    async def remove_fault(self, request: Request) -> JSONResponse:
        """DELETE /_admin/faults/{id}."""
        if not self.emulator.faults.remove(request.path_params["id"]):
            raise invalid("Fault rule not found.")
        return _ok(success=True)
