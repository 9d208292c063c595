"""One attempt's exchange (`_http`): no redirects, an overall deadline, a size cap.

Everything runs on both HTTP libraries, httpx and httpx2. Request shapes run on
each library's `MockTransport`; the deadline, the redirect, the size cap and
the connection errors are also tried over real loopback sockets, with
hand-written servers (`raw_http`) that misbehave as no real server does, on
asyncio and trio, and through `aiohttp_http_client()` (httpx only).
"""

from __future__ import annotations

import importlib
import socket
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import SocketStream
from http_library import LIBRARIES
from raw_http import RawRequest, raw_server, response, trickle

from clubsmtp_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    Mailbox,
    UnexpectedResponseError,
    ValidationError,
    aiohttp_http_client,
)
from clubsmtp_async._http import ENV_VAR, default_library, installed_libraries

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


def mock_client(
    handler: Callable[[Any], Any], library: Any = httpx, **kwargs: Any
) -> AsyncClient:
    http = library.AsyncClient(transport=library.MockTransport(handler), follow_redirects=True)
    kwargs.setdefault("max_retries", 3)
    return AsyncClient(KEY, base_url="https://api.clubsmtp.test", http_client=http,
                       requests_per_minute=None, **kwargs)


async def create_mailbox(client: AsyncClient) -> Mailbox:
    return await client.mailboxes.create(domain_uuid=D, local_part="alice", password=PASSWORD)


# --- No redirects, whatever the http_client says ---------------------------------------------


@LIBRARIES
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_is_refused_and_never_followed(status: int, library: Any) -> None:
    seen: list[Any] = []

    def handler(request: Any) -> Any:
        seen.append(request)
        if request.url.host != "api.clubsmtp.test":
            return library.Response(200, json={"mailbox": MAILBOX, "errors": []})
        return library.Response(
            status,
            headers={"Location": "https://u:t0ps3cret@elsewhere.test/v1/mailboxes?token=t0ps3cret"},
        )

    async with mock_client(handler, library) as client:
        with pytest.raises(UnexpectedResponseError) as info:
            await create_mailbox(client)
    assert [r.url.host for r in seen] == ["api.clubsmtp.test"]  # sent once, never re-sent
    text = str(info.value)
    assert f"HTTP {status} redirect to 'https://***@elsewhere.test/v1/mailboxes?…' refused" in text
    assert "never redirects" in text
    assert "t0ps3cret" not in text
    assert PASSWORD not in text
    assert info.value.status_code == status


