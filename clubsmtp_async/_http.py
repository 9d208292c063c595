"""The HTTP seam: the only module that knows httpx from httpx2, and one attempt's exchange.

The SDK sends through httpx or its maintained continuation httpx2 (the same
API, with ``httpcore2`` underneath). Which one:

- **A client you pass** (``AsyncClient(http_client=...)``) decides: an
  `httpx.AsyncClient` or an `httpx2.AsyncClient`, and each request is built
  by and for the library of the pool it goes through.
- **The SDK's own pool** uses httpx2 when it is installed (the ``httpx2``
  extra), else httpx; ``CLUBSMTP_HTTP_LIBRARY=httpx`` or ``=httpx2`` chooses
  (read when a client is made). The emulator's in-process clients and the
  pytest plugin follow the same choice.

`exchange()` sends one request and reads its response whole, and keeps these
promises whatever client it is given (the SDK's own, the user's, or
`aiohttp_http_client()`):

- **No redirects.** The API never redirects, so a 3xx is an error, and it is
  never followed — even by a client made with ``follow_redirects=True``, which
  would re-send a create's body (a mailbox password included) to whatever
  host the ``Location`` names.
- **Under a deadline.** httpx bounds each read and each write, not their sum,
  so a server that trickles bytes (headers, body, or endless ``1xx``
  responses) would keep an attempt alive for ever; the caller runs the whole
  exchange in an anyio cancel scope with the attempt's deadline (`_client`),
  which ends it in `APITimeoutError`. Nothing here may swallow that
  cancellation.
- **A size cap.** The body is read in steps and decompressed in bounded steps
  (at most `_STEP` bytes out per step), so a small compressed body that
  expands to gigabytes is refused after `max_bytes`, never held whole.
- **Only the layers it needs.** A client's `send()` adds auth, redirects,
  event hooks, cookie extraction and an INFO log line around its transport;
  when the client uses none of them, the request goes to the transport
  directly (`_direct`), which leaves the client and the response as `send()`
  would (a quarter less CPU a request over aiohttp).
- **Typed failures.** Transport errors of either library become
  `APIConnectionError` / `APITimeoutError`, with ``request_sent`` telling
  whether the server may have seen the request.
"""

from __future__ import annotations

import importlib
import os
import time
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import httpx

from ._direct import adopt, set_elapsed, transport_for
from ._errors import APIConnectionError, APITimeoutError, UnexpectedResponseError, ValidationError
from ._validation import shown_url

if TYPE_CHECKING:
    from typing import TypeAlias

    import httpx2

    HTTPClient: TypeAlias = httpx.AsyncClient | httpx2.AsyncClient
    HTTPRequest: TypeAlias = httpx.Request | httpx2.Request
    HTTPResponse: TypeAlias = httpx.Response | httpx2.Response
    HTTPTimeout: TypeAlias = httpx.Timeout | httpx2.Timeout

__all__ = [
    "ACCEPT_ENCODING",
    "ENV_VAR",
    "HTTP_ERRORS",
    "ASGITransport",
    "Library",
    "PoolLimits",
    "RequestHeaders",
    "as_timeout",
    "build_request",
    "check_http_client",
    "connection_error",
    "default_library",
    "exchange",
    "installed_libraries",
    "library_named",
    "make_timeout",
    "new_client",
    "new_http_client",
    "parse_url",
]

ACCEPT_ENCODING = "gzip, deflate"
"""The encodings the SDK asks for: the ones it decompresses in bounded steps."""

ENV_VAR = "CLUBSMTP_HTTP_LIBRARY"
"""The environment variable that chooses the library of the SDK's own pools."""

_STEP = 64 * 1024  # the most one decompression step may produce
_ABANDON_STEPS = 256  # see _abandon()
_NAMES = ("httpx2", "httpx")  # in order of preference


# --- Which library ---------------------------------------------------------------------------


