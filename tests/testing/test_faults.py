"""Fault injection: rules, reproducibility, each reaction in process and over sockets."""

from __future__ import annotations

import httpx
import pytest
from http_library import lib

from clubsmtp_async.testing import (
    ConnectionDropped,
    Drop,
    Emulator,
    ErrorAfter,
    ErrorBefore,
    FakeClock,
    FaultInjector,
    Latency,
    RateLimit,
    serve,
)

from .conftest import KEY, http_client
from .test_app import error, ok

pytestmark = pytest.mark.anyio

DOMAIN = {"name": "example.com"}


class TestInjector:
    def test_times_expire_the_rule(self) -> None:
        injector = FaultInjector(seed=1)
        rule = injector.add("POST", "/v1/domains", ErrorBefore(), times=2)
        assert rule.id == "fault_1"
        outcomes = [injector.plan("POST", "/v1/domains").outcome for _ in range(3)]
        assert outcomes == [ErrorBefore(), ErrorBefore(), None]
        assert injector.rules == []
        assert rule.fired == 2

    def test_matcher(self) -> None:
        injector = FaultInjector()
        injector.add("*", "/v1/mailboxes/*", Drop())
        assert injector.plan("GET", "/v1/mailboxes").outcome is None
        assert injector.plan("POST", "/v1/domains").outcome is None
        assert injector.plan("delete", "/v1/mailboxes/x/whitelist/y").outcome == Drop()

    def test_probability_is_reproducible(self) -> None:
        def run(seed: int) -> list[bool]:
            injector = FaultInjector(seed=seed)
            injector.add("GET", "*", ErrorBefore(), probability=0.3)
            return [injector.plan("GET", "/v1/ping").outcome is not None for _ in range(200)]

        first = run(5)
        assert first == run(5)
        assert first != run(6)
        assert 30 < sum(first) < 90

    def test_reseed_restarts_the_sequence(self) -> None:
        injector = FaultInjector(seed=3)
        injector.add("GET", "*", Latency(0.0, 1.0))
        first = [injector.plan("GET", "/").latency for _ in range(5)]
        injector.reseed(3)
        assert [injector.plan("GET", "/").latency for _ in range(5)] == first
        assert all(0.0 <= value <= 1.0 for value in first)

    def test_latencies_add_up_and_one_outcome_wins(self) -> None:
        injector = FaultInjector()
        injector.add("GET", "*", Latency(0.5))
        first = injector.add("GET", "*", ErrorBefore(status=503), times=1)
        second = injector.add("GET", "*", RateLimit(), times=1)
        injector.add("GET", "*", Latency(0.25))
        plan = injector.plan("GET", "/v1/ping")
        assert plan.latency == 0.75
        assert plan.outcome == ErrorBefore(status=503)
        assert plan.fired == ["fault_1", "fault_2", "fault_4"]
        assert second.fired == 0  # not consumed while an earlier outcome fired
        assert first.fired == 1
        assert injector.plan("GET", "/v1/ping").outcome == RateLimit()

    def test_remove_and_clear(self) -> None:
        injector = FaultInjector()
        rule = injector.add("GET", "*", Drop())
        injector.add("GET", "*", Drop())
        assert injector.remove(rule.id)
        assert not injector.remove(rule.id)
        injector.clear()
        assert injector.rules == []

    @pytest.mark.parametrize(
        "kwargs",
        [{"times": 0}, {"probability": 1.5}, {"probability": -0.1}],
    )
    def test_invalid_rules(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(ValueError, match="must"):
            FaultInjector().add("GET", "*", Drop(), **kwargs)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "reaction",
        [
            lambda: Latency(-1),
            lambda: Latency(2, 1),
            lambda: ErrorBefore(status=200),
            lambda: RateLimit(-1),
        ],
    )
    def test_invalid_reactions(self, reaction: object) -> None:
        with pytest.raises(ValueError, match=r"latency|status|retry_after"):
            reaction()  # type: ignore[operator]

    def test_json_form(self) -> None:
        injector = FaultInjector()
        rule = injector.add_json(
            {
                "method": "post",
                "path": "/v1/domains",
                "kind": "error_after",
                "status": 502,
                "times": 1,
            }
        )
        assert rule.reaction == ErrorAfter(status=502)
        assert rule.to_json()["kind"] == "error_after"
        assert rule.to_json()["status"] == 502
        with pytest.raises(ValueError, match="invalid fault rule"):
            injector.add_json({"kind": "explode"})
        with pytest.raises(ValueError, match="invalid fault rule"):
            injector.add_json({"kind": "drop", "bogus": 1})


