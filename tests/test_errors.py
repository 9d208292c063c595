"""The exception tree and how each error response maps onto it."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import httpx
import msgspec
import pytest
import respx

import clubsmtp_async._errors as errors_module
from clubsmtp_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    AuthError,
    ClientClosedError,
    ClubSMTPError,
    ErrorDetail,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    SecurityError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
)
from clubsmtp_async._errors import error_class, excerpt

DOMAIN_ID = "018f1a2b-3c4d-7e5f-a6b7-c8d9e0f1a2b3"


def error_body(message: str, type_: str) -> dict[str, object]:
    return {"errors": [{"message": message, "type": type_}]}


# --- the tree -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (ValidationError, ClubSMTPError),
        (ValidationError, ValueError),
        (ClientClosedError, ClubSMTPError),
        (APIConnectionError, ClubSMTPError),
        (APITimeoutError, APIConnectionError),
        (APIStatusError, ClubSMTPError),
        (AuthError, APIStatusError),
        (SecurityError, APIStatusError),
        (InvalidRequestError, APIStatusError),
        (NotFoundError, InvalidRequestError),
        (RateLimitError, APIStatusError),
        (ServerError, APIStatusError),
        (UnexpectedResponseError, APIStatusError),
    ],
)
def test_tree(cls: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(cls, parent)


def test_module_docstring_draws_every_exception() -> None:
    doc = errors_module.__doc__
    assert doc is not None
    for name in errors_module.__all__:
        obj = getattr(errors_module, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert name in doc
            assert obj.__doc__, name


# --- error_class: a table by type, then by status -------------------------------------------


@pytest.mark.parametrize(
    ("status", "type_", "message", "expected"),
    [
        (400, "invalid_request_error", "Missing parameter: name.", InvalidRequestError),
        (400, "invalid_request_error", "Domain not found.", NotFoundError),
        (400, "invalid_request_error", "Mailbox NOT FOUND", NotFoundError),
        (400, "invalid_request_error", "Domain name already exists.", InvalidRequestError),
        (401, "auth_error", "Invalid API key.", AuthError),
        (403, "security_error", "HTTPS required.", SecurityError),
        (429, "rate_limit_error", "Too many requests.", RateLimitError),
        (500, "api_error", "Unexpected error.", ServerError),
        # unknown type: the status decides
        (400, "brand_new_error", "Bad.", InvalidRequestError),
        (400, "brand_new_error", "Thing not found.", NotFoundError),
        (401, "brand_new_error", "x", AuthError),
        (403, "brand_new_error", "x", SecurityError),
        (404, "brand_new_error", "x", NotFoundError),
        (429, "brand_new_error", "x", RateLimitError),
        (500, "brand_new_error", "x", ServerError),
        (502, "brand_new_error", "x", ServerError),
        (503, "", "", ServerError),
        (418, "brand_new_error", "x", APIStatusError),
        # a known type wins over the status
        (400, "auth_error", "x", AuthError),
        (200, "invalid_request_error", "x", InvalidRequestError),
        (200, "brand_new_error", "x", APIStatusError),
    ],
)
def test_error_class(status: int, type_: str, message: str, expected: type[Exception]) -> None:
    assert error_class(status, [ErrorDetail(message=message, type=type_)]) is expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, InvalidRequestError), (401, AuthError), (403, SecurityError), (404, NotFoundError),
     (429, RateLimitError), (500, ServerError), (502, ServerError), (599, ServerError),
     (409, APIStatusError), (302, APIStatusError)],
)
def test_error_class_without_errors(status: int, expected: type[Exception]) -> None:
    assert error_class(status, []) is expected


def test_not_found_needs_the_words() -> None:
    unfounded = [ErrorDetail(message="Domain unfounded.", type="")]
    assert error_class(400, unfounded) is InvalidRequestError
    # any of several errors may say it
    details = [ErrorDetail(message="Bad input.", type="invalid_request_error"),
               ErrorDetail(message="Mailbox not found.", type="invalid_request_error")]
    assert error_class(400, details) is NotFoundError


# --- the exceptions themselves --------------------------------------------------------------


def test_status_error_attributes_and_str() -> None:
    details = [ErrorDetail(message="Domain not found.", type="invalid_request_error")]
    exc = NotFoundError("Domain not found.", status_code=400, errors=details)
    assert exc.status_code == 400
    assert exc.errors == details
    assert exc.message == "Domain not found."
    assert exc.response is None
    assert exc.body_excerpt is None
    assert str(exc) == "Domain not found. (HTTP 400)"


def test_connection_error_attributes() -> None:
    exc = APITimeoutError("GET /v1/ping timed out", request_sent=False)
    assert exc.message == "GET /v1/ping timed out"
    assert exc.request is None
    assert exc.request_sent is False
    assert APIConnectionError("x").request_sent is True


def test_rate_limit_error_defaults_to_no_retry_after() -> None:
    assert RateLimitError("slow down", status_code=429).retry_after is None


def test_excerpt_is_short_and_printable() -> None:
    assert excerpt(b"") == ""
    assert excerpt(b"<html>\n  <body>Bad   Gateway</body>\n</html>") == (
        "<html> <body>Bad Gateway</body> </html>"
    )
    long = excerpt(b"x" * 10_000)
    assert long == "x" * 200 + "…"
    assert excerpt(b"\xff\xfe{") == "\ufffd\ufffd{"


# --- through the client ------------------------------------------------------------------------


STATUS_CASES = [
    (400, "invalid_request_error", "Missing parameter: name.", InvalidRequestError),
    (400, "invalid_request_error", "Domain not found.", NotFoundError),
    (401, "auth_error", "Invalid API key.", AuthError),
    (401, "auth_error", "API key expired.", AuthError),
    (403, "security_error", "HTTPS required.", SecurityError),
    (403, "security_error", "IP address not allowed.", SecurityError),
    (429, "rate_limit_error", "Too many requests.", RateLimitError),
    (500, "api_error", "Unexpected error.", ServerError),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "type_", "message", "expected"), STATUS_CASES)
async def test_error_responses(
    sdk_make_client: Callable[..., AsyncClient],
    sdk_router: respx.MockRouter,
    status: int,
    type_: str,
    message: str,
    expected: type[APIStatusError],
) -> None:
    client = sdk_make_client(max_retries=0)
    sdk_router.get(f"/v1/domains/{DOMAIN_ID}").mock(
        return_value=httpx.Response(status, json=error_body(message, type_))
    )

    with pytest.raises(expected) as info:
        await client.domains.get(DOMAIN_ID)

    exc = info.value
    assert type(exc) is expected
    assert exc.status_code == status
    assert exc.errors == [ErrorDetail(message=message, type=type_)]
    assert exc.message == message
    assert str(exc) == f"{message} (HTTP {status})"
    assert isinstance(exc.response, httpx.Response)
    assert exc.response.status_code == status
    assert exc.body_excerpt is None


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, InvalidRequestError), (401, AuthError), (403, SecurityError), (404, NotFoundError),
     (429, RateLimitError), (500, ServerError), (503, ServerError), (418, APIStatusError)],
)
async def test_unknown_error_type_falls_back_to_status(
    sdk_make_client: Callable[..., AsyncClient],
    sdk_router: respx.MockRouter,
    status: int,
    expected: type[APIStatusError],
) -> None:
    client = sdk_make_client(max_retries=0)
    sdk_router.get("/v1/ping").mock(
        return_value=httpx.Response(status, json=error_body("Something new.", "quota_error"))
    )
    with pytest.raises(expected) as info:
        await client.ping()
    assert type(info.value) is expected
    assert info.value.errors[0].type == "quota_error"


@pytest.mark.asyncio
async def test_several_errors_are_all_kept(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    body = {"errors": [
        {"message": "Missing parameter: local_part.", "type": "invalid_request_error"},
        {"message": "Missing parameter: password.", "type": "invalid_request_error"},
    ]}
    sdk_router.post("/v1/mailboxes").mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(InvalidRequestError) as info:
        await sdk_client.mailboxes.create(domain_uuid=DOMAIN_ID, local_part="a", password="pw")
    assert len(info.value.errors) == 2
    assert "local_part" in info.value.message
    assert "password." in info.value.message


@pytest.mark.asyncio
async def test_error_fields_missing_or_extra(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    body = {"errors": [{"type": "auth_error", "code": 17}], "request_id": "r-1"}
    sdk_router.get("/v1/ping").mock(return_value=httpx.Response(401, json=body))
    with pytest.raises(AuthError) as info:
        await sdk_client.ping()
    assert info.value.message == "HTTP 401"


@pytest.mark.asyncio
async def test_success_status_with_errors_raises(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    body = {"domain": None, "errors": [{"message": "Domain name already exists.",
                                         "type": "invalid_request_error"}]}
    sdk_router.post("/v1/domains").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(InvalidRequestError, match="already exists") as info:
        await sdk_client.domains.create(name="example.com")
    assert info.value.status_code == 200
    assert sdk_router.calls.call_count == 1  # not retried


@pytest.mark.asyncio
async def test_success_status_with_errors_and_valid_data_still_raises(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    body = {"success": True, "errors": [{"message": "Alias not found.",
                                         "type": "invalid_request_error"}]}
    sdk_router.delete("/v1/aliases/a1").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(NotFoundError):
        await sdk_client.aliases.delete("a1")


HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    + b"<!-- padding -->" * 50 + b"</body>\r\n</html>\r\n"
)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        (502, HTML_502, ServerError),
        (503, b"Service Unavailable", ServerError),
        (500, b'{"errors": [{"message": "Unexpec', ServerError),
        (400, b'{"errors": [{"message": "Unexpec', InvalidRequestError),
        (401, b"<html>Unauthorized</html>", AuthError),
        (403, b"Forbidden", SecurityError),
        (404, b"<h1>Not Found</h1>", NotFoundError),
        (200, b'{"domain": {"uuid": "018f1a2b', UnexpectedResponseError),
        (200, HTML_502, UnexpectedResponseError),
        (200, b'["not", "an", "envelope"]', UnexpectedResponseError),
        (200, b'{"domain": {"uuid": 42}, "errors": []}', UnexpectedResponseError),
        (200, b'{"errors": []}', UnexpectedResponseError),
        (200, b'{"domain": null, "errors": "oops"}', UnexpectedResponseError),
    ],
)
async def test_undocumented_bodies_raise_typed_errors(
    sdk_make_client: Callable[..., AsyncClient],
    sdk_router: respx.MockRouter,
    status: int,
    content: bytes,
    expected: type[APIStatusError],
) -> None:
    client = sdk_make_client(max_retries=0)
    sdk_router.get(f"/v1/domains/{DOMAIN_ID}").mock(
        return_value=httpx.Response(status, content=content, headers={"Content-Type": "text/html"})
    )

    with pytest.raises(ClubSMTPError) as info:
        await client.domains.get(DOMAIN_ID)

    exc = info.value
    assert type(exc) is expected
    assert isinstance(exc, APIStatusError)
    assert exc.status_code == status
    assert exc.errors == []
    assert exc.body_excerpt is not None
    assert 0 < len(exc.body_excerpt) <= 201
    assert content.decode()[:10].split()[0] in exc.body_excerpt
    assert f"HTTP {status}" in str(exc)
    assert not isinstance(exc, (msgspec.MsgspecError, KeyError))


@pytest.mark.asyncio
async def test_html_excerpt_is_short(
    sdk_make_client: Callable[..., AsyncClient], sdk_router: respx.MockRouter
) -> None:
    client = sdk_make_client(max_retries=0)
    sdk_router.get("/v1/ping").mock(return_value=httpx.Response(502, content=HTML_502))
    with pytest.raises(ServerError) as info:
        await client.ping()
    assert info.value.body_excerpt is not None
    assert info.value.body_excerpt.startswith("<html> <head><title>502 Bad Gateway</title>")
    assert info.value.body_excerpt.endswith("…")
    assert len(str(info.value)) < 400


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "expected"),
    [(200, UnexpectedResponseError), (400, InvalidRequestError), (500, ServerError),
     (502, ServerError), (429, RateLimitError)],
)
async def test_empty_bodies(
    sdk_make_client: Callable[..., AsyncClient],
    sdk_router: respx.MockRouter,
    status: int,
    expected: type[APIStatusError],
) -> None:
    client = sdk_make_client(max_retries=0)
    sdk_router.get("/v1/aliases").mock(return_value=httpx.Response(status, content=b""))
    with pytest.raises(expected) as info:
        await client.aliases.list()
    assert type(info.value) is expected
    assert info.value.status_code == status
    assert info.value.body_excerpt == ""
    assert "empty body" in str(info.value)


@pytest.mark.asyncio
async def test_delete_without_confirmation_is_not_reported_as_success(
    sdk_client: AsyncClient, sdk_router: respx.MockRouter
) -> None:
    sdk_router.delete("/v1/aliases/a1").mock(
        return_value=httpx.Response(200, json={"success": False, "errors": []})
    )
    with pytest.raises(UnexpectedResponseError):
        await sdk_client.aliases.delete("a1")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("header", "expected"),
    [("8", 8.0), ("0", 0.0), (" 12 ", 12.0), ("1.5", 1.5), (None, None), ("soon", None)],
)
async def test_rate_limit_error_retry_after_seconds(
    sdk_make_client: Callable[..., AsyncClient],
    sdk_router: respx.MockRouter,
    header: str | None,
    expected: float | None,
) -> None:
    client = sdk_make_client(max_retries=0)
    headers = {} if header is None else {"Retry-After": header}
    sdk_router.get("/v1/ping").mock(
        return_value=httpx.Response(
            429, json=error_body("Too many requests.", "rate_limit_error"), headers=headers
        )
    )
    with pytest.raises(RateLimitError) as info:
        await client.ping()
    assert info.value.retry_after == expected


@pytest.mark.asyncio
async def test_rate_limit_error_retry_after_http_date(
    sdk_make_client: Callable[..., AsyncClient], sdk_router: respx.MockRouter
) -> None:
    client = sdk_make_client(max_retries=0)
    future = datetime.now(timezone.utc) + timedelta(days=2)
    past = datetime(2001, 1, 1, tzinfo=timezone.utc)
    sdk_router.get("/v1/ping").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": email.utils.format_datetime(when, True)})
            for when in (future, past)
        ]
    )
    with pytest.raises(RateLimitError) as info:
        await client.ping()
    assert info.value.retry_after is not None
    assert 86_400 < info.value.retry_after <= 2 * 86_400
    assert info.value.body_excerpt == ""
    with pytest.raises(RateLimitError) as info:
        await client.ping()
    assert info.value.retry_after == 0.0


@pytest.mark.asyncio
async def test_html_429_still_carries_retry_after(
    sdk_make_client: Callable[..., AsyncClient], sdk_router: respx.MockRouter
) -> None:
    client = sdk_make_client(max_retries=0)
    sdk_router.get("/v1/ping").mock(
        return_value=httpx.Response(429, content=b"<html>slow down</html>",
                                    headers={"Retry-After": "3"})
    )
    with pytest.raises(RateLimitError) as info:
        await client.ping()
    assert info.value.retry_after == 3.0
    assert info.value.body_excerpt == "<html>slow down</html>"