class Library:
    """One HTTP library, httpx or httpx2: the module and the names the SDK uses of it.

    Attributes:
        name: ``"httpx"`` or ``"httpx2"``.
        module: The imported module.
        version: Its version.

    """

    __slots__ = ("client_type", "module", "name", "version")

    def __init__(self, name: str, module: Any) -> None:
        self.name = name
        self.module = module
        self.version: str = module.__version__
        self.client_type: type = module.AsyncClient

    def timeout(self, timeout: httpx.Timeout) -> Any:
        """`timeout` as this library's ``Timeout`` (the same object for httpx)."""
        if isinstance(timeout, self.module.Timeout):
            return timeout
        return self.module.Timeout((timeout.connect, timeout.read, timeout.write, timeout.pool))

    def __repr__(self) -> str:
        return f"<Library {self.name} {self.version}>"


def _load() -> dict[str, Library]:
    found: dict[str, Library] = {}
    for name in _NAMES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        # Under `httpx2.alias_httpx()` both names are one module: one library.
        if all(lib.module is not module for lib in found.values()):
            found[name] = Library(name, module)
    return found


_LIBRARIES = _load()
_INSTALLED = tuple(_LIBRARIES.values())
_BY_CLIENT_TYPE: dict[type, Library] = {}


def _classes(name: str) -> tuple[type[Exception], ...]:
    return tuple(getattr(lib.module, name) for lib in _INSTALLED)


_REQUEST_ERRORS = _classes("RequestError")
_TIMEOUTS = _classes("TimeoutException")
_UNSENT = _classes("ConnectError") + _classes("ConnectTimeout") + _classes("PoolTimeout")
_NOT_READ = _classes("ResponseNotRead")
HTTP_ERRORS = _classes("HTTPError")
"""The base error class of each installed library (for ``except HTTP_ERRORS``)."""


def installed_libraries() -> tuple[Library, ...]:
    """The libraries installed, httpx2 first when it is."""
    return _INSTALLED


def library_named(name: str) -> Library:
    """The installed library called `name` (``"httpx"`` or ``"httpx2"``).

    Raises:
        ValidationError: for another name, or a library that is not installed.

    """
    if name not in _NAMES:
        raise ValidationError(f"unknown HTTP library {name!r}: use 'httpx' or 'httpx2'")
    lib = _LIBRARIES.get(name)
    if lib is None:
        if name == "httpx" and "httpx2" in _LIBRARIES:  # httpx2 aliased as httpx
            return _LIBRARIES["httpx2"]
        raise ValidationError(
            f"the HTTP library {name!r} is not installed: pip install 'clubsmtp-async[httpx2]'"
        )
    return lib


def default_library(environ: Mapping[str, str] = os.environ) -> Library:
    """The library of the SDK's own pools: ``$CLUBSMTP_HTTP_LIBRARY``, else httpx2 if installed.

    Raises:
        ValidationError: if the variable names an unknown or missing library.

    """
    chosen = environ.get(ENV_VAR, "").strip().lower()
    if chosen:
        try:
            return library_named(chosen)
        except ValidationError as exc:
            raise ValidationError(f"{ENV_VAR}={chosen!r}: {exc}") from None
    return _INSTALLED[0]


def _library_of(value: object) -> Library | None:
    lib = _BY_CLIENT_TYPE.get(type(value))
    if lib is None:
        for candidate in _INSTALLED:
            if isinstance(value, candidate.client_type):
                lib = _BY_CLIENT_TYPE[type(value)] = candidate
                break
    return lib


