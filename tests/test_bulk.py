"""Tests of ``client.bulk``: a fake API on `httpx.MockTransport`, then the emulator.

Every test runs on asyncio and trio. None sleeps on the wall clock to wait for
something: requests are held with events, and the tests wait for the exact
state they need.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import httpx
import pytest
import sniffio

from clubsmtp_async import (
    AsyncClient,
    BulkAborted,
    BulkError,
    BulkOutcome,
    BulkProgress,
    InvalidRequestError,
    MailboxChange,
    NewAlias,
    NewMailbox,
    NotFoundError,
    RateLimitError,
    SenderPattern,
    ServerError,
    ValidationError,
)
from clubsmtp_async._retry import RetryPolicy
from clubsmtp_async.testing import Drop, Emulator, ErrorAfter, ErrorBefore, RateLimit

pytestmark = pytest.mark.anyio

BASE_URL = "https://api.clubsmtp.test"
API_KEY = "sk_live_" + "B" * 72
DOMAIN = "018f1a2b-3c4d-7e5f-a6b7-c8d9e0f1a2b3"
STAMP = "2026-04-21T14:30:00.000000Z"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- A fake API on MockTransport ---------------------------------------------------------


class FakeApi:
    """Mailbox creates and deletes, with in-flight accounting and holds."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[tuple[str, str]] = []
        self.fail: dict[str, int] = {}  # local part -> HTTP status to answer
        self.hold: set[str] = set()  # local parts whose request waits for `release`
        self.release = anyio.Event()
        self.full = anyio.Event()
        self.full_at: int | None = None
        self.mailboxes: dict[str, str] = {}  # address -> uuid

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.full_at is not None and self.in_flight >= self.full_at:
            self.full.set()
        try:
            await anyio.lowlevel.checkpoint()
            return await self._handle(request)
        finally:
            self.in_flight -= 1

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        if request.method == "GET":  # the SDK's lookup after an ambiguous create failure
            data = [_mailbox(uuid, address) for address, uuid in self.mailboxes.items()]
            return httpx.Response(200, json={"data": data, "errors": []})
        if request.method == "DELETE":
            uuid = request.url.path.rsplit("/", 1)[1]
            if uuid not in self.mailboxes.values():
                return _error(400, "Mailbox not found.")
            self.mailboxes = {a: u for a, u in self.mailboxes.items() if u != uuid}
            return httpx.Response(200, json={"success": True, "errors": []})
        body = json.loads(request.content)
        local = body["local_part"].lower()
        if local in self.hold:
            await self.release.wait()
        if local in self.fail:
            return _error(self.fail[local], f"cannot create {local}")
        address = f"{local}@acme.example"
        if address in self.mailboxes:
            return _error(400, "Address already exists.")
        self.mailboxes[address] = uuid = f"uuid-{local}"
        return httpx.Response(200, json={"mailbox": _mailbox(uuid, address), "errors": []})


def _mailbox(uuid: str, address: str, **changes: Any) -> dict[str, Any]:
    return {
        "uuid": uuid, "address": address, "domain_uuid": DOMAIN, "domain": "acme.example",
        "storage_gb": 10, "enabled": True, "created_at": STAMP, "updated_at": STAMP, **changes,
    }


def _error(status: int, message: str) -> httpx.Response:
    kind = {400: "invalid_request_error", 429: "rate_limit_error"}.get(status, "api_error")
    return httpx.Response(status, json={"errors": [{"message": message, "type": kind}]})


@asynccontextmanager
async def mock_client(handler: Any, **options: Any) -> AsyncIterator[AsyncClient]:
    options.setdefault("max_retries", 0)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http, AsyncClient(
        API_KEY, base_url=BASE_URL, requests_per_minute=None, http_client=http, **options
    ) as client:
        yield client


def new(local: str) -> NewMailbox:
    return NewMailbox(domain_uuid=DOMAIN, local_part=local, password="pw")


def names(count: int) -> list[NewMailbox]:
    return [new(f"user{i}") for i in range(count)]


# --- Results, partial failure, validation -------------------------------------------------


