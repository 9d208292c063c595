"""One attempt's exchange (`_http`): no redirects, an overall deadline, a size cap.

Request shapes run on `httpx.MockTransport`; the deadline and the redirect are
also tried over real loopback sockets, with hand-written servers (`raw_http`)
that misbehave as no real server does, on asyncio and trio, and through
`aiohttp_http_client()`.
"""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import SocketStream
from raw_http import RawRequest, raw_server, response, trickle

from clubsmtp_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    Mailbox,
    UnexpectedResponseError,
    aiohttp_http_client,
)

pytestmark = pytest.mark.anyio

KEY = "sk_test_" + "H" * 40
D = "018f1a2b-3c4d-7e5f-a6b7-c8d9e0f1a2b3"
M = "019a2b3c-4d5e-7f6a-b7c8-d9e0f1a2b3c4"
TS = "2026-04-21T14:30:00.000000Z"
MAILBOX = {"uuid": M, "address": "alice@example.com", "domain_uuid": D, "domain": "example.com",
           "storage_gb": 10, "enabled": True, "created_at": TS, "updated_at": TS}
PASSWORD = "Pa55-w0rd-that-must-stay-home"
ENVELOPE = httpx.Response(200, json={"mailbox": MAILBOX, "errors": []}).content


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def mock_client(handler: Callable[[httpx.Request], Any], **kwargs: Any) -> AsyncClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True)
    kwargs.setdefault("max_retries", 3)
    return AsyncClient(KEY, base_url="https://api.clubsmtp.test", http_client=http,
                       requests_per_minute=None, **kwargs)


async def create_mailbox(client: AsyncClient) -> Mailbox:
    return await client.mailboxes.create(domain_uuid=D, local_part="alice", password=PASSWORD)


# --- No redirects, whatever the http_client says ---------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_refused_and_never_followed(status: int) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host != "api.clubsmtp.test":
            return httpx.Response(200, json={"mailbox": MAILBOX, "errors": []})
        return httpx.Response(
            status, headers={"Location": "https://elsewhere.test/v1/mailboxes?token=t0ps3cret"}
        )

    async with mock_client(handler) as client:
        with pytest.raises(UnexpectedResponseError) as info:
            await create_mailbox(client)
    assert [r.url.host for r in seen] == ["api.clubsmtp.test"]  # sent once, never re-sent
    text = str(info.value)
    assert f"HTTP {status} redirect to 'https://elsewhere.test/v1/mailboxes' refused" in text
    assert "never redirects" in text
    assert "t0ps3cret" not in text
    assert PASSWORD not in text
    assert info.value.status_code == status


# aiohttp runs on asyncio only.
TRANSPORTS = pytest.mark.parametrize(
    ("transport", "anyio_backend"),
    [("httpx", "asyncio"), ("httpx", "trio"), ("aiohttp", "asyncio")],
)


@TRANSPORTS
async def test_a_redirect_over_sockets_never_reaches_the_other_host(transport: str) -> None:

    async def elsewhere_answers(request: RawRequest, stream: SocketStream) -> None:
        await stream.send(response(200, ENVELOPE))

    async with raw_server(elsewhere_answers) as elsewhere:

        async def api_redirects(request: RawRequest, stream: SocketStream) -> None:
            location = f"{elsewhere.base_url}/v1/mailboxes"
            await stream.send(response(307, headers={"location": location}))

        async with raw_server(api_redirects) as api, _http(transport) as http:
            client = AsyncClient(KEY, base_url=api.base_url, http_client=http,
                                 requests_per_minute=None)
            async with client:
                with pytest.raises(UnexpectedResponseError, match="307 redirect"):
                    await create_mailbox(client)
    assert [r.method for r in api.requests] == ["POST"]
    assert elsewhere.requests == []  # the password went nowhere else


