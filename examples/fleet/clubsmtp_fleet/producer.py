"""Enqueue one onboarding job per tenant file, then collect every tenant's result.

    PYTHONPATH=examples/fleet python -m clubsmtp_fleet.producer tenants/*.toml --results out.jsonl

Every file is read and validated first (TOML, YAML, JSON or a mailboxes CSV,
with the onboarding engine's rules); if any is invalid, nothing is enqueued.
Each tenant is named by its file's stem, and its job's key is ``tenant:<name>``:
enqueueing a tenant whose job is still queued or running adds nothing (the
producer waits for that job instead), so running the producer twice never
doubles the work. A finished tenant enqueued again is applied again, which
plans nothing if the account still matches.

Results arrive as the workers finish: one line per tenant on stdout, and one
JSON document per line in ``--results`` (the apply report without passwords).
Exit status: 0 when every tenant is ok, 1 when some are not, 2 for bad input
(nothing enqueued), 3 when ``--timeout`` passed first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import anyio

from clubsmtp_async.onboarding import (
    TenantFileError,
    TenantSpec,
    dump_tenant,
    eta_text,
    load_tenant,
)

from .config import ConfigError, FleetConfig
from .tasks import TASK, make_queue

try:
    from saq import Queue
    from saq.job import TERMINAL_STATUSES, Job, Status
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "the fleet example needs saq: pip install 'clubsmtp-async[fleet]'"
    ) from exc

__all__ = [
    "ABORTED_GRACE",
    "InputError",
    "JobWatch",
    "TenantJob",
    "collect",
    "enqueue",
    "estimate",
    "fresh_requests",
    "job_key",
    "load_tenants",
    "main",
    "result_of",
]

_TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ABORTED_GRACE = 15.0
"""Seconds an aborted job that may still be retried is watched before it counts as final.

The queue's sweep marks a dead worker's job aborted, waits up to 5 s for it to
stop, then re-queues it; a job that stays aborted longer was aborted for good.
"""


class InputError(Exception):
    """Tenant files that cannot be enqueued (every problem, one per line)."""


@dataclass(frozen=True)
class TenantJob:
    """One tenant to enqueue: its name, its file, the spec as JSON text, its request count.

    `requests` is what applying it to an account that has none of it takes
    (`fresh_requests`): an upper bound for the writes, whatever exists already.
    """

    name: str
    path: Path
    spec: str
    requests: int


def fresh_requests(spec: TenantSpec) -> int:
    """Requests to apply `spec` to an account that has none of it, the 3 reads included."""
    count = 3
    for domain in spec.domains:
        count += 1 + len(domain.aliases)
        for mailbox in domain.mailboxes:
            count += 1 + (mailbox.enabled is False)  # created enabled, then suspended
            count += len(mailbox.whitelist or ()) + len(mailbox.blacklist or ())
    return count


def estimate(tenants: Sequence[TenantJob], requests_per_minute: float) -> str:
    """How long the tenants take at least: their requests at the key's ceiling."""
    total = sum(tenant.requests for tenant in tenants)
    seconds = total * 60 / requests_per_minute
    return (f"about {total} requests on a fresh account: at least {eta_text(seconds)} at the "
            f"key's {requests_per_minute:g} requests/min, however many workers")


def job_key(tenant: str) -> str:
    """The job key of a tenant (one pending job per tenant)."""
    return f"tenant:{tenant}"


def load_tenants(paths: Sequence[Path]) -> list[TenantJob]:
    """Read and validate every tenant file.

    Raises:
        InputError: listing every file that is invalid, or two files with one name.

    """
    problems: list[str] = []
    tenants: dict[str, TenantJob] = {}
    for path in paths:
        name = path.stem
        if not _TENANT_NAME.fullmatch(name):
            problems.append(f"{path}: the tenant's name is the file's stem, which must be "
                            "letters, digits, '.', '_' or '-' (at most 128)")
            continue
        if name in tenants:
            problems.append(f"{path}: another file, {tenants[name].path}, names tenant {name}")
            continue
        try:
            spec = load_tenant(path, check_sources=False)  # the workers read the passwords
        except TenantFileError as exc:
            problems.append(str(exc))
            continue
        tenants[name] = TenantJob(name, path, dump_tenant(spec, "json"), fresh_requests(spec))
    if problems:
        raise InputError("\n".join(problems))
    return list(tenants.values())


async def enqueue(queue: Queue, tenants: Sequence[TenantJob], config: FleetConfig,
                  *, echo: Callable[[str], None] = print) -> list[str]:
    """Enqueue one job per tenant (none for a tenant whose job is still pending).

    Returns:
        The job keys, in the tenants' order.

    """
    keys = []
    for tenant in tenants:
        job = await queue.enqueue(
            TASK,
            key=job_key(tenant.name),
            tenant=tenant.name,
            spec=tenant.spec,
            timeout=0,  # no limit on a tenant's time: the heartbeat tells a live job
            heartbeat=config.heartbeat,
            retries=config.attempts,
            retry_delay=1.0,
            retry_backoff=30.0,
            ttl=config.result_ttl,
        )
        if job is None:
            echo(f"{tenant.name}: already queued or running, not enqueued again")
        keys.append(job_key(tenant.name))
    return keys