# aiohttp runs on asyncio only.
TRANSPORTS = pytest.mark.parametrize(
    ("transport", "anyio_backend"),
    [("httpx", "asyncio"), ("httpx", "trio"), ("httpx2", "asyncio"), ("httpx2", "trio"),
     ("aiohttp", "asyncio")],
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


def _http(transport: str) -> AbstractAsyncContextManager[Any]:
    """A client made to follow redirects (the SDK never does): httpx, httpx2 or aiohttp."""
    if transport == "aiohttp":
        return aiohttp_http_client()
    library: Any = importlib.import_module(transport)
    http: AbstractAsyncContextManager[Any] = library.AsyncClient(follow_redirects=True)
    return http


def _request_type(transport: str) -> type:
    return httpx.Request if transport == "aiohttp" else importlib.import_module(transport).Request


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
    assert isinstance(info.value.request, _request_type(transport))


@LIBRARIES
async def test_the_deadline_is_the_longest_phase_and_can_be_disabled(library: Any) -> None:
    async with mock_client(lambda r: library.Response(200), library) as client:
        assert client.attempt_deadline == 30.0
        copy = client.with_options(timeout=library.Timeout(5.0, read=12.0))
        assert copy.attempt_deadline == 12.0
        assert client.with_options(timeout=library.Timeout(None)).attempt_deadline is None


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


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    """A streamed body, in pieces of 16 KiB (as a socket delivers it)."""
    for start in range(0, len(data), 16384):
        yield data[start:start + 16384]


def streamed(data: bytes, encoding: str | None = None, library: Any = httpx) -> Any:
    headers = {"content-encoding": encoding} if encoding else {}
    return library.Response(200, headers=headers, content=chunks(data))


@LIBRARIES
async def test_a_compressed_bomb_is_refused_without_being_expanded(
    anyio_backend: str, bomb: bytes, library: Any
) -> None:
    assert len(bomb) < 1 << 20
    handler = lambda r: streamed(bomb, "gzip", library)  # noqa: E731
    async with mock_client(handler, library, max_response_bytes=1 << 20) as client:
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
@LIBRARIES
async def test_compressed_bodies_are_decoded(encoding: str, wbits: int, library: Any) -> None:
    body = compressed(iter([ENVELOPE]), wbits)
    async with mock_client(lambda r: streamed(body, encoding, library), library) as client:
        assert (await client.mailboxes.get(M)).address == "alice@example.com"


@LIBRARIES
async def test_a_body_that_expands_in_many_steps_is_decoded_whole(library: Any) -> None:
    padding = b" " * (5 << 20)  # JSON whitespace: 5 MiB, dozens of decompression steps
    body = compressed(iter([ENVELOPE[:-1], padding, ENVELOPE[-1:]]), GZIP)
    async with mock_client(lambda r: streamed(body, "gzip", library), library) as client:
        assert (await client.mailboxes.get(M)).uuid == M


@LIBRARIES
@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "in-memory"])
async def test_the_cap_is_exact(streaming: bool, library: Any) -> None:
    size = len(ENVELOPE)

    def handler(request: Any) -> Any:
        if streaming:
            return streamed(ENVELOPE, library=library)
        return library.Response(200, content=ENVELOPE)

    async with mock_client(handler, library, max_response_bytes=size) as client:
        assert client.max_response_bytes == size
        assert (await client.mailboxes.get(M)).uuid == M
        smaller = client.with_options(max_response_bytes=size - 1)
        expected = f"larger than max_response_bytes \\({size - 1} bytes"
        with pytest.raises(UnexpectedResponseError, match=expected):
            await smaller.mailboxes.get(M)


@LIBRARIES
async def test_no_cap_when_disabled(library: Any) -> None:
    handler = lambda r: streamed(ENVELOPE, library=library)  # noqa: E731
    async with mock_client(handler, library, max_response_bytes=None) as client:
        assert client.max_response_bytes is None
        assert (await client.mailboxes.get(M)).uuid == M


@LIBRARIES
@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
async def test_an_encoding_the_sdk_did_not_ask_for_is_refused(
    encoding: str, library: Any
) -> None:
    seen: list[Any] = []

    def handler(request: Any) -> Any:
        seen.append(request)
        return streamed(b"\x00\x01", encoding, library)

    async with mock_client(handler, library) as client:
        with pytest.raises(UnexpectedResponseError, match="did not ask for"):
            await client.mailboxes.get(M)
    assert seen[0].headers["accept-encoding"] == "gzip, deflate"


@LIBRARIES
async def test_a_corrupt_compressed_body_is_a_connection_error(library: Any) -> None:
    body = compressed(iter([ENVELOPE]), GZIP)
    broken = body[:10] + bytes(len(body) - 10)
    handler = lambda r: streamed(broken, "gzip", library)  # noqa: E731
    async with mock_client(handler, library, max_retries=0) as client:
        with pytest.raises(APIConnectionError, match="does not decompress") as info:
            await client.mailboxes.get(M)
    assert isinstance(info.value.__cause__, library.DecodingError)
    assert info.value.request_sent is True


@TRANSPORTS
async def test_the_cap_holds_over_sockets(bomb: bytes, transport: str) -> None:
    async def respond(request: RawRequest, stream: SocketStream) -> None:
        body = bomb if request.path.endswith(M) else compressed(iter([ENVELOPE]), GZIP)
        await stream.send(response(200, body, {"content-encoding": "gzip"}))

    async with raw_server(respond) as server, _http(transport) as http:
        client = AsyncClient(KEY, base_url=server.base_url, http_client=http,
                             requests_per_minute=None, max_response_bytes=1 << 20)
        async with client:
            assert (await client.mailboxes.get(D)).uuid == M  # decoded by the SDK
            with pytest.raises(UnexpectedResponseError, match="larger than max_response_bytes"):
                await client.mailboxes.get(M)


