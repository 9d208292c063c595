"""The API's resources as thin declarations over the client's one request path.

Each method validates its input, names its endpoint, and — for creates — says
how to find the object by its natural key, which makes a retried create safe.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

from ._endpoint import Endpoint, deleted, many, one
from ._models import (
    Alias,
    Domain,
    ListEntry,
    Mailbox,
    MailboxUpdate,
    NewAlias,
    NewDomain,
    NewListEntry,
    NewMailbox,
    Ping,
)
from ._response import ping_decoder
from ._validation import (
    checked_alias,
    checked_domain,
    checked_list_entry,
    checked_mailbox,
    checked_mailbox_update,
    path_id,
)

if TYPE_CHECKING:
    from ._client import AsyncClient

__all__ = ["Aliases", "Domains", "Mailboxes", "SenderList", "PING"]

T = TypeVar("T")

PING: Endpoint[Ping] = Endpoint("GET", "/v1/ping", ping_decoder)


def _first(items: Iterable[T], match: Callable[[T], bool]) -> T | None:
    return next((item for item in items if match(item)), None)


def _local(address: str) -> str:
    return address.rpartition("@")[0].lower()


class _Resource:
    """A view over the client; holds no state of its own."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class Domains(_Resource):
    """``client.domains``: the domains of the account."""

    _LIST = many("GET", "/v1/domains", Domain)
    _CREATE = one("POST", "/v1/domains", "domain", Domain)
    _GET = one("GET", "/v1/domains/{}", "domain", Domain)
    _DELETE = deleted("/v1/domains/{}")

    async def list(self) -> list[Domain]:
        """All domains of the account, each with its DNS record statuses."""
        return await self._client._request(self._LIST)

    async def create(self, *, name: str) -> Domain:
        """Add a domain (IDNA names are sent in their ASCII form).

        Raises:
            ValidationError: if `name` is not a fully-qualified domain name.
            InvalidRequestError: if the name is taken (on any account).

        """
        body = checked_domain(NewDomain(name=name))

        async def existing() -> Domain | None:
            return _first(await self.list(), lambda d: d.name.lower() == body.name)

        return await self._client._request(self._CREATE, body=body, find_existing=existing)

    async def get(self, domain_uuid: str) -> Domain:
        """One domain with all its DNS record statuses.

        Raises:
            NotFoundError: if the account has no such domain.

        """
        return await self._client._request(self._GET, path_id(domain_uuid, "domain_uuid"))

    async def delete(self, domain_uuid: str) -> None:
        """Delete a domain with its DNS records, mailboxes and aliases. Cannot be undone."""
        await self._client._request(self._DELETE, path_id(domain_uuid, "domain_uuid"))


def _sender_list_endpoints(
    kind: str,
) -> tuple[Endpoint[list[ListEntry]], Endpoint[ListEntry], Endpoint[None]]:
    base = f"/v1/mailboxes/{{}}/{kind}"
    return (
        many("GET", base, ListEntry),
        one("POST", base, "entry", ListEntry),
        deleted(base + "/{}"),
    )


# Built once at import, like every other endpoint's decoder, not per client.
_SENDER_LISTS = {kind: _sender_list_endpoints(kind) for kind in ("whitelist", "blacklist")}


class SenderList(_Resource):
    """``client.mailboxes.whitelist`` / ``.blacklist``: a mailbox's sender patterns."""

    __slots__ = ("_add", "_list", "_remove")

    def __init__(self, client: AsyncClient, kind: str) -> None:
        super().__init__(client)
        self._list, self._add, self._remove = _SENDER_LISTS[kind]

    async def list(self, mailbox_uuid: str) -> list[ListEntry]:
        """The mailbox's entries, oldest first."""
        return await self._client._request(self._list, path_id(mailbox_uuid, "mailbox_uuid"))

    async def add(self, mailbox_uuid: str, *, pattern: str) -> ListEntry:
        """Add a sender pattern such as ``*@trusted.com``."""
        mailbox = path_id(mailbox_uuid, "mailbox_uuid")
        body = checked_list_entry(NewListEntry(pattern=pattern))

        async def existing() -> ListEntry | None:
            # A server may store patterns lower-cased (addresses compare without case):
            # prefer an exact match, else accept one that differs only in case.
            entries = await self.list(mailbox_uuid)
            wanted = body.pattern.lower()
            return _first(entries, lambda e: e.pattern == body.pattern) or _first(
                entries, lambda e: e.pattern.lower() == wanted
            )

        return await self._client._request(self._add, mailbox, body=body, find_existing=existing)

    async def remove(self, mailbox_uuid: str, entry_uuid: str) -> None:
        """Remove one entry by its UUID."""
        ids = (path_id(mailbox_uuid, "mailbox_uuid"), path_id(entry_uuid, "entry_uuid"))
        await self._client._request(self._remove, *ids)


