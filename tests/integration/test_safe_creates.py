"""Creates and deletes that fail ambiguously, over real sockets: never a duplicate.

Each fault hits the first attempt only. Whatever it was — a 5xx after the
server created the object, a connection dropped after it did, a 5xx or a drop
before it did, a 429 — the call ends with exactly one object on the server and
the SDK returns that object. A DELETE whose first attempt was processed but
never answered succeeds (its retry's "not found" means it is done).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from clubsmtp_async import AsyncClient, ServerError
from clubsmtp_async.testing import (
    Drop,
    Emulator,
    EmulatorServer,
    ErrorAfter,
    ErrorBefore,
    RateLimit,
    Reaction,
    serve,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30), pytest.mark.asyncio(loop_scope="module")]

KEY = "sk_test_" + "safecreate" * 7

FAULTS: dict[str, Reaction] = {
    "5xx-after-processing": ErrorAfter(status=502, message="Bad gateway."),
    "drop-after-processing": Drop(after_processing=True),
    "5xx-before-processing": ErrorBefore(status=503, message="Unavailable."),
    "drop-before-processing": Drop(after_processing=False),
    "429": RateLimit(retry_after=1),
}
PROCESSED = {"5xx-after-processing", "drop-after-processing"}  # the server did act


@dataclass
class World:
    emulator: Emulator
    server: EmulatorServer
    client: AsyncClient
    domain_uuid: str
    mailbox_uuid: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server() -> AsyncIterator[EmulatorServer]:
    """One emulator over a real socket for the module (rate limit out of the way).

    `serve` runs in a task of its own: pytest-asyncio sets a fixture up and tears
    it down in different tasks, and the task group inside `serve` must be exited
    by the task that entered it.
    """
    emulator = Emulator(api_keys=[KEY], requests_per_minute=60_000, burst=1_000)
    ready: asyncio.Future[EmulatorServer] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def hold() -> None:
        async with serve(emulator) as running:
            ready.set_result(running)
            await stop.wait()

    task = asyncio.create_task(hold())
    await asyncio.wait([ready, task], return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        await task  # raises the startup error
    try:
        yield ready.result()
    finally:
        stop.set()
        await task


@pytest_asyncio.fixture(loop_scope="module")
async def world(server: EmulatorServer) -> AsyncIterator[World]:
    """A reset emulator seeded with one domain with one mailbox, and a fresh client."""
    emulator = server.emulator
    emulator.reset()  # objects, statistics, fault rules and buckets; the key stays
    seeded = emulator.seed(
        {"domains": [{"name": "acme.example", "mailboxes": [{"local_part": "alice"}]}]}
    )
    async with AsyncClient(KEY, base_url=server.base_url, requests_per_minute=None) as client:
        yield World(
            emulator, server, client, seeded["domains"][0]["uuid"], seeded["mailboxes"][0]["uuid"]
        )


def objects(world: World, kind: str) -> list[dict[str, Any]]:
    """What the server holds of one kind (whitelist entries of alice's mailbox for lists)."""
    snapshot = world.emulator.snapshot()
    if kind == "whitelist":
        (mailbox,) = (m for m in snapshot["mailboxes"] if m["uuid"] == world.mailbox_uuid)
        return list(mailbox["whitelist"])
    return list(snapshot[kind])


# kind -> (POST path pattern, the create call, how to spot the new object on the server)
Create = Callable[[World], Awaitable[Any]]
CREATES: dict[str, tuple[str, Create, Callable[[dict[str, Any]], bool]]] = {
    "domains": (
        "/v1/domains",
        lambda w: w.client.domains.create(name="new.example"),
        lambda o: o["name"] == "new.example",
    ),
    "mailboxes": (
        "/v1/mailboxes",
        lambda w: w.client.mailboxes.create(
            domain_uuid=w.domain_uuid, local_part="bob", password="pw-123456"
        ),
        lambda o: o["address"] == "bob@acme.example",
    ),
    "aliases": (
        "/v1/aliases",
        lambda w: w.client.aliases.create(
            domain_uuid=w.domain_uuid, local_part="info", mailbox_uuids=[w.mailbox_uuid]
        ),
        lambda o: o["address"] == "info@acme.example",
    ),
    "whitelist": (
        "/v1/mailboxes/*/whitelist",
        lambda w: w.client.mailboxes.whitelist.add(w.mailbox_uuid, pattern="*@trusted.example"),
        lambda o: o["pattern"] == "*@trusted.example",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("kind", list(CREATES))
async def test_a_create_whose_first_attempt_fails_makes_exactly_one_object(
    world: World, kind: str, fault: str
) -> None:
    path, create, is_new = CREATES[kind]
    before = len(objects(world, kind))
    rule = world.emulator.faults.add("POST", path, FAULTS[fault], times=1)

    returned = await create(world)

    assert rule.fired == 1
    after = objects(world, kind)
    new = [o for o in after if is_new(o)]
    assert len(after) == before + 1
    assert len(new) == 1, f"{len(new)} objects after a {fault} on {kind}"
    assert returned.uuid == new[0]["uuid"]  # the SDK returns the object the server holds
    posts = sum(n for route, n in world.emulator.stats.requests.items() if route.startswith("POST"))
    if fault in PROCESSED:
        assert posts == 1  # created by the first attempt: found by lookup, never re-sent
    else:
        assert posts == 2  # not created by the first attempt: looked up (if ambiguous), re-sent


@pytest.mark.parametrize("kind", list(CREATES))
async def test_concurrent_creates_each_failing_once_make_no_duplicates(
    world: World, kind: str
) -> None:
    # Every kind of fault at once, on a batch of distinct creates of one kind.
    path = CREATES[kind][0]
    for reaction in FAULTS.values():
        world.emulator.faults.add("POST", path, reaction, times=2)
    client, domain = world.client, world.domain_uuid
    calls: list[Awaitable[Any]]
    if kind == "domains":
        calls = [client.domains.create(name=f"n{i}.example") for i in range(12)]
    elif kind == "mailboxes":
        calls = [
            client.mailboxes.create(domain_uuid=domain, local_part=f"u{i}", password="pw-123456")
            for i in range(12)
        ]
    elif kind == "aliases":
        calls = [
            client.aliases.create(
                domain_uuid=domain, local_part=f"a{i}", mailbox_uuids=[world.mailbox_uuid]
            )
            for i in range(12)
        ]
    else:
        calls = [
            client.mailboxes.whitelist.add(world.mailbox_uuid, pattern=f"*@s{i}.example")
            for i in range(12)
        ]
    before = len(objects(world, kind))

    returned = await asyncio.gather(*calls)

    assert world.emulator.faults.rules == []  # all ten faults fired (and expired)
    after = objects(world, kind)
    assert len(after) == before + 12
    assert sorted(r.uuid for r in returned) == sorted(o["uuid"] for o in after[before:])


async def _make_target(world: World, kind: str) -> tuple[str, Callable[[], Awaitable[None]]]:
    """Create one object of `kind`; return its DELETE path pattern and its delete call."""
    client = world.client
    if kind == "domains":
        domain = await client.domains.create(name="gone.example")
        return "/v1/domains/*", lambda: client.domains.delete(domain.uuid)
    if kind == "mailboxes":
        mailbox = await client.mailboxes.create(
            domain_uuid=world.domain_uuid, local_part="gone", password="pw-123456"
        )
        return "/v1/mailboxes/*", lambda: client.mailboxes.delete(mailbox.uuid)
    if kind == "aliases":
        alias = await client.aliases.create(
            domain_uuid=world.domain_uuid, local_part="gone", mailbox_uuids=[world.mailbox_uuid]
        )
        return "/v1/aliases/*", lambda: client.aliases.delete(alias.uuid)
    entry = await client.mailboxes.whitelist.add(world.mailbox_uuid, pattern="*@gone.example")
    return (
        "/v1/mailboxes/*/whitelist/*",
        lambda: client.mailboxes.whitelist.remove(world.mailbox_uuid, entry.uuid),
    )


@pytest.mark.parametrize(
    "fault", ["drop-after-processing", "5xx-after-processing", "drop-before-processing"]
)
@pytest.mark.parametrize("kind", list(CREATES))
async def test_a_delete_whose_first_attempt_fails_succeeds(
    world: World, kind: str, fault: str
) -> None:
    path, delete = await _make_target(world, kind)
    before = len(objects(world, kind))
    rule = world.emulator.faults.add("DELETE", path, FAULTS[fault], times=1)

    assert await delete() is None  # no error: the retry's "not found" means it is done

    assert rule.fired == 1
    assert len(objects(world, kind)) == before - 1
    deletes = sum(
        n for route, n in world.emulator.stats.requests.items() if route.startswith("DELETE")
    )
    assert deletes == 2


@pytest.mark.parametrize("kind", list(CREATES))
async def test_a_create_whose_look_up_fails_too_reports_the_create(
    world: World, kind: str
) -> None:
    """The create fails ambiguously, and so does its last look-up: the create's error is raised."""
    path, create, _ = CREATES[kind]
    world.emulator.faults.add("POST", path, ErrorBefore(status=502, message="Bad gateway."))
    lookup = "/v1/mailboxes/*/whitelist" if kind == "whitelist" else f"/v1/{kind.split('/')[0]}"
    world.emulator.faults.add("GET", lookup, ErrorBefore(status=503, message="Unavailable."))
    client = world.client.with_options(max_retries=0)
    world.client = client

    with pytest.raises(ServerError) as caught:
        await create(world)

    assert caught.value.status_code == 502
    assert caught.value.response is not None
    assert caught.value.response.request.method == "POST"
    assert isinstance(caught.value.__context__, ServerError)
    assert caught.value.__context__.status_code == 503
