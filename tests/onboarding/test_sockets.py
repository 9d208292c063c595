"""Onboarding over real sockets: TLS, and a process killed with SIGKILL mid-apply, then re-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from asgi_hold import HoldCreates

from clubsmtp_async.onboarding import PasswordFile, apply, parse_tenant, plan
from clubsmtp_async.testing import Emulator, serve

from .conftest import fast_emulator

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

WORKER = Path(__file__).with_name("apply_worker.py")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # serve() runs uvicorn


def tenant_text(mailboxes: int) -> str:
    lines = ['[[domains]]\nname = "kill.example"']
    for m in range(mailboxes):
        lines.append(f'[[domains.mailboxes]]\nlocal_part = "u{m}"\nwhitelist = ["*@ok.example"]')
    lines.append('[[domains.aliases]]\nlocal_part = "all"\nforward_to = ["u0", "u1"]')
    return "\n".join(lines) + "\n"


async def test_apply_over_tls_then_replan_is_empty() -> None:
    emulator = fast_emulator()
    spec = parse_tenant(tenant_text(8), "toml")
    async with serve(emulator, tls=True) as server, server.client(
        requests_per_minute=None
    ) as client:
        report = await apply(client, spec)
        assert report.ok
        assert report.counts["done"] == 1 + 8 + 8 + 1
        assert not (await plan(client, spec)).has_changes
    assert len(emulator.snapshot()["mailboxes"]) == 8


async def _wait_for(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(60):
        while not condition():
            await anyio.sleep(0.01)


async def test_a_killed_apply_converges_when_run_again(tmp_path: Path) -> None:
    emulator: Emulator = fast_emulator()
    tenant = tmp_path / "tenant.toml"
    tenant.write_text(tenant_text(40))
    passwords = tmp_path / "passwords.csv"
    hold = HoldCreates(emulator.app, allowed=12, processed=True)
    emulator.app = hold  # type: ignore[assignment]
    async with serve(emulator) as server:
        argv = [sys.executable, str(WORKER), server.base_url, emulator.api_key, str(tenant),
                str(passwords)]
        with subprocess.Popen(argv, stdout=subprocess.DEVNULL) as child:
            try:
                await _wait_for(lambda: hold.held >= 3)
                os.kill(child.pid, signal.SIGKILL)
                await anyio.to_thread.run_sync(child.wait)
            finally:
                if child.poll() is None:
                    child.kill()
        assert child.returncode == -signal.SIGKILL
        created_before = len(emulator.store.mailboxes)
        assert 15 <= created_before < 40
        hold.holding = False
        hold.release.set()

        rerun = await anyio.run_process(argv, check=False)
        assert rerun.returncode == 0, rerun.stderr.decode()
        assert rerun.stdout.decode().strip().splitlines()[-1].startswith("ok")

    snapshot = emulator.snapshot()
    assert sorted(m["address"] for m in snapshot["mailboxes"]) == sorted(
        f"u{m}@kill.example" for m in range(40))
    assert all([e["pattern"] for e in m["whitelist"]] == ["*@ok.example"]
               for m in snapshot["mailboxes"])
    assert [a["address"] for a in snapshot["aliases"]] == ["all@kill.example"]
    # Every password was on disk before its create was sent; the last line of each
    # address is the mailbox's password, including those created while unacknowledged.
    written = PasswordFile.read(passwords)
    assert oct(passwords.stat().st_mode & 0o777) == "0o600"
    for mailbox in snapshot["mailboxes"]:
        assert emulator.check_password(mailbox["uuid"], written[mailbox["address"]])
