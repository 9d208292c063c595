"""Properties of the webhook helpers over any input: only the documented errors escape.

`verify` raises `WebhookVerificationError` (the delivery) or `ValidationError`
(an argument); `parse_event` raises `WebhookPayloadError` (the body) or
`ValidationError` (a payload of the wrong type). Header values come as
Starlette gives them — raw bytes decoded as latin-1 — so they may hold any
character from U+0000 to U+00FF; other callers may pass lone surrogates.
Bounded and deterministic (``derandomize``).
"""

from __future__ import annotations

import json
import math
from datetime import timezone
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from clubsmtp_async import ValidationError
from clubsmtp_async.webhooks import (
    BaseEvent,
    StandardWebhooksVerifier,
    WebhookPayloadError,
    WebhookVerificationError,
    parse_event,
    sign,
    verify,
)

BOUNDED = settings(
    max_examples=300, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NOW = 1_800_000_000
BODY = b'{"id":"evt_1","type":"domain.deleted","created":1800000000,"data":{"object":{}}}'

latin1 = st.text(st.characters(min_codepoint=0, max_codepoint=0xFF), max_size=60)
any_text = st.text(st.characters(), max_size=60)
anything = (
    st.none() | st.booleans() | st.integers() | st.floats() | any_text | st.binary(max_size=40)
    | st.lists(st.integers(), max_size=3) | st.dictionaries(any_text, any_text, max_size=3)
)
header_names = st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature",
                                 "Webhook-Id", "WEBHOOK-SIGNATURE", "content-type"]) | latin1
header_values = latin1 | any_text | st.binary(max_size=40) | st.integers() | st.none()


def signed(msg_id: str = "msg_1", timestamp: int = NOW) -> dict[str, str]:
    return sign(BODY, SECRET, msg_id=msg_id, timestamp=timestamp)


def only_documented(call: Any) -> BaseException | None:
    """Run `call`; return the documented error it raised (None if it passed)."""
    error: BaseException | None = None
    try:
        call()
    except (WebhookVerificationError, ValidationError) as exc:
        error = exc
    assert "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in str(error)
    return error


@BOUNDED
@given(
    payload=anything | st.just(BODY),
    headers=st.dictionaries(header_names, header_values, max_size=5) | anything,
    secret=anything | st.just(SECRET),
    tolerance=anything | st.just(300),
    now=st.floats() | st.integers() | st.just(NOW),
)
def test_verify_raises_only_documented_errors(
    payload: Any, headers: Any, secret: Any, tolerance: Any, now: Any
) -> None:
    error = only_documented(lambda: verify(payload, headers, secret, tolerance, now=now))
    if error is None:  # it passed: then it really was signed with that key
        assert isinstance(headers, dict)
        assert any("v1," in str(v) for v in headers.values())


@BOUNDED
@given(
    which=st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature"]),
    noise=latin1 | any_text,
    position=st.integers(min_value=0, max_value=200),
)
def test_a_tampered_header_is_a_verification_error(which: str, noise: str, position: int) -> None:
    headers = signed()
    original = headers[which]
    at = min(position, len(original))
    tampered = original[:at] + noise + original[at:]
    assume(tampered != original)
    if which == "webhook-signature":  # entries are space-separated: one intact entry passes
        assume(original not in tampered.split())
    headers[which] = tampered
    error = only_documented(lambda: verify(BODY, headers, SECRET, now=NOW))
    assert isinstance(error, WebhookVerificationError)


@BOUNDED
@given(raw=st.binary(max_size=60))
def test_raw_header_bytes_as_starlette_decodes_them(raw: bytes) -> None:
    headers = {**signed(), "webhook-id": raw.decode("latin-1")}
    bytes_headers = {**signed(), "webhook-id": raw}  # or as bytes, from a raw ASGI scope
    for candidate in (headers, bytes_headers):
        error = only_documented(partial(verify, BODY, candidate, SECRET, now=NOW))
        assert isinstance(error, WebhookVerificationError)


