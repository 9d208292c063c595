"""What the bulk helpers take and give back: item structs, outcomes, results, errors.

Nothing here does I/O; `_bulk` runs the operations. The semantics (partial
failure, ``fail_fast``, cancellation, progress) are explained in ``docs/bulk.md``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec

from ._errors import ClubSMTPError, ValidationError
from ._models import NewAlias, NewMailbox
from ._validation import shown

__all__ = [
    "BulkAborted",
    "BulkError",
    "BulkFailure",
    "BulkOutcome",
    "BulkProgress",
    "BulkResult",
    "MailboxChange",
    "ProgressCallback",
    "SenderPattern",
]

T = TypeVar("T")


class SenderPattern(msgspec.Struct, frozen=True):
    """A whitelist/blacklist entry to add: a sender pattern on one mailbox.

    The bulk list helpers also accept plain ``(mailbox_uuid, pattern)`` tuples.

    Example:
        ```python
        await client.bulk.add_whitelist([SenderPattern(mailbox.uuid, "*@trusted.example")])
        await client.bulk.add_blacklist([(mailbox.uuid, "*@spam.example")])
        ```

    """

    mailbox_uuid: str
    pattern: str

    @classmethod
    def of(cls, item: object) -> SenderPattern:
        """The item as a `SenderPattern` (a `SenderPattern` or a 2-tuple of strings).

        Raises:
            ValidationError: for anything else.

        """
        if isinstance(item, SenderPattern):
            return item
        if isinstance(item, tuple) and len(item) == 2:
            return cls(item[0], item[1])
        raise ValidationError(  # the type only: the item could hold anything
            "expected a SenderPattern or a (mailbox_uuid, pattern) tuple, "
            f"got a {type(item).__name__}"
        )


class MailboxChange(msgspec.Struct, frozen=True):
    """A change to one mailbox for `Bulk.update_mailboxes`; None leaves a field as it is.

    Example:
        ```python
        changes = [MailboxChange(uuid, enabled=False) for uuid in suspended]
        await client.bulk.update_mailboxes(changes)
        ```

    """

    mailbox_uuid: str
    enabled: bool | None = None
    storage_gb: int | None = None


@dataclass(frozen=True, slots=True)
class BulkProgress:
    """How far a bulk operation is, passed to ``on_progress`` after each item.

    Attributes:
        done: Items finished so far (succeeded or failed).
        total: The number of items when the input has a length, else None.
        failed: How many of the `done` items failed.

    """

    done: int
    total: int | None
    failed: int

    @property
    def succeeded(self) -> int:
        """How many of the `done` items succeeded."""
        return self.done - self.failed


ProgressCallback = Callable[[BulkProgress], "Awaitable[None] | None"]
"""``on_progress``: a plain function, or a coroutine function (awaited before going on)."""


@dataclass(frozen=True, slots=True)
class BulkFailure:
    """One item that failed.

    Attributes:
        index: Its position in the input (0-based).
        item: The item as given.
        error: Why it failed: a `ClubSMTPError` (a `ValidationError` if it was
            refused before sending), or — only if there is a bug — another exception.

    """

    index: int
    item: Any
    error: Exception

    def __repr__(self) -> str:
        return f"BulkFailure(index={self.index}, item={item_repr(self.item)}, error={self.error!r})"


@dataclass(frozen=True, slots=True)
class BulkOutcome(Generic[T]):
    """What became of one item, as the streaming forms yield it.

    Attributes:
        index: Its position in the input (0-based).
        item: The item as given.
        result: The operation's result (the created object, or the identifier
            for deletes) when it succeeded, else None.
        error: The exception when it failed, else None.

    """

    index: int
    item: Any
    result: T | None
    error: Exception | None

    def __repr__(self) -> str:
        return (
            f"BulkOutcome(index={self.index}, item={item_repr(self.item)}, "
            f"result={self.result!r}, error={self.error!r})"
        )

    @property
    def ok(self) -> bool:
        """True if the item succeeded."""
        return self.error is None

    def unwrap(self) -> T:
        """The result, or raise the item's error."""
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]  # set whenever error is None


