"""The ``/_admin`` endpoints: test controls over HTTP, mirroring `Emulator`'s methods.

Bodies and answers are JSON with the API's envelope (``"errors": []`` on
success). Access is checked by the ASGI layer. See ``docs/emulator.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import _validate as check
from ._errors import invalid

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["AdminApi"]

_KEY_FIELDS = (
    "key", "live", "account", "scopes", "cidrs", "expires_at", "expires_in",
    "requests_per_minute", "burst",
)
_DNS_FIELDS = ("status", "expected_value", "actual_value", "last_checked_at")

Handler = Callable[[Request], Any]


def _ok(**payload: Any) -> JSONResponse:
    return JSONResponse({**payload, "errors": []})


async def _body(request: Request, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
    raw = await request.body()
    body = check.json_object(raw) if raw.strip() else {}
    if allowed is not None:
        check.reject_unknown(body, allowed)
    return body


def _timestamp(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid(f"Invalid {name}: expected an ISO 8601 timestamp.") from exc
    if parsed.tzinfo is None:
        raise invalid(f"Invalid {name}: the timestamp needs a time zone (e.g. Z).")
    return parsed


def _key_kwargs(body: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = dict(body)
    if "expires_at" in kwargs:
        kwargs["expires_at"] = _timestamp(kwargs["expires_at"], "expires_at")
    for name in ("scopes", "cidrs"):
        value = kwargs.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(f"Invalid {name}: expected an array of strings.")
    return kwargs


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
        return [Route(path, _wrap_value_errors(fn), methods=[m]) for path, fn, m in table]

    async def list_keys(self, request: Request) -> JSONResponse:
        """GET /_admin/keys."""
        return _ok(data=[key.to_json() for key in self.emulator.keys])

    async def create_key(self, request: Request) -> JSONResponse:
        """POST /_admin/keys: every field optional (see `Emulator.create_key`)."""
        kwargs = _key_kwargs(await _body(request, _KEY_FIELDS))
        token = kwargs.pop("key", None)
        return _ok(key=self.emulator.create_key(token, **kwargs).to_json())

    async def delete_key(self, request: Request) -> JSONResponse:
        """DELETE /_admin/keys/{key}."""
        if not self.emulator.remove_key(request.path_params["key"]):
            raise invalid("Key not found.")
        return _ok(success=True)

    async def reset(self, request: Request) -> JSONResponse:
        """POST /_admin/reset, optional body ``{"keys": true}``."""
        keys = check.optional_bool(await _body(request, ("keys",)), "keys")
        self.emulator.reset(keys=bool(keys))
        return _ok(success=True)

    async def seed(self, request: Request) -> JSONResponse:
        """POST /_admin/seed with a nested description of the objects."""
        created = self.emulator.seed(await _body(request))
        return _ok(**created)

    async def state(self, request: Request) -> JSONResponse:
        """GET /_admin/state: every object of every account."""
        return _ok(**self.emulator.snapshot())

    async def update_dns_record(self, request: Request) -> JSONResponse:
        """PATCH /_admin/dns-records/{uuid}."""
        body = await _body(request, _DNS_FIELDS)
        if "last_checked_at" in body:
            body["last_checked_at"] = _timestamp(body["last_checked_at"], "last_checked_at")
        record = self.emulator.set_dns_record(request.path_params["uuid"], **body)
        return _ok(dns_record=record.to_json())

    async def verify_domain(self, request: Request) -> JSONResponse:
        """POST /_admin/domains/{uuid}/verify, optional body ``{"status": 3}``."""
        body = await _body(request, ("status",))
        domain = self.emulator.verify_domain(request.path_params["uuid"], **body)
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
        rule = self.emulator.faults.add_json(await _body(request))
        return _ok(fault=rule.to_json())

    async def clear_faults(self, request: Request) -> JSONResponse:
        """DELETE /_admin/faults."""
        self.emulator.faults.clear()
        return _ok(success=True)

    async def reseed_faults(self, request: Request) -> JSONResponse:
        """POST /_admin/faults/seed with ``{"seed": 42}``."""
        seed = (await _body(request, ("seed",))).get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, str))):
            raise invalid("Invalid seed: expected an integer or a string.")
        self.emulator.faults.reseed(seed)
        return _ok(success=True)

    async def remove_fault(self, request: Request) -> JSONResponse:
        """DELETE /_admin/faults/{id}."""
        if not self.emulator.faults.remove(request.path_params["id"]):
            raise invalid("Fault rule not found.")
        return _ok(success=True)
