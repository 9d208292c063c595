"""Admission checks of /v1: HTTPS, keys, expiry, CIDR, scopes, rate limit, and their order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clubsmtp_async.testing import Emulator, FakeClock

from .conftest import KEY, http_client
from .test_app import error, ok

pytestmark = pytest.mark.anyio

REMOTE = "203.0.113.9"


@pytest.fixture
def strict(clock: FakeClock) -> Emulator:
    """An emulator with the API's default rate: 60 requests/min, burst 1."""
    return Emulator(clock=clock, api_keys=[KEY])


class TestHttps:
    async def test_plain_http_from_loopback_is_accepted(self, strict: Emulator) -> None:
        for address in ("127.0.0.1", "127.1.2.3", "::1"):
            strict.keys.reset_buckets()
            async with http_client(strict, address=address) as http:
                ok(await http.get("/v1/ping"))

    async def test_plain_http_from_elsewhere_is_refused(self, strict: Emulator) -> None:
        async with http_client(strict, address=REMOTE) as http:
            message = error(await http.get("/v1/ping"), 403, "security_error")
        assert message == "HTTPS required."

    async def test_https_from_elsewhere_is_accepted(self, strict: Emulator) -> None:
        async with http_client(strict, address=REMOTE, scheme="https") as http:
            ok(await http.get("/v1/ping"))

    async def test_https_check_comes_before_auth(self, strict: Emulator) -> None:
        async with http_client(strict, None, address=REMOTE) as http:
            error(await http.get("/v1/ping"), 403, "security_error")


class TestAuth:
    @pytest.mark.parametrize(
        ("header", "message"),
        [
            (None, "Missing API key"),
            ("Bearer", "Missing API key"),
            ("Basic abc", "Missing API key"),
            ("Bearer sk_test_unknown", "Invalid API key."),
            (f"bearer {KEY}", None),
        ],
    )
    async def test_bearer_header(self, strict: Emulator, header: str | None, message: str) -> None:
        async with http_client(strict, None) as http:
            headers = {} if header is None else {"Authorization": header}
            response = await http.get("/v1/ping", headers=headers)
        if message is None:
            ok(response)
        else:
            assert error(response, 401, "auth_error").startswith(message)

    async def test_expiry(self, strict: Emulator, clock: FakeClock) -> None:
        key = strict.create_key(expires_in=10).token
        async with http_client(strict, key) as http:
            ok(await http.get("/v1/ping"))
            clock.advance(10)
            assert error(await http.get("/v1/ping"), 401, "auth_error") == "API key has expired."
            clock.advance(3600)
            error(await http.get("/v1/ping"), 401, "auth_error")

    async def test_expires_at(self, strict: Emulator, clock: FakeClock) -> None:
        key = strict.create_key(expires_at=clock.utcnow() - timedelta(seconds=1)).token
        async with http_client(strict, key) as http:
            error(await http.get("/v1/ping"), 401, "auth_error")

    def test_invalid_key_definitions(self, strict: Emulator) -> None:
        with pytest.raises(ValueError, match="sk_test_"):
            strict.create_key("pk_test_abc")
        with pytest.raises(ValueError, match="invalid scope"):
            strict.create_key(scopes=["domains"])
        with pytest.raises(ValueError, match="does not appear"):
            strict.create_key(cidrs=["nowhere"])
        with pytest.raises(ValueError, match="positive"):
            strict.create_key(requests_per_minute=-1)

    def test_generated_keys_look_real(self, strict: Emulator) -> None:
        test_key, live_key = strict.create_key().token, strict.create_key(live=True).token
        assert test_key.startswith("sk_test_")
        assert len(test_key) == len("sk_test_") + 72
        assert live_key.startswith("sk_live_")
        assert test_key not in repr(strict.keys.get(test_key))


