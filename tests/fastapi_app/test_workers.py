"""A real run: ``uvicorn --workers 2`` against the socket emulator, one shared budget, no 429.

The service runs as a subprocess on a Unix socket (``--uds``: no port to pick
and race for), its two workers paced by one limiter shared through the host
(`FileLimiter`) or through Redis (`RedisLimiter`). The emulator, served in
this process, enforces the key's rate with a small burst; the tenants are
sent concurrently on fresh connections so both workers serve some, and
together they would exceed the burst many times over if each paced alone
(with ``SERVICE_LIMITER=process`` the same run gets 429s).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import pytest_asyncio

from clubsmtp_async.testing import Emulator, EmulatorServer

from .conftest import EXAMPLE, SECRET, tenant

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

RPM = 900  # 15 requests/s: the key's ceiling, in the emulator and in the service
BURST = 2
TENANTS = 8  # each: 3 reads to plan, then a domain, a mailbox and an alias
REQUESTS_PER_TENANT = 6
LIMITERS = ["file", "redis"]  # one host; many hosts (here, one Redis on loopback)


@pytest.fixture
def clubsmtp_emulator_options() -> dict[str, Any]:
    return {"requests_per_minute": RPM, "burst": BURST}


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    # A short path: a Unix socket's path is limited to about 100 bytes.
    with tempfile.TemporaryDirectory(prefix="svc-") as folder:
        yield Path(folder)


class Service:
    """``uvicorn --workers 2`` of the example app on a Unix socket; `stop()` ends all of it."""

    def __init__(self, env: dict[str, str], socket_path: Path, log_path: Path) -> None:
        self.env = env
        self.socket_path = socket_path
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "uvicorn", "clubsmtp_service.app:app", "--workers", "2",
                "--uds", str(self.socket_path), "--log-level", "warning", env=self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True)  # its own process group: the workers die with it

    def http(self) -> httpx.AsyncClient:
        """A client that opens a new connection per request, so requests spread over workers."""
        transport = httpx.AsyncHTTPTransport(
            uds=str(self.socket_path), limits=httpx.Limits(max_keepalive_connections=0))
        return httpx.AsyncClient(transport=transport, base_url="http://service", timeout=60)

    async def wait_for_workers(self, http: httpx.AsyncClient, count: int) -> None:
        """Return once `count` different workers have answered ``/healthz``."""
        seen: set[str] = set()
        with anyio.fail_after(45):
            while len(seen) < count:
                assert self.process is not None
                assert self.process.returncode is None, self.log_tail()
                try:
                    response = await http.get("/healthz")
                except (httpx.ConnectError, httpx.RemoteProtocolError):
                    await anyio.sleep(0.1)
                    continue
                assert response.status_code == 200, response.text
                seen.add(response.headers["x-worker-pid"])

    async def stop(self) -> None:
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)  # uvicorn stops its workers (lifespan exits)
            with contextlib.suppress(TimeoutError), anyio.fail_after(15):
                await process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever of the group is left
        if process.returncode is None:
            await process.wait()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "--- uvicorn\n" + "\n".join(text)


@pytest_asyncio.fixture
async def services() -> AsyncIterator[list[Service]]:
    """Collects the test's services, stopped at teardown whatever happened."""
    made: list[Service] = []
    yield made
    for service in made:
        await service.stop()


@pytest.fixture
def limiter_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    kind: str = request.param
    if kind == "file":
        yield {"SERVICE_LIMITER": "file", "SERVICE_LIMITER_PATH": str(tmp_path / "budget")}
        return
    from redis_server import RedisServer, redis_server_binary

    server = RedisServer(redis_server_binary()).start()
    try:
        yield {"SERVICE_LIMITER": "redis", "SERVICE_REDIS_URL": server.url}
    finally:
        server.stop()


def service_env(server: EmulatorServer, api_key: str, limiter: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERVICE_", "CLUBSMTP_"))}
    env.update({
        "PYTHONPATH": os.pathsep.join(filter(None, [str(EXAMPLE), env.get("PYTHONPATH")])),
        "CLUBSMTP_API_KEY": api_key,
        "CLUBSMTP_BASE_URL": server.base_url,
        "CLUBSMTP_WEBHOOK_SECRET": SECRET,
        "SERVICE_RPM": str(RPM),
        **limiter,
    })
    return env


async def onboard(http: httpx.AsyncClient, index: int) -> tuple[str, dict[str, Any]]:
    response = await http.post("/tenants", json=tenant(f"t{index}", mailboxes=1))
    assert response.status_code == 200, response.text
    return response.headers["x-worker-pid"], response.json()


@pytest.mark.asyncio
@pytest.mark.parametrize("limiter_env", LIMITERS, indirect=True)
async def test_two_workers_share_one_budget_and_never_get_a_429(
        clubsmtp_server: EmulatorServer, clubsmtp_emulator: Emulator, clubsmtp_api_key: str,
        limiter_env: dict[str, str], services: list[Service], socket_dir: Path,
        tmp_path: Path) -> None:
    service = Service(service_env(clubsmtp_server, clubsmtp_api_key, limiter_env),
                      socket_dir / "service.sock", tmp_path / "uvicorn.log")
    services.append(service)
    await service.start()
    async with service.http() as http:
        await service.wait_for_workers(http, 2)
        results: list[tuple[str, dict[str, Any]]] = []

        async def one(index: int) -> None:
            results.append(await onboard(http, index))

        with anyio.fail_after(90):
            async with anyio.create_task_group() as tg:
                for index in range(TENANTS):
                    tg.start_soon(one, index)
            while len({pid for pid, _ in results}) < 2 and len(results) < 4 * TENANTS:
                await one(len(results))  # in the rare case one worker took every connection
    pids = {pid for pid, _ in results}
    assert len(pids) == 2, service.log_tail()
    assert all(body["ok"] and body["counts"]["failed"] == 0 for _, body in results)
    stats = clubsmtp_emulator.stats
    assert stats.rate_limited == 0, (stats.statuses, service.log_tail())
    assert sum(stats.requests.values()) == len(results) * REQUESTS_PER_TENANT  # no retry either
    assert set(stats.statuses) == {200}
    domains = sorted(d["name"] for d in clubsmtp_emulator.snapshot()["domains"])
    assert domains == sorted(f"t{index}.example" for index in range(len(results)))
