"""The one engine behind every bulk operation: bounded fan-out on an anyio task group.

How it keeps its promises (see ``docs/bulk.md`` for the user-facing semantics):

- **Bounded memory.** A producer takes a slot of a semaphore *before* it pulls
  the next item from the input and spawns that item's task, as aiometer does.
  A slot is given back only when the consumer has taken the item's outcome, so
  items in flight plus outcomes waiting to be read never exceed `concurrency`,
  whatever the length of the input — 100,000 items never become 100,000 tasks.
- **Exactly once.** An item is recorded in ``in_flight`` (by the producer, in
  input order) and leaves it in the same synchronous step that hands its
  outcome to the stream — no checkpoint in between, so a cancellation can never
  lose a finished item. After a stop, ``in_flight`` holds exactly the items
  that were cancelled before they finished.
- **No yield across a cancel scope.** The task group lives in `BulkStream`'s
  ``async with``; the caller iterates inside it. An async generator that yields
  from inside a task group would let the caller's code run inside the group's
  cancel scope between steps (see anyio's docs and PEP 789), so none is used.
- **Same-key items run in input order.** Items with the same natural key (the
  same address, the same mailbox to update, the same UUID to delete) are
  chained: each starts only after the previous one with that key finished, so
  duplicates in one batch give deterministic outcomes (the first one wins).
- **Pacing is the client's.** No sleeps here: every request goes through the
  client's limiter and retry policy.
"""

from __future__ import annotations

import inspect
import sys
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Sized,
)
from types import TracebackType
from typing import Any, Generic, TypeVar

import anyio
from anyio.abc import TaskGroup

from ._bulk_types import BulkAborted, BulkFailure, BulkOutcome, BulkProgress, ProgressCallback
from ._errors import ValidationError
from ._validation import shown

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found,unused-ignore]

__all__ = ["BulkStream", "Items", "check_call", "run_options"]

I = TypeVar("I")  # noqa: E741 - the item type, as in the public signatures
T = TypeVar("T")

Items = Iterable[I] | AsyncIterable[I]
"""A list, any iterable (a generator is never materialised), or an async iterable."""

Call = Callable[[I], Awaitable[T]]
KeyOf = Callable[[Any], Hashable | None]


