"""Properties over any input: only the documented exceptions ever escape.

Bounded and deterministic (``derandomize``: the same examples every run). Each
property names the exceptions a function documents, feeds it arbitrary values —
wrong types, text with lone surrogates, latin-1 noise, huge numbers, NaN — and
checks that nothing else comes out, and that what comes out never quotes a secret.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import anyio
import httpx
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from clubsmtp_async import (
    APIStatusError,
    AsyncClient,
    BulkFailure,
    ClubSMTPError,
    Domain,
    LeakyBucketLimiter,
    ListEntry,
    Mailbox,
    NewAlias,
    NewMailbox,
    Ping,
    ValidationError,
)
from clubsmtp_async._endpoint import deleted, many, one
from clubsmtp_async._errors import ErrorDetail, error_class, excerpt
from clubsmtp_async._models import MailboxUpdate, NewListEntry
from clubsmtp_async._response import ping_decoder, raise_for_errors, retry_after_seconds
from clubsmtp_async._validation import (
    DNS_LABEL,
    checked_alias,
    checked_list_entry,
    checked_mailbox,
    checked_mailbox_update,
    domain_name,
    local_part,
    path_id,
)

BOUNDED = settings(
    max_examples=300, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
FEW = settings(
    max_examples=60, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

KEY = "sk_test_" + "P" * 40
REQUEST = httpx.Request("GET", "https://api.clubsmtp.test/v1/x")
TS = "2026-04-21T14:30:00.000000Z"
M = "019a2b3c-4d5e-7f6a-b7c8-d9e0f1a2b3c4"
MAILBOX = {"uuid": M, "address": "a@example.com", "domain_uuid": M, "domain": "example.com",
           "storage_gb": 1, "enabled": True, "created_at": TS, "updated_at": TS}



def outcome(call: Callable[[], Any], *documented: type[BaseException]) -> tuple[Any, Any]:
    """``(result, None)``, or ``(None, error)`` for one of the `documented` errors.

    Anything else propagates, and fails the property.
    """
    try:
        return call(), None
    except documented as exc:
        return None, exc


# --- Strategies ------------------------------------------------------------------------------

# Any text: lone surrogates, controls, latin-1 noise, astral characters.
any_text = st.text(st.characters(), max_size=40)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | any_text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
anything = json_values | st.binary(max_size=40) | st.tuples(any_text, any_text) | st.builds(
    object
) | st.sets(st.integers(), max_size=3)
timestamps = st.sampled_from([TS, "2026-04-21T14:30:00", "2026-04-21", "", "Z"]) | any_text


def mailbox_like() -> st.SearchStrategy[Any]:
    fields = {k: v for k, v in MAILBOX.items() if k != "created_at"}
    return st.fixed_dictionaries(
        {k: st.just(v) | json_values for k, v in fields.items()},
        optional={"created_at": timestamps, "extra": json_values},
    )


def envelope_like() -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {},
        optional={
            "mailbox": mailbox_like() | json_values,
            "data": st.lists(mailbox_like(), max_size=3) | json_values,
            "success": json_values,
            "timestamp": st.sampled_from(["Tue, 21 Apr 2026 12:00:00 GMT",
                                          "Tue, 21 Apr 2026 12:00:00"]) | any_text,
            "errors": st.lists(
                st.fixed_dictionaries({}, optional={"message": json_values, "type": json_values}),
                max_size=3,
            ) | json_values,
        },
    )


def bodies() -> st.SearchStrategy[bytes]:
    as_json = envelope_like().map(
        lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    )
    deep = st.integers(min_value=1000, max_value=5000).map(lambda depth: b"[" * depth)
    return as_json | st.binary(max_size=200) | deep


statuses = st.integers(min_value=100, max_value=599) | st.sampled_from([200, 400, 429, 500])
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)


def responses() -> st.SearchStrategy[httpx.Response]:
    return st.builds(
        lambda status, body, retry_after: httpx.Response(
            status, content=body, request=REQUEST,
            headers={} if retry_after is None else {"retry-after": retry_after.encode("latin-1")},
        ),
        statuses, bodies(), st.none() | header_values,
    )


# --- Response decoders and the error mapper ---------------------------------------------------

DECODERS = [
    (one("GET", "/v1/mailboxes/{}", "mailbox", Mailbox).decode, Mailbox),
    (many("GET", "/v1/mailboxes", Mailbox).decode, list),
    (deleted("/v1/mailboxes/{}").decode, type(None)),
    (ping_decoder, Ping),
    (one("GET", "/v1/domains/{}", "domain", Domain).decode, Domain),
    (many("GET", "/v1/x", ListEntry).decode, list),
]


@BOUNDED
@given(response=responses(), which=st.integers(min_value=0, max_value=len(DECODERS) - 1))
def test_a_decoder_returns_its_model_or_raises_an_api_status_error(
    response: httpx.Response, which: int
) -> None:
    decode, model = DECODERS[which]
    value, error = outcome(lambda: decode(response), APIStatusError)
    if error is not None:
        assert error.status_code == response.status_code
        assert isinstance(str(error), str)
        assert error.body_excerpt is None or len(error.body_excerpt) <= 201
        return
    assert 200 <= response.status_code < 300
    assert isinstance(value, model)
    for timestamp in _timestamps(value):
        assert timestamp.tzinfo is not None  # never a naive datetime


def _timestamps(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    found = []
    for item in items:
        for name in ("created_at", "updated_at", "timestamp"):
            if hasattr(item, name):
                found.append(getattr(item, name))
    return found


@BOUNDED
@given(response=responses())
def test_raise_for_errors_always_raises_an_api_status_error(response: httpx.Response) -> None:
    _, error = outcome(lambda: raise_for_errors(response), APIStatusError)
    assert error is not None  # it always raises
    assert error.status_code == response.status_code


@BOUNDED
@given(
    status=st.integers(min_value=-10, max_value=10_000),
    errors=st.lists(st.builds(ErrorDetail, message=any_text, type=any_text), max_size=3),
)
def test_the_error_mapper_always_picks_a_status_error_class(
    status: int, errors: list[ErrorDetail]
) -> None:
    assert issubclass(error_class(status, errors), APIStatusError)


@BOUNDED
@given(value=st.none() | st.text(st.characters(), max_size=60) | header_values)
def test_retry_after_is_none_or_finite_and_not_negative(value: str | None) -> None:
    seconds = retry_after_seconds(value)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


@BOUNDED
@given(body=st.binary(max_size=1000))
def test_an_excerpt_is_short_printable_text(body: bytes) -> None:
    text = excerpt(body)
    assert len(text) <= 201
    assert all(ch.isprintable() for ch in text)


# --- Validation rules --------------------------------------------------------------------------


@BOUNDED
@given(value=anything | st.text(st.characters(), max_size=80))
def test_a_domain_name_is_valid_ascii_or_a_validation_error(value: Any) -> None:
    name, error = outcome(lambda: domain_name(value), ValidationError)
    if error is not None:
        return
    labels = name.split(".")
    assert name.isascii()
    assert len(labels) >= 2
    assert all(DNS_LABEL.match(label) for label in labels)
    assert domain_name(name) == name  # idempotent: what is sent is accepted again


@BOUNDED
@given(value=anything)
def test_identifiers_and_local_parts_are_checked_for_any_value(value: Any) -> None:
    quoted, error = outcome(lambda: path_id(value, "mailbox_uuid"), ValidationError)
    if error is None:
        assert "/" not in quoted
        assert quoted not in {".", ".."}
    outcome(lambda: local_part(value), ValidationError)


@BOUNDED
@given(
    domain_uuid=anything, local=anything, password=anything, storage=anything,
    mailbox_uuids=anything, pattern=anything, enabled=anything,
)
def test_every_body_check_raises_only_validation_errors(
    domain_uuid: Any, local: Any, password: Any, storage: Any, mailbox_uuids: Any,
    pattern: Any, enabled: Any,
) -> None:
    checks = [
        lambda: checked_mailbox(NewMailbox(domain_uuid=domain_uuid, local_part=local,
                                           password=password, storage_gb=storage)),
        lambda: checked_alias(NewAlias(domain_uuid=domain_uuid, local_part=local,
                                       mailbox_uuids=mailbox_uuids)),
        lambda: checked_mailbox_update(MailboxUpdate(enabled=enabled, storage_gb=storage)),
        lambda: checked_list_entry(NewListEntry(pattern=pattern)),
        lambda: checked_mailbox(password),  # not even a NewMailbox
        lambda: checked_alias(domain_uuid),
    ]
    for check in checks:
        outcome(check, ValidationError)


SECRET_PREFIX = "PW-Z9q-"


@BOUNDED
@given(
    password=st.text(st.characters(), max_size=20).map(lambda tail: SECRET_PREFIX + tail),
    domain_uuid=anything, local=anything, storage=anything,
)
def test_no_validation_error_ever_quotes_the_password(
    password: str, domain_uuid: Any, local: Any, storage: Any
) -> None:
    assume(SECRET_PREFIX not in repr((domain_uuid, local, storage)))
    row = {"domain_uuid": domain_uuid, "local_part": local, "password": password}
    attempts = [
        lambda: checked_mailbox(NewMailbox(domain_uuid=domain_uuid, local_part=local,
                                           password=password, storage_gb=storage)),
        lambda: checked_mailbox(row),  # type: ignore[arg-type]  # a csv.DictReader row
        lambda: path_id(row, "domain_uuid"),
        lambda: local_part(row),
    ]
    for attempt in attempts:
        _, error = outcome(attempt, ValidationError)
        assert SECRET_PREFIX not in f"{error} {error!r}"


# --- The public surface, end to end (a mock transport, no network) ----------------------------


def _answering(sent: list[httpx.Request]) -> AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.method == "DELETE":
            return httpx.Response(200, json={"success": True, "errors": []})
        if request.url.path.endswith(("whitelist", "blacklist")):
            entry = {"uuid": M, "pattern": "*@x.example", "created_at": TS}
            return httpx.Response(200, json={"entry": entry, "data": [], "errors": []})
        return httpx.Response(200, json={"mailbox": MAILBOX, "data": [], "errors": []})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return AsyncClient(KEY, base_url="https://api.clubsmtp.test", http_client=http,
                       requests_per_minute=None, max_retries=0)


# Mostly nonsense, sometimes a valid value, so that valid calls go through too.
arguments = anything | st.sampled_from([M, "alice", "example.com", "pw-1", 5, True, [M], None])


@FEW
@given(a=arguments, b=arguments, c=arguments, d=arguments)
def test_resource_methods_raise_validation_errors_before_sending(
    a: Any, b: Any, c: Any, d: Any
) -> None:
    async def calls() -> None:
        async with _answering(sent := []) as client:
            attempts = [
                lambda: client.mailboxes.create(domain_uuid=a, local_part=b, password=c,
                                                storage_gb=d),
                lambda: client.mailboxes.create_from(a),
                lambda: client.aliases.create(domain_uuid=a, local_part=b, mailbox_uuids=c),
                lambda: client.aliases.create_from(b),
                lambda: client.domains.create(name=a),
                lambda: client.domains.get(a),
                lambda: client.mailboxes.update(a, enabled=b, storage_gb=c),
                lambda: client.mailboxes.list(a),
                lambda: client.mailboxes.whitelist.add(a, pattern=b),
                lambda: client.mailboxes.blacklist.remove(a, b),
                lambda: client.aliases.delete(c),
            ]
            for attempt in attempts:
                before = len(sent)
                try:
                    await attempt()
                except ValidationError:
                    assert len(sent) == before  # refused before anything was sent
                except ClubSMTPError:
                    pass  # a valid call the mock answered with another envelope

    anyio.run(calls)


@FEW
@given(rows=st.lists(anything | st.fixed_dictionaries({"password": st.just("PW-Z9q-row")}),
                     max_size=6))
def test_a_bulk_run_accounts_for_any_item_and_quotes_no_password(rows: list[Any]) -> None:
    async def run() -> None:
        async with _answering([]) as client:
            result = await client.bulk.create_mailboxes(rows)
        assert len(result.succeeded) + len(result.failed) == len(rows)
        for failure in result.failed:
            assert isinstance(failure.error, ValidationError)
            for text in (str(failure.error), repr(failure), repr(failure.error)):
                assert SECRET_PREFIX not in text
        assert all(isinstance(f, BulkFailure) for f in result.failed)

    anyio.run(run)


@BOUNDED
@given(name=st.sampled_from(["requests_per_minute", "max_retries", "timeout", "limiter",
                             "http_client", "max_in_flight", "max_response_bytes",
                             "base_url", "api_key"]),
       value=anything)
def test_the_client_constructor_raises_only_validation_errors(name: str, value: Any) -> None:
    client, error = outcome(lambda: AsyncClient(**{"api_key": KEY, name: value}), ValidationError)
    if error is not None:
        assert KEY not in str(error)
        return
    anyio.run(client.aclose)


@BOUNDED
@given(rate=anything, burst=anything)
def test_the_limiter_constructor_raises_only_validation_errors(rate: Any, burst: Any) -> None:
    outcome(lambda: LeakyBucketLimiter(rate, burst=burst), ValidationError)