# --- Either library, built by and for the pool's own ------------------------------------------


@LIBRARIES
async def test_each_request_is_built_by_the_library_of_its_pool(library: Any) -> None:
    seen: list[Any] = []

    def handler(request: Any) -> Any:
        seen.append(request)
        return library.Response(200, json={"mailbox": MAILBOX, "errors": []})

    async with mock_client(handler, library, timeout=library.Timeout(7.0, connect=2.0)) as client:
        await create_mailbox(client)
        await client.mailboxes.get(M)
    post, get = seen
    assert all(type(r) is library.Request for r in seen)
    assert post.headers["authorization"] == f"Bearer {KEY}"
    assert post.headers["content-type"] == "application/json"
    assert "content-type" not in get.headers
    assert post.headers["user-agent"].endswith(f"; {library.__name__} {library.__version__})")
    assert get.extensions["timeout"] == {"connect": 2.0, "read": 7.0, "write": 7.0, "pool": 7.0}


# Every transport error class of both libraries: (SDK error, request_sent).
ERROR_MAP = {
    "ConnectError": (APIConnectionError, False),
    "ConnectTimeout": (APITimeoutError, False),
    "PoolTimeout": (APITimeoutError, False),
    "ReadTimeout": (APITimeoutError, True),
    "WriteTimeout": (APITimeoutError, True),
    "TimeoutException": (APITimeoutError, True),
    "ReadError": (APIConnectionError, True),
    "WriteError": (APIConnectionError, True),
    "CloseError": (APIConnectionError, True),
    "NetworkError": (APIConnectionError, True),
    "RemoteProtocolError": (APIConnectionError, True),
    "LocalProtocolError": (APIConnectionError, True),
    "ProtocolError": (APIConnectionError, True),
    "ProxyError": (APIConnectionError, True),
    "UnsupportedProtocol": (APIConnectionError, True),
    "TransportError": (APIConnectionError, True),
    "DecodingError": (APIConnectionError, True),
    "TooManyRedirects": (APIConnectionError, True),
    "RequestError": (APIConnectionError, True),
    "SSEError": (APIConnectionError, True),  # httpx2 only
}
ERRORS_OF_EACH_LIBRARY = [
    pytest.param(x.module, name, id=f"{x.name}-{name}")
    for x in installed_libraries() for name in ERROR_MAP if hasattr(x.module, name)
]


@LIBRARIES
def test_the_error_map_covers_every_request_error_of_the_library(library: Any) -> None:
    classes = {
        name for name, value in vars(library).items()
        if isinstance(value, type) and issubclass(value, library.RequestError)
    }
    assert classes <= set(ERROR_MAP)


