"""The 20 ``/v1`` endpoints: decode and check the request, call the store, wrap the result.

Handlers run after the ASGI layer admitted the request (HTTPS, key, CIDR,
scope, rate limit) and put the key's account in the scope. They raise
`ApiError` for every failure; the ASGI layer renders it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import _validate as check
from ._errors import invalid
from ._state import ListKind, Store

__all__ = ["ACCOUNT_SCOPE_KEY", "V1Api"]

ACCOUNT_SCOPE_KEY = "clubsmtp.account"

_MAILBOX_CREATE = ("domain_uuid", "local_part", "password", "storage_gb")
_MAILBOX_UPDATE = ("enabled", "storage_gb")
_ALIAS_CREATE = ("domain_uuid", "local_part", "mailbox_uuids")


def _ok(**payload: Any) -> JSONResponse:
    return JSONResponse({**payload, "errors": []})


def _account(request: Request) -> str:
    account = request.scope.get(ACCOUNT_SCOPE_KEY)
    if not isinstance(account, str):
        raise RuntimeError("request reached a handler without an authenticated account")
    return account


def _path_uuid(request: Request, name: str, label: str) -> str:
    return check.uuid_value(request.path_params[name], label)


async def _body(request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    body = check.json_object(await request.body())
    check.reject_unknown(body, allowed)
    return body


class V1Api:
    """The ``/v1`` endpoints over one `Store`.

    Args:
        store: The emulator's objects.
        utcnow: The clock's wall time (for the ping timestamp).

    """

    def __init__(self, store: Store, utcnow: Callable[[], datetime]) -> None:
        self.store = store
        self._utcnow = utcnow

    def routes(self) -> list[Route]:
        """Starlette routes of all 20 endpoints."""
        mailbox = "/v1/mailboxes/{uuid}"
        return [
            Route("/v1/ping", self.ping, methods=["GET"]),
            Route("/v1/domains", self.list_domains, methods=["GET"]),
            Route("/v1/domains", self.create_domain, methods=["POST"]),
            Route("/v1/domains/{uuid}", self.get_domain, methods=["GET"]),
            Route("/v1/domains/{uuid}", self.delete_domain, methods=["DELETE"]),
            Route("/v1/mailboxes", self.list_mailboxes, methods=["GET"]),
            Route("/v1/mailboxes", self.create_mailbox, methods=["POST"]),
            Route(mailbox, self.get_mailbox, methods=["GET"]),
            Route(mailbox, self.update_mailbox, methods=["PATCH"]),
            Route(mailbox, self.delete_mailbox, methods=["DELETE"]),
            *self._list_routes("whitelist"),
            *self._list_routes("blacklist"),
            Route("/v1/aliases", self.list_aliases, methods=["GET"]),
            Route("/v1/aliases", self.create_alias, methods=["POST"]),
            Route("/v1/aliases/{uuid}", self.get_alias, methods=["GET"]),
            Route("/v1/aliases/{uuid}", self.delete_alias, methods=["DELETE"]),
        ]

    def _list_routes(self, kind: ListKind) -> list[Route]:
        async def list_entries(request: Request) -> JSONResponse:
            return await self.list_entries(request, kind)

        async def add_entry(request: Request) -> JSONResponse:
            return await self.add_entry(request, kind)

        async def remove_entry(request: Request) -> JSONResponse:
            return await self.remove_entry(request, kind)

        path = f"/v1/mailboxes/{{uuid}}/{kind}"
        return [
            Route(path, list_entries, methods=["GET"]),
            Route(path, add_entry, methods=["POST"]),
            Route(f"{path}/{{entry_uuid}}", remove_entry, methods=["DELETE"]),
        ]

    async def ping(self, request: Request) -> JSONResponse:
        """GET /v1/ping."""
        return _ok(timestamp=format_datetime(self._utcnow(), usegmt=True))

    # Domains

    async def list_domains(self, request: Request) -> JSONResponse:
        """GET /v1/domains."""
        domains = self.store.list_domains(_account(request))
        return _ok(data=[domain.to_json() for domain in domains])

    async def create_domain(self, request: Request) -> JSONResponse:
        """POST /v1/domains."""
        body = await _body(request, ("name",))
        domain = self.store.create_domain(_account(request), check.domain_name(body))
        return _ok(domain=domain.to_json())

    async def get_domain(self, request: Request) -> JSONResponse:
        """GET /v1/domains/{uuid}."""
        uuid = _path_uuid(request, "uuid", "domain UUID")
        return _ok(domain=self.store.get_domain(_account(request), uuid).to_json())

    async def delete_domain(self, request: Request) -> JSONResponse:
        """DELETE /v1/domains/{uuid}."""
        self.store.delete_domain(_account(request), _path_uuid(request, "uuid", "domain UUID"))
        return _ok(success=True)

    # Mailboxes

    async def list_mailboxes(self, request: Request) -> JSONResponse:
        """GET /v1/mailboxes[?domain_uuid=]."""
        raw = request.query_params.get("domain_uuid")
        domain_uuid = None if raw is None else check.uuid_value(raw, "domain_uuid")
        mailboxes = self.store.list_mailboxes(_account(request), domain_uuid)
        return _ok(data=[mailbox.to_json() for mailbox in mailboxes])

    async def create_mailbox(self, request: Request) -> JSONResponse:
        """POST /v1/mailboxes."""
        body = await _body(request, _MAILBOX_CREATE)
        mailbox = self.store.create_mailbox(
            _account(request),
            domain_uuid=check.required_uuid(body, "domain_uuid"),
            local_part=check.local_part(body),
            password=check.password(body),
            storage_gb=check.optional_storage_gb(body),
        )
        return _ok(mailbox=mailbox.to_json())

    async def get_mailbox(self, request: Request) -> JSONResponse:
        """GET /v1/mailboxes/{uuid}."""
        uuid = _path_uuid(request, "uuid", "mailbox UUID")
        return _ok(mailbox=self.store.get_mailbox(_account(request), uuid).to_json())

    async def update_mailbox(self, request: Request) -> JSONResponse:
        """PATCH /v1/mailboxes/{uuid}: ``enabled`` and/or ``storage_gb``."""
        uuid = _path_uuid(request, "uuid", "mailbox UUID")
        body = await _body(request, _MAILBOX_UPDATE)
        enabled = check.optional_bool(body, "enabled")
        storage_gb = check.optional_storage_gb(body)
        if enabled is None and storage_gb is None:
            raise invalid("Nothing to update: send enabled and/or storage_gb.")
        mailbox = self.store.update_mailbox(
            _account(request), uuid, enabled=enabled, storage_gb=storage_gb
        )
        return _ok(mailbox=mailbox.to_json())

    async def delete_mailbox(self, request: Request) -> JSONResponse:
        """DELETE /v1/mailboxes/{uuid}."""
        self.store.delete_mailbox(_account(request), _path_uuid(request, "uuid", "mailbox UUID"))
        return _ok(success=True)

    # Whitelist / blacklist

    async def list_entries(self, request: Request, kind: ListKind) -> JSONResponse:
        """GET /v1/mailboxes/{uuid}/{kind}."""
        uuid = _path_uuid(request, "uuid", "mailbox UUID")
        entries = self.store.list_entries(_account(request), uuid, kind)
        return _ok(data=[entry.to_json() for entry in entries])

    async def add_entry(self, request: Request, kind: ListKind) -> JSONResponse:
        """POST /v1/mailboxes/{uuid}/{kind}."""
        uuid = _path_uuid(request, "uuid", "mailbox UUID")
        body = await _body(request, ("pattern",))
        entry = self.store.add_entry(_account(request), uuid, kind, check.pattern(body))
        return _ok(entry=entry.to_json())

    async def remove_entry(self, request: Request, kind: ListKind) -> JSONResponse:
        """DELETE /v1/mailboxes/{uuid}/{kind}/{entry_uuid}."""
        uuid = _path_uuid(request, "uuid", "mailbox UUID")
        entry_uuid = _path_uuid(request, "entry_uuid", "entry UUID")
        self.store.remove_entry(_account(request), uuid, kind, entry_uuid)
        return _ok(success=True)

    # Aliases

    async def list_aliases(self, request: Request) -> JSONResponse:
        """GET /v1/aliases."""
        aliases = self.store.list_aliases(_account(request))
        return _ok(data=[self.store.alias_json(alias) for alias in aliases])

    async def create_alias(self, request: Request) -> JSONResponse:
        """POST /v1/aliases."""
        body = await _body(request, _ALIAS_CREATE)
        alias = self.store.create_alias(
            _account(request),
            domain_uuid=check.required_uuid(body, "domain_uuid"),
            local_part=check.local_part(body),
            mailbox_uuids=check.mailbox_uuid_list(body),
        )
        return _ok(alias=self.store.alias_json(alias))

    async def get_alias(self, request: Request) -> JSONResponse:
        """GET /v1/aliases/{uuid}."""
        uuid = _path_uuid(request, "uuid", "alias UUID")
        return _ok(alias=self.store.alias_json(self.store.get_alias(_account(request), uuid)))

    async def delete_alias(self, request: Request) -> JSONResponse:
        """DELETE /v1/aliases/{uuid}."""
        self.store.delete_alias(_account(request), _path_uuid(request, "uuid", "alias UUID"))
        return _ok(success=True)
