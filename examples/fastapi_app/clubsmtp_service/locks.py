"""`TenantLocks`: one onboarding at a time per domain name, inside one worker process.

Two requests of one worker that onboard overlapping tenants (a domain in
common) run one after the other: the second plans against what the first
made, so it finds nothing left to do and generates no password. Locks are
taken in sorted order, so two requests can never hold one each and wait for
the other's. Across worker processes (or hosts) there is no lock: there the
onboarding engine's idempotence makes concurrent applies converge (a create
that finds its object already made is reported ``skipped: already exists``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager

import anyio

__all__ = ["TenantLocks"]


class TenantLocks:
    """Named locks, made on first use and dropped when nobody holds or awaits them."""

    def __init__(self) -> None:
        self._locks: dict[str, anyio.Lock] = {}
        self._users: dict[str, int] = {}

    def __len__(self) -> int:
        """How many names are held or awaited now."""
        return len(self._locks)

    @asynccontextmanager
    async def _one(self, name: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(name, anyio.Lock())
        self._users[name] = self._users.get(name, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[name] -= 1
            if not self._users[name]:
                del self._users[name], self._locks[name]

    @asynccontextmanager
    async def hold(self, names: Iterable[str]) -> AsyncIterator[None]:
        """Hold the lock of every name (first come, first served per name).

        Args:
            names: The tenant's domain names (duplicates are ignored).

        """
        async with AsyncExitStack() as stack:
            for name in sorted(set(names)):
                await stack.enter_async_context(self._one(name))
            yield