@dataclass(slots=True)
class BulkResult(Generic[T]):
    """The per-item results of a bulk operation.

    Attributes:
        succeeded: The results of the items that succeeded, in input order.
        succeeded_indices: The input position of each of `succeeded`.
        failed: The items that failed, in input order.

    """

    succeeded: list[T] = field(default_factory=list)
    succeeded_indices: list[int] = field(default_factory=list)
    failed: list[BulkFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if no item failed."""
        return not self.failed

    def raise_for_failures(self) -> BulkResult[T]:
        """Raise `BulkError` if any item failed; otherwise return this result.

        Example:
            ```python
            mailboxes = (await client.bulk.create_mailboxes(items)).raise_for_failures().succeeded
            ```

        """
        if self.failed:
            raise BulkError(self) from self.failed[0].error
        return self

    def __repr__(self) -> str:
        return f"<BulkResult succeeded={len(self.succeeded)} failed={len(self.failed)}>"


class BulkError(ClubSMTPError):
    """Some items of a bulk operation failed (raised by `BulkResult.raise_for_failures`).

    Attributes:
        result: The results, failures included (None for a streaming form).
        failures: The failed items.

    """

    def __init__(self, result: BulkResult[Any] | None, message: str | None = None) -> None:
        self.result = result
        self.failures: list[BulkFailure] = [] if result is None else result.failed
        super().__init__(message or _summary(self.failures))


class BulkAborted(BulkError):
    """``fail_fast=True`` stopped a bulk operation at its first failed item.

    Every item the operation started is accounted for exactly once: in
    `result` (succeeded or failed — the first failure included, and any item
    that finished while the rest was being stopped) or in `unfinished`. Items
    at positions ``>= started`` were never taken from the input.

    The exception's ``__cause__`` is the first failure's error.

    Attributes:
        failure: The first failed item.
        unfinished: ``(index, item)`` of the items cancelled in flight, in input
            order; the server may or may not have applied them.
        started: How many items were taken from the input.
        result: The partial result (None for a streaming form, which already
            yielded every finished item).

    """

    def __init__(
        self, failure: BulkFailure, unfinished: list[tuple[int, Any]], started: int
    ) -> None:
        self.failure = failure
        self.unfinished = unfinished
        self.started = started
        message = (
            f"stopped after item {failure.index} failed (fail_fast): "
            f"{type(failure.error).__name__}: {failure.error}; "
            f"{started} started, {len(unfinished)} cancelled in flight"
        )
        super().__init__(None, message)
        self.failures = [failure]

    def attach(self, result: BulkResult[Any]) -> None:
        """Record the partial result (done by the collecting forms)."""
        self.result = result
        self.failures = result.failed


_SCALARS = (str, int, float, bool, type(None))


def item_repr(item: object) -> str:
    """An item as the reprs show it: never a password.

    The SDK's item types (`NewMailbox` hides its password), scalars and tuples
    of scalars are shown; anything else by its type only, e.g. ``<dict>`` for
    a ``csv.DictReader`` row that holds a password.
    """
    if isinstance(item, (NewMailbox, NewAlias, SenderPattern, MailboxChange)):
        return repr(item)
    if isinstance(item, tuple) and len(item) <= 4 and all(isinstance(x, _SCALARS) for x in item):
        return repr(item)
    if isinstance(item, _SCALARS):
        return shown(item)
    return f"<{type(item).__name__}>"


def _summary(failures: list[BulkFailure]) -> str:
    if not failures:
        return "no item failed"
    first = failures[0]
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    return (
        f"{len(failures)} item(s) failed; first: item {first.index}: "
        f"{type(first.error).__name__}: {first.error}{more}"
    )
