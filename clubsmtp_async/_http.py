"""One attempt's HTTP exchange: the only code on the request path that speaks httpx.

`exchange()` sends one request and reads its response whole, and keeps these
promises whatever `httpx.AsyncClient` it is given (the SDK's own, the user's,
or `aiohttp_http_client()`):

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
- **Typed failures.** Transport errors become `APIConnectionError` /
  `APITimeoutError`, with ``request_sent`` telling whether the server may
  have seen the request.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator, Mapping

import httpx

from ._errors import APIConnectionError, APITimeoutError, UnexpectedResponseError

__all__ = [
    "ACCEPT_ENCODING",
    "build_request",
    "connection_error",
    "exchange",
    "is_http_client",
    "new_http_client",
]

ACCEPT_ENCODING = "gzip, deflate"
"""The encodings the SDK asks for: the ones it decompresses in bounded steps."""

_STEP = 64 * 1024  # the most one decompression step may produce
_ABANDON_STEPS = 256  # see _abandon()
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def is_http_client(value: object) -> bool:
    """Whether `value` can be passed as ``AsyncClient(http_client=...)``."""
    return isinstance(value, httpx.AsyncClient)


def new_http_client(limits: httpx.Limits, timeout: httpx.Timeout) -> httpx.AsyncClient:
    """The pool a client makes for itself (one per event loop it runs in)."""
    return httpx.AsyncClient(limits=limits, timeout=timeout, follow_redirects=False)


def build_request(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None,
    content: bytes | None,
    headers: httpx.Headers,
    timeout: httpx.Timeout,
) -> httpx.Request:
    """The request to send through `http` (its default headers and hooks apply)."""
    return http.build_request(
        method, url, params=params, content=content, headers=headers, timeout=timeout
    )


async def exchange(
    http: httpx.AsyncClient,
    request: httpx.Request,
    *,
    what: str,
    max_bytes: int | None,
) -> httpx.Response:
    """Send `request` and read its response whole, refusing redirects and bodies over `max_bytes`.

    The caller bounds it in time: it runs in a cancel scope with the attempt's
    deadline (`_client`), since the deadline is anyio's, not httpx's.

    Args:
        http: The client to send through.
        request: The request (from `build_request`).
        what: ``"METHOD /path"`` for messages (never a header or a body).
        max_bytes: The largest body accepted, decompressed; None for no cap.

    Returns:
        The response, its body read (``response.content``).

    Raises:
        APITimeoutError: an httpx timeout fired.
        APIConnectionError: the connection failed or broke, or the body could
            not be decompressed.
        UnexpectedResponseError: a redirect, a body over `max_bytes`, or an
            encoding the SDK did not ask for.

    """
    try:
        return await _send_and_read(http, request, what, max_bytes)
    except httpx.RequestError as exc:
        raise connection_error(exc, what) from exc


async def _send_and_read(
    http: httpx.AsyncClient, request: httpx.Request, what: str, max_bytes: int | None
) -> httpx.Response:
    # `follow_redirects=False` here overrides whatever the client was built with.
    response = await http.send(request, stream=True, follow_redirects=False)
    try:
        if 300 <= response.status_code < 400:
            raise _redirect_error(response, what)  # its body is not even read
        await _read(response, what, max_bytes)
    finally:
        await response.aclose()
    return response


async def _read(response: httpx.Response, what: str, max_bytes: int | None) -> None:
    try:
        body = response.content  # a transport that answered from memory (a mock)
    except httpx.ResponseNotRead:
        body = await _read_stream(response, what, max_bytes)
        response._content = body  # what httpx's own `aread()` does once it has read
    if max_bytes is not None and len(body) > max_bytes:
        raise _too_large(response, what, max_bytes)


async def _read_stream(response: httpx.Response, what: str, max_bytes: int | None) -> bytes:
    decoder = _decoder_for(response, what)
    chunks: list[bytes] = []
    size = 0
    raw_chunks = response.aiter_raw()
    try:
        async for raw in raw_chunks:
            for piece in decoder.feed(raw):
                size += len(piece)
                if max_bytes is not None and size > max_bytes:
                    raise _too_large(response, what, max_bytes)
                chunks.append(piece)
    except Exception:
        await _abandon(response, raw_chunks)
        raise
    return b"".join(chunks)


async def _abandon(response: httpx.Response, raw_chunks: AsyncIterator[bytes]) -> None:
    """Stop reading a body half-way: close the connection, and finish the stream's generators.

    httpx's body is a chain of nested async generators, and a reader that stops
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


class _Identity:
    """No content encoding."""

    def feed(self, data: bytes) -> Iterator[bytes]:
        yield data


class _Inflate:
    """gzip or deflate, decompressed at most `_STEP` bytes at a time."""

    def __init__(self, wbits: int, request: httpx.Request) -> None:
        self._wbits = wbits
        self._zlib = zlib.decompressobj(wbits)
        self._started = False
        self._request = request

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            yield from self._steps(data)
        except zlib.error as exc:
            raise httpx.DecodingError(f"the body does not decompress: {exc}",
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


def _decoder_for(response: httpx.Response, what: str) -> _Identity | _Inflate:
    header = response.headers.get("content-encoding", "")
    codings = [c for c in (part.strip().lower() for part in header.split(",")) if c]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return _Identity()
    if len(codings) == 1 and codings[0] in _WBITS:
        return _Inflate(_WBITS[codings[0]], response.request)
    raise UnexpectedResponseError(
        f"{what}: HTTP {response.status_code} in a Content-Encoding the SDK did not ask for "
        f"({header[:40]!r}; it accepts {ACCEPT_ENCODING})",
        status_code=response.status_code,
        response=response,
    )


def _too_large(response: httpx.Response, what: str, max_bytes: int) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        f"{what}: HTTP {response.status_code} with a body larger than max_response_bytes "
        f"({max_bytes} bytes, after decompression); it was not read further",
        status_code=response.status_code,
        response=response,
    )


def _redirect_error(response: httpx.Response, what: str) -> UnexpectedResponseError:
    location = response.headers.get("location")
    # Shown without its query, which could carry anything.
    target = f" to {location.partition('?')[0][:200]!r}" if location else ""
    return UnexpectedResponseError(
        f"{what}: HTTP {response.status_code} redirect{target} refused: the ClubSMTP API "
        "never redirects, so the SDK never follows one (the request was not re-sent); "
        "check base_url and any proxy in between",
        status_code=response.status_code,
        response=response,
    )


def connection_error(exc: httpx.RequestError, what: str) -> APIConnectionError:
    """The SDK error for an httpx transport error (a timeout, a refused or broken connection).

    ``request_sent`` is False only when the request certainly never left: the
    connection could not be made, or no pooled connection became free.
    """
    timed_out = isinstance(exc, httpx.TimeoutException)
    cls = APITimeoutError if timed_out else APIConnectionError
    outcome = "timed out" if timed_out else "failed"
    return cls(
        f"{what} {outcome}: {type(exc).__name__}: {str(exc) or 'no detail'}",
        request=exc.request if _has_request(exc) else None,
        request_sent=not isinstance(exc, _UNSENT),
    )


def _has_request(exc: httpx.RequestError) -> bool:
    try:
        exc.request  # noqa: B018 - the property raises when no request was attached
    except RuntimeError:
        return False
    return True
