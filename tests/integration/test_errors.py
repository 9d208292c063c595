"""Every error type the SDK raises, produced by the emulator over HTTPS.

Bad parameters the SDK itself refuses are sent raw — through the very httpx
client (TLS, verified) the SDK uses — or through the SDK's request path with
the validation step skipped, so that the *server's* 400 is what is checked.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from clubsmtp_async import (
    APIConnectionError,
    APIStatusError,
    AsyncClient,
    AuthError,
    ErrorDetail,
    InvalidRequestError,
    NewMailbox,
    NotFoundError,
    RateLimitError,
    SecurityError,
    ServerError,
)
from clubsmtp_async._models import MailboxUpdate, NewAlias
from clubsmtp_async._resources import Aliases, Mailboxes
from clubsmtp_async.testing import Emulator, ErrorBefore, serve

from .conftest import KEY, MISSING_UUID, auth

pytestmark = pytest.mark.asyncio(loop_scope="module")


def only_error(exc: APIStatusError, status: int, kind: str) -> ErrorDetail:
    assert exc.status_code == status
    assert exc.response is not None
    assert exc.response.status_code == status
    [detail] = exc.errors
    assert detail.type == kind
    assert exc.message == detail.message
    return detail


async def world(sdk: AsyncClient) -> dict[str, str]:
    domain = await sdk.domains.create(name="example.com")
    other_domain = await sdk.domains.create(name="other.example")
    mailbox = await sdk.mailboxes.create(domain_uuid=domain.uuid, local_part="alice", password="pw")
    other = await sdk.mailboxes.create(domain_uuid=other_domain.uuid, local_part="bob",
                                       password="pw")
    entry = await sdk.mailboxes.whitelist.add(mailbox.uuid, pattern="*@trusted.com")
    return {"domain": domain.uuid, "other_domain": other_domain.uuid, "mailbox": mailbox.uuid,
            "other_mailbox": other.uuid, "entry": entry.uuid}


# --- 400 invalid_request_error: bad parameters, caught by the server ---------------------

RAW_BAD_REQUESTS: list[tuple[str, str, str, Any, str]] = [
    # id, method, path, body (bytes: sent as is), message fragment
    ("domain name not qualified", "POST", "/v1/domains", {"name": "localhost"},
     "not a fully-qualified domain name"),
    ("domain name missing", "POST", "/v1/domains", {}, "Missing required parameter: name."),
    ("domain name not a string", "POST", "/v1/domains", {"name": 42}, "Invalid name"),
    ("unknown parameter", "POST", "/v1/domains", {"name": "a.example", "nmae": "x"},
     "Unknown parameter: nmae."),
    ("body not JSON", "POST", "/v1/domains", b"{not json", "Request body is not valid JSON."),
    ("body not an object", "POST", "/v1/domains", b"[]", "Request body must be a JSON object."),
    ("empty body", "POST", "/v1/domains", b"", "Request body must be a JSON object."),
    ("storage_gb below 1", "POST", "/v1/mailboxes",
     {"domain_uuid": "{domain}", "local_part": "carol", "password": "pw", "storage_gb": 0},
     "Invalid storage_gb: the minimum is 1."),
    ("storage_gb a float", "POST", "/v1/mailboxes",
     {"domain_uuid": "{domain}", "local_part": "carol", "password": "pw", "storage_gb": 1.5},
     "Invalid storage_gb: expected an integer."),
    ("empty password", "POST", "/v1/mailboxes",
     {"domain_uuid": "{domain}", "local_part": "carol", "password": ""}, "Invalid password"),
    ("bad local part", "POST", "/v1/mailboxes",
     {"domain_uuid": "{domain}", "local_part": "a..b", "password": "pw"}, "Invalid local_part"),
    ("malformed domain_uuid", "POST", "/v1/mailboxes",
     {"domain_uuid": "nope", "local_part": "carol", "password": "pw"},
     "Invalid domain_uuid: expected a UUID string."),
    ("empty mailbox_uuids", "POST", "/v1/aliases",
     {"domain_uuid": "{domain}", "local_part": "info", "mailbox_uuids": []},
     "at least one mailbox is required"),
    ("mailbox_uuids not a list", "POST", "/v1/aliases",
     {"domain_uuid": "{domain}", "local_part": "info", "mailbox_uuids": "{mailbox}"},
     "Invalid mailbox_uuids"),
    ("update with nothing", "PATCH", "/v1/mailboxes/{mailbox}", {}, "Nothing to update"),
    ("enabled not a boolean", "PATCH", "/v1/mailboxes/{mailbox}", {"enabled": "no"},
     "Invalid enabled: expected a boolean."),
    ("null for an optional field", "PATCH", "/v1/mailboxes/{mailbox}", {"storage_gb": None},
     "Invalid storage_gb"),
    ("pattern with a space", "POST", "/v1/mailboxes/{mailbox}/whitelist", {"pattern": "a b"},
     "Invalid pattern"),
    ("malformed path UUID", "GET", "/v1/domains/not-a-uuid", None,
     "Invalid domain UUID: expected a UUID string."),
    ("malformed query UUID", "GET", "/v1/mailboxes?domain_uuid=xyz", None,
     "Invalid domain_uuid: expected a UUID string."),
    ("unknown endpoint", "GET", "/v1/nothing-here", None,
     "Unknown endpoint: GET /v1/nothing-here."),
    ("method not allowed", "PUT", "/v1/domains", {"name": "a.example"},
     "Method not allowed: PUT /v1/domains."),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("method", "path", "body", "fragment"),
    [case[1:] for case in RAW_BAD_REQUESTS],
    ids=[case[0] for case in RAW_BAD_REQUESTS],
)
async def test_bad_parameters_are_400_invalid_request_error(
    method: str, path: str, body: Any, fragment: str,
    sdk: AsyncClient, raw: httpx.AsyncClient, tls_emulator: Emulator,
) -> None:
    ids = await world(sdk)
    before = tls_emulator.snapshot()
    kwargs: dict[str, Any] = {}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = _fill(body, ids)

    response = await raw.request(method, path.format(**ids), **kwargs)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["errors"]
    assert error["type"] == "invalid_request_error"
    assert fragment in error["message"]
    assert "not found" not in error["message"].lower()  # never mistaken for a missing object
    assert tls_emulator.snapshot() == before  # nothing changed


async def test_server_side_400s_map_to_invalid_request_error_through_the_sdk(
    sdk: AsyncClient,
) -> None:
    """Skip the SDK's validation (call its request path directly): the server's 400 maps."""
    ids = await world(sdk)
    bad_mailbox = NewMailbox(domain_uuid=ids["domain"], local_part="carol", password="pw",
                             storage_gb=0)
    with pytest.raises(InvalidRequestError) as caught:
        await sdk._request(Mailboxes._CREATE, body=bad_mailbox)
    assert type(caught.value) is InvalidRequestError
    assert only_error(caught.value, 400, "invalid_request_error").message == (
        "Invalid storage_gb: the minimum is 1."
    )

    empty_alias = NewAlias(domain_uuid=ids["domain"], local_part="info", mailbox_uuids=[])
    with pytest.raises(InvalidRequestError, match="at least one mailbox"):
        await sdk._request(Aliases._CREATE, body=empty_alias)

    with pytest.raises(InvalidRequestError, match="Nothing to update"):
        await sdk._request(Mailboxes._UPDATE, ids["mailbox"], body=MailboxUpdate())

    # A malformed identifier passes the SDK's path check; the server refuses it (not "not found").
    with pytest.raises(InvalidRequestError) as malformed:
        await sdk.domains.get("not-a-uuid")
    assert type(malformed.value) is InvalidRequestError


async def test_duplicates_are_400(sdk: AsyncClient, tls_emulator: Emulator) -> None:
    ids = await world(sdk)
    cases: list[tuple[Callable[[], Awaitable[Any]], str]] = [
        (lambda: sdk.domains.create(name="EXAMPLE.com"), "Domain example.com already exists."),
        (lambda: sdk.mailboxes.create(domain_uuid=ids["domain"], local_part="ALICE",
                                      password="pw"),
         "Address alice@example.com already exists."),
        # an alias address collides with a mailbox address too
        (lambda: sdk.aliases.create(domain_uuid=ids["domain"], local_part="alice",
                                    mailbox_uuids=[ids["mailbox"]]),
         "Address alice@example.com already exists."),
        (lambda: sdk.mailboxes.whitelist.add(ids["mailbox"], pattern="*@trusted.com"),
         "Pattern *@trusted.com is already in the whitelist."),
        # a target on another domain of the account
        (lambda: sdk.aliases.create(domain_uuid=ids["domain"], local_part="team",
                                    mailbox_uuids=[ids["other_mailbox"]]),
         f"Mailbox {ids['other_mailbox']} is not on domain example.com."),
    ]
    before = tls_emulator.snapshot()
    for call, message in cases:
        with pytest.raises(InvalidRequestError) as caught:
            await call()
        assert type(caught.value) is InvalidRequestError
        assert only_error(caught.value, 400, "invalid_request_error").message == message
    assert tls_emulator.snapshot() == before


async def test_a_domain_name_is_unique_across_accounts(
    make_sdk: Callable[..., AsyncClient], sdk: AsyncClient, tls_emulator: Emulator
) -> None:
    other = make_sdk(tls_emulator.create_key(account="other").token)
    await other.domains.create(name="example.com")
    with pytest.raises(InvalidRequestError, match="already exists"):
        await sdk.domains.create(name="example.com")


# --- NotFoundError: unknown (well-formed) UUIDs -------------------------------------------

NOT_FOUND_CALLS: dict[str, tuple[Callable[[AsyncClient, dict[str, str]], Awaitable[Any]], str]] = {
    "domains.get": (lambda c, i: c.domains.get(MISSING_UUID), "Domain not found."),
    "domains.delete": (lambda c, i: c.domains.delete(MISSING_UUID), "Domain not found."),
    "mailboxes.list by domain": (
        lambda c, i: c.mailboxes.list(domain_uuid=MISSING_UUID), "Domain not found."),
    "mailboxes.create on unknown domain": (
        lambda c, i: c.mailboxes.create(domain_uuid=MISSING_UUID, local_part="x", password="pw"),
        "Domain not found."),
    "mailboxes.get": (lambda c, i: c.mailboxes.get(MISSING_UUID), "Mailbox not found."),
    "mailboxes.update": (
        lambda c, i: c.mailboxes.update(MISSING_UUID, enabled=False), "Mailbox not found."),
    "mailboxes.delete": (lambda c, i: c.mailboxes.delete(MISSING_UUID), "Mailbox not found."),
    "whitelist.list": (
        lambda c, i: c.mailboxes.whitelist.list(MISSING_UUID), "Mailbox not found."),
    "whitelist.add": (
        lambda c, i: c.mailboxes.whitelist.add(MISSING_UUID, pattern="*@x.com"),
        "Mailbox not found."),
    "whitelist.remove unknown entry": (
        lambda c, i: c.mailboxes.whitelist.remove(i["mailbox"], MISSING_UUID), "Entry not found."),
    "blacklist.list": (
        lambda c, i: c.mailboxes.blacklist.list(MISSING_UUID), "Mailbox not found."),
    "blacklist.add": (
        lambda c, i: c.mailboxes.blacklist.add(MISSING_UUID, pattern="*@x.com"),
        "Mailbox not found."),
    "blacklist.remove (entry is on the whitelist)": (
        lambda c, i: c.mailboxes.blacklist.remove(i["mailbox"], i["entry"]), "Entry not found."),
    "aliases.create on unknown domain": (
        lambda c, i: c.aliases.create(domain_uuid=MISSING_UUID, local_part="info",
                                      mailbox_uuids=[i["mailbox"]]),
        "Domain not found."),
    "aliases.create to unknown mailbox": (
        lambda c, i: c.aliases.create(domain_uuid=i["domain"], local_part="info",
                                      mailbox_uuids=[MISSING_UUID]),
        "Mailbox not found."),
    "aliases.get": (lambda c, i: c.aliases.get(MISSING_UUID), "Alias not found."),
    "aliases.delete": (lambda c, i: c.aliases.delete(MISSING_UUID), "Alias not found."),
}


@pytest.mark.parametrize("name", list(NOT_FOUND_CALLS))
async def test_unknown_uuids_raise_not_found(
    name: str, sdk: AsyncClient, tls_emulator: Emulator
) -> None:
    call, message = NOT_FOUND_CALLS[name]
    ids = await world(sdk)
    requests_before = tls_emulator.stats.total
    with pytest.raises(NotFoundError) as caught:
        await call(sdk, ids)
    assert isinstance(caught.value, InvalidRequestError)
    assert only_error(caught.value, 400, "invalid_request_error").message == message
    assert tls_emulator.stats.total == requests_before + 1  # a 400 is not retried


async def test_another_accounts_objects_are_not_found(
    make_sdk: Callable[..., AsyncClient], sdk: AsyncClient, tls_emulator: Emulator
) -> None:
    ids = await world(sdk)
    stranger = make_sdk(tls_emulator.create_key(account="other").token)
    with pytest.raises(NotFoundError, match=r"^Domain not found\."):
        await stranger.domains.get(ids["domain"])
    with pytest.raises(NotFoundError, match=r"^Mailbox not found\."):
        await stranger.mailboxes.delete(ids["mailbox"])
    assert await stranger.domains.list() == []
    assert ids["mailbox"] in tls_emulator.store.mailboxes


# --- 401 auth_error --------------------------------------------------------------------

async def test_an_unknown_key_is_401(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    token = "sk_live_" + "0" * 72
    client = make_sdk(token)
    with pytest.raises(AuthError) as caught:
        await client.domains.list()
    assert only_error(caught.value, 401, "auth_error").message == "Invalid API key."
    assert token not in str(caught.value)
    assert token not in repr(caught.value)
    assert tls_emulator.stats.requests == {"GET /v1/domains": 1}  # not retried


async def test_an_expired_key_is_401(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    expired = tls_emulator.create_key(expires_in=-1)  # expired a second ago
    with pytest.raises(AuthError) as caught:
        await make_sdk(expired.token).ping()
    assert only_error(caught.value, 401, "auth_error").message == "API key has expired."


@pytest.mark.parametrize(
    "header",
    [None, "Basic dXNlcjpwYXNz", "Bearer", KEY],
    ids=["missing", "basic scheme", "empty bearer", "no scheme"],
)
async def test_a_missing_or_malformed_authorization_header_is_401(
    header: str | None, make_raw: Callable[..., httpx.AsyncClient]
) -> None:
    http = make_raw(None)
    headers = {} if header is None else {"Authorization": header}
    response = await http.get("/v1/ping", headers=headers)
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["type"] == "auth_error"
    assert error["message"].startswith("Missing API key")


# --- 403 security_error ------------------------------------------------------------------

async def test_an_out_of_scope_call_is_403(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    reader = make_sdk(tls_emulator.create_key(scopes=["GET:/v1/domains"]).token)
    assert await reader.domains.list() == []
    with pytest.raises(SecurityError) as caught:
        await reader.domains.create(name="example.com")
    assert only_error(caught.value, 403, "security_error").message == (
        "API key scope does not allow POST /v1/domains."
    )
    assert tls_emulator.store.domains == {}


async def test_a_client_outside_the_keys_cidr_blocks_is_403(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    key = tls_emulator.create_key(cidrs=["203.0.113.0/24"])  # excludes 127.0.0.1
    with pytest.raises(SecurityError) as caught:
        await make_sdk(key.token).ping()
    assert only_error(caught.value, 403, "security_error").message == (
        "IP address 127.0.0.1 is not allowed."
    )


async def test_plain_http_from_a_remote_client_is_403() -> None:
    """Only in process: over real sockets the client is always loopback."""
    emulator = Emulator(api_keys=[KEY])
    async with emulator.client(
        KEY, client_address="198.51.100.7", base_url="http://127.0.0.1", max_retries=0,
        requests_per_minute=None,
    ) as client:
        with pytest.raises(SecurityError) as caught:
            await client.ping()
    assert only_error(caught.value, 403, "security_error").message == "HTTPS required."


# --- 429 rate_limit_error ------------------------------------------------------------------

async def test_429_once_retries_are_exhausted(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    key = tls_emulator.create_key(requests_per_minute=1, burst=1)
    # No client-side pacing, so the client does send the second request; no retries.
    client = make_sdk(key.token, requests_per_minute=None, max_retries=0)
    await client.ping()
    with pytest.raises(RateLimitError) as caught:
        await client.ping()
    only_error(caught.value, 429, "rate_limit_error")
    assert caught.value.retry_after is not None
    assert 1 <= caught.value.retry_after <= 60
    assert caught.value.response is not None
    assert caught.value.response.headers["retry-after"] == str(int(caught.value.retry_after))
    assert tls_emulator.stats.rate_limited == 1
    assert tls_emulator.stats.requests == {"GET /v1/ping": 2}


# --- 5xx ServerError -------------------------------------------------------------------------

async def test_500_api_error(make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator) -> None:
    tls_emulator.faults.add("GET", "/v1/domains", ErrorBefore())
    client = make_sdk(max_retries=0)
    with pytest.raises(ServerError) as caught:
        await client.domains.list()
    assert only_error(caught.value, 500, "api_error").message == "Internal server error."


async def test_a_5xx_html_page_from_a_proxy(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    tls_emulator.faults.add("GET", "/v1/aliases", ErrorBefore(status=502, body=page))
    client = make_sdk(max_retries=0)
    with pytest.raises(ServerError) as caught:
        await client.aliases.list()
    assert caught.value.status_code == 502
    assert caught.value.errors == []
    assert caught.value.body_excerpt is not None
    assert "502 Bad Gateway" in caught.value.body_excerpt


async def test_5xx_after_the_retries_ran_out(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    tls_emulator.faults.add("GET", "/v1/domains", ErrorBefore(status=503, message="Down."))
    client = make_sdk(max_retries=1)
    with pytest.raises(ServerError) as caught:
        await client.domains.list()
    assert only_error(caught.value, 503, "api_error").message == "Down."
    assert tls_emulator.stats.requests == {"GET /v1/domains": 2}  # a GET is retried


# --- no response at all ------------------------------------------------------------------------

async def test_connection_refused_is_an_api_connection_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is closed now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AsyncClient(KEY, base_url=f"https://127.0.0.1:{port}", max_retries=0,
                           requests_per_minute=None) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.ping()
    assert caught.value.request_sent is False
    assert KEY not in str(caught.value)


# --- serve() itself: a failing test must not break the next one -------------------------------

async def test_an_error_inside_serve_propagates_as_is_and_leaves_the_loop_usable(
    make_raw: Callable[..., httpx.AsyncClient],
) -> None:
    """Regression: the body's exception came out wrapped in an ExceptionGroup, and uvicorn,
    cancelled instead of stopped, left a stale selector entry that broke later connections
    of the same event loop (here: to the module's server)."""
    async def failing_test_body() -> None:
        async with serve(Emulator(api_keys=[KEY]), tls=True) as server, \
                server.http_client(headers=auth()) as http:
            assert (await http.get("/v1/ping")).status_code == 200
            raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        await failing_test_body()
    for _ in range(3):
        async with make_raw() as http:  # fresh connections, fresh file descriptors
            assert (await http.get("/v1/ping")).status_code == 200


async def test_a_cancelled_serve_leaves_the_loop_usable(
    make_raw: Callable[..., httpx.AsyncClient],
) -> None:
    with anyio.move_on_after(0.2):
        async with serve(Emulator(api_keys=[KEY]), tls=True) as server, \
                server.http_client(headers=auth()) as http:
            assert (await http.get("/v1/ping")).status_code == 200
            await anyio.sleep(10)
    for _ in range(3):
        async with make_raw() as http:
            assert (await http.get("/v1/ping")).status_code == 200