async def test_results_in_input_order_with_partial_failures() -> None:
    api = FakeApi()
    api.fail = {"user3": 400, "user7": 500}
    async with mock_client(api) as client:
        result = await client.bulk.create_mailboxes(names(10), concurrency=4)

    assert [m.address for m in result.succeeded] == [
        f"user{i}@acme.example" for i in (0, 1, 2, 4, 5, 6, 8, 9)
    ]
    assert result.succeeded_indices == [0, 1, 2, 4, 5, 6, 8, 9]
    assert [(f.index, f.item.local_part, type(f.error).__name__) for f in result.failed] == [
        (3, "user3", "InvalidRequestError"),
        (7, "user7", "ServerError"),
    ]
    assert not result.ok
    with pytest.raises(BulkError, match=r"2 item\(s\) failed; first: item 3") as caught:
        result.raise_for_failures()
    assert caught.value.failures == result.failed
    assert caught.value.__cause__ is result.failed[0].error


async def test_malformed_items_fail_alone_without_a_request() -> None:
    api = FakeApi()
    items: list[Any] = [new("ok0"), new("bad part"), "not a mailbox", new("ok1"),
                        NewMailbox(domain_uuid=DOMAIN, local_part="x", password="")]
    async with mock_client(api) as client:
        result = await client.bulk.create_mailboxes(items)

    assert result.succeeded_indices == [0, 3]
    assert [f.index for f in result.failed] == [1, 2, 4]
    assert all(isinstance(f.error, ValidationError) for f in result.failed)
    assert len(api.requests) == 2
    assert [m.address for m in result.succeeded] == ["ok0@acme.example", "ok1@acme.example"]


async def test_an_item_of_the_wrong_type_is_reported_without_quoting_it() -> None:
    # A csv.DictReader row instead of a NewMailbox: it holds the password.
    secret = "Row-Pa55word-9"
    row = {"domain_uuid": DOMAIN, "local_part": "alice", "password": secret}
    api = FakeApi()
    async with mock_client(api) as client:
        result = await client.bulk.create_mailboxes([row, new("ok")])
        with pytest.raises(BulkAborted) as aborted:
            await client.bulk.create_mailboxes([row], fail_fast=True)
        stream_outcomes = []
        async with client.bulk.iter_create_mailboxes([row]) as outcomes:
            async for outcome in outcomes:
                stream_outcomes.append(outcome)
    (failure,) = result.failed
    assert str(failure.error) == "expected a NewMailbox, got a dict"
    texts = [str(failure.error), repr(failure), repr(result.failed), str(aborted.value),
             repr(aborted.value.failure), repr(stream_outcomes[0])]
    with pytest.raises(BulkError) as raised:
        result.raise_for_failures()
    texts.append(str(raised.value))
    for text in texts:
        assert secret not in text
    assert "item=<dict>" in repr(failure)
    assert failure.item is row  # the item itself is still there, as given
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    "items", ["acme.example", b"acme.example", None, 42, object()], ids=repr
)
async def test_items_that_are_not_an_iterable_of_items_are_refused_at_once(items: Any) -> None:
    async with mock_client(FakeApi()) as client:
        with pytest.raises(ValidationError, match="items must be a list"):
            await client.bulk.create_domains(items)
        with pytest.raises(ValidationError, match="items must be a list"):
            client.bulk.iter_create_domains(items)


@pytest.mark.parametrize(
    ("option", "message"),
    [({"on_progress": "print"}, "on_progress must be a function"),
     ({"fail_fast": "yes"}, "fail_fast must be True or False"),
     ({"concurrency": 2.5}, "concurrency must be a whole number")],
)
async def test_bad_options_are_refused_at_once(option: dict[str, Any], message: str) -> None:
    async with mock_client(FakeApi()) as client:
        with pytest.raises(ValidationError, match=message):
            await client.bulk.create_mailboxes(names(2), **option)


async def test_sender_pattern_items_of_the_wrong_shape_are_not_quoted() -> None:
    async with mock_client(FakeApi()) as client:
        result = await client.bulk.add_whitelist([{"mailbox_uuid": DOMAIN, "secret": "s3"}])
    (failure,) = result.failed
    assert "got a dict" in str(failure.error)
    assert "s3" not in str(failure.error)