def check_http_client(value: object) -> Library:
    """The library of a client passed as ``AsyncClient(http_client=...)``.

    Raises:
        ValidationError: unless it is an `httpx.AsyncClient` or an
            `httpx2.AsyncClient`, sending through transports of its own library.

    """
    lib = _library_of(value)
    if lib is None:
        names = " or ".join(f"an {name}.AsyncClient" for name in reversed(_LIBRARIES))
        raise ValidationError(f"http_client must be {names}, got a {type(value).__name__}")
    transports = [getattr(value, "_transport", None), *getattr(value, "_mounts", {}).values()]
    for transport in transports:
        if transport is not None and not isinstance(transport, lib.module.AsyncBaseTransport):
            raise ValidationError(
                f"http_client is an {lib.name}.AsyncClient with a transport of another library "
                f"({type(transport).__module__}.{type(transport).__name__}), which cannot "
                f"carry {lib.name}'s requests: build the client and its transport with the "
                "same library (aiohttp_http_client() and respx are httpx only)"
            )
    return lib


def _library_of_request(request: object) -> Library:
    for lib in _INSTALLED:
        if isinstance(request, lib.module.Request):
            return lib
    raise TypeError(f"not an httpx or httpx2 request: {type(request).__name__}")


# --- Settings in either library's types ------------------------------------------------------


class PoolLimits(NamedTuple):
    """The size of a connection pool, whatever library makes it."""

    max_connections: int | None
    max_keepalive_connections: int | None


def as_timeout(value: object) -> httpx.Timeout | None:
    """An `httpx.Timeout` as is, an `httpx2.Timeout` converted; None for anything else."""
    if isinstance(value, httpx.Timeout):
        return value
    for lib in _INSTALLED:
        if isinstance(value, lib.module.Timeout):
            return make_timeout((value.connect, value.read, value.write, value.pool))
    return None


def make_timeout(phases: float | tuple[Any, Any, Any, Any]) -> httpx.Timeout:
    """The SDK's record of a timeout: an `httpx.Timeout` (httpx is always installed)."""
    return httpx.Timeout(phases)


def parse_url(raw: str) -> httpx.URL:
    """`raw` parsed as a URL (its port checked).

    Raises:
        ValueError: if it is not a valid URL.

    """
    try:
        url = httpx.URL(raw)
        url.port  # noqa: B018 - parsing the port may raise (a UnicodeError of the host)
    except httpx.InvalidURL as exc:
        raise ValueError(str(exc)) from exc
    return url


class RequestHeaders:
    """The headers of a client's requests, converted once for each library.

    `every` goes on every request, `body` on those that carry a body. A pool
    the SDK makes carries `every` as its own default headers (`new_http_client`),
    so its requests merge nothing; on a pool passed in, each request gets those
    of `every` that the pool's default headers lack or hold with another value
    (worked out again only when the pool's headers change). Its repr names the
    headers, never their values (one holds the API key).

    Args:
        every: Headers of every request.
        body: Headers added to a request with a body (e.g. its Content-Type).

    """

    __slots__ = ("_body", "_every", "_made", "_plan")

    def __init__(self, every: Mapping[str, str], body: Mapping[str, str]) -> None:
        self._every = dict(every)
        self._body = dict(body)
        self._made: dict[str, Any] = {}
        # The pool's default headers last seen (raw), and what a request needs on top.
        self._plan: tuple[list[tuple[bytes, bytes]], list[tuple[str, str]]] | None = None

    def for_library(self, lib: Library) -> Any:
        """`every` as `lib`'s ``Headers``, made on first use."""
        made = self._made.get(lib.name)
        if made is None:
            made = self._made[lib.name] = lib.module.Headers(self._every)
        return made

    @property
    def body(self) -> Mapping[str, str]:
        """The headers added to a request with a body."""
        return self._body

    def set_on(self, request: Any, pool_headers: Any) -> None:
        """Complete `request`, built by a pool with `pool_headers` as defaults, with `every`."""
        raw = pool_headers.raw
        plan = self._plan
        if plan is None or plan[0] != raw:
            needed = [(k, v) for k, v in self._every.items() if pool_headers.get(k) != v]
            plan = self._plan = (raw, needed)
        target = request.headers
        for name, value in plan[1]:
            target[name] = value

    def __repr__(self) -> str:
        return f"RequestHeaders({', '.join([*self._every, *self._body])})"


