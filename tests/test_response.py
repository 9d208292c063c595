"""Envelope decoding, error raising and Retry-After parsing, without a network."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clubsmtp_async import (
    APIStatusError,
    AuthError,
    ClubSMTPError,
    InvalidRequestError,
    ListEntry,
    Ping,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
)
from clubsmtp_async._endpoint import Endpoint, deleted, many, one
from clubsmtp_async._response import (
    EnvelopeDecoder,
    http_date,
    ping_decoder,
    raise_for_errors,
    retry_after_seconds,
)

UTC = timezone.utc
NOW = datetime(2026, 4, 21, 12, 0, 0, tzinfo=UTC)
ENTRY = {"uuid": "e1", "pattern": "*@trusted.com", "created_at": "2026-04-01T08:00:00Z"}
REQUEST = httpx.Request("GET", "https://api.clubsmtp.test/v1/x")


def response(status: int, content: bytes | None = None, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, content=content, request=REQUEST, **kwargs)


def json_response(status: int, body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, json=body, request=REQUEST, **kwargs)


# --- EnvelopeDecoder ----------------------------------------------------------------------


def test_decodes_the_field() -> None:
    decode = EnvelopeDecoder("entry", ListEntry)
    entry = decode(json_response(200, {"entry": ENTRY, "errors": []}))
    assert entry == ListEntry(
        uuid="e1", pattern="*@trusted.com", created_at=datetime(2026, 4, 1, 8, tzinfo=UTC)
    )


def test_errors_key_is_optional_and_unknown_keys_are_ignored() -> None:
    decode = EnvelopeDecoder("data", list[ListEntry])
    assert decode(json_response(200, {"data": [ENTRY], "next": None})) == [
        decode(json_response(200, {"data": [ENTRY], "errors": []}))[0]
    ]


def test_decodes_raw_bytes_not_response_json(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_json(self: httpx.Response, **kwargs: Any) -> Any:
        raise AssertionError("response.json() must not be used")

    monkeypatch.setattr(httpx.Response, "json", no_json)
    decode = EnvelopeDecoder("entry", ListEntry)
    assert decode(json_response(200, {"entry": ENTRY})).uuid == "e1"
    with pytest.raises(InvalidRequestError):
        decode(json_response(400, {"errors": [{"message": "x", "type": "invalid_request_error"}]}))


def test_non_2xx_is_an_error_even_with_data() -> None:
    decode = EnvelopeDecoder("entry", ListEntry)
    body = {"entry": ENTRY, "errors": [{"message": "Invalid API key.", "type": "auth_error"}]}
    with pytest.raises(AuthError):
        decode(json_response(401, body))


def test_2xx_other_than_200_decodes() -> None:
    decode = EnvelopeDecoder("entry", ListEntry)
    assert decode(json_response(201, {"entry": ENTRY})).pattern == "*@trusted.com"


def test_redirect_is_an_error() -> None:
    decode = EnvelopeDecoder("entry", ListEntry)
    with pytest.raises(APIStatusError) as info:
        decode(response(302, b"", headers={"Location": "https://elsewhere.test/"}))
    assert type(info.value) is APIStatusError
    assert info.value.status_code == 302


def test_conversion_failure_is_unexpected_response() -> None:
    def fail(value: Any) -> Any:
        raise ValueError("nope")

    decode = EnvelopeDecoder("entry", ListEntry, fail)
    with pytest.raises(UnexpectedResponseError) as info:
        decode(json_response(200, {"entry": ENTRY}))
    assert isinstance(info.value.__cause__, ValueError)


def test_decoding_errors_are_chained_not_raised_bare() -> None:
    decode = EnvelopeDecoder("entry", ListEntry)
    with pytest.raises(UnexpectedResponseError) as info:
        decode(response(200, b"{truncated"))
    assert info.value.__cause__ is not None  # the msgspec error, kept as the cause
    assert info.value.body_excerpt == "{truncated"


def test_raise_for_errors_always_raises() -> None:
    with pytest.raises(ServerError):
        raise_for_errors(response(500, b""))
    with pytest.raises(UnexpectedResponseError):
        raise_for_errors(response(200, b"<html/>"))
    with pytest.raises(RateLimitError) as info:
        raise_for_errors(response(429, b"", headers={"Retry-After": "4"}))
    assert info.value.retry_after == 4.0


# --- endpoints -----------------------------------------------------------------------------


def test_endpoint_paths() -> None:
    endpoint = one("GET", "/v1/mailboxes/{}/whitelist/{}", "entry", ListEntry)
    assert endpoint.format_path(("m1", "e1")) == "/v1/mailboxes/m1/whitelist/e1"
    plain: Endpoint[list[ListEntry]] = many("GET", "/v1/aliases", ListEntry)
    assert plain.format_path(()) == "/v1/aliases"
    assert plain.method == "GET"


def test_deleted_endpoint() -> None:
    endpoint = deleted("/v1/aliases/{}")
    assert endpoint.method == "DELETE"
    assert endpoint.decode(json_response(200, {"success": True, "errors": []})) is None
    for body in ({"success": False, "errors": []}, {"success": None}, {"errors": []}):
        with pytest.raises(UnexpectedResponseError):
            endpoint.decode(json_response(200, body))


# --- ping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("Mon, 21 Apr 2026 12:00:00 GMT", datetime(2026, 4, 21, 12, tzinfo=UTC)),
        ("Tue, 21 Apr 2026 12:00:00 +0000", datetime(2026, 4, 21, 12, tzinfo=UTC)),
        ("Tue, 21 Apr 2026 12:00:00 -0000", datetime(2026, 4, 21, 12, tzinfo=UTC)),
        ("Tue, 21 Apr 2026 14:00:00 +0200", datetime(2026, 4, 21, 12, tzinfo=UTC)),
    ],
)
def test_ping_timestamp_is_aware(timestamp: str, expected: datetime) -> None:
    ping = ping_decoder(json_response(200, {"timestamp": timestamp, "errors": []}))
    assert isinstance(ping, Ping)
    assert ping.timestamp == expected
    assert ping.timestamp.utcoffset() is not None


@pytest.mark.parametrize(
    "timestamp",
    ["yesterday", "", "2026-04-21T12:00:00Z",
     "Tue, 21 Apr 2026 12:00:00",  # no zone: refused, as everywhere (never a naive datetime)
     "Tue, 21 Apr 2026 12:00:00 XYZ"],  # a zone nobody defines: the same
)
def test_ping_bad_timestamp(timestamp: str) -> None:
    with pytest.raises(UnexpectedResponseError):
        ping_decoder(json_response(200, {"timestamp": timestamp, "errors": []}))


# --- Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8", 8.0),
        ("0", 0.0),
        ("2.5", 2.5),
        (" 30 ", 30.0),
        ("-5", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
        ("Tue, 21 Apr 2026 12:00:08 GMT", 8.0),
        ("Tue, 21 Apr 2026 12:01:00 GMT", 60.0),
        ("Tue, 21 Apr 2026 11:59:00 GMT", 0.0),  # in the past: go now
        ("Tue, 21 Apr 2026 12:00:10 -0000", 10.0),
        ("Tue, 21 Apr 2026 14:00:10 +0200", 10.0),
        ("Tue, 99 Foo 2026 12:00:08 GMT", None),
        ("Tue, 21 Apr 2026 12:00:08", None),  # no zone: unusable, the default pause applies
    ],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value, now=NOW) == expected


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_delta_seconds_round_trip(seconds: int) -> None:
    assert retry_after_seconds(str(seconds)) == float(seconds)


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_http_date_round_trip(seconds: int) -> None:
    import email.utils

    value = email.utils.format_datetime(NOW + timedelta(seconds=seconds), usegmt=True)
    assert retry_after_seconds(value, now=NOW) == float(seconds)


@given(st.text(max_size=40))
def test_retry_after_never_raises(value: str) -> None:
    result = retry_after_seconds(value, now=NOW)
    assert result is None or result >= 0.0


def test_a_model_timestamp_without_a_zone_is_an_unexpected_response() -> None:
    decode = EnvelopeDecoder("entry", ListEntry)
    naive = {**ENTRY, "created_at": "2026-04-01T08:00:00"}
    with pytest.raises(UnexpectedResponseError, match="timezone"):
        decode(json_response(200, {"entry": naive, "errors": []}))


DEEP = b"[" * 10_000 + b"]" * 10_000


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, b'{"entry":' + DEEP + b',"errors":[]}', UnexpectedResponseError),
        (200, b'{"errors":[],"unknown":' + DEEP + b"}", UnexpectedResponseError),
        (400, b'{"errors":[' + DEEP + b"]}", InvalidRequestError),
        (500, b'{"errors":[{"message":"x","type":"api_error","extra":' + DEEP + b"}]}",
         ServerError),
    ],
    ids=["in-the-field", "in-an-unknown-field", "in-errors", "in-an-error-detail"],
)
def test_json_nested_deeper_than_the_decoder_goes_is_a_typed_error(
    status: int, body: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        EnvelopeDecoder("entry", ListEntry)(response(status, body))
    assert isinstance(caught.value, ClubSMTPError)


@pytest.mark.parametrize("value", ["Fri, 31 Dec 9999 23:59:59 -2359"])
def test_a_date_with_no_utc_instant_is_refused(value: str) -> None:
    assert http_date(value) is None