async def test_all_succeeded_and_raise_for_failures_returns_the_result() -> None:
    async with mock_client(FakeApi()) as client:
        result = await client.bulk.create_mailboxes(names(5))
    assert result.ok
    assert result.raise_for_failures() is result
    assert repr(result) == "<BulkResult succeeded=5 failed=0>"


async def test_empty_input() -> None:
    async with mock_client(FakeApi()) as client:
        result = await client.bulk.create_mailboxes([])
        async with client.bulk.iter_create_mailboxes(iter([])) as outcomes:
            streamed = [outcome async for outcome in outcomes]
    assert (result.succeeded, result.failed, streamed) == ([], [], [])


@pytest.mark.parametrize("concurrency", [0, -1, 1.5, True, "8"])
async def test_concurrency_must_be_a_positive_whole_number(concurrency: Any) -> None:
    async with mock_client(FakeApi()) as client:
        with pytest.raises(ValidationError, match="concurrency"):
            await client.bulk.create_mailboxes(names(1), concurrency=concurrency)


async def test_deletes_report_the_uuids_and_not_found_fails() -> None:
    api = FakeApi()
    async with mock_client(api) as client:
        created = await client.bulk.create_mailboxes(names(3))
        uuids = [m.uuid for m in created.succeeded]
        result = await client.bulk.delete_mailboxes([*uuids, "uuid-nobody", "../etc"])

    assert result.succeeded == uuids
    assert isinstance(result.failed[0].error, NotFoundError)
    assert isinstance(result.failed[1].error, ValidationError)
    assert api.mailboxes == {}


