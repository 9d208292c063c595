"""The fleet's queue and its one task, `onboard_tenant`, run by saq workers.

    PYTHONPATH=examples/fleet saq clubsmtp_fleet.tasks.settings    # one worker (-v: INFO logs)

`settings` is what saq's command loads: the queue, the task, and per process
one `AsyncClient` whose `RedisLimiter` draws on the key's one shared budget.
A job carries one tenant as JSON text (so a worker on any host can run it) and
returns a JSON result: the apply report without passwords, plus the counts.

One attempt of a job, in order: take the tenant's lease (`TenantLease`) and its
attempt number; apply the tenant with the onboarding engine, generated passwords
going to this attempt's 0600 file (`AttemptPasswords`); return the result. All
along, a heartbeat touches the job (so the queue's sweep knows the worker lives)
and renews the lease. A worker killed mid-job stops both: after
``FLEET_HEARTBEAT`` seconds the next sweep re-queues the job, another worker
takes it, and its apply converges — what the dead attempt created is found and
kept, nothing is created twice.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

import anyio
from redis.asyncio import Redis
from redis.exceptions import RedisError

from clubsmtp_async import (
    AsyncClient,
    AuthError,
    ClubSMTPError,
    InvalidRequestError,
    RedisLimiter,
    SecurityError,
    ValidationError,
)
from clubsmtp_async.onboarding import (
    ApplyProgress,
    ApplyReport,
    PlanError,
    apply,
    parse_tenant,
)

from .config import FleetConfig
from .lease import LeaseLost, TenantLease
from .passwords import AttemptPasswords

try:
    from saq import Queue
    from saq.job import Job
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "the fleet example needs saq: pip install 'clubsmtp-async[fleet]'"
    ) from exc

__all__ = ["TASK", "FleetWorker", "make_queue", "onboard_tenant", "settings"]

logger = logging.getLogger("fleet")

TASK = "onboard_tenant"
"""The task's name, as producers enqueue it."""

# Errors that another attempt would meet again: the job ends with them, no retry.
_PERMANENT = (ValidationError, PlanError, AuthError, SecurityError, InvalidRequestError)


class RetryableFailure(Exception):
    """Some actions failed for a reason that may pass (a 5xx, the network): try the job again."""


def make_queue(config: FleetConfig) -> Queue:
    """The fleet's saq queue on its Redis."""
    return Queue.from_url(config.redis_url, name=config.queue)


def settings() -> dict[str, Any]:
    """The saq worker settings, read from the environment when the worker starts."""
    config = FleetConfig.from_env()
    config.require_api_key()
    return {
        "queue": make_queue(config),
        "functions": [onboard_tenant],
        "concurrency": config.jobs_per_worker,
        "startup": startup,
        "shutdown": shutdown,
        # One sweep per `sweep` seconds across the whole fleet (saq takes a lock for it).
        "timers": {"sweep": config.sweep},
        "metadata": {"host": socket.gethostname(), "pid": os.getpid()},
    }


async def startup(ctx: dict[str, Any]) -> None:
    """Open this process's client, shared limiter and Redis connection."""
    ctx["fleet"] = FleetWorker(FleetConfig.from_env())


async def shutdown(ctx: dict[str, Any]) -> None:
    """Close what `startup` opened."""
    fleet: FleetWorker | None = ctx.get("fleet")
    if fleet is not None:
        await fleet.aclose()


async def onboard_tenant(ctx: dict[str, Any], *, tenant: str, spec: str) -> dict[str, Any]:
    """Apply one tenant (the task).

    Args:
        ctx: saq's context: the job, and the process's `FleetWorker`.
        tenant: The tenant's name (names its lease and its passwords files).
        spec: The tenant as JSON text (``dump_tenant(spec, "json")``).

    Returns:
        The result: ``tenant``, ``ok``, ``counts``, ``attempt``, ``worker``,
        ``seconds``, ``passwords`` (the file and how many were generated — never a
        password) and ``report`` (the apply report as JSON); or, for a tenant that
        cannot be applied, ``ok: false`` and ``error``.

    Raises:
        LeaseLost: this attempt lost the lease; the queue tries again.
        RetryableFailure: actions failed for a passing reason and attempts remain.
        ClubSMTPError: reading the account failed for a passing reason.

    """
    fleet: FleetWorker = ctx["fleet"]
    return await fleet.onboard(ctx["job"], tenant, spec)


