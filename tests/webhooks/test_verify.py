"""Webhook signatures: Standard Webhooks vectors, tolerance, rotation, tampering, headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import Headers

from clubsmtp_async import ClubSMTPError, ValidationError
from clubsmtp_async.webhooks import (
    DEFAULT_TOLERANCE,
    StandardWebhooksVerifier,
    Verifier,
    WebhookVerificationError,
    sign,
    verify,
)

# The known-answer vector of the Standard Webhooks reference libraries
# (standard-webhooks/standard-webhooks, libraries/python/tests: test_sign_function).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
PAYLOAD = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OTHER_SECRET = "whsec_" + base64.b64encode(b"another key, 32 bytes long......").decode()


def headers(signature: str = SIGNATURE, **changes: str) -> dict[str, str]:
    values = {"webhook-id": MSG_ID, "webhook-timestamp": str(TIMESTAMP),
              "webhook-signature": signature}
    values.update({name.replace("_", "-"): value for name, value in changes.items()})
    return values


def independent_signature(key: bytes, msg_id: str, timestamp: str, payload: bytes) -> str:
    digest = hmac.new(key, msg_id.encode() + b"." + timestamp.encode() + b"." + payload,
                      hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def rejected(payload: bytes, hdrs: Mapping[str, str], secret: str = SECRET,
             now: float = TIMESTAMP, tolerance: int = DEFAULT_TOLERANCE) -> str:
    with pytest.raises(WebhookVerificationError) as info:
        verify(payload, hdrs, secret, tolerance, now=now)
    message = str(info.value)
    assert secret.removeprefix("whsec_") not in message
    return message


# Known answers


def test_sign_matches_the_reference_vector() -> None:
    assert sign(PAYLOAD, SECRET, msg_id=MSG_ID, timestamp=TIMESTAMP) == headers()


def test_reference_vector_matches_an_independent_hmac() -> None:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    assert independent_signature(key, MSG_ID, str(TIMESTAMP), PAYLOAD) == SIGNATURE


def test_reference_vector_verifies() -> None:
    verify(PAYLOAD, headers(), SECRET, now=TIMESTAMP)


def test_default_tolerance_is_five_minutes() -> None:
    assert DEFAULT_TOLERANCE == 300
    assert StandardWebhooksVerifier(SECRET).tolerance == 300


def test_sign_drops_fractions_of_the_timestamp() -> None:
    signed = sign(PAYLOAD, SECRET, msg_id=MSG_ID, timestamp=TIMESTAMP + 0.999)
    assert signed["webhook-timestamp"] == str(TIMESTAMP)
    assert signed["webhook-signature"] == SIGNATURE


# Secrets


@pytest.mark.parametrize(
    "secret",
    [SECRET, SECRET.removeprefix("whsec_"), "whsec_" + SECRET.removeprefix("whsec_").rstrip("="),
     base64.b64decode(SECRET.removeprefix("whsec_"))],
    ids=["prefixed", "bare-base64", "unpadded", "raw-bytes"],
)
def test_secret_forms(secret: str | bytes) -> None:
    StandardWebhooksVerifier(secret, clock=lambda: TIMESTAMP).verify(PAYLOAD, headers())
    assert sign(PAYLOAD, secret, msg_id=MSG_ID, timestamp=TIMESTAMP)["webhook-signature"] \
        == SIGNATURE


def test_unpadded_base64_secret() -> None:
    key = b"0123456789"  # 10 bytes: base64 needs padding
    encoded = base64.b64encode(key).decode()
    assert encoded.endswith("==")
    signed = sign(PAYLOAD, key, msg_id=MSG_ID, timestamp=TIMESTAMP)
    verify(PAYLOAD, signed, "whsec_" + encoded.rstrip("="), now=TIMESTAMP)


@pytest.mark.parametrize(
    "secret",
    ["whsec_not*base64!", "whsec_abcde", "whsec_", "", b"", "whsec_ÄÖÜ", "whsec_ab cd"],
)
def test_malformed_secret_is_a_validation_error(secret: str | bytes) -> None:
    with pytest.raises(ValidationError, match="webhook secret") as info:
        StandardWebhooksVerifier(secret)
    assert info.value.__cause__ is None  # nothing of the secret in a chained error
    assert info.value.__context__ is None or info.value.__suppress_context__
    if isinstance(secret, str) and secret.removeprefix("whsec_"):
        assert secret.removeprefix("whsec_") not in str(info.value)
    with pytest.raises(ValidationError):
        sign(PAYLOAD, secret, msg_id=MSG_ID, timestamp=TIMESTAMP)


def test_negative_tolerance_is_refused() -> None:
    with pytest.raises(ValidationError, match="tolerance"):
        StandardWebhooksVerifier(SECRET, -1)


def test_repr_hides_the_secret() -> None:
    verifier = StandardWebhooksVerifier(SECRET, 60)
    assert repr(verifier) == "StandardWebhooksVerifier(tolerance=60)"
    assert SECRET.removeprefix("whsec_") not in repr(verifier)


# Timestamp tolerance


@pytest.mark.parametrize("offset", [0, 1, -1, 299, -299, 300, -300, 300.0])
def test_within_tolerance_passes(offset: float) -> None:
    verify(PAYLOAD, headers(), SECRET, now=TIMESTAMP + offset)


@pytest.mark.parametrize(("offset", "reason"), [
    (301, "301 s old"), (300.001, "301 s old"), (86_400, "86400 s old"),
    (-301, "301 s in the future"), (-300.5, "301 s in the future"),
])
def test_outside_tolerance_fails(offset: float, reason: str) -> None:
    message = rejected(PAYLOAD, headers(), now=TIMESTAMP + offset)
    assert reason in message
    assert "300 s tolerance" in message


def test_custom_and_zero_tolerance() -> None:
    verify(PAYLOAD, headers(), SECRET, 10, now=TIMESTAMP + 10)
    rejected(PAYLOAD, headers(), now=TIMESTAMP + 11, tolerance=10)
    verify(PAYLOAD, headers(), SECRET, 0, now=TIMESTAMP)
    rejected(PAYLOAD, headers(), now=TIMESTAMP + 1, tolerance=0)


def test_timestamp_is_checked_before_the_signature() -> None:
    # a replayed, correctly signed delivery is refused for its age
    assert "old" in rejected(PAYLOAD, headers(), now=TIMESTAMP + 3600)


@pytest.mark.parametrize(
    "value", ["hello", "1e9", "-5", "+1614265330", "1614265330.5", " 1614265330", "0x10",
              "1" * 13],
)
def test_malformed_timestamp(value: str) -> None:
    assert "not a Unix time in seconds" in rejected(PAYLOAD, headers(webhook_timestamp=value))


def test_non_ascii_digits_are_not_a_timestamp() -> None:
    text = rejected(PAYLOAD, headers(webhook_timestamp="١٦١٤٢٦٥٣٣٠"))
    assert "webhook-timestamp header is not printable ASCII" in text


def test_verifier_reads_its_clock_per_call() -> None:
    now = [float(TIMESTAMP)]
    verifier = StandardWebhooksVerifier(SECRET, clock=lambda: now[0])
    verifier.verify(PAYLOAD, headers())
    now[0] += 301
    with pytest.raises(WebhookVerificationError, match="old"):
        verifier.verify(PAYLOAD, headers())


def test_verify_uses_the_system_clock_by_default() -> None:
    stamp = int(time.time())
    verify(PAYLOAD, sign(PAYLOAD, SECRET, msg_id=MSG_ID, timestamp=stamp), SECRET)
    with pytest.raises(WebhookVerificationError, match="old"):
        verify(PAYLOAD, headers(), SECRET)  # signed in 2021


# Signatures: several, rotation, versions, tampering


def test_several_signatures_any_v1_match_passes() -> None:
    # the reference libraries' multi-signature case
    bogus = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    other = "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    verify(PAYLOAD, headers(" ".join([bogus, other, SIGNATURE, bogus])), SECRET, now=TIMESTAMP)


def test_rotation_old_and_new_secret_both_verify() -> None:
    old = sign(PAYLOAD, SECRET, msg_id=MSG_ID, timestamp=TIMESTAMP)["webhook-signature"]
    new = sign(PAYLOAD, OTHER_SECRET, msg_id=MSG_ID, timestamp=TIMESTAMP)["webhook-signature"]
    both = headers(f"{new} {old}")
    verify(PAYLOAD, both, SECRET, now=TIMESTAMP)
    verify(PAYLOAD, both, OTHER_SECRET, now=TIMESTAMP)
    third = "whsec_" + base64.b64encode(b"a third key").decode()
    assert "no webhook-signature entry matches" in rejected(PAYLOAD, both, secret=third)


def test_whitespace_between_signatures_is_flexible() -> None:
    verify(PAYLOAD, headers(f"  v1,AAAA\t{SIGNATURE}  "), SECRET, now=TIMESTAMP)


def test_other_versions_are_ignored() -> None:
    v2 = SIGNATURE.replace("v1,", "v2,")
    assert "no v1 signature" in rejected(PAYLOAD, headers(v2))
    assert "no v1 signature" in rejected(PAYLOAD, headers("v1a,xyz v1 " + SIGNATURE[3:]))


@pytest.mark.parametrize("entry", ["v1,", "v1,!!!!", "v1,abc", "v1,AAAA,BBBB", "garbage"])
def test_malformed_entries_are_skipped(entry: str) -> None:
    rejected(PAYLOAD, headers(entry))
    verify(PAYLOAD, headers(f"{entry} {SIGNATURE}"), SECRET, now=TIMESTAMP)


def test_truncated_signature_fails() -> None:
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{MSG_ID}.{TIMESTAMP}.".encode() + PAYLOAD, hashlib.sha256).digest()
    truncated = "v1," + base64.b64encode(digest[:16]).decode()
    assert "matches" in rejected(PAYLOAD, headers(truncated))


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "secret", "signature"])
def test_tampering_is_detected(tamper: str) -> None:
    payload, hdrs, secret = PAYLOAD, headers(), SECRET
    if tamper == "body":
        payload = PAYLOAD.replace(b"2432232314", b"2432232315")
    elif tamper == "id":
        hdrs["webhook-id"] = MSG_ID + "x"
    elif tamper == "timestamp":
        hdrs["webhook-timestamp"] = str(TIMESTAMP + 1)  # still within tolerance
    elif tamper == "secret":
        secret = OTHER_SECRET
    else:
        hdrs["webhook-signature"] = SIGNATURE[:-3] + "OA="
    assert "no webhook-signature entry matches" in rejected(payload, hdrs, secret=secret)


def test_body_is_signed_byte_for_byte() -> None:
    # re-serialised JSON (other spacing) is a different body
    rejected(b'{"test":2432232314}', headers())
    rejected(PAYLOAD + b"\n", headers())


def test_bytearray_and_memoryview_bodies() -> None:
    verify(bytearray(PAYLOAD), headers(), SECRET, now=TIMESTAMP)
    verify(memoryview(PAYLOAD), headers(), SECRET, now=TIMESTAMP)


# Headers


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(name: str) -> None:
    hdrs = headers()
    del hdrs[name]
    assert rejected(PAYLOAD, hdrs) == f"missing {name} header"
    hdrs[name] = ""
    assert rejected(PAYLOAD, hdrs) == f"missing {name} header"


def test_header_names_are_case_insensitive_in_plain_dicts() -> None:
    hdrs = {"Webhook-Id": MSG_ID, "WEBHOOK-TIMESTAMP": str(TIMESTAMP),
            "webhook-Signature": SIGNATURE, "Content-Type": "application/json"}
    verify(PAYLOAD, hdrs, SECRET, now=TIMESTAMP)


def test_httpx_and_starlette_headers() -> None:
    raw = [(b"Webhook-Id", MSG_ID.encode()), (b"Webhook-Timestamp", str(TIMESTAMP).encode()),
           (b"Webhook-Signature", SIGNATURE.encode())]
    verify(PAYLOAD, httpx.Headers(raw), SECRET, now=TIMESTAMP)
    verify(PAYLOAD, Headers(raw=[(k.lower(), v) for k, v in raw]), SECRET, now=TIMESTAMP)


# The protocol and the errors


def test_standard_verifier_is_a_verifier() -> None:
    assert isinstance(StandardWebhooksVerifier(SECRET), Verifier)


def test_another_scheme_drops_in() -> None:
    class SharedToken:
        """A toy scheme: a static token in a header."""

        def verify(self, payload: bytes, headers: Mapping[str, str]) -> None:
            if headers.get("x-token") != "let-me-in":
                raise WebhookVerificationError("bad token")

    def receive(verifier: Verifier, body: bytes, hdrs: Mapping[str, str]) -> bool:
        try:
            verifier.verify(body, hdrs)
        except WebhookVerificationError:
            return False
        return True

    assert isinstance(SharedToken(), Verifier)
    assert receive(SharedToken(), PAYLOAD, {"x-token": "let-me-in"})
    assert not receive(SharedToken(), PAYLOAD, headers())
    assert receive(StandardWebhooksVerifier(SECRET, clock=lambda: TIMESTAMP), PAYLOAD, headers())


def test_errors_belong_to_the_sdk_tree() -> None:
    assert issubclass(WebhookVerificationError, ClubSMTPError)


def test_sign_validates_its_arguments() -> None:
    with pytest.raises(ValidationError, match="msg_id"):
        sign(PAYLOAD, SECRET, msg_id="", timestamp=TIMESTAMP)
    with pytest.raises(ValidationError, match="timestamp"):
        sign(PAYLOAD, SECRET, msg_id=MSG_ID, timestamp=-1)


# Property: sign → verify round-trips, and any change of the body breaks it


@given(
    payload=st.binary(max_size=512),
    key=st.binary(min_size=1, max_size=64),
    msg_id=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
    timestamp=st.integers(min_value=0, max_value=10**11),
    skew=st.integers(min_value=-DEFAULT_TOLERANCE, max_value=DEFAULT_TOLERANCE),
)
def test_sign_verify_round_trip(
    payload: bytes, key: bytes, msg_id: str, timestamp: int, skew: int
) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    signed = sign(payload, secret, msg_id=msg_id, timestamp=timestamp)
    assert signed["webhook-signature"] == independent_signature(
        key, msg_id, str(timestamp), payload
    )
    verify(payload, signed, secret, now=timestamp + skew)
    verify(payload, signed, key, now=timestamp + skew)
    with pytest.raises(WebhookVerificationError):
        verify(payload + b"!", signed, secret, now=timestamp + skew)


@pytest.mark.parametrize("huge", [10**400, -(10**400)])
def test_ints_too_large_for_a_float_are_validation_errors(huge: int) -> None:
    with pytest.raises(ValidationError):
        verify(PAYLOAD, headers(), SECRET, huge, now=TIMESTAMP)
    with pytest.raises(ValidationError):
        verify(PAYLOAD, headers(), SECRET, now=huge)
    with pytest.raises(ValidationError):
        sign(PAYLOAD, SECRET, msg_id=MSG_ID, timestamp=huge)
    with pytest.raises((ValidationError, WebhookVerificationError)):
        StandardWebhooksVerifier(SECRET, clock=lambda: huge).verify(PAYLOAD, headers())
