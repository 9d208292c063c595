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


# State, webhooks, knobs


async def create_domain(url: str, key: str, name: str) -> int:
    async with httpx.AsyncClient(base_url=url) as http:
        response = await http.post("/v1/domains", json={"name": name},
                                   headers={"Authorization": f"Bearer {key}"})
        return response.status_code


@pytest.mark.slow
async def test_state_survives_a_sigterm_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    async with run_cli("emulator", "--port", "0", "--state", str(state), "--api-key", KEY) as cli:
        url = await cli.read_until("URL: ")
        assert await create_domain(url, KEY, "kept.example") == 200
        await stop(cli)
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    async with run_cli("emulator", "--port", "0", "--state", str(state)) as cli:
        url = await cli.read_until("URL: ")
        assert await cli.read_until("API key: ") == KEY  # the saved key, none generated
        async with httpx.AsyncClient(base_url=url) as http:
            listed = (await http.get("/v1/domains",
                                     headers={"Authorization": f"Bearer {KEY}"})).json()
        await stop(cli)
    assert [d["name"] for d in listed["data"]] == ["kept.example"]


@pytest.mark.slow
async def test_webhook_flag_delivers_signed_events(tmp_path: Path) -> None:
    from clubsmtp_async.testing import WebhookRecorder

    from .receivers import serve_app

    recorder = WebhookRecorder()
    async with serve_app(recorder) as receiver:  # noqa: SIM117 - the CLI needs the URL
        async with run_cli("emulator", "--port", "0", "--api-key", KEY,
                           "--webhook", f"{receiver}/a", "--webhook-secret", recorder.secret,
                           "--webhook", f"{receiver}/b") as cli:
            url = await cli.read_until("URL: ")
            generated = await cli.read_until("Webhook secret: ")
            assert generated.startswith("whsec_")
            assert generated != recorder.secret
            assert await create_domain(url, KEY, "hooked.example") == 200
            events = await recorder.wait_for(1)
            output = await stop(cli)
    assert [e.type for e in events] == ["domain.created"]
    assert output.count(generated) == 0
    assert recorder.secret not in output + "".join(cli.lines)
    assert sum(line.startswith("Webhook secret: ") for line in cli.lines) == 1


async def statuses_with_seed(seed: str) -> list[int]:
    async with run_cli("emulator", "--port", "0", "--api-key", KEY, "--requests-per-minute",
                       "60000", "--burst", "100", "--fault-rate", "0.5", "--fault-kind",
                       "error-before", "--fault-kind", "rate-limit", "--fault-seed", seed) as cli:
        url = await cli.read_until("URL: ")
        async with httpx.AsyncClient(base_url=url) as http:
            statuses = [(await http.get("/v1/ping", headers={
                "Authorization": f"Bearer {KEY}"})).status_code for _ in range(30)]
        await stop(cli)
    return statuses


@pytest.mark.slow
async def test_seeded_faults_are_reproducible() -> None:
    first = await statuses_with_seed("42")
    assert first == await statuses_with_seed("42")
    assert {200, 500, 429} <= set(first)


@pytest.mark.slow
async def test_burst_allows_n_requests_at_once() -> None:
    async with run_cli("emulator", "--port", "0", "--api-key", KEY, "--requests-per-minute",
                       "1", "--burst", "3") as cli:
        url = await cli.read_until("URL: ")
        async with httpx.AsyncClient(base_url=url) as http:
            statuses = [(await http.get("/v1/ping", headers={
                "Authorization": f"Bearer {KEY}"})).status_code for _ in range(4)]
        await stop(cli)
    assert statuses == [200, 200, 200, 429]


@pytest.mark.slow
async def test_tls_prints_how_to_trust_the_ca() -> None:
    async with run_cli("emulator", "--port", "0", "--tls") as cli:
        ca = await cli.read_until("CA certificate: ")
        hint = await cli.read_until("  trust it with: ")
        python = await cli.read_until("  or in Python:  ")
        await stop(cli)
    assert hint.startswith(f"SSL_CERT_FILE={ca}")
    assert f"cafile='{ca}'" in python


def one_line_error(args: list[str], code: int) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "from clubsmtp_async.cli import main; main()", *args],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--burst", "0"], "--burst"),
        (["--port", "x"], "--port"),
        (["--fault-rate", "2"], "--fault-rate"),
        (["--fault-kind", "boom"], "--fault-kind"),
        (["--log-level", "loud"], "--log-level"),
        (["--webhook", "ftp://x"], "invalid webhook URL"),
        (["--webhook", "http://127.0.0.1:9/", "--webhook-secret", "no pe!"], "whsec_"),
        (["--webhook-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], "more secrets"),
        (["--webhook-retry-delays", "1,x"], "--webhook-retry-delays"),
        (["--latency", "1", "--latency-max", "0.5"], "--latency-max"),
        (["--host", "0.0.0.0"], "--allow-remote"),
        (["--state", "/nonexistent-dir/state.json"], "does not exist"),
    ],
)
def test_bad_flags_are_one_line(args: list[str], message: str) -> None:
    assert message in one_line_error(["emulator", *args], 2)


def test_a_damaged_state_file_is_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"format": "clubsmtp-emulator-state", "version": 1, "saved_at": 3}')
    line = one_line_error(["emulator", "--state", str(state)], 1)
    assert str(state) in line
    assert "$.saved_at" in line


def test_a_port_in_use_is_one_line() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line_error(["emulator", "--port", str(port)], 1)
    assert f"127.0.0.1:{port}" in line
    assert "already in use" in line


TENANT = """\
[[domains]]
name = "seeded.example"
  [[domains.mailboxes]]
  local_part = "alice"
  whitelist = ["*@ok.example"]
  [[domains.mailboxes]]
  local_part = "bob"
  enabled = false
  [[domains.aliases]]
  local_part = "info"
  forward_to = ["alice", "bob"]
"""


@pytest.mark.slow
async def test_seed_applies_a_tenant_file_and_converges_onto_a_state(tmp_path: Path) -> None:
    tenant, state = tmp_path / "tenant.toml", tmp_path / "state.json"
    tenant.write_text(TENANT)
    for expected in ("Seeded from", "Seeded from"):  # the second run, onto the state: no change
        async with run_cli("emulator", "--port", "0", "--api-key", KEY, "--seed", str(tenant),
                           "--state", str(state), "--requests-per-minute", "6000") as cli:
            seeded = await cli.read_until(expected)
            url = await cli.read_until("URL: ")
            async with httpx.AsyncClient(base_url=url) as http:
                auth = {"Authorization": f"Bearer {KEY}"}
                mailboxes = (await http.get("/v1/mailboxes", headers=auth)).json()["data"]
                aliases = (await http.get("/v1/aliases", headers=auth)).json()["data"]
                stats = (await http.get("/_admin/stats")).json()["stats"]
            await stop(cli)
        assert sorted((m["address"], m["enabled"]) for m in mailboxes) == [
            ("alice@seeded.example", True), ("bob@seeded.example", False)]
        assert [a["address"] for a in aliases] == ["info@seeded.example"]
        assert stats["rate_limited"] == 0
    assert seeded.endswith("0 change(s)")


def test_a_bad_seed_file_is_one_line(tmp_path: Path) -> None:
    tenant = tmp_path / "tenant.toml"
    tenant.write_text('[[domains]]\nname = "x.example"\n'
                      '[[domains.mailboxes]]\nlocal_part = "a b"\n')
    line = one_line_error(["emulator", "--port", "0", "--seed", str(tenant)], 2)
    assert f"{tenant}: domains[0].mailboxes[0].local_part" in line
