from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from clubsmtp_async.testing._rules import (
    gcra,
    ip_allowed,
    is_expired,
    is_loopback,
    matches_pattern,
    parse_cidrs,
    parse_scope,
    scope_allows,
)


@pytest.mark.parametrize(
    ("scopes", "method", "path", "allowed"),
    [
        (["*:*"], "DELETE", "/v1/domains/x", True),
        (["GET:/v1/domains"], "GET", "/v1/domains", True),
        (["GET:/v1/domains"], "get", "/v1/domains", True),
        (["get:/v1/domains"], "GET", "/v1/domains", True),
        (["GET:/v1/domains"], "POST", "/v1/domains", False),
        (["GET:/v1/domains"], "GET", "/v1/domains/abc", False),
        (["POST:/v1/mailboxes"], "POST", "/v1/mailboxes", True),
        (["*:/v1/mailboxes/*"], "PATCH", "/v1/mailboxes/abc", True),
        (["*:/v1/mailboxes/*"], "DELETE", "/v1/mailboxes/abc/whitelist/def", True),
        (["*:/v1/mailboxes/*"], "GET", "/v1/mailboxes", False),
        (["*:/v1/mailboxes*"], "GET", "/v1/mailboxes", True),
        (["GET:*"], "GET", "/v1/anything", True),
        (["GET:*"], "POST", "/v1/anything", False),
        (["GET:/v1/*/whitelist"], "GET", "/v1/mailboxes/abc/whitelist", True),
        (["GET:/v1/*/whitelist"], "GET", "/v1/mailboxes/abc/blacklist", False),
        (["GET:/v1/domains", "POST:/v1/domains"], "POST", "/v1/domains", True),
        ([], "GET", "/v1/ping", False),
        (["GET:/v1/ping."], "GET", "/v1/pingX", False),  # "." is literal
    ],
)
def test_scope_allows(scopes: list[str], method: str, path: str, allowed: bool) -> None:
    assert scope_allows(scopes, method, path) is allowed


@pytest.mark.parametrize("entry", ["GET/v1/domains", "GET:v1/domains", ":/v1", "G-T:/v1", ""])
def test_parse_scope_rejects_malformed(entry: str) -> None:
    with pytest.raises(ValueError, match="invalid scope"):
        parse_scope(entry)


def test_matches_pattern_regex_characters_are_literal() -> None:
    assert matches_pattern("/v1/(a)+", "/v1/(a)+")
    assert not matches_pattern("/v1/(a)+", "/v1/aa")


@pytest.mark.parametrize(
    ("cidrs", "host", "allowed"),
    [
        ([], "203.0.113.9", True),
        ([], None, True),
        (["203.0.113.0/24"], "203.0.113.9", True),
        (["203.0.113.0/24"], "203.0.114.9", False),
        (["203.0.113.0/24", "10.0.0.0/8"], "10.1.2.3", True),
        (["203.0.113.7/32"], "203.0.113.7", True),
        (["10.0.0.1/8"], "10.9.9.9", True),  # host bits tolerated
        (["2001:db8::/32"], "2001:db8::1", True),
        (["2001:db8::/32"], "2001:db9::1", False),
        (["203.0.113.0/24"], "::ffff:203.0.113.9", True),  # IPv4-mapped
        (["203.0.113.0/24"], "2001:db8::1", False),
        (["203.0.113.0/24"], None, False),
        (["203.0.113.0/24"], "testclient", False),
    ],
)
def test_ip_allowed(cidrs: list[str], host: str | None, allowed: bool) -> None:
    assert ip_allowed(parse_cidrs(cidrs), host) is allowed


def test_parse_cidrs_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="does not appear"):
        parse_cidrs(["not-a-network"])


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.1", False),
        ("2001:db8::1", False),
        (None, False),
        ("localhost", False),
    ],
)
def test_is_loopback(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_is_expired() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert not is_expired(None, now)
    assert not is_expired(now + timedelta(seconds=1), now)
    assert is_expired(now, now)
    assert is_expired(now - timedelta(days=1), now)


class TestGcra:
    def test_strict_pacing_at_60_per_minute(self) -> None:
        first = gcra(None, 100.0, requests_per_minute=60)
        assert first.allowed
        assert first.tat == 101.0
        early = gcra(first.tat, 100.5, requests_per_minute=60)
        assert not early.allowed
        assert early.retry_after == 1
        assert early.tat == first.tat  # a refusal consumes nothing
        on_time = gcra(first.tat, 101.0, requests_per_minute=60)
        assert on_time.allowed
        assert on_time.tat == 102.0

    def test_retry_after_is_rounded_up(self) -> None:
        # 7.5 rpm: one request every 8 s.
        first = gcra(None, 0.0, requests_per_minute=7.5)
        refused = gcra(first.tat, 0.1, requests_per_minute=7.5)
        assert refused.retry_after == 8  # 7.9 s rounded up
        refused = gcra(first.tat, 7.99, requests_per_minute=7.5)
        assert refused.retry_after == 1  # never 0

    def test_idle_time_does_not_accumulate_credit_with_burst_1(self) -> None:
        tat = gcra(None, 0.0, requests_per_minute=60).tat
        later = gcra(tat, 50.0, requests_per_minute=60)
        assert later.allowed
        assert not gcra(later.tat, 50.0, requests_per_minute=60).allowed

    def test_burst_allows_back_to_back_requests(self) -> None:
        tat = None
        for _ in range(3):
            decision = gcra(tat, 0.0, requests_per_minute=60, burst=3)
            assert decision.allowed
            tat = decision.tat
        refused = gcra(tat, 0.0, requests_per_minute=60, burst=3)
        assert not refused.allowed
        assert refused.retry_after == 1
        assert gcra(tat, 1.0, requests_per_minute=60, burst=3).allowed

    def test_tolerance_forgives_jitter(self) -> None:
        tat = gcra(None, 0.0, requests_per_minute=60).tat
        assert not gcra(tat, 0.98, requests_per_minute=60).allowed
        assert gcra(tat, 0.98, requests_per_minute=60, tolerance=0.05).allowed

    def test_exact_pacing_never_refused_despite_float_rounding(self) -> None:
        interval = 60 / 7
        tat, now = None, 0.0
        for _ in range(1000):
            decision = gcra(tat, now, requests_per_minute=7)
            assert decision.allowed
            tat, now = decision.tat, now + interval


def test_many_stars_match_in_linear_time() -> None:
    # A backtracking regex takes ages on this; the segment scan is immediate.
    pattern = "/" + "*a" * 40 + "*b"
    assert not matches_pattern(pattern, "/" + "a" * 20_000)
    assert matches_pattern(pattern, "/" + "a" * 20_000 + "b")
    assert not scope_allows([f"GET:{pattern}"], "GET", "/" + "a" * 20_000)


def _reference(pattern: str, text: str) -> bool:
    import re

    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), text, re.DOTALL) is not None


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=500, deadline=None)
@given(st.text("ab*/", max_size=8), st.text("ab/", max_size=10))
def test_matches_pattern_agrees_with_the_regex_definition(pattern: str, text: str) -> None:
    assert matches_pattern(pattern, text) is _reference(pattern, text)
