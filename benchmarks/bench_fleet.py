"""Onboarding fleet: N tenants, 4 saq worker processes, one key's ceiling — achieved / ceiling.

    python -m benchmarks.bench_fleet [--tenants 40] [--mailboxes 10] [--rpm 1200] [--workers 4]
                                     [--kill]

One emulator (``clubsmtp emulator``, its own process) enforces ``--rpm`` on one
key; a throw-away ``redis-server`` holds the queue, the tenants' leases and the
shared rate budget. ``--workers`` worker processes (``python -m saq
clubsmtp_fleet.tasks.settings``, from ``examples/fleet``) each run
``--jobs-per-worker`` tenants at a time through an `AsyncClient` with a
`RedisLimiter` at the key's ceiling; the producer (``python -m
clubsmtp_fleet.producer``) enqueues one job per tenant file and collects the
results. Each tenant: one domain, ``--mailboxes`` mailboxes with generated
passwords, a whitelist entry and an alias — ``3 + 1 + M + 1 + 1`` requests.

With ``--kill``, the worker that takes the first tenant is killed (SIGKILL) as
soon as it holds that tenant's lease; the benchmark then reports how long until
another worker holds it (the retry), at the default ``FLEET_HEARTBEAT`` and
``FLEET_SWEEP`` (15 s and 5 s), and the figures below include that loss.

Reported: the achieved rate, measured from the emulator's accepted-request
timestamps excluding the first (``(n - 1) / (t_last - t_first)``), over the
key's ceiling (target >= 0.97); the 429s (target 0); the producer's wall time
against ``requests / rate``; and whether the account ends exactly as declared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._rate_common import EmulatorProcess, Outcome, RedisProcess, key_for, key_id

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fleet"


def tenant_text(name: str, mailboxes: int) -> str:
    lines = [f'[[domains]]\nname = "{name}.example"']
    for m in range(mailboxes):
        whitelist = '\nwhitelist = ["*@partner.example"]' if m == 0 else ""
        lines.append(f'[[domains.mailboxes]]\nlocal_part = "u{m}"{whitelist}')
    lines.append('[[domains.aliases]]\nlocal_part = "team"\nforward_to = ["u0", "u1"]')
    return "\n".join(lines) + "\n"


def fleet_env(redis_url: str, base_url: str, key: str, args: argparse.Namespace,
              passwords: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "CLUBSMTP_"))}
    env.update({
        "PYTHONPATH": os.pathsep.join(filter(None, [str(EXAMPLE), env.get("PYTHONPATH")])),
        "FLEET_REDIS_URL": redis_url, "CLUBSMTP_API_KEY": key, "CLUBSMTP_BASE_URL": base_url,
        "FLEET_RPM": str(args.rpm), "FLEET_JOBS_PER_WORKER": str(args.jobs_per_worker),
        "FLEET_PASSWORDS_DIR": str(passwords), "FLEET_QUEUE": "bench-fleet",
    })
    return env


def wait_for_workers(env: dict[str, str], count: int, procs: list[subprocess.Popen[bytes]]
                     ) -> None:
    """Return once `count` workers have registered with the queue (saq's worker info)."""
    from clubsmtp_fleet.config import FleetConfig
    from clubsmtp_fleet.tasks import make_queue

    async def registered() -> None:
        queue = make_queue(FleetConfig.from_env(env))
        await queue.connect()
        try:
            deadline = time.monotonic() + 60
            while len((await queue.info())["workers"]) < count:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError("the workers did not start")
                await asyncio.sleep(0.05)
        finally:
            await queue.disconnect()

    asyncio.run(registered())


def exact(state: dict[str, Any], tenants: list[str], mailboxes: int) -> bool:
    """Whether the account is exactly the declared tenants."""
    want_mailboxes = {f"u{m}@{t}.example" for t in tenants for m in range(mailboxes)}
    have = {m["address"]: m for m in state["mailboxes"]}
    return (
        sorted(d["name"] for d in state["domains"]) == sorted(f"{t}.example" for t in tenants)
        and set(have) == want_mailboxes
        and all([e["pattern"] for e in m["whitelist"]] ==
                (["*@partner.example"] if m["address"].startswith("u0@") else [])
                for m in have.values())
        and sorted(a["address"] for a in state["aliases"]) == sorted(
            f"team@{t}.example" for t in tenants)
    )


def kill_first_holder(redis_url: str, tenant: str, workers: list[subprocess.Popen[bytes]]
                      ) -> float:
    """SIGKILL the worker holding `tenant`'s lease; return the seconds until another holds it."""
    from clubsmtp_fleet.lease import lease_key
    from redis import Redis

    key = lease_key("bench-fleet", tenant)
    redis = Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 120
        while (holder := redis.get(key)) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nobody took {tenant}")
            time.sleep(0.005)
        pid = int(holder.decode().split(":")[1])
        victim = next(w for w in workers if w.pid == pid)
        victim.kill()
        victim.wait()
        killed = time.monotonic()
        while (holder := redis.get(key)) is None or int(holder.decode().split(":")[1]) == pid:
            if time.monotonic() > deadline + 120:
                raise RuntimeError(f"nobody retried {tenant}")
            time.sleep(0.005)
        return time.monotonic() - killed
    finally:
        redis.close()


def run(args: argparse.Namespace) -> tuple[Outcome, bool, int, float, float | None]:
    """One fleet run: the emulator's view, exactness, tenants ok, wall time, retry delay."""
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))  # the example package, for its helpers
    key = key_for(f"fleet/{time.time_ns()}")
    names = [f"t{i:04d}" for i in range(args.tenants)]
    with tempfile.TemporaryDirectory() as tmp, RedisProcess() as redis, \
            EmulatorProcess([key], args.rpm) as emulator:
        folder = Path(tmp) / "tenants"
        folder.mkdir()
        files = []
        for name in names:
            files.append(folder / f"{name}.toml")
            files[-1].write_text(tenant_text(name, args.mailboxes))
        env = fleet_env(redis.url, emulator.url, key, args, Path(tmp) / "passwords")
        logs = [(Path(tmp) / f"worker-{i}.log").open("wb") for i in range(args.workers)]
        workers = [subprocess.Popen([sys.executable, "-m", "saq", "clubsmtp_fleet.tasks.settings"],
                                    env=env, stdout=log, stderr=log) for log in logs]
        try:
            wait_for_workers(env, args.workers, workers)
            results = Path(tmp) / "results.jsonl"
            started = time.perf_counter()
            producer = subprocess.Popen(
                [sys.executable, "-m", "clubsmtp_fleet.producer", *map(str, files),
                 "--results", str(results), "--timeout", "900"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            retry = kill_first_holder(redis.url, names[0], workers) if args.kill else None
            out, err = producer.communicate(timeout=960)
            wall = time.perf_counter() - started
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                try:
                    worker.wait(10)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            for log in logs:
                log.close()
        if producer.returncode not in (0, 1):
            raise RuntimeError(f"the producer failed:\n{out}\n{err}")
        ok = sum(json.loads(line)["ok"] for line in results.read_text().splitlines())
        stats = emulator.stats()
        state = httpx.get(f"{emulator.url}/_admin/state").json()
    accepted = stats["accepted"].get(key_id(key), [])
    outcome = Outcome(f"{args.workers} workers, RedisLimiter", len(accepted), len(accepted),
                      stats["rate_limited"], accepted, wall, args.rpm)
    return outcome, exact(state, names, args.mailboxes), ok, wall, retry


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_fleet")
    parser.add_argument("--tenants", type=int, default=40)
    parser.add_argument("--mailboxes", type=int, default=10, help="per tenant")
    parser.add_argument("--rpm", type=float, default=1200, help="the key's ceiling")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--jobs-per-worker", type=int, default=2)
    parser.add_argument("--kill", action="store_true",
                        help="SIGKILL the worker of the first tenant once it starts")
    args, _ = parser.parse_known_args()
    per_tenant = 3 + 1 + args.mailboxes + 1 + 1
    planned = args.tenants * per_tenant
    print(f"onboarding fleet: {args.tenants} tenants x {per_tenant} requests = {planned}, "
          f"{args.workers} workers x {args.jobs_per_worker} tenants at a time, key at "
          f"{args.rpm:g} requests/min; emulator and redis-server in their own processes")
    outcome, is_exact, ok, wall, retry = run(args)
    floor = planned * 60 / args.rpm
    print(f"  requests accepted     {len(outcome.accepted)} (planned {planned})")
    print(f"  tenants ok            {ok}/{args.tenants}; account exact: {is_exact}")
    print(f"  429s                  {outcome.rate_limited}")
    print(f"  achieved rate         {outcome.achieved_rpm:.1f}/min = {outcome.ratio:.4f} of the "
          "ceiling")
    print(f"  min gap               {outcome.min_gap_ms:.1f} ms (interval "
          f"{60_000 / args.rpm:.1f} ms)")
    print(f"  producer wall         {wall:.1f} s; requests / rate = {floor:.1f} s "
          f"({wall / floor:.3f}x, start-up and tail included)")
    if retry is not None:
        print(f"  killed a worker       its tenant was retried by another after {retry:.1f} s")
    verdict = ("OK" if outcome.ratio >= 0.97 and outcome.rate_limited == 0 and is_exact
               and ok == args.tenants else "MISSED")
    print(f"  target: >= 0.97 of the ceiling, zero 429s, every tenant exact: {verdict}")


if __name__ == "__main__":
    main()
