"""Hand-written HTTP/1.1 servers on loopback sockets, for misbehaviour no real server shows.

`raw_server(respond)` listens on 127.0.0.1 (anyio, so on asyncio and trio), reads
each request (head and ``Content-Length`` body) and hands it to `respond(request,
stream)`, which writes whatever bytes it likes: trickled headers, endless ``1xx``
responses, a redirect, a compressed bomb. Every request is recorded. Leaving the
context stops the server and every connection handler.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from anyio.abc import SocketAttribute, SocketStream

__all__ = ["RawRequest", "RawServer", "raw_server", "response", "trickle"]


@dataclass
class RawRequest:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RawServer:
    """A running `raw_server`."""

    base_url: str
    requests: list[RawRequest] = field(default_factory=list)


Respond = Callable[[RawRequest, SocketStream], Awaitable[None]]


async def _read_request(stream: SocketStream, buffer: bytearray) -> RawRequest | None:
    while b"\r\n\r\n" not in buffer:
        try:
            buffer += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            return None
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = bytearray(rest)
    while len(body) < length:
        body += await stream.receive()
    buffer[:] = body[length:]
    return RawRequest(method, path, headers, bytes(body[:length]))


@asynccontextmanager
async def raw_server(respond: Respond) -> AsyncIterator[RawServer]:
    """Serve `respond` on a free loopback port until the block ends."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)
    server = RawServer(f"http://127.0.0.1:{port}")

    async def handle(stream: SocketStream) -> None:
        buffer = bytearray()
        try:
            async with stream:
                while (request := await _read_request(stream, buffer)) is not None:
                    server.requests.append(request)
                    await respond(request, stream)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream):
            pass  # the client went away: that is what the tests provoke

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        try:
            yield server
        finally:
            tg.cancel_scope.cancel()


async def trickle(stream: SocketStream, head: bytes, unit: bytes, *, every: float = 0.02) -> None:
    """Send `head`, then `unit` again and again, one every `every` seconds, for ever."""
    await stream.send(head)
    while True:
        await anyio.sleep(every)
        await stream.send(unit)


def response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    """A complete HTTP/1.1 response."""
    fields = {"content-length": str(len(body)), **(headers or {})}
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return head.encode("latin-1") + b"\r\n" + body