def result_of(key: str, job: Job | None) -> dict[str, Any]:
    """A finished job's result, or a record of why there is none."""
    tenant = key.removeprefix("tenant:")
    if job is None:
        return {"tenant": tenant, "ok": False, "status": "missing",
                "error": {"type": "JobMissing", "message": "the job's record expired or was "
                          "deleted before its result was read"}}
    if job.status == Status.COMPLETE and isinstance(job.result, dict):
        return {**job.result, "status": "complete", "attempts": job.attempts}
    last_line = (job.error or "").strip().splitlines()[-1:] or [""]
    return {"tenant": tenant, "ok": False, "status": job.status.name.lower(),
            "attempts": job.attempts, "error": {"type": "JobFailed", "message": last_line[0]}}


class JobWatch:
    """Which jobs are final; an aborted job that may be retried gets `ABORTED_GRACE`.

    Args:
        clock: Seconds, monotonic.

    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.aborted_since: dict[str, float] = {}

    def final(self, key: str, job: Job | None) -> bool:
        """Whether `job` (None: its record is gone) will not change any more."""
        if job is None or job.status in (Status.COMPLETE, Status.FAILED):
            return True
        if job.status != Status.ABORTED:
            self.aborted_since.pop(key, None)
            return False
        if not job.retryable:
            return True
        since = self.aborted_since.setdefault(key, self.clock())
        return self.clock() - since >= ABORTED_GRACE


async def collect(queue: Queue, keys: Sequence[str], *, max_wait: float | None,
                  on_result: Callable[[dict[str, Any]], None], poll: float = 5.0) -> int:
    """Wait for every job to finish, passing each result to `on_result` as it comes.

    A job that finishes is read at once (saq publishes every status change);
    every `poll` seconds all pending jobs are read as well, so that a missed
    notification delays a result by at most that long.

    Returns:
        How many jobs had not finished after `max_wait` seconds (0: all did).

    """
    pending = list(dict.fromkeys(keys))
    finished: set[str] = set()
    woken = asyncio.Event()
    watch = JobWatch()

    def on_update(key: str, status: Status) -> bool:
        if status in TERMINAL_STATUSES:
            finished.add(key)
            woken.set()
        return False  # keep listening

    listener = asyncio.create_task(queue.listen(pending, on_update, timeout=None))
    next_full_read = 0.0
    try:
        with anyio.move_on_after(max_wait):
            while pending:
                if time.monotonic() >= next_full_read:
                    batch, next_full_read = pending, time.monotonic() + poll
                else:
                    batch = [key for key in pending if key in finished]
                finished.clear()
                woken.clear()
                done = set()
                for key, job in zip(batch, await queue.jobs(batch), strict=True):
                    if watch.final(key, job):
                        on_result(result_of(key, job))
                        done.add(key)
                pending = [key for key in pending if key not in done]
                if pending and not woken.is_set():
                    with anyio.move_on_after(max(0.0, next_full_read - time.monotonic())):
                        await woken.wait()
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    return len(pending)


def _summary(result: dict[str, Any]) -> str:
    tenant = result.get("tenant", "?")
    if "counts" in result:
        counts = result["counts"]
        state = "ok" if result.get("ok") else "NOT OK"
        return (f"{tenant}: {state} (done {counts['done']}, failed {counts['failed']}, "
                f"skipped {counts['skipped']}), attempt {result.get('attempt')} on "
                f"{result.get('worker')}")
    error = result.get("error", {})
    return f"{tenant}: NOT OK ({result.get('status', 'failed')}): {error.get('message', '')}"


async def run(paths: Sequence[Path], *, results: TextIO | None, max_wait: float | None,
              config: FleetConfig) -> int:
    """Enqueue the tenants and collect their results; returns the exit status."""
    tenants = load_tenants(paths)
    queue = make_queue(config)
    outcomes: list[bool] = []

    def on_result(result: dict[str, Any]) -> None:
        outcomes.append(bool(result.get("ok")))
        print(_summary(result), flush=True)
        if results is not None:
            results.write(json.dumps(result, sort_keys=True) + "\n")
            results.flush()

    await queue.connect()
    try:
        keys = await enqueue(queue, tenants, config)
        print(f"{len(keys)} tenant job(s) queued on {config.queue!r}, "
              f"{estimate(tenants, config.requests_per_minute)}; waiting for results",
              flush=True)
        unfinished = await collect(queue, keys, max_wait=max_wait, on_result=on_result)
    finally:
        await queue.disconnect()
    print(f"{len(keys)} tenant(s): {outcomes.count(True)} ok, {outcomes.count(False)} not ok"
          + (f", {unfinished} unfinished after {max_wait:g} s" if unfinished else ""),
          flush=True)
    if unfinished:
        return 3
    return 0 if all(outcomes) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m clubsmtp_fleet.producer",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="tenant files, one tenant each")
    parser.add_argument("--results", type=Path, help="write one JSON result per line here")
    parser.add_argument("--timeout", type=float, help="stop waiting after this many seconds")
    args = parser.parse_args(argv)
    try:
        config = FleetConfig.from_env()
        if args.results is None:
            return asyncio.run(run(args.files, results=None, max_wait=args.timeout,
                                   config=config))
        with args.results.open("a", encoding="utf-8") as results:
            return asyncio.run(run(args.files, results=results, max_wait=args.timeout,
                                   config=config))
    except (ConfigError, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
