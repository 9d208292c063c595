"""Sending through the transport directly (`_direct`): only when the client's `send()` adds nothing.

Whichever way a request goes, what the client was configured with applies, and
the client, its cookie jar and the response end as `send()` leaves them: each
behaviour below runs both ways (`way`: the SDK as it is, and with every
request sent through `send()`) and must come out the same. On both
libraries, through each library's `MockTransport` (request shapes) and the
SDK's public surface.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
from collections.abc import AsyncIterator, Callable, Generator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from http_library import HTTPX_ONLY, LIBRARIES

from clubsmtp_async import (
    APIConnectionError,
    AsyncClient,
    NotFoundError,
    UnexpectedResponseError,
    _http,
)
from clubsmtp_async._direct import transport_for

pytestmark = pytest.mark.anyio

KEY = "sk_test_" + "D" * 40
BASE = "https://api.clubsmtp.test"
MAILBOX = json.loads((Path(__file__).parent / "fixtures" / "api_examples.json").read_text())[
    "mailbox"
]
M = MAILBOX["uuid"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def library_logs_quiet() -> Generator[None, None, None]:
    """The libraries' loggers below INFO, as a test runner may have set them otherwise."""
    loggers = [logging.getLogger(name) for name in ("httpx", "httpx2")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def mailbox_api(library: Any, seen: list[Any]) -> Callable[[Any], Any]:
    def answer(request: Any) -> Any:
        seen.append(request)
        return library.Response(200, json={"mailbox": MAILBOX, "errors": []})

    return answer


def sdk(http: Any, max_retries: int = 0) -> AsyncClient:
    return AsyncClient(KEY, base_url=BASE, http_client=http, requests_per_minute=None,
                       max_retries=max_retries)


def streamed(library: Any, status: int, body: bytes = b"", **kwargs: Any) -> Any:
    """A response whose body the client reads from a stream, as from a socket."""

    class Body(library.AsyncByteStream):  # type: ignore[misc, name-defined]
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield body

    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return library.Response(status, headers=headers, stream=Body(), **kwargs)


class Way:
    """How the SDK sends in one run of a test: as it chooses, or always through `send()`."""

    def __init__(self, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.name = name
        self.direct_sends = 0
        choose = transport_for

        def counting(http: Any, request: Any) -> Any:
            transport = choose(http, request) if name == "as chosen" else None
            self.direct_sends += transport is not None
            return transport

        monkeypatch.setattr(_http, "transport_for", counting)


@pytest.fixture(params=["as chosen", "through send()"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Way:
    return Way(request.param, monkeypatch)


# --- When the transport is used directly ----------------------------------------------------


@LIBRARIES
async def test_a_plain_client_hands_its_request_to_its_transport(library: Any) -> None:
    transport = library.MockTransport(lambda request: library.Response(204))
    async with library.AsyncClient(transport=transport) as http:
        request = http.build_request("GET", f"{BASE}/v1/ping")
        assert transport_for(http, request) is transport


@LIBRARIES
async def test_a_mounted_transport_is_the_one_its_url_chooses(library: Any) -> None:
    default = library.MockTransport(lambda request: library.Response(204))
    mounted = library.MockTransport(lambda request: library.Response(204))
    async with library.AsyncClient(transport=default, mounts={BASE: mounted}) as http:
        assert transport_for(http, http.build_request("GET", f"{BASE}/v1/ping")) is mounted
        other = http.build_request("GET", "https://elsewhere.test/v1/ping")
        assert transport_for(http, other) is default


def _basic(library: Any) -> Any:
    return library.BasicAuth("user", "secret")


@LIBRARIES
@pytest.mark.parametrize(
    ("what", "configure", "url"),
    [
        ("auth", lambda library: {"auth": _basic(library)}, BASE),
        ("a request hook", lambda library: {"event_hooks": {"request": [print]}}, BASE),
        ("a response hook", lambda library: {"event_hooks": {"response": [print]}}, BASE),
        ("credentials in the URL", lambda library: {}, "https://user:secret@api.clubsmtp.test"),
    ],
)
async def test_a_client_whose_send_adds_something_sends_with_send(
    library: Any, what: str, configure: Callable[[Any], dict[str, Any]], url: str
) -> None:
    transport = library.MockTransport(lambda request: library.Response(204))
    async with library.AsyncClient(transport=transport, **configure(library)) as http:
        assert transport_for(http, http.build_request("GET", f"{url}/v1/ping")) is None, what


@LIBRARIES
async def test_an_unopened_closed_or_logging_client_sends_with_send(library: Any) -> None:
    transport = library.MockTransport(lambda request: library.Response(204))
    http = library.AsyncClient(transport=transport)
    request = http.build_request("GET", f"{BASE}/v1/ping")
    assert transport_for(http, request) is None  # `send()` marks it open
    await http.__aenter__()
    assert transport_for(http, request) is transport
    logger = logging.getLogger(library.__name__)
    logger.setLevel(logging.INFO)
    assert transport_for(http, request) is None  # it would log the request
    logger.setLevel(logging.WARNING)
    assert transport_for(http, request) is transport
    await http.aclose()
    assert transport_for(http, request) is None  # `send()` raises its own error


@HTTPX_ONLY
async def test_the_aiohttp_client_is_sent_directly() -> None:
    from clubsmtp_async import aiohttp_http_client

    async with aiohttp_http_client() as http:
        request = http.build_request("GET", f"{BASE}/v1/ping")
        from httpx_aiohttp import AiohttpTransport

        assert isinstance(transport_for(http, request), AiohttpTransport)


# --- What the client was configured with applies, whichever way -----------------------------


@LIBRARIES
async def test_event_hooks_of_a_client_passed_in_see_every_request(library: Any, way: Way) -> None:
    hooked: list[str] = []

    async def on_request(request: Any) -> None:
        hooked.append(f"request {request.url.path}")

    async def on_response(response: Any) -> None:
        hooked.append(f"response {response.status_code}")

    transport = library.MockTransport(mailbox_api(library, []))
    hooks = {"request": [on_request], "response": [on_response]}
    async with library.AsyncClient(transport=transport, event_hooks=hooks) as http, sdk(
        http
    ) as client:
        await client.mailboxes.get(M)
    assert hooked == [f"request /v1/mailboxes/{M}", "response 200"]
    assert way.direct_sends == 0


@LIBRARIES
async def test_the_auth_of_a_client_passed_in_applies(library: Any, way: Way) -> None:
    seen: list[Any] = []

    class Tag(library.Auth):  # type: ignore[misc, name-defined]
        def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
            request.headers["X-Signed"] = "yes"
            yield request

    transport = library.MockTransport(mailbox_api(library, seen))
    async with library.AsyncClient(transport=transport, auth=Tag()) as http, sdk(http) as client:
        await client.mailboxes.get(M)
    assert seen[0].headers["X-Signed"] == "yes"
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert way.direct_sends == 0


@LIBRARIES
async def test_cookies_a_response_sets_are_kept_and_sent_back(library: Any, way: Way) -> None:
    seen: list[Any] = []
    body = json.dumps({"mailbox": MAILBOX, "errors": []}).encode()

    def answer(request: Any) -> Any:
        seen.append(request)
        return streamed(library, 200, body, headers={"SET-COOKIE": "lb=node-7; Path=/; Secure"})

    async with library.AsyncClient(transport=library.MockTransport(answer)) as http, sdk(
        http
    ) as client:
        await client.mailboxes.get(M)
        assert http.cookies.get("lb") == "node-7"
        await client.mailboxes.get(M)
    assert "cookie" not in seen[0].headers
    assert seen[1].headers["cookie"] == "lb=node-7"
    assert way.direct_sends == (2 if way.name == "as chosen" else 0)


@LIBRARIES
async def test_the_library_logs_each_request_when_its_logger_is_at_info(
    library: Any, way: Way, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the root: the library's logger inherits it
    logging.getLogger(library.__name__).setLevel(logging.NOTSET)
    transport = library.MockTransport(mailbox_api(library, []))
    async with library.AsyncClient(transport=transport) as http, sdk(http) as client:
        await client.mailboxes.get(M)
    lines = [r.getMessage() for r in caplog.records if r.name == library.__name__]
    assert lines == [f'HTTP Request: GET {BASE}/v1/mailboxes/{M} "HTTP/1.1 200 OK"']
    assert way.direct_sends == 0


@LIBRARIES
async def test_a_negative_max_redirects_fails_before_sending(library: Any, way: Way) -> None:
    seen: list[Any] = []
    transport = library.MockTransport(mailbox_api(library, seen))
    async with library.AsyncClient(transport=transport, max_redirects=-1) as http, sdk(
        http
    ) as client:
        with pytest.raises(APIConnectionError, match="TooManyRedirects"):
            await client.mailboxes.get(M)
    assert seen == []


# --- Sending patched or extended the user's way ----------------------------------------------


def _tracing(real: Callable[..., Any], traced: list[str], *, wraps: bool) -> Callable[..., Any]:
    """A wrapper of one of the client's sending methods, as a tracer or a test installs it."""

    async def wrapper(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        traced.append(request.url.path)
        request.headers["traceparent"] = "00-trace-span-01"
        return await real(self, request, *args, **kwargs)

    return functools.wraps(real)(wrapper) if wraps else wrapper


@LIBRARIES
@pytest.mark.parametrize("wraps", [False, True], ids=["plain", "functools.wraps"])
@pytest.mark.parametrize("method", ["send", "_send_single_request", "_send_handling_redirects"])
@pytest.mark.parametrize("when", ["before the first call", "after the first call"])
async def test_a_sending_method_patched_on_the_class_sees_every_request(
    library: Any, method: str, wraps: bool, when: str
) -> None:
    seen: list[Any] = []
    traced: list[str] = []
    transport = library.MockTransport(mailbox_api(library, seen))
    wrapper = _tracing(getattr(library.AsyncClient, method), traced, wraps=wraps)
    patch = mock.patch.object(library.AsyncClient, method, wrapper)
    async with library.AsyncClient(transport=transport) as http, sdk(http) as client:
        if when == "after the first call":
            await client.mailboxes.get(M)  # direct, with the class as the library made it
            seen.clear()
        with patch:
            await client.mailboxes.get(M)
            await client.mailboxes.get(M)
        await client.mailboxes.get(M)  # unpatched again
    assert len(traced) == 2
    assert [r.headers.get("traceparent") for r in seen] == ["00-trace-span-01"] * 2 + [None]


@LIBRARIES
async def test_a_send_set_on_the_instance_sees_every_request(library: Any) -> None:
    traced: list[str] = []
    transport = library.MockTransport(mailbox_api(library, []))
    async with library.AsyncClient(transport=transport) as http, sdk(http) as client:
        real = http.send
        wrapper = _tracing(lambda _self, *a, **k: real(*a, **k), traced, wraps=False)
        http.send = functools.partial(wrapper, http)
        await client.mailboxes.get(M)
        await client.mailboxes.get(M)
    assert traced == [f"/v1/mailboxes/{M}"] * 2


def _signing_auth(real: Callable[..., Any]) -> Callable[..., Any]:
    """A `_build_request_auth` override that signs every request, as a subclass may."""

    def build(self: Any, request: Any, auth: Any = None) -> Any:
        request.headers["traceparent"] = "00-trace-span-01"
        return real(self, request, auth)

    return build


@LIBRARIES
@pytest.mark.parametrize("method", ["send", "_build_request_auth", "_send_single_request"])
async def test_a_subclass_that_changes_sending_is_sent_its_way(library: Any, method: str) -> None:
    seen: list[Any] = []
    base = library.AsyncClient
    real = getattr(base, method)
    signing = method == "_build_request_auth"
    wrapper = _signing_auth(real) if signing else _tracing(real, [], wraps=False)
    Tracing = type("Tracing", (base,), {method: wrapper})
    async with Tracing(transport=library.MockTransport(mailbox_api(library, seen))) as http, sdk(
        http
    ) as client:
        assert transport_for(http, http.build_request("GET", f"{BASE}/v1/ping")) is None
        await client.mailboxes.get(M)
        await client.mailboxes.get(M)
    assert [r.headers.get("traceparent") for r in seen] == ["00-trace-span-01"] * 2


@LIBRARIES
async def test_a_subclass_that_only_configures_is_sent_directly(library: Any) -> None:
    class Configured(library.AsyncClient):  # type: ignore[misc, name-defined]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(timeout=5.0, **kwargs)

    transport = library.MockTransport(lambda request: library.Response(204))
    async with Configured(transport=transport) as http:
        assert transport_for(http, http.build_request("GET", f"{BASE}/v1/ping")) is transport


@LIBRARIES
async def test_a_client_passed_in_unopened_is_opened_by_the_first_call(
    library: Any, way: Way
) -> None:
    http = library.AsyncClient(transport=library.MockTransport(mailbox_api(library, [])))
    async with sdk(http) as client:
        await client.mailboxes.get(M)
        with pytest.raises(RuntimeError, match="more than once"):
            await http.__aenter__()  # as after any `send()`
        await client.mailboxes.get(M)
    await http.aclose()
    assert way.direct_sends == (1 if way.name == "as chosen" else 0)  # the second call


# --- The response and the errors, as `send()` leaves them ------------------------------------


NOT_FOUND = b'{"errors": [{"code": "not_found", "message": "no such mailbox"}]}'


@LIBRARIES
async def test_a_response_has_its_request_encoding_and_elapsed(library: Any, way: Way) -> None:
    def missing(request: Any) -> Any:
        return streamed(library, 404, NOT_FOUND)

    async with library.AsyncClient(
        transport=library.MockTransport(missing), default_encoding="latin-1"
    ) as http, sdk(http) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.mailboxes.get(M)
    response: Any = caught.value.response
    assert response.request.url == f"{BASE}/v1/mailboxes/{M}"
    assert isinstance(response.elapsed, datetime.timedelta)
    assert response.elapsed >= datetime.timedelta(0)
    assert response.default_encoding == "latin-1"
    assert response.history == []
    assert response.is_closed
    assert way.direct_sends == (1 if way.name == "as chosen" else 0)


@LIBRARIES
async def test_an_in_memory_response_is_not_timed(library: Any, way: Way) -> None:
    def missing(request: Any) -> Any:
        return library.Response(404, content=NOT_FOUND)  # closed before the client sees it

    async with library.AsyncClient(transport=library.MockTransport(missing)) as http, sdk(
        http
    ) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.mailboxes.get(M)
    with pytest.raises(RuntimeError, match="elapsed"):
        caught.value.response.elapsed  # noqa: B018  # as the library leaves it


@LIBRARIES
async def test_a_transport_error_carries_the_request(library: Any, way: Way) -> None:
    def refuse(request: Any) -> Any:
        raise library.ConnectError("connection refused")  # raised without its request

    async with library.AsyncClient(transport=library.MockTransport(refuse)) as http, sdk(
        http
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.mailboxes.get(M)
    assert caught.value.request_sent is False
    assert caught.value.request is not None
    assert str(caught.value.request.url) == f"{BASE}/v1/mailboxes/{M}"


@LIBRARIES
@pytest.mark.parametrize(
    ("location", "next_url"),
    [
        ("/v1/elsewhere", f"{BASE}/v1/elsewhere"),
        ("https://other.test/v1/mailboxes", "https://other.test/v1/mailboxes"),
    ],
)
async def test_a_refused_redirect_keeps_its_next_request(
    library: Any, way: Way, location: str, next_url: str
) -> None:
    def moved(request: Any) -> Any:
        return streamed(library, 302, headers={"Location": location})

    async with library.AsyncClient(transport=library.MockTransport(moved)) as http, sdk(
        http
    ) as client:
        with pytest.raises(UnexpectedResponseError, match="redirect") as caught:
            await client.mailboxes.get(M)
    response: Any = caught.value.response
    assert str(response.next_request.url) == next_url
    assert response.next_request.method == "GET"
    assert "authorization" not in response.next_request.headers or next_url.startswith(BASE)


@LIBRARIES
async def test_a_redirect_no_request_can_follow_is_each_librarys_error(
    library: Any, way: Way
) -> None:
    sent: list[Any] = []

    def moved(request: Any) -> Any:
        sent.append(request)
        return streamed(library, 302, headers={"Location": "https://[::1/"})

    async with library.AsyncClient(transport=library.MockTransport(moved)) as http, sdk(
        http, max_retries=1
    ) as client:
        if library.__name__ == "httpx":  # its `send()` raises; a GET is then retried
            with pytest.raises(APIConnectionError, match="Invalid URL in location header"):
                await client.mailboxes.get(M)
            assert len(sent) == 2
        else:  # httpx2's leaves `next_request` unset
            with pytest.raises(UnexpectedResponseError, match="redirect") as caught:
                await client.mailboxes.get(M)
            assert caught.value.response.next_request is None
            assert len(sent) == 1