class Mailboxes(_Resource):
    """``client.mailboxes``: full email accounts, with their sender lists."""

    __slots__ = ("blacklist", "whitelist")

    _LIST = many("GET", "/v1/mailboxes", Mailbox)
    _CREATE = one("POST", "/v1/mailboxes", "mailbox", Mailbox)
    _GET = one("GET", "/v1/mailboxes/{}", "mailbox", Mailbox)
    _UPDATE = one("PATCH", "/v1/mailboxes/{}", "mailbox", Mailbox)
    _DELETE = deleted("/v1/mailboxes/{}")

    def __init__(self, client: AsyncClient) -> None:
        super().__init__(client)
        self.whitelist = SenderList(client, "whitelist")
        """Senders whose mail the mailbox accepts."""
        self.blacklist = SenderList(client, "blacklist")
        """Senders whose mail the mailbox rejects."""

    async def list(self, domain_uuid: str | None = None) -> list[Mailbox]:
        """All mailboxes of the account, or of one domain."""
        query = (
            None if domain_uuid is None else {"domain_uuid": path_id(domain_uuid, "domain_uuid")}
        )
        return await self._client._request(self._LIST, query=query)

    async def create(
        self, *, domain_uuid: str, local_part: str, password: str, storage_gb: int | None = None
    ) -> Mailbox:
        """Create a mailbox; the quota defaults to 10 GB on the server.

        Raises:
            ValidationError: for a malformed local part, empty password or quota < 1.
            InvalidRequestError: if the address exists or the domain is unknown.

        """
        item = NewMailbox(
            domain_uuid=domain_uuid, local_part=local_part, password=password, storage_gb=storage_gb
        )
        return await self.create_from(item)

    async def create_from(self, item: NewMailbox) -> Mailbox:
        """Create the mailbox a `NewMailbox` describes (as `create` does)."""
        body = checked_mailbox(item)
        return await self._client._request(
            self._CREATE, body=body, find_existing=self._finder(body.domain_uuid, body.local_part)
        )

    def _finder(self, domain_uuid: str, local_part: str) -> Callable[[], Awaitable[Mailbox | None]]:
        async def existing() -> Mailbox | None:
            found = await self.list(domain_uuid)
            return _first(found, lambda m: _local(m.address) == local_part.lower())

        return existing

    async def get(self, mailbox_uuid: str) -> Mailbox:
        """One mailbox."""
        return await self._client._request(self._GET, path_id(mailbox_uuid, "mailbox_uuid"))

    async def update(
        self, mailbox_uuid: str, *, enabled: bool | None = None, storage_gb: int | None = None
    ) -> Mailbox:
        """Suspend (``enabled=False``), re-enable, or change the quota; None leaves a field."""
        body = checked_mailbox_update(MailboxUpdate(enabled=enabled, storage_gb=storage_gb))
        return await self._client._request(
            self._UPDATE, path_id(mailbox_uuid, "mailbox_uuid"), body=body
        )

    async def delete(self, mailbox_uuid: str) -> None:
        """Delete a mailbox and all its stored mail."""
        await self._client._request(self._DELETE, path_id(mailbox_uuid, "mailbox_uuid"))


class Aliases(_Resource):
    """``client.aliases``: forwarding addresses."""

    _LIST = many("GET", "/v1/aliases", Alias)
    _CREATE = one("POST", "/v1/aliases", "alias", Alias)
    _GET = one("GET", "/v1/aliases/{}", "alias", Alias)
    _DELETE = deleted("/v1/aliases/{}")

    async def list(self) -> list[Alias]:
        """All aliases across the account's domains."""
        return await self._client._request(self._LIST)

    async def create(
        self, *, domain_uuid: str, local_part: str, mailbox_uuids: Sequence[str]
    ) -> Alias:
        """Create an alias forwarding to one or more mailboxes.

        Raises:
            ValidationError: for an empty `mailbox_uuids` or a malformed local part.

        """
        return await self.create_from(
            NewAlias(domain_uuid=domain_uuid, local_part=local_part, mailbox_uuids=mailbox_uuids)
        )

    async def create_from(self, item: NewAlias) -> Alias:
        """Create the alias a `NewAlias` describes (as `create` does)."""
        body = checked_alias(item)

        async def existing() -> Alias | None:
            return _first(
                await self.list(),
                lambda a: (
                    a.domain_uuid.lower() == body.domain_uuid.lower()  # UUIDs: any case
                    and _local(a.address) == body.local_part.lower()
                ),
            )

        return await self._client._request(self._CREATE, body=body, find_existing=existing)

    async def get(self, alias_uuid: str) -> Alias:
        """One alias with the mailboxes it forwards to."""
        return await self._client._request(self._GET, path_id(alias_uuid, "alias_uuid"))

    async def delete(self, alias_uuid: str) -> None:
        """Delete an alias; its target mailboxes are not affected."""
        await self._client._request(self._DELETE, path_id(alias_uuid, "alias_uuid"))
