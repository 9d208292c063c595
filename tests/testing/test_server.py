"""Serving over real loopback sockets: port 0, TLS with trustme, shutdown."""

from __future__ import annotations

import socket
import ssl

import anyio
import httpx
import pytest

from clubsmtp_async.testing import Emulator, serve

from .conftest import KEY
from .test_app import error, ok

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

AUTH = {"Authorization": f"Bearer {KEY}"}


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


async def test_plain_http_on_a_free_port() -> None:
    emulator = Emulator(api_keys=[KEY])
    async with serve(emulator, port=0) as server:
        assert server.port > 0
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=server.base_url, headers=AUTH) as http:
            ok(await http.get("/v1/ping"))
    # Stopped: the port no longer answers.
    with pytest.raises(OSError, match="connect"):
        await anyio.connect_tcp("127.0.0.1", server.port)
    assert server.stopped.is_set()


async def test_tls_is_verified_with_the_trustme_ca() -> None:
    emulator = Emulator(api_keys=[KEY])
    async with serve(emulator, tls=True) as server:
        assert server.base_url.startswith("https://127.0.0.1:")
        assert server.ca_cert_path is not None
        assert server.ca_cert_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
        context = server.ssl_context()
        async with httpx.AsyncClient(
            base_url=server.base_url, verify=context, headers=AUTH
        ) as http:
            ok(await http.get("/v1/ping"))
        # Without the CA the certificate is not trusted.
        async with httpx.AsyncClient(base_url=server.base_url) as untrusting:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await untrusting.get("/v1/ping")
    assert not server.ca_cert_path.exists()  # the temporary directory is gone


async def test_tls_certificates_in_a_chosen_directory(tmp_path: anyio.Path) -> None:
    async with serve(Emulator(api_keys=[KEY]), tls=True, cert_dir=tmp_path) as server:  # type: ignore[arg-type]
        assert server.ca_cert_path == tmp_path / "ca.pem"
        async with server.http_client(headers=AUTH) as http:
            ok(await http.get("/v1/ping"))


def test_ssl_context_without_tls() -> None:
    from clubsmtp_async.testing import EmulatorServer

    server = EmulatorServer(Emulator(), "127.0.0.1", 1, tls=False)
    with pytest.raises(RuntimeError, match="TLS"):
        server.ssl_context()
    assert isinstance(server.base_url, str)


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
async def test_ipv6_loopback() -> None:
    async with serve(Emulator(api_keys=[KEY]), host="::1") as server:
        assert server.base_url == f"http://[::1]:{server.port}"
        async with server.http_client(headers=AUTH) as http:
            ok(await http.get("/v1/ping"))


async def test_admin_over_sockets_is_loopback_only_without_token() -> None:
    async with (
        serve(Emulator(admin_token="t0ken"), tls=True) as server,
        server.http_client() as http,
    ):
        error(await http.get("/_admin/stats"), 403, "security_error")
        ok(await http.get("/_admin/stats", headers={"X-ClubSMTP-Admin-Token": "t0ken"}))


async def test_sdk_client_over_tls() -> None:
    pytest.importorskip("clubsmtp_async._client")
    async with (
        serve(Emulator(api_keys=[KEY]), tls=True) as server,
        server.client(requests_per_minute=None) as client,
    ):
        pong = await client.ping()
        assert pong.timestamp.tzinfo is not None


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_serve_needs_asyncio() -> None:
    with pytest.raises(RuntimeError, match="asyncio"):
        async with serve(Emulator()):
            pass  # pragma: no cover


def test_ssl_module_is_real() -> None:
    assert ssl.HAS_SNI
