"""`TenantLease`: at most one attempt applies a tenant at a time, across every host.

The queue delivers a job *at least* once. Almost always that means once, or
once more after the worker running it died; but two attempts of one tenant can
overlap: a worker stalled longer than the heartbeat (a paused VM, a swapping
host) is taken for dead while it still runs, and the queue's sweep can race a
dequeue. Applying one tenant twice at once would still converge, but it would
make generated passwords ambiguous: both attempts generate one for the same new
mailbox, only one create succeeds, and both are written down.

So each attempt first takes the tenant's lease — a `redis.asyncio.lock.Lock`
that expires after ``ttl`` seconds unless renewed — and then draws its
*attempt number* from a counter that only ever grows (``INCR``), the fencing
token that names its passwords file. While the attempt runs, its heartbeat
renews the lease; a renewal that finds the lease gone (it expired while the
process was stalled, and another attempt took it) stops the attempt, and every
generated password is written only after checking that the lease is still held.
Attempts therefore never overlap (up to the milliseconds between that check
and the create it guards), and of two attempts the one with the greater number
is the later one.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

__all__ = ["LeaseLost", "TenantLease", "lease_key"]


class LeaseLost(Exception):
    """The tenant's lease expired and another attempt may hold it: this attempt stops."""


def lease_key(namespace: str, tenant: str) -> str:
    """The Redis key of a tenant's lease (its value says which process holds it)."""
    return f"{namespace}:lease:{tenant}"


class TenantLease:
    """The lease of one tenant, taken by one attempt.

    Args:
        redis: The fleet's Redis.
        namespace: Prefix of the keys (the queue's name).
        tenant: The tenant's name.
        ttl: Seconds the lease lasts without a renewal.
        poll: Seconds between tries while another attempt holds the lease.

    """

    def __init__(self, redis: Redis, namespace: str, tenant: str, *, ttl: float,
                 poll: float = 0.2) -> None:
        self._redis = redis
        self._key = lease_key(namespace, tenant)
        self._attempts_key = f"{namespace}:attempts:{tenant}"
        self._lock: Lock = redis.lock(self._key, timeout=ttl, sleep=poll, blocking=True,
                                      thread_local=False)
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.attempt: int | None = None
        self._held = False

    async def acquire(self) -> int:
        """Wait for the lease, then draw this attempt's number.

        Returns:
            The attempt number: greater than that of every earlier attempt of the tenant.

        """
        await self._lock.acquire(token=f"{self.holder}:{uuid.uuid4().hex}")
        self._held = True
        self.attempt = int(await self._redis.incr(self._attempts_key))
        return self.attempt

    async def renew(self) -> None:
        """Restart the lease's time to live.

        Raises:
            LeaseLost: if the lease is no longer this attempt's.

        """
        try:
            await self._lock.reacquire()
        except LockError:
            raise LeaseLost(f"the lease {self._key} expired and was taken over") from None

    async def check(self) -> None:
        """Make sure the lease is still held (one Redis read).

        Raises:
            LeaseLost: if it is not.

        """
        if not await self._lock.owned():
            raise LeaseLost(f"the lease {self._key} is no longer held by this attempt")

    async def release(self) -> None:
        """Give the lease up, if still held. Idempotent."""
        if not self._held:
            return
        self._held = False
        # Expired already (and perhaps taken by another attempt): nothing to give up.
        with contextlib.suppress(LockError):
            await self._lock.release()

    @staticmethod
    async def holder_of(redis: Redis, namespace: str, tenant: str) -> str | None:
        """``host:pid`` of the process that holds a tenant's lease, or None."""
        token = await redis.get(lease_key(namespace, tenant))
        if token is None:
            return None
        text = token.decode() if isinstance(token, bytes) else str(token)
        return text.rpartition(":")[0]
