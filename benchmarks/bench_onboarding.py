"""Tenant onboarding: requests sent, wall time against the key's rate, and memory.

    python -m benchmarks.bench_onboarding [--rpm 6000] [--mailboxes 1000] [--big 10000]

1. **Rate-bound apply.** The emulator runs in its own process (``clubsmtp
   emulator``) and enforces ``--rpm``. A fresh tenant of D domains, M mailboxes,
   L whitelist entries and A aliases is applied (plan included) by a client
   paced at the same rate. Reported: the requests the emulator counted against
   ``3 + D + M + L + A``, the 429s, and the wall time against ``requests ÷ rate``
   (target ≤ 1.02). Then the re-plan: what it reads, and that it is empty.
2. **Memory.** In a fresh process, a ``--big``-mailbox tenant is planned and
   applied against the in-process emulator with no rate limit; reported: time
   and peak RSS, against the same process before loading the tenant.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

import anyio

from benchmarks._rate_common import EmulatorProcess, key_for
from clubsmtp_async import AsyncClient
from clubsmtp_async.onboarding import TenantSpec, apply, parse_tenant, plan


def tenant(domains: int, mailboxes: int, entries_every: int, aliases: int) -> TenantSpec:
    """`mailboxes` spread over `domains`; a whitelist entry on every `entries_every`-th one."""
    per_domain = mailboxes // domains
    lines = []
    for d in range(domains):
        lines.append(f'[[domains]]\nname = "tenant{d}.example"')
        for m in range(per_domain):
            entry = '\nwhitelist = ["*@partner.example"]' if m % entries_every == 0 else ""
            lines.append(f'[[domains.mailboxes]]\nlocal_part = "user{m}"{entry}')
        for a in range(aliases // domains):
            lines.append(f'[[domains.aliases]]\nlocal_part = "team{a}"\n'
                         f'forward_to = ["user{a}", "user{a + 1}"]')
    return parse_tenant("\n".join(lines) + "\n", "toml")


def counts(spec: TenantSpec) -> tuple[int, int, int, int]:
    """D, M, L, A of a spec."""
    entries = sum(len(m.whitelist or ()) for d in spec.domains for m in d.mailboxes)
    return len(spec.domains), spec.mailbox_count, entries, spec.alias_count


async def rate_bound(rpm: float, mailboxes: int) -> None:
    spec = tenant(domains=4, mailboxes=mailboxes, entries_every=2, aliases=100)
    d, m, l, a = counts(spec)  # noqa: E741
    key = key_for("onboarding")
    with EmulatorProcess([key], rpm) as emulator:
        async with AsyncClient(key, base_url=emulator.url, requests_per_minute=rpm) as client:
            started = time.perf_counter()
            report = await apply(client, spec, concurrency=64)
            wall = time.perf_counter() - started
            stats = emulator.stats()
            sent = sum(stats["requests"].values())
            emulator.reset_stats()
            replanned = await plan(client, spec)
            reads = sum(emulator.stats()["requests"].values())
    ideal = sent * 60 / rpm
    print(f"  tenant: D={d} M={m} L={l} A={a}; rate {rpm:g}/min")
    print(f"  requests sent: {sent} (3 + D + M + L + A = {3 + d + m + l + a}); "
          f"429s: {stats['rate_limited']}; outcomes: {report.counts}")
    print(f"  wall: {wall:.2f} s; requests ÷ rate: {ideal:.2f} s; "
          f"ratio {wall / ideal:.4f} (target ≤ 1.02)")
    print(f"  re-plan: {reads} requests (3 lists + {l} managed whitelists), "
          f"changes: {len(replanned.actions)}")


def _memory_child(mailboxes: int) -> dict[str, Any]:
    """Runs in a fresh process: plan + apply of a big tenant, in process."""
    from clubsmtp_async.testing import Emulator

    def rss_mib() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    emulator = Emulator(requests_per_minute=10_000_000, burst=1_000_000)
    before = rss_mib()
    spec = tenant(domains=10, mailboxes=mailboxes, entries_every=4, aliases=100)

    async def run() -> tuple[float, float, int]:
        async with emulator.client(requests_per_minute=None) as client:
            started = time.perf_counter()
            p = await plan(client, spec)
            planned = time.perf_counter() - started
            report = await apply(client, p, concurrency=64)
            return planned, time.perf_counter() - started, report.counts["done"]

    planned, total, done = anyio.run(run)
    return {"mailboxes": mailboxes, "actions": done, "plan_s": planned, "total_s": total,
            "rss_before_mib": before, "rss_peak_mib": rss_mib()}


def memory(mailboxes: int) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_onboarding", "--memory-child", str(mailboxes)],
        check=True, capture_output=True, text=True,
    ).stdout
    r = json.loads(out.strip().splitlines()[-1])
    print(f"  {r['mailboxes']} mailboxes, {r['actions']} actions in process: plan "
          f"{r['plan_s']:.2f} s, plan + apply {r['total_s']:.1f} s; peak RSS "
          f"{r['rss_peak_mib']:.0f} MiB (emulator and SDK loaded: {r['rss_before_mib']:.0f} MiB)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpm", type=float, default=6000)
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(_memory_child(args.memory_child)))
        return
    print("rate-bound apply:")
    anyio.run(rate_bound, args.rpm, args.mailboxes)
    print("memory:")
    memory(args.big)


if __name__ == "__main__":
    main(sys.argv[1:])
