"""Serving an `Emulator` over real sockets with uvicorn (asyncio only).

`serve` binds the socket itself (so ``port=0`` gives a free port that is known
before the first request), runs ``uvicorn.Server.serve`` in an anyio task
group, waits until uvicorn reports it started, and on exit asks it to stop and
waits for it. With ``tls=True`` a throw-away CA and a server certificate for
``127.0.0.1``, ``::1`` and ``localhost`` come from `trustme`; the CA
certificate is written to a file so any client can verify the server.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import sniffio

from .._http import new_client
from ._emulator import Emulator

if TYPE_CHECKING:
    from clubsmtp_async import AsyncClient

    from .._http import HTTPClient

__all__ = ["EmulatorServer", "make_certificates", "serve"]

_STARTUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class EmulatorServer:
    """A running emulator server.

    Attributes:
        emulator: The emulator it serves.
        host: The bound address.
        port: The bound port (the real one when 0 was asked).
        tls: Whether it speaks HTTPS.
        ca_cert_path: The CA certificate (PEM) to verify it, when `tls`.

    """

    emulator: Emulator
    host: str
    port: int
    tls: bool
    ca_cert_path: Path | None = None
    stopped: anyio.Event = field(default_factory=anyio.Event, repr=False)

    async def wait_stopped(self) -> None:
        """Wait until uvicorn has stopped (e.g. after SIGINT/SIGTERM)."""
        await self.stopped.wait()

    @property
    def base_url(self) -> str:
        """``http(s)://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def ssl_context(self) -> ssl.SSLContext:
        """A client SSL context that trusts this server's CA.

        Raises:
            RuntimeError: if the server does not use TLS.

        """
        if self.ca_cert_path is None:
            raise RuntimeError("this emulator server does not use TLS")
        return ssl.create_default_context(cafile=str(self.ca_cert_path))

    def http_client(self, **kwargs: Any) -> HTTPClient:
        """A plain HTTP client for this server (verifying its CA under TLS).

        It is an `httpx2.AsyncClient` or an `httpx.AsyncClient`: the library the
        SDK's own pools use (``$CLUBSMTP_HTTP_LIBRARY`` chooses).

        Args:
            **kwargs: More arguments of the client (``timeout``, ``headers``...).

        """
        if self.tls:
            kwargs.setdefault("verify", self.ssl_context())
        return new_client(base_url=self.base_url, **kwargs)

    @asynccontextmanager
    async def client(
        self, api_key: str | None = None, **client_kwargs: Any
    ) -> AsyncIterator[AsyncClient]:
        """An SDK client for this server; it and its HTTP client are closed on exit.

        Example:
            >>> async def demo(server: EmulatorServer) -> None:
            ...     async with server.client() as client:
            ...         await client.ping()

        Args:
            api_key: The bearer token (default: the emulator's first key).
            **client_kwargs: More `clubsmtp_async.AsyncClient` arguments.

        Yields:
            The entered client.

        """
        from clubsmtp_async import AsyncClient

        async with self.http_client() as http, AsyncClient(
            api_key or self.emulator.api_key,
            base_url=self.base_url,
            http_client=http,
            **client_kwargs,
        ) as client:
            yield client


def make_certificates(directory: Path) -> tuple[Path, Path]:
    """Write a fresh CA and a server certificate for the loopback names.

    Args:
        directory: Where to write ``ca.pem`` and ``server.pem`` (key + chain).

    Returns:
        (CA certificate path, server key-and-chain path).

    """
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "::1", "localhost")
    ca_path, server_path = directory / "ca.pem", directory / "server.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    cert.private_key_and_cert_chain_pem.write_to_path(str(server_path))
    return ca_path, server_path


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _uvicorn_server(emulator: Emulator, cert: Path | None, log_level: str) -> Any:
    import uvicorn

    config = uvicorn.Config(
        emulator.app,
        interface="asgi3",
        lifespan="on",
        log_config=None,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=2,
        ssl_certfile=None if cert is None else str(cert),
    )
    return uvicorn.Server(config)


async def _run(server: Any, sock: socket.socket, stopped: anyio.Event) -> None:
    try:
        await server.serve([sock])
    finally:
        # If uvicorn was cancelled it never closed its listeners: close them here, or
        # the event loop keeps a selector entry for a socket `serve` then closes, and
        # a later connection that reuses the file descriptor fails.
        for listener in getattr(server, "servers", ()):
            listener.close()
        stopped.set()


@asynccontextmanager
async def serve(
    emulator: Emulator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = False,
    cert_dir: Path | None = None,
    log_level: str = "warning",
) -> AsyncIterator[EmulatorServer]:
    """Serve `emulator` over TCP for the duration of the block.

    Example:
        >>> async def demo() -> None:
        ...     async with serve(Emulator(), tls=True) as server:
        ...         async with server.http_client() as http:
        ...             await http.get("/v1/ping")

    Args:
        emulator: What to serve.
        host: Address to bind (keep it loopback).
        port: Port to bind; 0 picks a free one (see `EmulatorServer.port`).
        tls: Serve HTTPS with a throw-away `trustme` CA.
        cert_dir: Where to write the certificates (default: a temporary
            directory removed on exit).
        log_level: uvicorn's log level.

    Yields:
        The running server.

    Raises:
        RuntimeError: when not running on asyncio (uvicorn needs it).

    """
    if sniffio.current_async_library() != "asyncio":
        raise RuntimeError("serve() runs uvicorn and needs asyncio; use the in-process transport")
    async with AsyncExitStack() as stack:
        ca_path = server_cert = None
        if tls:
            directory = cert_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
            ca_path, server_cert = make_certificates(directory)
        sock = _bind(host, port)
        stack.callback(sock.close)
        server = _uvicorn_server(emulator, server_cert, log_level)
        bound_host, bound_port = sock.getsockname()[:2]
        running = EmulatorServer(emulator, bound_host, bound_port, tls, ca_path)
        failure: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(_run, server, sock, running.stopped)
            with anyio.fail_after(_STARTUP_TIMEOUT):
                while not server.started:  # noqa: ASYNC110 - uvicorn only offers a flag
                    await anyio.sleep(0.01)
            try:
                yield running
            except Exception as exc:
                # Raised by the body: stop uvicorn gracefully first (leaving the task
                # group with it would cancel uvicorn mid-flight), then re-raise it as
                # is, not wrapped in an ExceptionGroup.
                failure = exc
            finally:
                server.should_exit = True
        if failure is not None:
            raise failure