@pytest.mark.parametrize(("library", "name"), ERRORS_OF_EACH_LIBRARY)
async def test_each_transport_error_becomes_the_sdk_error(library: Any, name: str) -> None:
    expected, sent = ERROR_MAP[name]
    failure = getattr(library, name)("it broke")

    def handler(request: Any) -> Any:
        raise failure

    async with mock_client(handler, library, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.mailboxes.get(M)
    exc = info.value
    assert type(exc) is expected
    assert exc.request_sent is sent
    assert exc.__cause__ is failure
    assert f"GET /v1/mailboxes/{M} " in str(exc)
    assert f"{name}: it broke" in str(exc)
    assert isinstance(exc.request, library.Request)


@pytest.mark.parametrize(("library", "name"), ERRORS_OF_EACH_LIBRARY)
async def test_an_error_while_the_body_is_read_was_sent_whatever_its_name(
    library: Any, name: str
) -> None:
    # Some transports (httpx-aiohttp) name a connection dropped mid-body a
    # "connect" error; after the status line, the request was sent regardless.
    failure = getattr(library, name)("it broke")

    class Broken(library.AsyncByteStream):  # type: ignore[misc]
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield ENVELOPE[:10]
            raise failure

    def handler(request: Any) -> Any:
        return library.Response(200, stream=Broken(), request=request)

    async with mock_client(handler, library, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.mailboxes.get(M)
    exc = info.value
    connect_phase = name in {"ConnectError", "ConnectTimeout", "PoolTimeout"}
    timed_out = issubclass(type(failure), library.TimeoutException) and not connect_phase
    assert type(exc) is (APITimeoutError if timed_out else APIConnectionError)
    assert exc.request_sent is True
    assert exc.__cause__ is failure
    assert "while the answer was read" in str(exc)


@pytest.mark.parametrize(
    ("transport", "anyio_backend"),
    [("httpx", "asyncio"), ("httpx", "trio"), ("httpx2", "asyncio"), ("httpx2", "trio")],
)
async def test_a_refused_connection_is_unsent_and_a_dropped_one_may_have_been_sent(
    transport: str,
) -> None:
    async def hang_up(request: RawRequest, stream: SocketStream) -> None:
        await stream.aclose()  # the request was read: the server may have acted on it

    with socket.socket() as bound:  # bound, never listening: a connection is refused
        bound.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{bound.getsockname()[1]}"
        async with raw_server(hang_up) as server, _http(transport) as http:
            for base_url, sent in ((refused, False), (server.base_url, True)):
                client = AsyncClient(KEY, base_url=base_url, http_client=http,
                                     requests_per_minute=None, max_retries=0)
                async with client:
                    with pytest.raises(APIConnectionError) as info:
                        await client.mailboxes.get(M)
                assert type(info.value) is APIConnectionError
                assert info.value.request_sent is sent
    assert [r.method for r in server.requests] == ["GET"]


# --- What cannot mix --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: __import__("httpx2").AsyncClient(
            transport=httpx.MockTransport(lambda r: httpx.Response(200))), id="httpx2-over-httpx"),
        pytest.param(lambda: httpx.AsyncClient(
            transport=__import__("httpx2").MockTransport(lambda r: None)), id="httpx-over-httpx2"),
        pytest.param(lambda: __import__("httpx2").AsyncClient(
            mounts={"https://": httpx.AsyncHTTPTransport()}), id="httpx2-mounting-httpx"),
    ],
)
async def test_a_client_over_a_transport_of_the_other_library_is_refused(
    make: Callable[[], Any],
) -> None:
    http = make()
    async with http:
        with pytest.raises(ValidationError, match="transport of another library"):
            AsyncClient(KEY, http_client=http)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_aiohttp_transport_in_an_httpx2_client_is_refused() -> None:
    httpx2 = importlib.import_module("httpx2")
    async with aiohttp_http_client() as aiohttp_http:
        transport = aiohttp_http._transport
        async with httpx2.AsyncClient(transport=transport) as http:
            with pytest.raises(ValidationError, match=r"aiohttp_http_client\(\) and respx"):
                AsyncClient(KEY, http_client=http)
            async with AsyncClient(KEY, http_client=aiohttp_http) as client:
                assert client._shared.http is aiohttp_http  # httpx: it mixes


def test_something_else_than_a_client_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"an httpx\.AsyncClient or an httpx2\.AsyncClient"):
        AsyncClient(KEY, http_client=object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"), [("", "httpx2"), ("httpx", "httpx"), ("httpx2", "httpx2"),
                            (" HTTPX2 ", "httpx2")],
)
async def test_the_environment_chooses_the_library_of_the_sdks_own_pools(
    value: str, expected: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert default_library({ENV_VAR: value} if value else {}).name == expected
    monkeypatch.setenv(ENV_VAR, value)
    async with AsyncClient(KEY) as client:
        assert type(client._shared.http).__module__.partition(".")[0] == expected
        assert client._shared.library.name == expected


@pytest.mark.parametrize("value", ["requests", "aiohttp", "httpx3"])
def test_an_unknown_library_in_the_environment_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(ValidationError, match=f"CLUBSMTP_HTTP_LIBRARY='{value}'.*'httpx' or"):
        AsyncClient(KEY)
