"""Webhook delivery: per-endpoint ordered queues, signed attempts, retries, the log.

`Webhooks.publish` is synchronous and does no I/O: it appends the event to
the queue of every endpoint that wants it, so the API call that caused the
event is never slowed by a receiver. The sending happens in one worker task
per endpoint, which exist only inside `Webhooks.running()` (the emulator
enters it from the served app's lifespan, from ``Emulator.running()`` in
process, and from the pytest fixtures). Events published while nothing runs
wait in their queues.

A worker takes its queue's events one at a time, in order: an event is retried
(same body, same ``webhook-id``, a fresh ``webhook-timestamp`` and signature)
until it is delivered or its retries are used up, and only then does the next
one go. So an endpoint sees its events in order, at least once each.

Deliveries are sent with the HTTP library the SDK's own pools use (httpx2 when
installed, else httpx).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup
from starlette.types import ASGIApp

from clubsmtp_async.webhooks import sign

from .._http import ASGITransport, new_client
from ._endpoints import Delivery, DeliveryAttempt, DeliverySettings, WebhookEndpoint
from ._events import WebhookEvent
from ._keys import DEFAULT_ACCOUNT

__all__ = ["Webhooks"]

_logger = logging.getLogger("clubsmtp_async.testing.webhooks")
_EXCERPT = 200
_MAX_EVENTS = 10_000
_USER_AGENT = "clubsmtp-emulator-webhooks"


@dataclass
class _Queue:
    """One endpoint's pending deliveries, and the scope of its worker."""

    items: deque[Delivery] = field(default_factory=deque)
    current: Delivery | None = None
    worker: anyio.CancelScope | None = None


