"""A canned HTTP/1.1 server on a bare asyncio protocol, for the client-CPU benchmarks.

Every request gets the same Mailbox envelope as `_canned_server` (keep-alive,
Content-Length framing). It does a small fraction of the work of uvicorn with
h11, so the server answers faster than any client sends and the client's CPU
per request does not depend on how long it waits for the server: a client
that idles between replies wakes more often, and pays for it, which would make
the slower contender look slower still.

Run: python -m benchmarks._fast_server PORT  (prints "ready" once listening)
"""

from __future__ import annotations

import asyncio
import sys

from benchmarks._canned_server import BODY

RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    b"content-length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)
_END = b"\r\n\r\n"


class _Answer(asyncio.Protocol):
    """Answers each complete request on one connection with `RESPONSE`."""

    def __init__(self) -> None:
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        replies = 0
        while (end := self._buffer.find(_END)) >= 0:
            body = _content_length(self._buffer[:end])
            if len(self._buffer) < end + 4 + body:
                break  # the body is still coming
            self._buffer = self._buffer[end + 4 + body :]
            replies += 1
        if replies and self._transport is not None:
            self._transport.write(RESPONSE * replies)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


async def serve(port: int) -> None:
    """Listen on 127.0.0.1:`port` until killed."""
    server = await asyncio.get_running_loop().create_server(
        _Answer, "127.0.0.1", port, backlog=2048
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