class _Heartbeat:
    """Touches the job and renews the lease every third of the lease's time to live."""

    def __init__(self, job: Job, lease: TenantLease, ttl: float) -> None:
        self.job = job
        self.lease = lease
        self.ttl = ttl
        self.progress = 0.0
        self.lost = False

    def on_progress(self, event: ApplyProgress) -> None:
        self.progress = event.done / event.total

    async def run(self, scope: anyio.CancelScope) -> None:
        renewed = anyio.current_time()
        while True:
            await anyio.sleep(self.ttl / 3)
            try:
                await self.job.update(progress=self.progress)
                if self.lease.attempt is not None:
                    await self.lease.renew()
                renewed = anyio.current_time()
            except LeaseLost:
                self._stop(scope, "lost the tenant's lease")
                return
            except RedisError as exc:
                logger.warning("heartbeat of %s failed: %s", self.job.key, type(exc).__name__)
                if anyio.current_time() - renewed >= self.ttl:
                    self._stop(scope, "could not renew the lease in time")
                    return

    def _stop(self, scope: anyio.CancelScope, why: str) -> None:
        logger.warning("stopping %s: %s", self.job.key, why)
        self.lost = True
        scope.cancel()


class FleetWorker:
    """One worker process's client (with the shared `RedisLimiter`) and Redis connection.

    Args:
        config: The fleet's settings; the API key must be set.

    """

    def __init__(self, config: FleetConfig) -> None:
        api_key = config.require_api_key()
        self.config = config
        self.limiter = RedisLimiter(config.redis_url, api_key,
                                    requests_per_minute=config.requests_per_minute)
        self.client = AsyncClient(api_key, base_url=config.base_url, limiter=self.limiter)
        self.redis = Redis.from_url(config.redis_url)

    async def aclose(self) -> None:
        """Close the client, the limiter and the Redis connection."""
        await self.client.aclose()
        await self.limiter.aclose()
        await self.redis.aclose()

    async def onboard(self, job: Job, tenant: str, spec_text: str) -> dict[str, Any]:
        """One attempt of a tenant's job (see `onboard_tenant`)."""
        started = time.monotonic()
        ttl = job.heartbeat or self.config.heartbeat
        lease = TenantLease(self.redis, self.config.queue, tenant, ttl=ttl)
        heartbeat = _Heartbeat(job, lease, ttl)
        outcome: dict[str, Any] | BaseException | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(heartbeat.run, tg.cancel_scope)
                try:
                    outcome = await self._attempt(job, tenant, spec_text, lease, heartbeat)
                except (ClubSMTPError, LeaseLost, RetryableFailure) as exc:
                    outcome = exc  # caught here, so that the task group does not wrap it
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await lease.release()
        if heartbeat.lost:
            raise LeaseLost(f"tenant {tenant}: attempt {lease.attempt} stopped")
        if isinstance(outcome, BaseException):
            return self._failure(job, tenant, lease, outcome)
        assert outcome is not None
        outcome["seconds"] = round(time.monotonic() - started, 3)
        return outcome

    async def _attempt(self, job: Job, tenant: str, spec_text: str, lease: TenantLease,
                       heartbeat: _Heartbeat) -> dict[str, Any]:
        spec = parse_tenant(spec_text, "json", source=tenant)
        attempt = await lease.acquire()
        logger.info("tenant %s: attempt %d on %s", tenant, attempt, lease.holder)
        with AttemptPasswords(self.config.passwords_dir, tenant, lease) as passwords:
            report = await apply(self.client, spec, on_progress=heartbeat.on_progress,
                                 on_password=passwords)
        logger.info("tenant %s: attempt %d: %s", tenant, attempt, report.counts)
        if _has_passing_failures(report) and job.attempts < job.retries:
            raise RetryableFailure(f"tenant {tenant}: {len(report.failed)} action(s) failed")
        return {
            "tenant": tenant,
            "ok": report.ok,
            "counts": report.counts,
            "attempt": attempt,
            "worker": lease.holder,
            "passwords": {
                "file": str(passwords.path) if passwords.written else None,
                "generated": len(report.passwords),
            },
            "report": report.to_json(),  # never with the passwords
        }

    def _failure(self, job: Job, tenant: str, lease: TenantLease,
                 error: BaseException) -> dict[str, Any]:
        """The result of a tenant that cannot be applied, or raise to have the job retried."""
        last_attempt = job.attempts >= job.retries
        if not isinstance(error, _PERMANENT) and not last_attempt:
            raise error
        logger.warning("tenant %s: %s: %s", tenant, type(error).__name__, error)
        return {
            "tenant": tenant,
            "ok": False,
            "attempt": lease.attempt,
            "worker": lease.holder,
            "error": {
                "type": type(error).__name__,
                # The SDK's messages never hold a secret; others are not repeated.
                "message": str(error) if isinstance(error, ClubSMTPError) else "",
            },
        }


def _has_passing_failures(report: ApplyReport) -> bool:
    return any(not isinstance(o.error, _PERMANENT) for o in report.failed)
