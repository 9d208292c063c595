"""``client.bulk``: one operation over many items, concurrently, with a result per item.

Every operation comes in two forms, generated from one table and one engine
(`_bulk_engine`):

```python
result = await client.bulk.create_mailboxes(items)          # BulkResult[Mailbox]
async with client.bulk.iter_create_mailboxes(items) as outcomes:   # streaming
    async for outcome in outcomes:                          # BulkOutcome[Mailbox]
        ...
```

Semantics — partial failure, ``fail_fast``, cancellation, progress, duplicates —
are documented in ``docs/bulk.md`` and on `Bulk`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from functools import partial
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ._bulk_engine import BulkStream, Items
from ._bulk_types import (
    BulkAborted,
    BulkFailure,
    BulkResult,
    MailboxChange,
    ProgressCallback,
    SenderPattern,
)
from ._errors import ValidationError
from ._models import Alias, Domain, ListEntry, Mailbox, NewAlias, NewMailbox
from ._validation import domain_name

if TYPE_CHECKING:
    from ._client import AsyncClient
    from ._resources import SenderList

__all__ = ["Bulk", "BulkCall", "BulkStreamCall"]

I = TypeVar("I")  # noqa: E741 - the item type
T = TypeVar("T")
S = TypeVar("S")

DEFAULT_CONCURRENCY = 32


@dataclass(frozen=True)
class _Operation(Generic[I, T]):
    """What a bulk operation does to one item, and the key that orders same-key items."""

    call: Callable[[AsyncClient, I], Awaitable[T]]
    key_of: Callable[[Any], Hashable | None]
    doc: str


class BulkCall(Generic[I, T]):
    """A bulk operation bound to a client; awaiting a call gives a `BulkResult`."""

    __slots__ = ("_client", "_op")

    def __init__(self, client: AsyncClient, op: _Operation[I, T]) -> None:
        self._client = client
        self._op = op

    async def __call__(
        self,
        items: Items[I],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
    ) -> BulkResult[T]:
        """Run the operation on every item and collect the results.

        Args:
            items: A list, any iterable, or an async iterable of items.
            concurrency: At most this many items in flight at once.
            on_progress: Called with a `BulkProgress` after each item (may be async).
            fail_fast: Stop at the first failed item: raise `BulkAborted`.

        Returns:
            Every item in exactly one of ``succeeded`` / ``failed``.

        Raises:
            BulkAborted: with ``fail_fast=True``, carrying the partial result.
            ValidationError: if `concurrency` is not a whole number >= 1, `items`
                not an iterable of items (a lone string is refused), `on_progress`
                not callable or `fail_fast` not a bool.

        """
        stream = BulkStreamCall(self._client, self._op)(
            items, concurrency=concurrency, on_progress=on_progress, fail_fast=fail_fast
        )
        return await _collect(stream)


class BulkStreamCall(Generic[I, T]):
    """The streaming form of a bulk operation; a call gives a `BulkStream`."""

    __slots__ = ("_client", "_op")

    def __init__(self, client: AsyncClient, op: _Operation[I, T]) -> None:
        self._client = client
        self._op = op

    def __call__(
        self,
        items: Items[I],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_progress: ProgressCallback | None = None,
        fail_fast: bool = False,
    ) -> BulkStream[T]:
        """The outcomes of the operation, as they complete.

        ``async with stream as outcomes: async for outcome in outcomes`` streams
        continuously; a bare ``async for outcome in stream`` runs batch by batch
        (see `BulkStream`).

        Args:
            items: A list, any iterable, or an async iterable of items; pulled
                lazily, one per free slot, so memory does not grow with their number.
            concurrency: At most this many items in flight (or finished but not
                yet read) at once.
            on_progress: Called with a `BulkProgress` as each outcome is read.
            fail_fast: After the first failed outcome, stop; the iteration
                raises `BulkAborted` once the finished items are yielded.

        Raises:
            ValidationError: if `concurrency` is not a whole number >= 1, `items`
                not an iterable of items (a lone string is refused), `on_progress`
                not callable or `fail_fast` not a bool.

        """
        return BulkStream(
            partial(self._op.call, self._client),
            self._op.key_of,
            items,
            concurrency=concurrency,
            on_progress=on_progress,
            fail_fast=fail_fast,
        )


class _Collecting(Generic[I, T]):
    """Declares a collecting bulk method on `Bulk` (a descriptor)."""

    def __init__(self, op: _Operation[I, T]) -> None:
        self.op = op
        self.__doc__ = op.doc

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> _Collecting[I, T]: ...
    @overload
    def __get__(self, obj: Bulk, owner: type[Any]) -> BulkCall[I, T]: ...
    def __get__(self, obj: Bulk | None, owner: type[Any]) -> _Collecting[I, T] | BulkCall[I, T]:
        return self if obj is None else BulkCall(obj._client, self.op)


class _Streaming(Generic[I, T]):
    """Declares a streaming bulk method on `Bulk` (a descriptor)."""

    def __init__(self, op: _Operation[I, T]) -> None:
        self.op = op
        self.__doc__ = f"Streaming form: {op.doc} Yields a `BulkOutcome` per item."

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> _Streaming[I, T]: ...
    @overload
    def __get__(self, obj: Bulk, owner: type[Any]) -> BulkStreamCall[I, T]: ...
    def __get__(
        self, obj: Bulk | None, owner: type[Any]
    ) -> _Streaming[I, T] | BulkStreamCall[I, T]:
        return self if obj is None else BulkStreamCall(obj._client, self.op)


async def _collect(stream: BulkStream[T]) -> BulkResult[T]:
    succeeded: list[tuple[int, T]] = []
    failed: list[BulkFailure] = []
    try:
        async with stream as outcomes:
            async for outcome in outcomes:
                if outcome.error is None:
                    succeeded.append((outcome.index, outcome.unwrap()))
                else:
                    failed.append(BulkFailure(outcome.index, outcome.item, outcome.error))
    except BulkAborted as exc:
        exc.attach(_result(succeeded, failed))
        raise
    return _result(succeeded, failed)


def _result(succeeded: list[tuple[int, T]], failed: list[BulkFailure]) -> BulkResult[T]:
    succeeded.sort(key=itemgetter(0))
    failed.sort(key=attrgetter("index"))
    return BulkResult(
        succeeded=[value for _, value in succeeded],
        succeeded_indices=[index for index, _ in succeeded],
        failed=failed,
    )


# --- The operations: what to do to one item ------------------------------------------


def _expect(item: object, cls: type[S]) -> S:
    if not isinstance(item, cls):
        # The type only, never the item: a dict row from csv.DictReader holds a password.
        raise ValidationError(f"expected a {cls.__name__}, got a {type(item).__name__}")
    return item


def _uuid_key(value: Any) -> Hashable:
    return str(value).lower()


async def _create_domain(client: AsyncClient, name: str) -> Domain:
    return await client.domains.create(name=_expect(name, str))


async def _create_mailbox(client: AsyncClient, item: NewMailbox) -> Mailbox:
    return await client.mailboxes.create_from(_expect(item, NewMailbox))


async def _create_alias(client: AsyncClient, item: NewAlias) -> Alias:
    return await client.aliases.create_from(_expect(item, NewAlias))


def _adder(
    sender_list: Callable[[AsyncClient], SenderList],
) -> Callable[[AsyncClient, SenderPattern | tuple[str, str]], Awaitable[ListEntry]]:
    async def add(client: AsyncClient, item: SenderPattern | tuple[str, str]) -> ListEntry:
        entry = SenderPattern.of(item)
        return await sender_list(client).add(entry.mailbox_uuid, pattern=entry.pattern)

    return add


def _pattern_key(item: Any) -> Hashable:
    entry = SenderPattern.of(item)
    return (_uuid_key(entry.mailbox_uuid), entry.pattern)


def _address_key(item: Any) -> Hashable:
    return (_uuid_key(item.domain_uuid), item.local_part.lower())


async def _update_mailbox(client: AsyncClient, change: MailboxChange) -> Mailbox:
    change = _expect(change, MailboxChange)
    return await client.mailboxes.update(
        change.mailbox_uuid, enabled=change.enabled, storage_gb=change.storage_gb
    )


def _deleter(
    delete: Callable[[AsyncClient, str], Awaitable[None]],
) -> Callable[[AsyncClient, str], Awaitable[str]]:
    async def delete_one(client: AsyncClient, uuid: str) -> str:
        await delete(client, uuid)
        return uuid

    return delete_one


def _whitelist_of(client: AsyncClient) -> SenderList:
    return client.mailboxes.whitelist


def _blacklist_of(client: AsyncClient) -> SenderList:
    return client.mailboxes.blacklist


async def _delete_domain(client: AsyncClient, uuid: str) -> None:
    await client.domains.delete(uuid)


async def _delete_mailbox(client: AsyncClient, uuid: str) -> None:
    await client.mailboxes.delete(uuid)


async def _delete_alias(client: AsyncClient, uuid: str) -> None:
    await client.aliases.delete(uuid)


def _domain_key(name: Any) -> Hashable:
    # The name as sent, so that `bücher.example` and `xn--bcher-kva.example` chain.
    return domain_name(name)


def _change_key(change: Any) -> Hashable:
    return _uuid_key(change.mailbox_uuid)


_PATTERN_ITEMS = "`SenderPattern` items or ``(mailbox_uuid, pattern)`` tuples"

_DOMAINS = _Operation[str, Domain](
    _create_domain, _domain_key, "Create domains: domain names → `BulkResult[Domain]`."
)
_MAILBOXES = _Operation[NewMailbox, Mailbox](
    _create_mailbox, _address_key, "Create mailboxes: `NewMailbox` items → `BulkResult[Mailbox]`."
)
_ALIASES = _Operation[NewAlias, Alias](
    _create_alias, _address_key, "Create aliases: `NewAlias` items → `BulkResult[Alias]`."
)
_WHITELIST = _Operation[SenderPattern | tuple[str, str], ListEntry](
    _adder(_whitelist_of), _pattern_key,
    f"Add whitelist entries: {_PATTERN_ITEMS} → `BulkResult[ListEntry]`.",
)
_BLACKLIST = _Operation[SenderPattern | tuple[str, str], ListEntry](
    _adder(_blacklist_of), _pattern_key,
    f"Add blacklist entries: {_PATTERN_ITEMS} → `BulkResult[ListEntry]`.",
)
_UPDATES = _Operation[MailboxChange, Mailbox](
    _update_mailbox, _change_key,
    "Enable, suspend or resize mailboxes: `MailboxChange` items → `BulkResult[Mailbox]`"
    " (changes to one mailbox are applied in input order).",
)
_DELETE_DOMAINS = _Operation[str, str](
    _deleter(_delete_domain), _uuid_key,
    "Delete domains (cascading to their mailboxes and aliases): UUIDs → `BulkResult[str]`.",
)
_DELETE_MAILBOXES = _Operation[str, str](
    _deleter(_delete_mailbox), _uuid_key,
    "Delete mailboxes: UUIDs → `BulkResult[str]` (the deleted UUIDs).",
)
_DELETE_ALIASES = _Operation[str, str](
    _deleter(_delete_alias), _uuid_key,
    "Delete aliases: UUIDs → `BulkResult[str]` (the deleted UUIDs).",
)


class Bulk:
    """``client.bulk``: concurrent operations over many items, with a result per item.

    Each operation ``op`` exists as ``await bulk.op(items, ...)`` → `BulkResult`
    and as ``bulk.iter_op(items, ...)`` → `BulkStream` (``async with``, then
    ``async for``). Both take ``concurrency`` (default 32), ``on_progress`` and
    ``fail_fast``; see `BulkCall` and `BulkStreamCall`.

    - An item's failure (a `ClubSMTPError`, including a `ValidationError` of a
      malformed item) is recorded for that item; the others go on.
    - Every item ends in exactly one of ``succeeded`` / ``failed``.
    - Items with the same natural key (address, mailbox, UUID) run one after the
      other in input order, so in-batch duplicates fail deterministically.
    - Requests are paced by the client's limiter and retried by its policy.
    - Cancelling the caller cancels the items in flight and leaves no task behind.
    """

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<Bulk of {self._client!r}>"

    create_domains = _Collecting(_DOMAINS)
    create_mailboxes = _Collecting(_MAILBOXES)
    create_aliases = _Collecting(_ALIASES)
    add_whitelist = _Collecting(_WHITELIST)
    add_blacklist = _Collecting(_BLACKLIST)
    update_mailboxes = _Collecting(_UPDATES)
    delete_domains = _Collecting(_DELETE_DOMAINS)
    delete_mailboxes = _Collecting(_DELETE_MAILBOXES)
    delete_aliases = _Collecting(_DELETE_ALIASES)

    iter_create_domains = _Streaming(_DOMAINS)
    iter_create_mailboxes = _Streaming(_MAILBOXES)
    iter_create_aliases = _Streaming(_ALIASES)
    iter_add_whitelist = _Streaming(_WHITELIST)
    iter_add_blacklist = _Streaming(_BLACKLIST)
    iter_update_mailboxes = _Streaming(_UPDATES)
    iter_delete_domains = _Streaming(_DELETE_DOMAINS)
    iter_delete_mailboxes = _Streaming(_DELETE_MAILBOXES)
    iter_delete_aliases = _Streaming(_DELETE_ALIASES)