def run_options(concurrency: object) -> int:
    """The checked concurrency.

    Raises:
        ValidationError: unless it is a whole number >= 1.

    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError(
            f"concurrency must be a whole number >= 1, got {shown(concurrency)}"
        )
    return concurrency


def check_call(items: object, on_progress: object, fail_fast: object) -> None:
    """Refuse the other arguments of a bulk call before anything starts.

    Raises:
        ValidationError: if `items` is not an iterable or async iterable of items
            (a single string is refused: it would run once per character), if
            `on_progress` is neither None nor callable, or `fail_fast` not a bool.

    """
    if isinstance(items, (str, bytes)) or not isinstance(items, (Iterable, AsyncIterable)):
        raise ValidationError(
            "items must be a list, an iterable or an async iterable of items, "
            f"got a {type(items).__name__}"
        )
    if on_progress is not None and not callable(on_progress):
        raise ValidationError(
            f"on_progress must be a function or None, got a {type(on_progress).__name__}"
        )
    if not isinstance(fail_fast, bool):
        raise ValidationError(f"fail_fast must be True or False, got {shown(fail_fast)}")


def _puller(items: Items[Any]) -> tuple[Callable[[], Awaitable[Any]], Any]:
    """A coroutine function returning the next item (or raising StopAsyncIteration)."""
    if isinstance(items, AsyncIterable):
        iterator = aiter(items)
        return iterator.__anext__, iterator
    sync_iterator = iter(items)

    async def next_item() -> Any:
        try:
            return next(sync_iterator)
        except StopIteration:
            raise StopAsyncIteration from None

    return next_item, None


class _Run(Generic[T]):
    """The state of one run: slots, the outcome stream, what is in flight."""

    def __init__(
        self, call: Call[Any, T], key_of: KeyOf, items: Items[Any], slots: int, first_index: int
    ) -> None:
        self.call = call
        self.key_of = key_of
        self.items = items
        self.slots = anyio.Semaphore(slots)
        # Bounded by `slots`: an outcome holds its slot until the consumer takes it,
        # so send_nowait() below never finds the buffer full.
        self.send, self.receive = anyio.create_memory_object_stream[BulkOutcome[T]](slots)
        self.scope = anyio.CancelScope()  # stops the producer and every item task
        self.in_flight: dict[int, Any] = {}
        self.started = first_index  # the index of the next item pulled
        self._tails: dict[Hashable, anyio.Event] = {}

    async def produce(self) -> None:
        """Spawn one task per item, each after a slot is free; close the stream at the end."""
        pull, iterator = _puller(self.items)
        finished = False
        try:
            with self.scope:
                async with anyio.create_task_group() as tg:
                    finished = await self._spawn_all(tg, pull)
        finally:
            self.send.close()
            if not finished and iterator is not None and hasattr(iterator, "aclose"):
                # Stopped early: close an async-generator input here, in this task,
                # rather than leave it to a garbage-collection hook in another one.
                await iterator.aclose()

    async def _spawn_all(self, tg: TaskGroup, pull: Callable[[], Awaitable[Any]]) -> bool:
        while True:
            await self.slots.acquire()
            try:
                item = await pull()
            except StopAsyncIteration:
                self.slots.release()
                return True
            index = self.started
            self.started += 1
            self.in_flight[index] = item
            tg.start_soon(self._work, index, item, *self._chain(item))

    def _chain(self, item: Any) -> tuple[anyio.Event | None, anyio.Event, Hashable | None]:
        """Link the item after the previous in-flight item with the same key."""
        try:
            key = self.key_of(item)
        except Exception:  # a malformed item: it will fail validation on its own
            key = None
        done = anyio.Event()
        if key is None:
            return None, done, None
        previous = self._tails.get(key)
        self._tails[key] = done
        return previous, done, key

    async def _work(
        self,
        index: int,
        item: Any,
        previous: anyio.Event | None,
        done: anyio.Event,
        key: Hashable | None,
    ) -> None:
        try:
            if previous is not None:
                await previous.wait()
            outcome = await self._outcome(index, item)
        finally:
            done.set()
            if key is not None and self._tails.get(key) is done:
                del self._tails[key]
        # The hand-off: no checkpoint between leaving in_flight and entering the stream.
        del self.in_flight[index]
        self.send.send_nowait(outcome)

    async def _outcome(self, index: int, item: Any) -> BulkOutcome[T]:
        try:
            result = await self.call(item)
        except Exception as exc:  # an item's failure never stops the others
            return BulkOutcome(index, item, None, exc)
        return BulkOutcome(index, item, result, None)


class BulkStream(Generic[T]):
    """The outcomes of a streaming bulk operation, as they complete.

    Enter it with ``async with``, then iterate; leaving the block stops the
    run (items in flight are cancelled) and waits for every task to end. This
    form streams continuously: a new item starts as soon as one finishes.

    A bare ``async for outcome in client.bulk.iter_...(items)`` works too, and
    is always safe to leave early, but runs the items in batches of
    `concurrency`, each to its end (see ``docs/bulk.md``).

    Example:
        ```python
        async with client.bulk.iter_create_mailboxes(items) as outcomes:
            async for outcome in outcomes:
                print(outcome.index, outcome.result if outcome.ok else outcome.error)
        ```

    Raises:
        BulkAborted: from the iteration, with ``fail_fast=True``, after the
            outcomes of every item that finished have been yielded.

    """

    def __init__(
        self,
        call: Call[Any, T],
        key_of: KeyOf,
        items: Items[Any],
        *,
        concurrency: int,
        on_progress: ProgressCallback | None,
        fail_fast: bool,
        first_index: int = 0,
    ) -> None:
        check_call(items, on_progress, fail_fast)
        self._args = (call, key_of, items, run_options(concurrency), first_index)
        self._on_progress = on_progress
        self._fail_fast = fail_fast
        self._total = len(items) if isinstance(items, Sized) else None
        self._done = self._failed = 0
        self._failure: BulkFailure | None = None
        self._run: _Run[T] | None = None
        self._tg: TaskGroup | None = None

    @property
    def started(self) -> int:
        """How many items were taken from the input so far."""
        return 0 if self._run is None else self._run.started

    async def __aenter__(self) -> BulkStream[T]:
        if self._run is not None:
            raise RuntimeError("a BulkStream can be entered only once")
        self._run = _Run(*self._args)
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._run.produce)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._run is not None
        assert self._tg is not None
        self._tg.cancel_scope.cancel()  # no-op after a full iteration; else stop the run
        try:
            return await self._tg.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            sole = _sole_error(group)
            if sole is None:
                raise
        finally:
            self._run.send.close()
            self._run.receive.close()
        # Outside the except block, so the group does not become the context.
        raise sole

    def __aiter__(self) -> AsyncIterator[BulkOutcome[T]]:
        # Inside `async with`: the continuous stream. Without it: batch by batch.
        return self if self._run is not None else _Batches(self)

    async def _run_batch(self, batch: list[Any]) -> tuple[list[BulkOutcome[T]], BulkAborted | None]:
        """Run one batch to its end (for `_Batches`); its outcomes and the abort, if any."""
        call, key_of, _, _, first = self._args
        first += self._done
        stream = BulkStream(
            call,
            key_of,
            batch,
            concurrency=len(batch),
            on_progress=None,
            fail_fast=self._fail_fast,
            first_index=first,
        )
        outcomes: list[BulkOutcome[T]] = []
        try:
            async with stream:
                async for outcome in stream:
                    outcomes.append(outcome)
                    await self._progress(outcome)
        except BulkAborted as aborted:
            return outcomes, aborted
        return outcomes, None

    async def __anext__(self) -> BulkOutcome[T]:
        run = self._run
        assert run is not None, "use 'async with' first"
        try:
            outcome = await run.receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            if self._failure is not None:
                raise self._aborted() from self._failure.error
            raise StopAsyncIteration from None
        run.slots.release()
        if outcome.error is not None and self._fail_fast and self._failure is None:
            self._failure = BulkFailure(outcome.index, outcome.item, outcome.error)
            run.scope.cancel()  # stop pulling and cancel what is in flight; the rest drains
        await self._progress(outcome)
        return outcome

    async def _progress(self, outcome: BulkOutcome[T]) -> None:
        self._done += 1
        self._failed += outcome.error is not None
        if self._on_progress is None:
            return
        maybe = self._on_progress(BulkProgress(self._done, self._total, self._failed))
        if inspect.isawaitable(maybe):
            await maybe

    def _aborted(self) -> BulkAborted:
        assert self._run is not None
        assert self._failure is not None
        unfinished = sorted(self._run.in_flight.items(), key=lambda pair: pair[0])
        return BulkAborted(self._failure, unfinished, self._run.started)


class _Batches(Generic[T]):
    """A bare ``async for`` over a `BulkStream`, one batch of `concurrency` at a time.

    Each batch runs to its end before its outcomes are yielded.

    No task is alive while the caller's loop body runs, so leaving the loop early
    (``break``, an exception, a cancellation) leaves nothing behind; the price is
    that a batch waits for its slowest item. A plain class, not an async
    generator, so an early exit needs no finalisation at all.
    """

    def __init__(self, stream: BulkStream[T]) -> None:
        self._stream = stream
        self._pull, _ = _puller(stream._args[2])
        self._size = stream._args[3]
        self._ready: deque[BulkOutcome[T]] = deque()
        self._aborted: BulkAborted | None = None
        self._ended = False

    def __aiter__(self) -> _Batches[T]:
        return self

    async def __anext__(self) -> BulkOutcome[T]:
        while not self._ready:
            if self._aborted is not None:
                aborted, self._aborted = self._aborted, None
                raise aborted
            if self._ended:
                raise StopAsyncIteration
            batch = await _take(self._pull, self._size)
            if not batch:
                self._ended = True
                continue
            outcomes, self._aborted = await self._stream._run_batch(batch)
            self._ended = self._aborted is not None
            self._ready.extend(outcomes)
        return self._ready.popleft()


async def _take(pull: Callable[[], Awaitable[Any]], count: int) -> list[Any]:
    """Up to `count` next items of the input (fewer at its end)."""
    batch: list[Any] = []
    try:
        while len(batch) < count:
            batch.append(await pull())
    except StopAsyncIteration:
        pass
    return batch


def _sole_error(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one exception of a group of one (as aiometer collapses them), else None."""
    if len(group.exceptions) != 1:
        return None
    inner: BaseException = group.exceptions[0]
    if isinstance(inner, BaseExceptionGroup):
        return _sole_error(inner)
    return inner