class TestInProcess:
    async def test_error_before_does_not_process(self, emulator: Emulator) -> None:
        emulator.faults.add("POST", "/v1/domains", ErrorBefore(), times=1)
        async with http_client(emulator) as http:
            message = error(await http.post("/v1/domains", json=DOMAIN), 500, "api_error")
            assert message == "Internal server error."
            assert ok(await http.get("/v1/domains"))["data"] == []
            ok(await http.post("/v1/domains", json=DOMAIN))  # the rule expired

    async def test_error_before_with_raw_body(self, emulator: Emulator) -> None:
        emulator.faults.add("GET", "*", ErrorBefore(status=502, body="<html>Bad gateway</html>"))
        async with http_client(emulator) as http:
            response = await http.get("/v1/ping")
        assert response.status_code == 502
        assert response.text == "<html>Bad gateway</html>"
        assert response.headers["content-type"].startswith("text/html")

    async def test_error_after_processes(self, emulator: Emulator) -> None:
        emulator.faults.add("POST", "/v1/domains", ErrorAfter(), times=1)
        async with http_client(emulator) as http:
            error(await http.post("/v1/domains", json=DOMAIN), 500, "api_error")
            [domain] = ok(await http.get("/v1/domains"))["data"]
            assert domain["name"] == "example.com"
            assert "already exists" in error(await http.post("/v1/domains", json=DOMAIN))

    async def test_forced_rate_limit(self, emulator: Emulator) -> None:
        emulator.faults.add("GET", "/v1/ping", RateLimit(retry_after=7), times=1)
        async with http_client(emulator) as http:
            response = await http.get("/v1/ping")
            assert response.headers["Retry-After"] == "7"
            error(response, 429, "rate_limit_error")
            ok(await http.get("/v1/ping"))
        assert emulator.stats.rate_limited == 1

    async def test_drop_in_process_raises_remote_protocol_error(self, emulator: Emulator) -> None:
        emulator.faults.add("POST", "/v1/domains", Drop(), times=1)
        async with http_client(emulator) as http:
            with pytest.raises(lib.RemoteProtocolError) as caught:
                await http.post("/v1/domains", json=DOMAIN)
            # httpx sees the app's own error; httpx2 the same class of its own, caused by it.
            dropped = caught.value if lib is httpx else caught.value.__cause__
            assert isinstance(dropped, ConnectionDropped)
            assert len(ok(await http.get("/v1/domains"))["data"]) == 1
        assert emulator.stats.dropped == 1

    async def test_drop_before_processing(self, emulator: Emulator) -> None:
        emulator.faults.add("POST", "/v1/domains", Drop(after_processing=False), times=1)
        async with http_client(emulator) as http:
            with pytest.raises(lib.RemoteProtocolError):
                await http.post("/v1/domains", json=DOMAIN)
            assert ok(await http.get("/v1/domains"))["data"] == []

    async def test_latency_uses_the_emulator_clock(
        self, emulator: Emulator, clock: FakeClock
    ) -> None:
        emulator.faults.add("GET", "/v1/ping", Latency(2.5), times=1)
        async with http_client(emulator) as http:
            ok(await http.get("/v1/ping"))
        assert clock.now() == 2.5

    async def test_faults_apply_after_admission(self, emulator: Emulator) -> None:
        emulator.faults.add("*", "*", ErrorBefore())
        async with http_client(emulator, None) as anonymous:
            error(await anonymous.get("/v1/ping"), 401, "auth_error")
        assert emulator.faults.rules[0].fired == 0


@pytest.mark.slow
class TestOverSockets:
    async def test_drop_closes_the_connection_after_processing(self) -> None:
        emulator = Emulator(api_keys=[KEY], requests_per_minute=6000, burst=100)
        emulator.faults.add("POST", "/v1/domains", Drop(), times=1)
        async with (
            serve(emulator) as server,
            server.http_client(headers={"Authorization": f"Bearer {KEY}"}) as http,
        ):
            ok(await http.get("/v1/ping"))  # a kept-alive connection gets dropped next
            with pytest.raises((lib.RemoteProtocolError, lib.ReadError)):
                await http.post("/v1/domains", json=DOMAIN)
            assert [d["name"] for d in ok(await http.get("/v1/domains"))["data"]] == ["example.com"]
        assert emulator.stats.dropped == 1

    async def test_error_after_and_latency_over_tls(self) -> None:
        emulator = Emulator(api_keys=[KEY], requests_per_minute=6000, burst=100)
        emulator.faults.add("POST", "/v1/domains", ErrorAfter(status=503), times=1)
        emulator.faults.add("GET", "/v1/ping", Latency(0.05), times=1)
        async with (
            serve(emulator, tls=True) as server,
            server.http_client(headers={"Authorization": f"Bearer {KEY}"}) as http,
        ):
            ok(await http.get("/v1/ping"))
            error(await http.post("/v1/domains", json=DOMAIN), 503, "api_error")
            assert len(ok(await http.get("/v1/domains"))["data"]) == 1