@pytest.mark.parametrize("tolerance", [math.nan, math.inf, -math.inf, -1, True, "300", None])
def test_a_tolerance_that_is_not_a_finite_number_is_refused(tolerance: Any) -> None:
    with pytest.raises(ValidationError, match="tolerance"):
        verify(BODY, signed(timestamp=0), SECRET, tolerance)
    with pytest.raises(ValidationError, match="tolerance"):
        StandardWebhooksVerifier(SECRET, tolerance)


def test_nan_never_opens_the_replay_window() -> None:
    stale = signed(timestamp=NOW - 10**6)
    for now in (math.nan, math.inf):
        with pytest.raises(ValidationError, match="finite"):
            verify(BODY, stale, SECRET, now=now)
    verifier = StandardWebhooksVerifier(SECRET, clock=lambda: math.nan)
    with pytest.raises(ValidationError, match="finite"):
        verifier.verify(BODY, stale)


@pytest.mark.parametrize("secret", [None, 42, 4.2, ["whsec_x"], {"k": "v"}, "whsec_\ud800", ""])
def test_a_secret_of_the_wrong_type_is_refused_without_quoting_it(secret: Any) -> None:
    with pytest.raises(ValidationError, match="secret") as info:
        verify(BODY, signed(), secret, now=NOW)
    assert "\ud800" not in str(info.value)


def test_an_integer_secret_is_never_taken_for_a_key_of_zeros() -> None:
    # bytes(16) is sixteen zero bytes: an int must not become a (guessable) key.
    with pytest.raises(ValidationError, match=r"str .*or bytes"):
        sign(BODY, 16, msg_id="msg_1", timestamp=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("payload", [None, 42, {"id": "evt_1"}, ["x"]])
def test_a_payload_of_the_wrong_type_is_a_validation_error(payload: Any) -> None:
    with pytest.raises(ValidationError, match="payload"):
        verify(payload, signed(), SECRET, now=NOW)
    with pytest.raises(ValidationError, match="payload"):
        parse_event(payload)


def test_text_payloads_are_the_bytes_they_encode() -> None:
    verify(BODY.decode(), signed(), SECRET, now=NOW)
    verify(bytearray(BODY), signed(), SECRET, now=NOW)
    verify(memoryview(BODY), signed(), SECRET, now=NOW)
    with pytest.raises(ValidationError, match="surrogate"):
        verify(BODY.decode() + "\ud800", signed(), SECRET, now=NOW)


# --- parse_event ------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | any_text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=10,
)
event_types = st.sampled_from(["mailbox.created", "domain.deleted", "alias.created",
                               "invoice.paid", "brand.new"]) | any_text
createds = (
    st.integers() | st.floats() | st.sampled_from([0, NOW, 253402300799, 253402300800, -1, 1e300])
)


def events() -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {},
        optional={"id": st.just("evt_1") | json_values, "type": event_types,
                  "created": createds | json_values,
                  "data": st.fixed_dictionaries({}, optional={"object": json_values})
                  | json_values},
    )


def as_body(value: Any, as_text: bool) -> bytes | str:
    text = json.dumps(value, ensure_ascii=False)
    return text if as_text else text.encode("utf-8", "surrogatepass")


@BOUNDED
@given(
    payload=st.builds(as_body, events() | json_values, st.booleans())
    | st.binary(max_size=120) | any_text | anything
)
def test_parse_event_raises_only_documented_errors(payload: Any) -> None:
    event: Any = None
    error: BaseException | None = None
    try:
        event = parse_event(payload)
    except (WebhookPayloadError, ValidationError) as exc:
        error = exc
    if isinstance(error, WebhookPayloadError):
        assert len(error.body_excerpt) <= 201
    if error is not None:
        return
    assert isinstance(event, BaseEvent)
    assert isinstance(event.type, str)
    # Whatever was accepted can be used: created_at never fails later, and is aware.
    assert event.created_at.tzinfo is timezone.utc