class Webhooks:
    """The emulator's webhook endpoints, event log and delivery machinery.

    Args:
        settings: Retry delays, timeout and log size.
        wall_clock: Unix time for ``webhook-timestamp`` (the real clock by
            default even under a `FakeClock`, since receivers check it against
            theirs).

    Attributes:
        settings: The delivery settings.

    """

    def __init__(
        self, settings: DeliverySettings | None = None, *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or DeliverySettings()
        self._wall_clock = wall_clock
        self._endpoints: dict[str, WebhookEndpoint] = {}
        self._queues: dict[str, _Queue] = {}
        self._events: deque[WebhookEvent] = deque(maxlen=_MAX_EVENTS)
        self._log: dict[str, Delivery] = {}
        self._waiters: set[anyio.Event] = set()
        self._task_group: TaskGroup | None = None
        self._http: Any = None
        self._runs = 0
        self.delivered = 0
        self.failed = 0
        self.revision = 0

    def __repr__(self) -> str:
        return (f"<Webhooks endpoints={len(self._endpoints)} delivered={self.delivered} "
                f"failed={self.failed} pending={self.pending}>")

    # Endpoints

    @property
    def endpoints(self) -> list[WebhookEndpoint]:
        """The registered endpoints, in registration order."""
        return list(self._endpoints.values())

    def add_endpoint(
        self,
        url: str | None = None,
        *,
        app: ASGIApp | None = None,
        secret: str | None = None,
        account: str = DEFAULT_ACCOUNT,
        event_types: Iterable[str] | None = None,
        id: str | None = None,
    ) -> WebhookEndpoint:
        """Register a receiver of `account`'s events.

        Example:
            >>> endpoint = Webhooks().add_endpoint("http://127.0.0.1:8000/hooks")
            >>> endpoint.secret.startswith("whsec_")
            True

        Args:
            url: Where to POST deliveries (for an in-process `app`: the URL
                of the request it sees; default ``http://webhooks.in-process/``).
            app: An in-process ASGI receiver (no sockets).
            secret: The ``whsec_`` secret; generated when None.
            account: Whose events it receives.
            event_types: Only these types (default: all).
            id: The endpoint's id (default: a new ``we_...``).

        Returns:
            The endpoint, with its secret.

        Raises:
            ValueError: on a malformed URL, secret, account or event type, or an
                id already in use.

        """
        endpoint = WebhookEndpoint.create(
            url, app=app, secret=secret, account=account, event_types=event_types, id=id
        )
        if endpoint.id in self._endpoints:
            raise ValueError(f"webhook endpoint {endpoint.id} already exists")
        self._endpoints[endpoint.id] = endpoint
        self._queues[endpoint.id] = _Queue()
        self._start_worker(endpoint)
        self._changed()
        return endpoint

    def remove_endpoint(self, endpoint_id: str) -> bool:
        """Forget an endpoint; its undelivered events are cancelled. Returns whether it existed."""
        endpoint = self._endpoints.pop(endpoint_id, None)
        if endpoint is None:
            return False
        queue = self._queues.pop(endpoint_id)
        self._cancel(queue)
        if queue.worker is not None:
            queue.worker.cancel()
        self._changed()
        return True

    # Events

    def publish(self, event: WebhookEvent) -> None:
        """Record `event` and queue it for every endpoint that wants it (no I/O)."""
        self._events.append(event)
        for endpoint in self._endpoints.values():
            if endpoint.wants(event):
                self._enqueue(Delivery(endpoint.id, event))
        self._changed()

    def _enqueue(self, delivery: Delivery) -> None:
        self._log[delivery.id] = delivery
        self._queues[delivery.endpoint_id].items.append(delivery)

    @property
    def events(self) -> list[WebhookEvent]:
        """The events emitted so far (the latest 10,000), oldest first."""
        return list(self._events)

    @property
    def deliveries(self) -> list[Delivery]:
        """The delivery log: pending and finished deliveries, oldest first."""
        return list(self._log.values())

    @property
    def pending(self) -> int:
        """Deliveries queued or being tried."""
        return sum(len(q.items) + (q.current is not None) for q in self._queues.values())

    def pending_deliveries(self) -> list[Delivery]:
        """The deliveries not finished yet, per endpoint in queue order."""
        found: list[Delivery] = []
        for queue in self._queues.values():
            found.extend([queue.current] if queue.current is not None else [])
            found.extend(queue.items)
        return found

    def restore(self, endpoints: Iterable[WebhookEndpoint], pending: Iterable[Delivery]) -> None:
        """Replace endpoints and queues with saved ones (loading state).

        Raises:
            ValueError: if a pending delivery names an endpoint not given.

        """
        self.clear(endpoints=True)
        for endpoint in endpoints:
            self._endpoints[endpoint.id] = endpoint
            self._queues[endpoint.id] = _Queue()
        for delivery in pending:
            if delivery.endpoint_id not in self._queues:
                raise ValueError(f"a pending delivery names no endpoint: {delivery.endpoint_id}")
            self._enqueue(delivery)
        for endpoint in self._endpoints.values():
            self._start_worker(endpoint)
        self._changed()

    def clear(self, *, endpoints: bool = False) -> None:
        """Forget events, the log and pending deliveries (and the endpoints if asked)."""
        for queue in self._queues.values():
            self._cancel(queue)
        if endpoints:
            for queue in self._queues.values():
                if queue.worker is not None:
                    queue.worker.cancel()
            self._endpoints.clear()
            self._queues.clear()
        self._events.clear()
        self._log.clear()
        self.delivered = self.failed = 0
        self._changed()

    def _cancel(self, queue: _Queue) -> None:
        for delivery in queue.items:
            delivery.state = "cancelled"
        queue.items.clear()
        if queue.current is not None:
            queue.current.state = "cancelled"

    # Waiting

    def _changed(self) -> None:
        self.revision += 1
        for waiter in self._waiters:
            waiter.set()
        self._waiters.clear()

    async def _wait_for(
        self, done: Callable[[], bool], timeout: float, what: str  # noqa: ASYNC109
    ) -> None:
        if not done() and self._runs == 0:
            raise RuntimeError(
                f"cannot wait for {what}: webhook delivery is not running "
                "(serve the emulator, or use `async with emulator.running():`)"
            )
        with anyio.move_on_after(timeout):
            while not done():
                waiter = anyio.Event()
                self._waiters.add(waiter)
                try:
                    await waiter.wait()
                finally:
                    self._waiters.discard(waiter)
        if not done():
            raise TimeoutError(
                f"timed out after {timeout:g} s waiting for {what} "
                f"(delivered {self.delivered}, failed {self.failed}, pending {self.pending})"
            )

    async def wait_delivered(
        self, count: int, *, timeout: float = 10.0  # noqa: ASYNC109 - a bounded test helper
    ) -> list[Delivery]:
        """Wait until `count` deliveries succeeded since the start (or the last reset).

        Example:
            >>> async def test(emulator):  # doctest: +SKIP
            ...     async with emulator.running():
            ...         await client.domains.create(name="example.com")
            ...         await emulator.webhooks.wait_delivered(1)

        Args:
            count: How many successful deliveries, over all endpoints.
            timeout: Seconds to wait at most.

        Returns:
            The delivered deliveries, in the order they finished being logged.

        Raises:
            TimeoutError: if fewer were delivered in time (the message gives
                the counts).
            RuntimeError: if delivery is not running, so nothing can arrive.

        """
        await self._wait_for(lambda: self.delivered >= count, timeout, f"{count} deliveries")
        return [d for d in self._log.values() if d.state == "delivered"]

    async def wait_idle(self, *, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until no delivery is pending (each delivered, failed or cancelled).

        Raises:
            TimeoutError: if some are still pending after `timeout` seconds.
            RuntimeError: if deliveries are pending and delivery is not running.

        """
        await self._wait_for(lambda: self.pending == 0, timeout, "pending deliveries")

    # Running

    @property
    def is_running(self) -> bool:
        """Whether delivery workers are running."""
        return self._runs > 0

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the delivery workers for the duration of the block.

        Nested uses (the served app's lifespan inside ``Emulator.running()``,
        say) share the first one's workers. On exit the workers stop; a
        delivery being tried goes back to the front of its queue.
        """
        if self._runs:
            self._runs += 1
            try:
                yield
            finally:
                self._runs -= 1
            return
        failure: Exception | None = None
        async with new_client(timeout=self.settings.timeout) as http, \
                anyio.create_task_group() as task_group:
            self._http, self._task_group, self._runs = http, task_group, 1
            for endpoint in self._endpoints.values():
                self._start_worker(endpoint)
            try:
                yield
            except Exception as exc:  # re-raised as is below, not in an ExceptionGroup
                failure = exc
            finally:
                self._runs = 0
                self._task_group = self._http = None
                task_group.cancel_scope.cancel()
        if failure is not None:
            raise failure

    def _start_worker(self, endpoint: WebhookEndpoint) -> None:
        queue = self._queues[endpoint.id]
        if self._task_group is None or queue.worker is not None:
            return
        queue.worker = anyio.CancelScope()
        self._task_group.start_soon(self._work, endpoint, queue, queue.worker)

    async def _work(
        self, endpoint: WebhookEndpoint, queue: _Queue, scope: anyio.CancelScope
    ) -> None:
        http = self._http
        assert http is not None
        try:
            with scope:
                if endpoint.app is not None:
                    transport = ASGITransport(endpoint.app)
                    async with new_client(transport=transport) as in_process:
                        await self._drain(endpoint, queue, in_process)
                else:
                    await self._drain(endpoint, queue, http)
        finally:
            if queue.worker is scope:
                queue.worker = None

    async def _drain(
        self, endpoint: WebhookEndpoint, queue: _Queue, http: Any
    ) -> None:
        while True:
            while not queue.items:
                waiter = anyio.Event()
                self._waiters.add(waiter)
                try:
                    await waiter.wait()
                finally:
                    self._waiters.discard(waiter)
            delivery = queue.current = queue.items.popleft()
            try:
                await self._deliver(endpoint, delivery, http)
            finally:
                queue.current = None
                if delivery.state == "pending":  # stopped mid-way: try it again next run
                    queue.items.appendleft(delivery)
            self._finished(delivery)

    async def _deliver(self, endpoint: WebhookEndpoint, delivery: Delivery,
                       http: Any) -> None:
        delays = (0.0, *self.settings.retry_delays)
        for number, delay in enumerate(delays[len(delivery.attempts):], len(delivery.attempts) + 1):
            if delay:
                await anyio.sleep(delay)
            attempt = await self._attempt(endpoint, delivery.event, number, http)
            if delivery.state != "pending":
                return  # cancelled while the attempt ran
            delivery.attempts.append(attempt)
            self._changed()
            if attempt.ok:
                delivery.state = "delivered"
                return
            _logger.info("webhook %s to %s: attempt %d failed (%s)", delivery.event.id,
                         endpoint.url, number, attempt.error or attempt.status_code)
        delivery.state = "failed"
        _logger.warning("webhook %s to %s failed after %d attempts", delivery.event.id,
                        endpoint.url, len(delivery.attempts))

    async def _attempt(self, endpoint: WebhookEndpoint, event: WebhookEvent, number: int,
                       http: Any) -> DeliveryAttempt:
        started = self._wall_clock()
        headers = sign(event.body, endpoint.secret, msg_id=event.id, timestamp=started)
        headers = {**headers, "content-type": "application/json", "user-agent": _USER_AGENT}
        clock = time.perf_counter()
        try:
            with anyio.fail_after(self.settings.timeout):
                response = await http.post(endpoint.url, content=event.body, headers=headers)
        except Exception as exc:  # the receiver's failure, whatever it is, is a failed attempt
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return DeliveryAttempt(number, started, time.perf_counter() - clock, error=reason)
        excerpt = response.content[:_EXCERPT].decode("utf-8", errors="replace")
        return DeliveryAttempt(number, started, time.perf_counter() - clock,
                               status_code=response.status_code, response_excerpt=excerpt)

    def _finished(self, delivery: Delivery) -> None:
        if delivery.state == "delivered":
            self.delivered += 1
        elif delivery.state == "failed":
            self.failed += 1
        self._trim_log()
        self._changed()

    def _trim_log(self) -> None:
        excess = len(self._log) - self.settings.max_log
        if excess <= 0:
            return
        finished = [key for key, d in self._log.items() if d.state != "pending"][:excess]
        for key in finished:
            del self._log[key]

    def to_json(self) -> dict[str, Any]:
        """Counters as the admin API shows them."""
        return {
            "running": self.is_running,
            "delivered": self.delivered,
            "failed": self.failed,
            "pending": self.pending,
        }