class TestCidrAndScopes:
    async def test_cidr(self, strict: Emulator) -> None:
        key = strict.create_key(cidrs=["203.0.113.0/24"]).token
        async with http_client(strict, key, address=REMOTE, scheme="https") as http:
            ok(await http.get("/v1/ping"))
        async with http_client(strict, key, address="198.51.100.1", scheme="https") as http:
            message = error(await http.get("/v1/ping"), 403, "security_error")
        assert message == "IP address 198.51.100.1 is not allowed."
        async with http_client(strict, key) as http:  # loopback is not in the block either
            error(await http.get("/v1/ping"), 403, "security_error")

    async def test_scopes(self, clock: FakeClock) -> None:
        emulator = Emulator(clock=clock, requests_per_minute=6000, burst=100)
        key = emulator.create_key(scopes=["GET:/v1/domains", "*:/v1/mailboxes/*"]).token
        async with http_client(emulator, key) as http:
            ok(await http.get("/v1/domains"))
            message = error(await http.post("/v1/domains", json={}), 403, "security_error")
            assert message == "API key scope does not allow POST /v1/domains."
            error(await http.get("/v1/ping"), 403, "security_error")
            error(await http.get("/v1/mailboxes"), 403, "security_error")
            # In scope, so the request reaches the handler.
            error(await http.get("/v1/mailboxes/x/whitelist"), 400)

    async def test_expired_wins_over_cidr_and_scope(
        self, strict: Emulator, clock: FakeClock
    ) -> None:
        key = strict.create_key(expires_in=1, cidrs=["10.0.0.0/8"], scopes=[]).token
        clock.advance(2)
        async with http_client(strict, key) as http:
            error(await http.get("/v1/ping"), 401, "auth_error")

    async def test_cidr_wins_over_scope(self, strict: Emulator) -> None:
        key = strict.create_key(cidrs=["10.0.0.0/8"], scopes=[]).token
        async with http_client(strict, key) as http:
            assert "IP address" in error(await http.get("/v1/ping"), 403, "security_error")


class TestRateLimit:
    async def test_paces_at_one_request_per_interval(
        self, strict: Emulator, clock: FakeClock
    ) -> None:
        async with http_client(strict) as http:
            ok(await http.get("/v1/ping"))
            clock.advance(0.4)
            response = await http.get("/v1/ping")
            assert error(response, 429, "rate_limit_error").startswith("Too many requests")
            assert response.headers["Retry-After"] == "1"
            clock.advance(0.6)
            ok(await http.get("/v1/ping"))
            clock.advance(1)
            ok(await http.get("/v1/ping"))
        assert strict.stats.rate_limited == 1
        assert strict.stats.accepted[strict.keys.get(KEY).id] == [0.0, 1.0, 2.0]  # type: ignore[union-attr]

    async def test_retry_after_rounds_up(self, clock: FakeClock) -> None:
        emulator = Emulator(clock=clock, api_keys=[KEY], requests_per_minute=7.5)
        async with http_client(emulator) as http:
            ok(await http.get("/v1/ping"))
            clock.advance(0.1)
            assert (await http.get("/v1/ping")).headers["Retry-After"] == "8"

    async def test_buckets_are_per_key(self, strict: Emulator) -> None:
        second = strict.create_key().token
        async with http_client(strict) as http, http_client(strict, second) as http2:
            ok(await http.get("/v1/ping"))
            ok(await http2.get("/v1/ping"))
            error(await http.get("/v1/ping"), 429, "rate_limit_error")

    async def test_rejected_requests_do_not_consume_budget(
        self, strict: Emulator, clock: FakeClock
    ) -> None:
        limited = strict.create_key(scopes=["GET:/v1/ping"]).token
        async with http_client(strict, limited) as http:
            for _ in range(5):
                error(await http.get("/v1/domains"), 403, "security_error")
            ok(await http.get("/v1/ping"))
            clock.advance(0.5)
            for _ in range(5):
                error(await http.get("/v1/ping"), 429, "rate_limit_error")
            clock.advance(0.5)
            ok(await http.get("/v1/ping"))  # 429s did not push the schedule back

    async def test_invalid_requests_do_consume_budget(
        self, strict: Emulator, clock: FakeClock
    ) -> None:
        async with http_client(strict) as http:
            error(await http.post("/v1/domains", json={}), 400)
            error(await http.get("/v1/ping"), 429, "rate_limit_error")

    async def test_tolerance(self, clock: FakeClock) -> None:
        emulator = Emulator(clock=clock, api_keys=[KEY], rate_limit_tolerance=0.05)
        async with http_client(emulator) as http:
            ok(await http.get("/v1/ping"))
            clock.advance(0.97)
            ok(await http.get("/v1/ping"))

    async def test_per_key_rate(self, strict: Emulator, clock: FakeClock) -> None:
        fast = strict.create_key(requests_per_minute=600).token
        async with http_client(strict, fast) as http:
            for _ in range(10):
                ok(await http.get("/v1/ping"))
                clock.advance(0.1)


async def test_stats_count_every_request(strict: Emulator) -> None:
    async with http_client(strict) as http, http_client(strict, None) as anonymous:
        ok(await http.get("/v1/ping"))
        error(await http.get("/v1/ping"), 429, "rate_limit_error")
        error(await anonymous.get("/v1/domains/abc"), 401, "auth_error")
    assert strict.stats.requests == {"GET /v1/ping": 2, "GET /v1/domains/{uuid}": 1}
    assert strict.stats.statuses == {200: 1, 429: 1, 401: 1}
    assert strict.stats.total == 3
