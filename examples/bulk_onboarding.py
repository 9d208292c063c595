"""Bulk tenant onboarding with `client.bulk` against the embedded emulator, under faults.

    python3 dev.py bulk-demo                 # or: python examples/bulk_onboarding.py
    python3 dev.py bulk-demo --tenants 8 --mailboxes 100 --rpm 6000 --fault-rate 0.1

For each tenant it creates a domain, its mailboxes (with generated passwords,
never printed), a whitelist entry per mailbox and a team alias, through
`client.bulk` with progress bars. The emulator enforces the rate limit, adds
network-like latency, and — to show that retries never duplicate — answers a
share of the creates with a 500 *after* creating the object, or drops the
connection after processing. At the end the server's state is checked: exactly
one object per item, zero 429s. The exit code is 0 only if that holds.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import anyio
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from clubsmtp_async import (
    AsyncClient,
    BulkProgress,
    BulkResult,
    NewAlias,
    NewMailbox,
    SenderPattern,
)
from clubsmtp_async.testing import Drop, Emulator, ErrorAfter, Latency

console = Console()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The demo's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=4, help="domains to onboard")
    parser.add_argument("--mailboxes", type=int, default=40, help="mailboxes per tenant")
    parser.add_argument("--rpm", type=float, default=3000, help="the key's requests per minute")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--fault-rate", type=float, default=0.05, help="share of ambiguous failures"
    )
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def make_emulator(args: argparse.Namespace) -> Emulator:
    """An emulator enforcing the rate, with latency and ambiguous failures on creates."""
    emulator = Emulator(seed=args.seed, requests_per_minute=args.rpm)
    emulator.faults.add("*", "/v1/*", Latency(0.005, max_seconds=0.03))
    if args.fault_rate > 0:
        emulator.faults.add("POST", "/v1/mailboxes", ErrorAfter(), probability=args.fault_rate)
        emulator.faults.add(
            "POST", "/v1/mailboxes/*/whitelist", Drop(), probability=args.fault_rate
        )
        emulator.faults.add("POST", "/v1/aliases", ErrorAfter(), probability=args.fault_rate)
    return emulator


async def step(
    progress: Progress,
    label: str,
    run: Callable[[Callable[[BulkProgress], None]], Any],
    report: list[tuple[str, BulkResult[Any], float]],
) -> BulkResult[Any]:
    """Run one bulk step with a progress bar, and note its result and duration."""
    task = progress.add_task(label, total=None)

    def on_progress(p: BulkProgress) -> None:
        progress.update(task, completed=p.done, total=p.total)

    started = time.perf_counter()
    result: BulkResult[Any] = await run(on_progress)
    report.append((label, result, time.perf_counter() - started))
    return result


async def onboard(
    client: AsyncClient, args: argparse.Namespace
) -> list[tuple[str, BulkResult[Any], float]]:
    """Create the domains, mailboxes, whitelist entries and aliases of every tenant."""
    bulk, options = client.bulk, {"concurrency": args.concurrency}
    report: list[tuple[str, BulkResult[Any], float]] = []
    columns = (
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        names = [f"tenant{t}.example" for t in range(args.tenants)]
        domains = await step(
            progress,
            "domains",
            lambda cb: bulk.create_domains(names, on_progress=cb, **options),
            report,
        )
        mailboxes_wanted = [
            NewMailbox(
                domain_uuid=d.uuid, local_part=f"user{i}", password=secrets.token_urlsafe(18)
            )
            for d in domains.succeeded
            for i in range(args.mailboxes)
        ]
        mailboxes = await step(
            progress,
            "mailboxes",
            lambda cb: bulk.create_mailboxes(mailboxes_wanted, on_progress=cb, **options),
            report,
        )
        patterns = [SenderPattern(m.uuid, "*@partner.example") for m in mailboxes.succeeded]
        await step(
            progress,
            "whitelist entries",
            lambda cb: bulk.add_whitelist(patterns, on_progress=cb, **options),
            report,
        )
        by_domain: dict[str, list[str]] = {}
        for m in mailboxes.succeeded:
            by_domain.setdefault(m.domain_uuid, []).append(m.uuid)
        aliases = [
            NewAlias(domain_uuid=d, local_part="team", mailbox_uuids=uuids[:3])
            for d, uuids in by_domain.items()
        ]
        await step(
            progress,
            "aliases",
            lambda cb: bulk.create_aliases(aliases, on_progress=cb, **options),
            report,
        )
    return report


def check_state(emulator: Emulator, args: argparse.Namespace) -> list[str]:
    """What is wrong with the server's state (nothing, if the SDK kept its promises)."""
    state = emulator.snapshot()
    addresses = [m["address"] for m in state["mailboxes"]]
    problems = []
    expected = {
        "domains": args.tenants,
        "mailboxes": args.tenants * args.mailboxes,
        "aliases": args.tenants,
    }
    for kind, count in expected.items():
        if len(state[kind]) != count:
            problems.append(f"{kind}: {len(state[kind])} on the server, {count} expected")
    if len(set(addresses)) != len(addresses):
        problems.append("duplicate mailboxes on the server")
    if any(len(m["whitelist"]) != 1 for m in state["mailboxes"]):
        problems.append("a mailbox does not have exactly one whitelist entry")
    if emulator.stats.rate_limited:
        problems.append(f"the server answered {emulator.stats.rate_limited} requests with 429")
    return problems


def print_report(report: list[tuple[str, BulkResult[Any], float]], emulator: Emulator) -> None:
    """A table of the steps and the server's counters."""
    table = Table(title="bulk onboarding against the embedded emulator")
    for column in ("step", "succeeded", "failed", "seconds", "items/s"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for label, result, seconds in report:
        done = len(result.succeeded)
        table.add_row(
            label, str(done), str(len(result.failed)), f"{seconds:.1f}", f"{done / seconds:.0f}"
        )
    console.print(table)
    stats = emulator.stats
    ambiguous = stats.statuses.get(500, 0) + stats.dropped
    console.print(
        f"server: {stats.total} requests, {ambiguous} ambiguous failures injected "
        f"(500 after processing or dropped connection), {stats.rate_limited} answered 429"
    )


async def main(argv: Sequence[str]) -> int:
    """Run the demo; 0 if the server ends with exactly the wanted objects and no 429."""
    args = parse_args(argv)
    emulator = make_emulator(args)
    async with emulator.client(requests_per_minute=args.rpm) as client:
        console.print(
            f"onboarding {args.tenants} tenants, {args.mailboxes} mailboxes each, "
            f"at {args.rpm:g} requests/min"
        )
        report = await onboard(client, args)
    print_report(report, emulator)
    problems = check_state(emulator, args)
    for problem in problems:
        console.print(f"[red]✗ {problem}")
    if not problems:
        console.print("[green]✓ exactly one object per item on the server, zero 429s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1:]))
