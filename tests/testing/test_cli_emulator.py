"""``clubsmtp emulator``: a real subprocess on a free port, pinged, then stopped."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.abc import Process
from typer.testing import CliRunner

from clubsmtp_async.cli import app

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk_test_" + "d4" * 36


class Cli:
    """A running ``clubsmtp emulator`` and what it printed."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._buffer = ""

    async def read_until(self, prefix: str) -> str:
        assert self.process.stdout is not None
        with anyio.fail_after(20):
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        return line[len(prefix) :].strip()
                chunk = await self.process.stdout.receive()
                self._buffer += chunk.decode()
                *complete, self._buffer = self._buffer.split("\n")
                self.lines.extend(complete)

    async def rest(self) -> str:
        assert self.process.stdout is not None
        chunks = [self._buffer]
        with anyio.fail_after(20):
            async for chunk in self.process.stdout:
                chunks.append(chunk.decode())
        return "".join(chunks)


@asynccontextmanager
async def run_cli(*args: str) -> AsyncIterator[Cli]:
    command = [sys.executable, "-c", "from clubsmtp_async.cli import main; main()", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    process = await anyio.open_process(command, env=env, stderr=subprocess.STDOUT)
    try:
        yield Cli(process)
    finally:
        if process.returncode is None:
            process.kill()
        with anyio.fail_after(20):
            await process.wait()
        await process.aclose()


async def stop(cli: Cli, signum: signal.Signals = signal.SIGTERM) -> str:
    cli.process.send_signal(signum)
    output = await cli.rest()
    with anyio.fail_after(20):
        assert await cli.process.wait() == 0, output
    return output


@pytest.mark.slow
async def test_serves_the_given_keys_until_sigterm() -> None:
    other = "sk_test_" + "e5" * 36
    async with run_cli(
        "emulator",
        "--port",
        "0",
        "--api-key",
        KEY,
        "--api-key",
        other,
        "--requests-per-minute",
        "600",
    ) as cli:
        url = await cli.read_until("URL: ")
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        await cli.read_until(f"API key: {other}")
        assert [line for line in cli.lines if line.startswith("API key: ")] == [
            f"API key: {KEY}",
            f"API key: {other}",
        ]
        async with httpx.AsyncClient(base_url=url) as http:
            for key in (KEY, other):
                response = await http.get("/v1/ping", headers={"Authorization": f"Bearer {key}"})
                assert response.status_code == 200
                assert response.json()["errors"] == []
            response = await http.get("/v1/ping", headers={"Authorization": "Bearer sk_test_x"})
            assert response.status_code == 401
        output = await stop(cli)
    assert "ClubSMTP emulator stopped" in output
    assert "Traceback" not in output


@pytest.mark.slow
async def test_tls_prints_the_ca_and_generates_a_key() -> None:
    async with run_cli("emulator", "--port", "0", "--tls") as cli:
        url = await cli.read_until("URL: ")
        assert url.startswith("https://127.0.0.1:")
        key = await cli.read_until("API key: ")
        assert re.fullmatch(r"sk_test_[0-9a-f]{72}", key)
        ca = Path(await cli.read_until("CA certificate: "))
        context = ssl.create_default_context(cafile=str(ca))
        async with httpx.AsyncClient(base_url=url, verify=context) as http:
            response = await http.get("/v1/ping", headers={"Authorization": f"Bearer {key}"})
            assert response.status_code == 200
        output = await stop(cli, signal.SIGINT)
    assert "Traceback" not in output
    assert not ca.exists()  # the temporary certificate directory was cleaned up


@pytest.mark.slow
async def test_cert_dir_keeps_the_ca(tmp_path: Path) -> None:
    async with run_cli("emulator", "--port", "0", "--tls", "--cert-dir", str(tmp_path)) as cli:
        assert await cli.read_until("CA certificate: ") == str(tmp_path / "ca.pem")
        await stop(cli)
    assert (tmp_path / "ca.pem").exists()


def test_refuses_a_non_loopback_host() -> None:
    result = CliRunner().invoke(app, ["emulator", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "--allow-remote" in result.output


def test_refuses_a_malformed_key() -> None:
    result = CliRunner().invoke(app, ["emulator", "--api-key", "secret"])
    assert result.exit_code == 2
    assert "sk_test_" in result.output


def test_help_lists_the_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "emulator" in result.output
    result = CliRunner().invoke(app, ["emulator", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--requests-per-minute" in result.output