async def test_sender_patterns_accept_structs_and_tuples() -> None:
    seen: list[tuple[str, str]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        pattern = json.loads(request.content)["pattern"]
        seen.append((request.url.path, pattern))
        entry = {"uuid": f"e-{len(seen)}", "pattern": pattern, "created_at": STAMP}
        return httpx.Response(200, json={"entry": entry, "errors": []})

    items: list[Any] = [SenderPattern("mb1", "*@a.example"), ("mb2", "*@b.example"),
                        ("mb3",), ("mb4", "has space")]
    async with mock_client(handler) as client:
        white = await client.bulk.add_whitelist(items, concurrency=1)
        black = await client.bulk.add_blacklist(items[:2], concurrency=1)

    assert [e.pattern for e in white.succeeded] == ["*@a.example", "*@b.example"]
    assert [(f.index, type(f.error)) for f in white.failed] == [
        (2, ValidationError), (3, ValidationError)
    ]
    assert black.ok
    assert seen == [
        ("/v1/mailboxes/mb1/whitelist", "*@a.example"),
        ("/v1/mailboxes/mb2/whitelist", "*@b.example"),
        ("/v1/mailboxes/mb1/blacklist", "*@a.example"),
        ("/v1/mailboxes/mb2/blacklist", "*@b.example"),
    ]


# --- Concurrency, laziness, input kinds ------------------------------------------------------


async def test_concurrency_is_capped_and_reached() -> None:
    api = FakeApi()
    api.hold = {f"user{i}" for i in range(50)}
    api.full_at = 8
    async with mock_client(api) as client, anyio.create_task_group() as tg:
        tg.start_soon(partial(client.bulk.create_mailboxes, names(50), concurrency=8))
        await api.full.wait()
        await anyio.wait_all_tasks_blocked()
        assert api.in_flight == 8
        api.release.set()
    assert api.max_in_flight == 8
    assert len(api.mailboxes) == 50


async def test_a_generator_is_pulled_lazily_one_item_per_free_slot() -> None:
    pulled = 0

    def generate() -> Iterator[NewMailbox]:
        nonlocal pulled
        for i in range(1_000):
            pulled += 1
            yield new(f"user{i}")

    read = 0
    async with (
        mock_client(FakeApi()) as client,
        client.bulk.iter_create_mailboxes(generate(), concurrency=5) as outcomes,
    ):
        async for _ in outcomes:
            read += 1
            assert pulled <= read + 5  # never more than `concurrency` ahead of the reader
            await anyio.lowlevel.checkpoint()
    assert read == pulled == 1_000


async def test_async_generator_input_and_streaming_outcomes() -> None:
    async def generate() -> AsyncIterator[NewMailbox]:
        for i in range(20):
            await anyio.lowlevel.checkpoint()
            yield new(f"user{i}" if i != 5 else "bad part")

    async with (
        mock_client(FakeApi()) as client,
        client.bulk.iter_create_mailboxes(generate(), concurrency=3) as outcomes,
    ):
        got = [outcome async for outcome in outcomes]

    assert sorted(o.index for o in got) == list(range(20))
    assert all(isinstance(o, BulkOutcome) for o in got)
    bad = next(o for o in got if not o.ok)
    assert bad.index == 5
    assert bad.result is None
    with pytest.raises(ValidationError):
        bad.unwrap()
    good = next(o for o in got if o.index == 7)
    assert good.unwrap().address == "user7@acme.example"


async def test_a_stream_is_entered_once() -> None:
    async with mock_client(FakeApi()) as client:
        stream = client.bulk.iter_create_mailboxes(names(1))
        async with stream as outcomes:
            assert [o.index async for o in outcomes] == [0]
            assert outcomes.started == 1
        with pytest.raises(RuntimeError, match="only once"):
            await stream.__aenter__()


async def test_bare_async_for_runs_in_batches_with_every_outcome_and_progress() -> None:
    seen: list[BulkProgress] = []
    items = [*names(9), new("bad part")]
    async with mock_client(FakeApi()) as client:
        stream = client.bulk.iter_create_mailboxes(items, concurrency=4, on_progress=seen.append)
        got = [outcome async for outcome in stream]
    assert sorted(o.index for o in got) == list(range(10))
    # Batches of `concurrency`, each finished before the next starts.
    assert [sorted(o.index for o in got[k : k + 4]) for k in (0, 4)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert [o.index for o in got if not o.ok] == [9]
    assert seen[-1] == BulkProgress(10, 10, 1)


async def test_bare_async_for_can_be_left_early_with_nothing_left_running() -> None:
    tasks_before = _tasks()
    api = FakeApi()
    async with mock_client(api) as client:
        async for outcome in client.bulk.iter_create_mailboxes(names(100), concurrency=8):
            if outcome.index == 2:
                break
        assert api.in_flight == 0
        assert len(api.mailboxes) == 8  # the first batch only
        assert (await client.bulk.create_mailboxes(names(3))).failed  # duplicates now
    assert _tasks() <= tasks_before


async def test_bare_async_for_fail_fast_yields_the_batch_then_raises() -> None:
    items = [new("user0"), new("bad part"), *names(20)[2:]]
    got: list[BulkOutcome[Any]] = []

    async def consume(client: AsyncClient) -> None:
        stream = client.bulk.iter_create_mailboxes(items, concurrency=4, fail_fast=True)
        async for outcome in stream:
            got.append(outcome)

    async with mock_client(FakeApi()) as client:
        with pytest.raises(BulkAborted) as caught:
            await consume(client)
    assert caught.value.failure.index == 1
    assert 1 in {o.index for o in got}
    assert max(o.index for o in got) < 4  # no later batch was started


async def test_an_error_of_the_input_iterator_propagates_unwrapped() -> None:
    def generate() -> Iterator[NewMailbox]:
        yield new("user0")
        raise LookupError("the source broke")

    api = FakeApi()
    async with mock_client(api) as client:
        with pytest.raises(LookupError, match="the source broke"):
            await client.bulk.create_mailboxes(generate())
        assert api.in_flight == 0
        assert (await client.bulk.create_mailboxes(names(2))).ok


# --- Same-key ordering ----------------------------------------------------------------------


async def test_duplicates_in_one_batch_fail_deterministically_first_wins() -> None:
    api = FakeApi()
    items = [new("a"), new("b"), new("A"), new("a"), new("c"), new("b")]
    async with mock_client(api) as client:
        result = await client.bulk.create_mailboxes(items, concurrency=6)
    assert result.succeeded_indices == [0, 1, 4]
    assert [f.index for f in result.failed] == [2, 3, 5]
    assert all(isinstance(f.error, InvalidRequestError) for f in result.failed)


async def test_changes_to_one_mailbox_apply_in_input_order() -> None:
    applied: list[dict[str, Any]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        await anyio.lowlevel.checkpoint()
        applied.append(body)
        mailbox = _mailbox("mb1", "a@acme.example", **body)
        return httpx.Response(200, json={"mailbox": mailbox, "errors": []})

    changes = [MailboxChange("mb1", storage_gb=n) for n in range(1, 9)]
    async with mock_client(handler) as client:
        result = await client.bulk.update_mailboxes(
            [*changes, MailboxChange("mb2"), MailboxChange("mb3", storage_gb=0)], concurrency=8
        )
    assert applied[:8] == [{"storage_gb": n} for n in range(1, 9)]
    assert [m.storage_gb for m in result.succeeded] == list(range(1, 9))
    assert [(f.index, type(f.error)) for f in result.failed] == [
        (8, ValidationError), (9, ValidationError)
    ]


# --- Progress -------------------------------------------------------------------------------


async def test_progress_with_a_sized_input() -> None:
    api = FakeApi()
    api.fail = {"user2": 400}
    seen: list[BulkProgress] = []
    async with mock_client(api) as client:
        await client.bulk.create_mailboxes(names(4), on_progress=seen.append)
    assert [(p.done, p.total) for p in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert seen[-1].failed == 1
    assert seen[-1].succeeded == 3


async def test_async_progress_with_an_unsized_input() -> None:
    seen: list[BulkProgress] = []

    async def on_progress(progress: BulkProgress) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append(progress)

    async with mock_client(FakeApi()) as client:
        await client.bulk.create_mailboxes(iter(names(3)), on_progress=on_progress)
    assert seen == [BulkProgress(1, None, 0), BulkProgress(2, None, 0), BulkProgress(3, None, 0)]


async def test_a_failing_progress_callback_stops_the_run() -> None:
    api = FakeApi()

    def on_progress(progress: BulkProgress) -> None:
        if progress.done == 3:
            raise KeyError("progress bar broke")

    async with mock_client(api) as client:
        with pytest.raises(KeyError, match="progress bar broke"):
            await client.bulk.create_mailboxes(names(100), on_progress=on_progress)
        assert api.in_flight == 0


# --- fail_fast ------------------------------------------------------------------------------


async def test_fail_fast_raises_with_an_exact_account() -> None:
    api = FakeApi()
    api.fail = {"user5": 400}
    api.hold = {f"user{i}" for i in range(6, 100)}  # these stay in flight until cancelled
    async with mock_client(api) as client:
        with pytest.raises(BulkAborted) as caught:
            await client.bulk.create_mailboxes(names(100), concurrency=4, fail_fast=True)
        assert api.in_flight == 0
    aborted = caught.value
    assert aborted.failure.index == 5
    assert isinstance(aborted.__cause__, InvalidRequestError)
    assert aborted.result is not None
    assert aborted.result.succeeded_indices == [0, 1, 2, 3, 4]
    assert [f.index for f in aborted.failures] == [5]
    assert [index for index, _ in aborted.unfinished] == list(range(6, aborted.started))
    assert aborted.started <= 5 + 1 + 4
    assert "stopped after item 5 failed" in str(aborted)


async def test_fail_fast_accounts_for_every_started_item_exactly_once() -> None:
    api = FakeApi()
    api.fail = {f"user{i}": 500 for i in range(0, 200, 7)}
    async with mock_client(api) as client:
        with pytest.raises(BulkAborted) as caught:
            await client.bulk.create_mailboxes(names(200), concurrency=16, fail_fast=True)
    aborted = caught.value
    assert aborted.result is not None
    done = aborted.result.succeeded_indices + [f.index for f in aborted.result.failed]
    cancelled = [index for index, _ in aborted.unfinished]
    assert sorted(done + cancelled) == list(range(aborted.started))
    # What the fake server created is exactly what was reported, plus (maybe) cancelled ones.
    created = {f"user{i}@acme.example" for i in aborted.result.succeeded_indices}
    assert created <= set(api.mailboxes) <= created | {f"user{i}@acme.example" for i in cancelled}


async def test_fail_fast_streaming_yields_finished_outcomes_then_raises() -> None:
    api = FakeApi()
    api.fail = {"user2": 400}
    api.hold = {f"user{i}" for i in range(3, 10)}
    got: list[int] = []

    async def consume(client: AsyncClient) -> None:
        stream = client.bulk.iter_create_mailboxes(names(10), concurrency=3, fail_fast=True)
        async with stream as outcomes:
            async for outcome in outcomes:
                got.append(outcome.index)

    async with mock_client(api) as client:
        with pytest.raises(BulkAborted) as caught:
            await consume(client)
    assert sorted(got) == [0, 1, 2]
    assert caught.value.result is None
    assert [i for i, _ in caught.value.unfinished] == list(range(3, caught.value.started))


async def test_without_fail_fast_one_failure_never_stops_the_batch() -> None:
    api = FakeApi()
    api.fail = {f"user{i}": 500 for i in range(0, 50, 2)}
    async with mock_client(api) as client:
        result = await client.bulk.create_mailboxes(names(50), concurrency=4)
    assert len(result.succeeded) == len(result.failed) == 25


# --- Cancellation and early exit ------------------------------------------------------------


async def test_cancelling_the_caller_leaves_no_task_and_the_client_usable() -> None:
    tasks_before = _tasks()
    api = FakeApi()
    api.hold = {f"user{i}" for i in range(1_000)}
    api.full_at = 16
    async with mock_client(api) as client:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(partial(client.bulk.create_mailboxes, names(1_000), concurrency=16))
                await api.full.wait()
                scope.cancel()
        assert scope.cancelled_caught
        assert api.in_flight == 0
        api.hold = set()
        after = await client.bulk.create_mailboxes(names(3))
        assert after.ok, after.failed
    assert _tasks() <= tasks_before


async def test_breaking_out_of_the_stream_stops_the_rest() -> None:
    tasks_before = _tasks()
    api = FakeApi()
    api.hold = {f"user{i}" for i in range(5, 1_000)}

    async def generate() -> AsyncIterator[NewMailbox]:
        try:
            for i in range(1_000):
                yield new(f"user{i}")
        finally:
            closed.set()

    closed = anyio.Event()
    async with mock_client(api) as client:
        async with client.bulk.iter_create_mailboxes(generate(), concurrency=8) as outcomes:
            async for outcome in outcomes:
                if outcome.index == 2:
                    break
        assert api.in_flight == 0
        assert closed.is_set()  # the async-generator input was closed, in this task
        assert outcomes.started <= 3 + 8
        api.hold = set()
        assert (await client.bulk.delete_mailboxes([f"uuid-user{i}" for i in range(3)])).ok
    assert _tasks() <= tasks_before


async def test_an_exception_in_the_loop_body_propagates_and_cleans_up() -> None:
    api = FakeApi()
    api.hold = {f"user{i}" for i in range(1, 100)}

    async def consume(client: AsyncClient) -> None:
        async with client.bulk.iter_create_mailboxes(names(100)) as outcomes:
            async for _ in outcomes:
                1 / 0  # noqa: B018

    async with mock_client(api) as client:
        with pytest.raises(ZeroDivisionError):
            await consume(client)
        assert api.in_flight == 0


def _tasks() -> set[Any]:
    """The asyncio tasks alive now (trio has no such list: an empty set there)."""
    if sniffio.current_async_library() != "asyncio":
        return set()
    import asyncio

    return set(asyncio.all_tasks())


# --- Against the emulator -------------------------------------------------------------------


@asynccontextmanager
async def emulated(emulator: Emulator, **options: Any) -> AsyncIterator[AsyncClient]:
    retries = options.pop("max_retries", 3)
    async with emulator.client(requests_per_minute=None, **options) as client:
        # Fast, deterministic backoff: the semantics under test do not depend on it.
        client._retry = RetryPolicy(retries, backoff_base=0.001, backoff_max=0.01)
        yield client


def make_emulator(seed: int = 7) -> Emulator:
    return Emulator(seed=seed, requests_per_minute=1_000_000, burst=10_000)


def _addresses(emulator: Emulator) -> list[str]:
    return sorted(m["address"] for m in emulator.snapshot()["mailboxes"])


async def test_emulator_mixed_batch_exact_outcomes_and_state() -> None:
    emulator = make_emulator()
    async with emulated(emulator) as client:
        domain = await client.domains.create(name="acme.example")
        items, expected_ok = _mixed_items(domain.uuid, 300)
        result = await client.bulk.create_mailboxes(items, concurrency=32)

        assert result.succeeded_indices == sorted(expected_ok)
        assert [m.address for m in result.succeeded] == [
            f"{items[i].local_part.lower()}@acme.example" for i in sorted(expected_ok)
        ]
        failed = {f.index: type(f.error) for f in result.failed}
        assert set(failed) == set(range(300)) - expected_ok
        assert {failed[i] for i in range(300) if i % 10 == 3} == {ValidationError}
        assert {failed[i] for i in range(300) if i % 10 == 7 and i >= 150} == {
            InvalidRequestError
        }
        assert _addresses(emulator) == sorted(m.address for m in result.succeeded)


def _mixed_items(domain_uuid: str, count: int) -> tuple[list[NewMailbox], set[int]]:
    """Every 10th+3 item is malformed; every 10th+7 item past the middle repeats an earlier one."""
    items: list[NewMailbox] = []
    ok: set[int] = set()
    for i in range(count):
        if i % 10 == 3:
            local = f"bad user{i}"
        elif i % 10 == 7 and i >= count // 2:
            local = f"USER{i - count // 2}"  # same address, other case
        else:
            local = f"user{i}"
            ok.add(i)
        items.append(NewMailbox(domain_uuid=domain_uuid, local_part=local, password="pw"))
    return items, ok


async def test_emulator_async_generator_of_aliases_and_lists() -> None:
    emulator = make_emulator()
    async with emulated(emulator) as client:
        domain = await client.domains.create(name="acme.example")
        boxes = await client.bulk.create_mailboxes(
            [NewMailbox(domain_uuid=domain.uuid, local_part=f"m{i}", password="pw")
             for i in range(40)]
        )

        async def aliases() -> AsyncIterator[NewAlias]:
            for i, mailbox in enumerate(boxes.succeeded):
                yield NewAlias(domain_uuid=domain.uuid, local_part=f"a{i}",
                               mailbox_uuids=[mailbox.uuid] if i != 9 else [])

        made = await client.bulk.create_aliases(aliases())
        listed = await client.bulk.add_whitelist((m.uuid, "*@ok.example") for m in boxes.succeeded)
        changed = await client.bulk.update_mailboxes(
            MailboxChange(m.uuid, enabled=False) for m in boxes.succeeded[:10]
        )
        gone = await client.bulk.delete_domains([domain.uuid])

    assert (len(made.succeeded), [f.index for f in made.failed]) == (39, [9])
    assert listed.ok
    assert len(listed.succeeded) == 40
    assert changed.ok
    assert not any(m.enabled for m in changed.succeeded)
    assert gone.succeeded == [domain.uuid]
    assert emulator.snapshot() == {"domains": [], "mailboxes": [], "aliases": []}


@pytest.mark.parametrize(
    ("fault", "failure"),
    [
        (ErrorAfter(), None),
        (Drop(after_processing=True), None),
        (ErrorBefore(), ServerError),
        (RateLimit(retry_after=0), RateLimitError),
    ],
    ids=["5xx-after-processing", "dropped-connection", "5xx-before", "429"],
)
async def test_emulator_under_faults_every_item_accounted_once(
    fault: Any, failure: type[Exception] | None
) -> None:
    """What holds whichever requests the faults hit (30 % of the creates, 2 retries).

    Which items run out of retries depends on how the tasks interleave, so the
    test asserts what the SDK guarantees for every draw: each item is reported
    exactly once; the server holds exactly the items reported created, each
    once; a failure is the fault's own error; and a fault *after* the server
    acted never fails an item, since the create is then looked up, not re-sent.
    """
    emulator = make_emulator(seed=11)
    count = 200
    async with emulated(emulator, max_retries=2) as client:
        domain = await client.domains.create(name="acme.example")
        rule = emulator.faults.add("POST", "/v1/mailboxes", fault, probability=0.3)
        items = [NewMailbox(domain_uuid=domain.uuid, local_part=f"u{i}", password="pw")
                 for i in range(count)]
        outcomes: dict[int, BulkOutcome[Any]] = {}
        async with client.bulk.iter_create_mailboxes(items, concurrency=32) as stream:
            async for outcome in stream:
                assert outcome.index not in outcomes  # reported once
                outcomes[outcome.index] = outcome
    assert sorted(outcomes) == list(range(count))
    created = _addresses(emulator)
    assert len(created) == len(set(created))  # never a duplicate
    succeeded = sorted(o.unwrap().address for o in outcomes.values() if o.ok)
    assert created == succeeded  # no success missing, no failure left behind on the server
    for index, outcome in outcomes.items():
        if outcome.ok:
            assert outcome.unwrap().address == f"u{index}@acme.example"
        else:
            assert failure is not None
            assert type(outcome.error) is failure
    if failure is None:
        assert len(succeeded) == count
    # Seeded: the first 200 draws of the emulator's generator include hits, in any order.
    assert rule.fired > 0


async def test_emulator_an_item_out_of_retries_fails_alone() -> None:
    emulator = make_emulator()
    async with emulated(emulator, max_retries=2) as client:
        domain = await client.domains.create(name="acme.example")
        emulator.faults.add("POST", "/v1/mailboxes", ErrorBefore(), times=3)  # 3 attempts
        items = [NewMailbox(domain_uuid=domain.uuid, local_part=f"u{i}", password="pw")
                 for i in range(5)]
        result = await client.bulk.create_mailboxes(items, concurrency=1)
    assert [f.index for f in result.failed] == [0]
    assert isinstance(result.failed[0].error, ServerError)
    assert result.succeeded_indices == [1, 2, 3, 4]
    assert _addresses(emulator) == [f"u{i}@acme.example" for i in range(1, 5)]


async def test_emulator_cancellation_mid_run_then_reconcile() -> None:
    tasks_before = _tasks()
    emulator = make_emulator()
    async with emulated(emulator) as client:
        domain = await client.domains.create(name="acme.example")
        items = [NewMailbox(domain_uuid=domain.uuid, local_part=f"u{i}", password="pw")
                 for i in range(500)]
        reported: list[BulkOutcome[Any]] = []
        with anyio.CancelScope() as scope:
            async with client.bulk.iter_create_mailboxes(items, concurrency=16) as outcomes:
                async for outcome in outcomes:
                    reported.append(outcome)
                    if len(reported) == 100:
                        scope.cancel()
        assert all(o.ok for o in reported)
        # Nothing reported was lost: every reported success exists on the server.
        existing = set(_addresses(emulator))
        assert {o.unwrap().address for o in reported} <= existing
        # The client still works, and a rerun finishes the job; leftovers are duplicates.
        rerun = await client.bulk.create_mailboxes(items)
    assert len(rerun.succeeded) + len(existing) == 500
    assert all(isinstance(f.error, InvalidRequestError) for f in rerun.failed)
    assert _tasks() <= tasks_before


# --- Public surface -------------------------------------------------------------------------


def test_every_operation_has_a_documented_streaming_twin() -> None:
    from clubsmtp_async import Bulk

    collecting = [name for name in vars(Bulk) if not name.startswith(("_", "iter_"))]
    assert sorted(collecting) == [
        "add_blacklist", "add_whitelist", "create_aliases", "create_domains",
        "create_mailboxes", "delete_aliases", "delete_domains", "delete_mailboxes",
        "update_mailboxes",
    ]
    for name in collecting:
        assert getattr(Bulk, name).__doc__
        assert getattr(Bulk, f"iter_{name}").__doc__.startswith("Streaming form:")
