"""Shared pieces of the fleet tests: Redis, tenant files, worker processes, the producer.

The example package is ``examples/fleet/clubsmtp_fleet``: its folder is put on
``sys.path`` here, and on ``PYTHONPATH`` for the processes. Every test gets its
own queue name, so that jobs, leases and attempt counters of one test never
meet another's.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import pytest_asyncio
from redis_server import RedisServer, redis_server_binary

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "fleet"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

from clubsmtp_fleet.config import FleetConfig  # noqa: E402 - needs the path above
from clubsmtp_fleet.tasks import make_queue  # noqa: E402

from clubsmtp_async.testing import Emulator  # noqa: E402


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throw-away redis-server for the module (a missing one fails under CI=true)."""
    server = RedisServer(redis_server_binary()).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def queue_name() -> str:
    return f"fleet-test-{uuid.uuid4().hex[:12]}"


def tenant_toml(name: str, mailboxes: int) -> str:
    """A tenant: one domain, `mailboxes` mailboxes (u0 whitelisted), an alias to u0 and u1."""
    lines = [f'[[domains]]\nname = "{name}.example"']
    for m in range(mailboxes):
        whitelist = '\nwhitelist = ["*@partner.example"]' if m == 0 else ""
        lines.append(f'[[domains.mailboxes]]\nlocal_part = "u{m}"{whitelist}')
    lines.append('[[domains.aliases]]\nlocal_part = "team"\nforward_to = ["u0", "u1"]')
    return "\n".join(lines) + "\n"


def expected_state(tenants: dict[str, int]) -> dict[str, Any]:
    """`account_state` once every tenant (name → mailboxes) is applied."""
    mailboxes: dict[str, Any] = {}
    for name, count in tenants.items():
        for m in range(count):
            mailboxes[f"u{m}@{name}.example"] = (10, True,
                                                 ["*@partner.example"] if m == 0 else [])
    return {
        "domains": sorted(f"{name}.example" for name in tenants),
        "mailboxes": mailboxes,
        "aliases": {f"team@{name}.example": [f"u0@{name}.example", f"u1@{name}.example"]
                    for name in tenants},
    }


def account_state(emulator: Emulator) -> dict[str, Any]:
    """The emulator's objects as comparable values (no UUIDs or timestamps)."""
    snapshot = emulator.snapshot()
    return {
        "domains": sorted(d["name"] for d in snapshot["domains"]),
        "mailboxes": {
            m["address"]: (m["storage_gb"], m["enabled"],
                           sorted(e["pattern"] for e in m["whitelist"]))
            for m in snapshot["mailboxes"]
        },
        "aliases": {a["address"]: sorted(t["address"] for t in a["forwarding_to"])
                    for a in snapshot["aliases"]},
    }


def write_tenants(folder: Path, tenants: dict[str, int]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, count in tenants.items():
        path = folder / f"{name}.toml"
        path.write_text(tenant_toml(name, count))
        paths.append(path)
    return paths


class FleetProcesses:
    """The worker processes (saq's command) and the producer of one test.

    Every child writes its output to a log file in `logs`; `stop()` ends the
    workers with SIGTERM (saq's graceful stop), SIGKILL after 10 s.
    """

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.workers: list[asyncio.subprocess.Process] = []
        logs.mkdir(parents=True, exist_ok=True)

    @property
    def config(self) -> FleetConfig:
        return FleetConfig.from_env(self.env)

    async def _spawn(self, name: str, *argv: str) -> asyncio.subprocess.Process:
        with (self.logs / f"{name}.log").open("wb") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable, *argv, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log)

    async def start_workers(self, count: int, *, max_wait: float = 30) -> None:
        """Start `count` workers; return once each has registered with the queue."""
        for _ in range(count):
            name = f"worker-{len(self.workers) + 1}"
            self.workers.append(
                await self._spawn(name, "-m", "saq", "clubsmtp_fleet.tasks.settings", "-v"))
        queue = make_queue(self.config)
        await queue.connect()
        try:
            with anyio.fail_after(max_wait):
                while len((await queue.info())["workers"]) < len(self.workers):
                    for worker in self.workers:
                        assert worker.returncode is None, self.log_tail()
                    await anyio.sleep(0.05)
        finally:
            await queue.disconnect()

    async def produce(self, files: list[Path], results: Path, *, max_wait: float) -> int:
        """Run the producer to its end; returns its exit status."""
        producer = await self._spawn("producer", "-m", "clubsmtp_fleet.producer",
                                     *map(str, files), "--results", str(results),
                                     "--timeout", str(max_wait))
        try:
            with anyio.fail_after(max_wait + 15):
                return await producer.wait()
        finally:
            if producer.returncode is None:
                producer.kill()
                await producer.wait()

    def worker_with_pid(self, pid: int) -> asyncio.subprocess.Process:
        matches = [worker for worker in self.workers if worker.pid == pid]
        assert matches, f"pid {pid} is none of this test's workers"
        return matches[0]

    async def stop(self) -> None:
        for worker in self.workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                with anyio.fail_after(10):
                    await worker.wait()
            except TimeoutError:
                worker.kill()
                await worker.wait()

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)


def fleet_env(redis_url: str, queue: str, base_url: str, api_key: str, passwords: Path,
              rpm: float) -> dict[str, str]:
    """The environment of every fleet process of a test."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLEET_", "CLUBSMTP_")) or k == "CLUBSMTP_HTTP_LIBRARY"}
    env.update({
        "PYTHONPATH": os.pathsep.join(filter(None, [str(EXAMPLES), env.get("PYTHONPATH")])),
        "FLEET_REDIS_URL": redis_url,
        "FLEET_QUEUE": queue,
        "CLUBSMTP_API_KEY": api_key,
        "CLUBSMTP_BASE_URL": base_url,
        "FLEET_RPM": str(rpm),
        "FLEET_PASSWORDS_DIR": str(passwords),
        "FLEET_JOBS_PER_WORKER": "2",
        # Small, so that a killed worker's job is retried within seconds:
        # sweep every second, dead after 3 s without a heartbeat.
        "FLEET_HEARTBEAT": "3",
        "FLEET_SWEEP": "1",
        "FLEET_ATTEMPTS": "5",
    })
    return env


@pytest_asyncio.fixture
async def fleet_processes(tmp_path: Path) -> AsyncIterator[list[FleetProcesses]]:
    """Collects the test's `FleetProcesses`, stopped at teardown whatever happened."""
    made: list[FleetProcesses] = []
    yield made
    for processes in made:
        await processes.stop()