def new_http_client(
    lib: Library, limits: PoolLimits, timeout: httpx.Timeout, headers: RequestHeaders
) -> HTTPClient:
    """The pool a client makes for itself (one per event loop it runs in), carrying `headers`."""
    pool: HTTPClient = lib.module.AsyncClient(
        limits=lib.module.Limits(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
        ),
        timeout=lib.timeout(timeout),
        headers=headers.for_library(lib),
        follow_redirects=False,
    )
    return pool


def new_client(lib: Library | None = None, **kwargs: Any) -> HTTPClient:
    """A plain client of `lib` (default: the library in use), e.g. for the emulator's helpers."""
    client: HTTPClient = (lib or default_library()).module.AsyncClient(**kwargs)
    return client


# --- The in-process transport for either library ---------------------------------------------


if TYPE_CHECKING:

    class _AnyTransport(httpx.AsyncBaseTransport, httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: Any) -> Any: ...
        async def __aenter__(self) -> Any: ...
        async def __aexit__(self, *args: object) -> None: ...

else:
    # A subclass of each installed library's base, so either library's client takes it.
    _AnyTransport = type(
        "_AnyTransport", tuple(lib.module.AsyncBaseTransport for lib in _INSTALLED), {}
    )


class ASGITransport(_AnyTransport):
    """Calls an ASGI app in process for an httpx or an httpx2 client alike.

    Each request is answered by its own library's ``ASGITransport``, in its own
    types; an error of the other library raised by the app (say an
    `httpx.RemoteProtocolError` for a dropped connection) reaches the client
    as the same error of the client's library.

    Args:
        app: The ASGI application.
        client: The (host, port) the app sees as the client's.

    """

    def __init__(self, app: Any, *, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        self.app = app
        self._client = client
        self._inner: dict[str, Any] = {}

    async def handle_async_request(self, request: Any) -> Any:
        """Answer `request` through the ASGI app (see the class docstring)."""
        lib = _library_of_request(request)
        inner = self._inner.get(lib.name)
        if inner is None:
            inner = self._inner[lib.name] = lib.module.ASGITransport(
                app=self.app, client=self._client
            )
        try:
            return await inner.handle_async_request(request)
        except _REQUEST_ERRORS as exc:
            same = _as_library_error(exc, lib, request)
            if same is None:
                raise
            raise same from exc

    async def aclose(self) -> None:
        """Close the transports made so far."""
        for inner in self._inner.values():
            await inner.aclose()


def _as_library_error(exc: Exception, lib: Library, request: Any) -> Exception | None:
    """`exc`, an error of another library, as the same class of `lib`; None if it is `lib`'s."""
    if isinstance(exc, lib.module.HTTPError):
        return None
    for cls in type(exc).__mro__:
        same = getattr(lib.module, cls.__name__, None)
        if isinstance(same, type) and issubclass(same, lib.module.RequestError):
            error: Exception = same(str(exc), request=request)
            return error
    return None


# --- One exchange ----------------------------------------------------------------------------


def build_request(
    http: HTTPClient,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None,
    content: bytes | None,
    headers: RequestHeaders,
    timeout: Any,
    pool_has_headers: bool,
) -> HTTPRequest:
    """The request to send through `http`, in its library (its default headers and hooks apply).

    `timeout` is in the library's type (`Library.timeout`, converted once per
    client). `pool_has_headers` says that `http` was made by `new_http_client`
    with these `headers`, which then need not be set again on each request.
    """
    lib = _library_of(http)
    assert lib is not None  # checked when the client was made
    request: HTTPRequest = http.build_request(
        method,
        url,
        params=params,
        content=content,
        headers=None if content is None else headers.body,
        timeout=timeout,
    )
    if not pool_has_headers:
        headers.set_on(request, http.headers)
    return request


async def exchange(
    http: HTTPClient,
    request: HTTPRequest,
    *,
    what: str,
    max_bytes: int | None,
) -> HTTPResponse:
    """Send `request` and read its response whole, refusing redirects and bodies over `max_bytes`.

    The caller bounds it in time: it runs in a cancel scope with the attempt's
    deadline (`_client`), since the deadline is anyio's, not httpx's.

    Args:
        http: The client to send through (httpx or httpx2).
        request: The request (from `build_request`).
        what: ``"METHOD /path"`` for messages (never a header or a body).
        max_bytes: The largest body accepted, decompressed; None for no cap.

    Returns:
        The response, its body read (``response.content``).

    Raises:
        APITimeoutError: a timeout of the library fired.
        APIConnectionError: the connection failed or broke, or the body could
            not be decompressed.
        UnexpectedResponseError: a redirect, a body over `max_bytes`, or an
            encoding the SDK did not ask for.

    """
    sender: Any = http  # either library's client, sending a request of its own library
    transport = transport_for(sender, request)  # None: the client's own `send()` is needed
    started = time.perf_counter()
    timed = False  # whether `response.elapsed` is set here, as `send()` would
    try:
        if transport is None:
            # `follow_redirects=False` here overrides whatever the client was built with.
            response: Any = await sender.send(request, stream=True, follow_redirects=False)
        else:
            response = await transport.handle_async_request(request)
    except _REQUEST_ERRORS as exc:
        if transport is not None:
            cast("Any", exc).request = request  # as `send()` attaches it
        raise connection_error(exc, what) from exc
    try:
        try:
            if transport is not None:
                timed = adopt(sender, response, request)  # what `send()` does with it
            if 300 <= response.status_code < 400:
                raise _redirect_error(response, what)  # its body is not even read
            if not response.is_stream_consumed:
                body = await _read_stream(response, what, max_bytes)
                response._content = body  # what the library's own `aread()` does once read
            else:  # a transport that answered from memory (a mock)
                try:
                    body = response.content
                except _NOT_READ:  # consumed but not kept: reading again says so
                    body = await _read_stream(response, what, max_bytes)
            if max_bytes is not None and len(body) > max_bytes:
                raise _too_large(response, what, max_bytes)
        finally:
            await response.aclose()
            if timed:
                set_elapsed(response, started, time.perf_counter())
    except _REQUEST_ERRORS as exc:
        raise connection_error(exc, what, answering=True) from exc
    return cast("HTTPResponse", response)


async def _read_stream(response: Any, what: str, max_bytes: int | None) -> bytes:
    decoder = _decoder_for(response, what)
    chunks: list[bytes] = []
    size = 0
    raw_chunks = response.aiter_raw()
    try:
        async for raw in raw_chunks:
            for piece in (raw,) if decoder is None else decoder.feed(raw):
                size += len(piece)
                if max_bytes is not None and size > max_bytes:
                    raise _too_large(response, what, max_bytes)
                chunks.append(piece)
    except Exception:
        await _abandon(response, raw_chunks)
        raise
    return b"".join(chunks)


async def _abandon(response: Any, raw_chunks: AsyncIterator[bytes]) -> None:
    """Stop reading a body half-way: close the connection, and finish the stream's generators.

    The body is a chain of nested async generators, and a reader that stops
    early closes only the outermost one; the inner ones would stay suspended
    until collected (trio reports each as a ResourceWarning). Once the
    connection is closed, the next step fails or ends in the innermost one,
    which finishes them all. An in-memory body is skipped through, a few steps.
    """
    await response.aclose()
    try:
        for _ in range(_ABANDON_STEPS):
            await raw_chunks.__anext__()
    except Exception:  # StopAsyncIteration, or the closed connection's error: done
        return
    close = getattr(raw_chunks, "aclose", None)  # an async generator's
    if close is not None:
        await close()


class _Inflate:
    """gzip or deflate, decompressed at most `_STEP` bytes at a time."""

    def __init__(self, wbits: int, request: Any) -> None:
        self._wbits = wbits
        self._zlib = zlib.decompressobj(wbits)
        self._started = False
        self._request = request

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            yield from self._steps(data)
        except zlib.error as exc:
            decoding_error = _library_of_request(self._request).module.DecodingError
            raise decoding_error(f"the body does not decompress: {exc}",
                                 request=self._request) from exc

    def _steps(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._zlib.decompress(data, _STEP)
        except zlib.error:
            if self._started or self._wbits != zlib.MAX_WBITS:
                raise
            # "deflate" is zlib-wrapped by the standard, but some servers send it raw.
            self._wbits = -zlib.MAX_WBITS
            self._zlib = zlib.decompressobj(self._wbits)
            out = self._zlib.decompress(data, _STEP)
        self._started = True
        # A full step may leave output pending even after all input was consumed.
        while self._zlib.unconsumed_tail or len(out) == _STEP:
            yield out
            out = self._zlib.decompress(self._zlib.unconsumed_tail, _STEP)
        yield out


_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


def _decoder_for(response: Any, what: str) -> _Inflate | None:
    """The decoder of the body's Content-Encoding; None when it has none."""
    header = response.headers.get("content-encoding")
    if not header:
        return None
    codings = [c for c in (part.strip().lower() for part in header.split(",")) if c]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in _WBITS:
        return _Inflate(_WBITS[codings[0]], response.request)
    raise UnexpectedResponseError(
        f"{what}: HTTP {response.status_code} in a Content-Encoding the SDK did not ask for "
        f"({header[:40]!r}; it accepts {ACCEPT_ENCODING})",
        status_code=response.status_code,
        response=response,
    )


def _too_large(response: Any, what: str, max_bytes: int) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        f"{what}: HTTP {response.status_code} with a body larger than max_response_bytes "
        f"({max_bytes} bytes, after decompression); it was not read further",
        status_code=response.status_code,
        response=response,
    )


def _redirect_error(response: Any, what: str) -> UnexpectedResponseError:
    location = response.headers.get("location")
    # Shown without credentials, query or fragment, which could carry anything.
    target = f" to {shown_url(location)}" if location else ""
    return UnexpectedResponseError(
        f"{what}: HTTP {response.status_code} redirect{target} refused: the ClubSMTP API "
        "never redirects, so the SDK never follows one (the request was not re-sent); "
        "check base_url and any proxy in between",
        status_code=response.status_code,
        response=response,
    )


def connection_error(exc: Exception, what: str, *, answering: bool = False) -> APIConnectionError:
    """The SDK error for a transport error of httpx or httpx2 (a timeout, a refused connection…).

    ``request_sent`` is False only when the request certainly never left: the
    connection could not be made, or no pooled connection became free.
    `answering` says that the error came while the answer was read, after its
    status line: then the request was sent whatever the error says, and a
    "connect" error (some transports, `httpx-aiohttp` among them, report a
    dropped connection so) is a connection that broke.
    """
    misnamed = answering and isinstance(exc, _UNSENT)
    timed_out = isinstance(exc, _TIMEOUTS) and not misnamed
    cls = APITimeoutError if timed_out else APIConnectionError
    outcome = "timed out" if timed_out else "failed"
    while_ = " while the answer was read" if answering else ""
    return cls(
        f"{what} {outcome}{while_}: {type(exc).__name__}: {str(exc) or 'no detail'}",
        request=_request_of(exc),
        request_sent=answering or not isinstance(exc, _UNSENT),
    )


def _request_of(exc: Exception) -> Any:
    try:
        return exc.request  # type: ignore[attr-defined]
    except (RuntimeError, AttributeError):  # the property raises when no request was attached
        return None