def _http(transport: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    if transport == "aiohttp":
        return aiohttp_http_client()
    return httpx.AsyncClient(follow_redirects=True)


# --- One deadline per attempt ----------------------------------------------------------------

OK_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
MISBEHAVIOURS = {
    "trickled headers": (OK_HEAD, b"x-padding: slow\r\n"),
    "trickled body": (OK_HEAD + b"content-length: 100000\r\n\r\n{", b" "),
    "trickled chunks": (OK_HEAD + b"transfer-encoding: chunked\r\n\r\n", b"1\r\n \r\n"),
    "endless 1xx": (b"", b"HTTP/1.1 102 Processing\r\n\r\n"),
}


@pytest.mark.parametrize("misbehaviour", list(MISBEHAVIOURS))
@TRANSPORTS
async def test_a_trickling_server_cannot_outlast_the_attempt_deadline(
    misbehaviour: str, transport: str
) -> None:
    head, unit = MISBEHAVIOURS[misbehaviour]

    async def respond(request: RawRequest, stream: SocketStream) -> None:
        # A byte every 20 ms: no single read ever waits long enough to time out.
        await trickle(stream, head, unit)

    async with raw_server(respond) as server, _http(transport) as http:
        client = AsyncClient(KEY, base_url=server.base_url, http_client=http,
                             requests_per_minute=None, max_retries=0, timeout=1.0)
        async with client:
            assert client.attempt_deadline == 1.0
            with anyio.fail_after(30), pytest.raises(APITimeoutError) as info:
                await client.mailboxes.get(M)
    assert "within the attempt deadline of 1 s" in str(info.value)
    assert info.value.request_sent is True  # perhaps sent: a create is looked up, not re-sent
    assert isinstance(info.value.request, httpx.Request)


async def test_the_deadline_is_the_longest_phase_and_can_be_disabled() -> None:
    async with mock_client(lambda r: httpx.Response(200)) as client:
        assert client.attempt_deadline == 30.0
        copy = client.with_options(timeout=httpx.Timeout(5.0, read=12.0))
        assert copy.attempt_deadline == 12.0
        assert client.with_options(timeout=httpx.Timeout(None)).attempt_deadline is None


# --- A response-size cap ----------------------------------------------------------------------


def compressed(data: Iterator[bytes], wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join([*(packer.compress(block) for block in data), packer.flush()])


def zeros(mebibytes: int) -> Iterator[bytes]:
    block = bytes(1 << 20)
    return (block for _ in range(mebibytes))


GZIP, ZLIB, RAW_DEFLATE = zlib.MAX_WBITS | 16, zlib.MAX_WBITS, -zlib.MAX_WBITS


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """300 MiB of zeros, gzipped: about 300 KB on the wire."""
    return compressed(zeros(300), GZIP)


class Chunks(httpx.AsyncByteStream):
    """A streamed body, in pieces of 16 KiB (as a socket delivers it)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._data), 16384):
            yield self._data[start:start + 16384]


def streamed(data: bytes, encoding: str | None = None) -> httpx.Response:
    headers = {"content-encoding": encoding} if encoding else {}
    return httpx.Response(200, headers=headers, stream=Chunks(data))


async def test_a_compressed_bomb_is_refused_without_being_expanded(
    anyio_backend: str, bomb: bytes
) -> None:
    assert len(bomb) < 1 << 20
    async with mock_client(lambda r: streamed(bomb, "gzip"), max_response_bytes=1 << 20) as client:
        tracemalloc.start()
        try:
            with pytest.raises(UnexpectedResponseError, match="larger than max_response_bytes"):
                await client.mailboxes.get(M)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # The cap (1 MiB) plus one decompression step: never the 300 MiB.
    assert peak < 8 << 20


@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [("gzip", GZIP), ("x-gzip", GZIP), ("deflate", ZLIB), ("deflate", RAW_DEFLATE),
     ("GZip, identity", GZIP)],
)
async def test_compressed_bodies_are_decoded(encoding: str, wbits: int) -> None:
    body = compressed(iter([ENVELOPE]), wbits)
    async with mock_client(lambda r: streamed(body, encoding)) as client:
        assert (await client.mailboxes.get(M)).address == "alice@example.com"


async def test_a_body_that_expands_in_many_steps_is_decoded_whole() -> None:
    padding = b" " * (5 << 20)  # JSON whitespace: 5 MiB, dozens of decompression steps
    body = compressed(iter([ENVELOPE[:-1], padding, ENVELOPE[-1:]]), GZIP)
    async with mock_client(lambda r: streamed(body, "gzip")) as client:
        assert (await client.mailboxes.get(M)).uuid == M


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "in-memory"])
async def test_the_cap_is_exact(streaming: bool) -> None:
    size = len(ENVELOPE)

    def handler(request: httpx.Request) -> httpx.Response:
        return streamed(ENVELOPE) if streaming else httpx.Response(200, content=ENVELOPE)

    async with mock_client(handler, max_response_bytes=size) as client:
        assert client.max_response_bytes == size
        assert (await client.mailboxes.get(M)).uuid == M
        smaller = client.with_options(max_response_bytes=size - 1)
        expected = f"larger than max_response_bytes \\({size - 1} bytes"
        with pytest.raises(UnexpectedResponseError, match=expected):
            await smaller.mailboxes.get(M)


async def test_no_cap_when_disabled() -> None:
    async with mock_client(lambda r: streamed(ENVELOPE), max_response_bytes=None) as client:
        assert client.max_response_bytes is None
        assert (await client.mailboxes.get(M)).uuid == M


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
async def test_an_encoding_the_sdk_did_not_ask_for_is_refused(encoding: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return streamed(b"\x00\x01", encoding)

    async with mock_client(handler) as client:
        with pytest.raises(UnexpectedResponseError, match="did not ask for"):
            await client.mailboxes.get(M)
    assert seen[0].headers["accept-encoding"] == "gzip, deflate"


async def test_a_corrupt_compressed_body_is_a_connection_error() -> None:
    body = compressed(iter([ENVELOPE]), GZIP)
    broken = body[:10] + bytes(len(body) - 10)
    async with mock_client(lambda r: streamed(broken, "gzip"), max_retries=0) as client:
        with pytest.raises(APIConnectionError, match="does not decompress"):
            await client.mailboxes.get(M)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # aiohttp runs on asyncio only
async def test_the_cap_holds_over_sockets_with_aiohttp(bomb: bytes) -> None:
    async def respond(request: RawRequest, stream: SocketStream) -> None:
        body = bomb if request.path.endswith(M) else compressed(iter([ENVELOPE]), GZIP)
        await stream.send(response(200, body, {"content-encoding": "gzip"}))

    async with raw_server(respond) as server, aiohttp_http_client() as http:
        client = AsyncClient(KEY, base_url=server.base_url, http_client=http,
                             requests_per_minute=None, max_response_bytes=1 << 20)
        async with client:
            assert (await client.mailboxes.get(D)).uuid == M  # decoded by the SDK
            with pytest.raises(UnexpectedResponseError, match="larger than max_response_bytes"):
                await client.mailboxes.get(M)
