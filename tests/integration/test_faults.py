"""Each fault kind over real sockets (HTTPS): what the SDK does and what the server holds.

Latency is real (the module emulator runs on the system clock): 2 s of latency
against a 0.3 s client timeout. Forced 429s say ``Retry-After: 1``. No test
asserts speed; `tls_server` waits for requests still in flight before the next test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from clubsmtp_async import APITimeoutError, AsyncClient, ServerError
from clubsmtp_async.testing import (
    Drop,
    Emulator,
    ErrorAfter,
    ErrorBefore,
    Latency,
    RateLimit,
    Reaction,
)

from .conftest import KEY

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Create:
    """How to create one object of a kind, and where the server keeps it."""

    method_path: str  # the stats key of the POST
    lookup: str  # the stats key of the natural-key look-up
    create: Callable[[AsyncClient, dict[str, str]], Awaitable[Any]]
    stored: Callable[[Emulator, dict[str, str]], list[Any]]
    natural_key: Callable[[Any], str]


CREATES: dict[str, Create] = {
    "domain": Create(
        "POST /v1/domains", "GET /v1/domains",
        lambda c, ids: c.domains.create(name="New.Example"),
        lambda em, ids: [d for d in em.store.domains.values() if d.name == "new.example"],
        lambda obj: obj.name,
    ),
    "mailbox": Create(
        "POST /v1/mailboxes", "GET /v1/mailboxes",
        lambda c, ids: c.mailboxes.create(domain_uuid=ids["domain"], local_part="Carol",
                                          password="pw", storage_gb=5),
        lambda em, ids: [m for m in em.store.mailboxes.values()
                         if m.address == "carol@example.com"],
        lambda obj: obj.address,
    ),
    "alias": Create(
        "POST /v1/aliases", "GET /v1/aliases",
        # The domain UUID in upper case: the server accepts it and answers in lower case.
        lambda c, ids: c.aliases.create(domain_uuid=ids["domain"].upper(), local_part="Info",
                                        mailbox_uuids=[ids["mailbox"]]),
        lambda em, ids: list(em.store.aliases.values()),
        lambda obj: obj.address,
    ),
    "whitelist entry": Create(
        "POST /v1/mailboxes/{uuid}/whitelist", "GET /v1/mailboxes/{uuid}/whitelist",
        # Mixed case: the server stores patterns lower-cased.
        lambda c, ids: c.mailboxes.whitelist.add(ids["mailbox"], pattern="*@Trusted.COM"),
        lambda em, ids: list(em.store.mailboxes[ids["mailbox"]].whitelist.values()),
        lambda obj: obj.pattern,
    ),
    "blacklist entry": Create(
        "POST /v1/mailboxes/{uuid}/blacklist", "GET /v1/mailboxes/{uuid}/blacklist",
        lambda c, ids: c.mailboxes.blacklist.add(ids["mailbox"], pattern="*@spam.example"),
        lambda em, ids: list(em.store.mailboxes[ids["mailbox"]].blacklist.values()),
        lambda obj: obj.pattern,
    ),
}

POST_PATHS = {
    "domain": "/v1/domains",
    "mailbox": "/v1/mailboxes",
    "alias": "/v1/aliases",
    "whitelist entry": "/v1/mailboxes/*/whitelist",
    "blacklist entry": "/v1/mailboxes/*/blacklist",
}


async def world(emulator: Emulator) -> dict[str, str]:
    seeded = emulator.seed({"domains": [{"name": "example.com",
                                         "mailboxes": [{"local_part": "alice"}]}]})
    return {"domain": seeded["domains"][0]["uuid"], "mailbox": seeded["mailboxes"][0]["uuid"]}


# --- latency -------------------------------------------------------------------------------

async def test_latency_beyond_the_timeout_is_an_api_timeout_error(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    tls_emulator.faults.add("GET", "/v1/ping", Latency(2.0))
    client = make_sdk(timeout=0.3, max_retries=0)
    with pytest.raises(APITimeoutError) as caught:
        await client.ping()
    assert caught.value.request_sent is True
    assert tls_emulator.stats.requests == {"GET /v1/ping": 1}


async def test_a_get_retries_after_a_timeout_and_succeeds(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    ids = await world(tls_emulator)
    tls_emulator.faults.add("GET", "/v1/domains/*", Latency(2.0), times=1)
    client = make_sdk(timeout=0.3, max_retries=2)

    domain = await client.domains.get(ids["domain"])

    assert domain.uuid == ids["domain"]
    assert tls_emulator.stats.requests == {"GET /v1/domains/{uuid}": 2}


async def test_latency_under_the_timeout_is_just_slow(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    tls_emulator.faults.add("*", "*", Latency(0.2))
    client = make_sdk(timeout=5.0, max_retries=0)
    await client.domains.create(name="slow.example")
    assert len(tls_emulator.store.domains) == 1
    assert tls_emulator.stats.requests == {"POST /v1/domains": 1}


# --- 5xx before processing --------------------------------------------------------------------

async def test_a_get_retries_after_a_5xx_and_succeeds(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    await world(tls_emulator)
    tls_emulator.faults.add("GET", "/v1/mailboxes", ErrorBefore(status=503), times=1)
    mailboxes = await make_sdk().mailboxes.list()
    assert [m.address for m in mailboxes] == ["alice@example.com"]
    assert tls_emulator.stats.requests == {"GET /v1/mailboxes": 2}
    assert tls_emulator.stats.statuses == {503: 1, 200: 1}


@pytest.mark.parametrize("kind", list(CREATES))
async def test_a_create_retried_after_a_5xx_before_processing_makes_one_object(
    kind: str, make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    spec = CREATES[kind]
    ids = await world(tls_emulator)
    tls_emulator.faults.add("POST", POST_PATHS[kind], ErrorBefore(), times=1)

    created = await spec.create(make_sdk(), ids)

    [stored] = spec.stored(tls_emulator, ids)
    assert created.uuid == stored.uuid
    stats = tls_emulator.stats.requests
    assert stats[spec.method_path] == 2  # nothing was created: the POST was sent again
    assert stats[spec.lookup] == 1  # ... after looking the object up


# --- 5xx after processing (the ambiguous failure) --------------------------------------------

@pytest.mark.parametrize("kind", list(CREATES))
async def test_a_create_answered_5xx_after_processing_returns_the_one_object(
    kind: str, make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    spec = CREATES[kind]
    ids = await world(tls_emulator)
    tls_emulator.faults.add("POST", POST_PATHS[kind], ErrorAfter(), times=1)

    created = await spec.create(make_sdk(), ids)

    [stored] = spec.stored(tls_emulator, ids)
    assert created.uuid == stored.uuid
    assert spec.natural_key(created) == spec.natural_key(stored)
    stats = tls_emulator.stats.requests
    assert stats[spec.method_path] == 1  # found by the look-up: never sent twice
    assert stats[spec.lookup] == 1


async def test_a_create_failing_after_processing_every_time_still_returns_the_object(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    ids = await world(tls_emulator)
    tls_emulator.faults.add("POST", "/v1/mailboxes", ErrorAfter(status=502))
    mailbox = await make_sdk(max_retries=0).mailboxes.create(
        domain_uuid=ids["domain"], local_part="dave", password="pw"
    )
    assert mailbox.address == "dave@example.com"
    assert mailbox.uuid in tls_emulator.store.mailboxes


async def test_a_create_failing_before_processing_every_time_raises(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    tls_emulator.faults.add("POST", "/v1/domains", ErrorBefore())
    with pytest.raises(ServerError):
        await make_sdk(max_retries=1).domains.create(name="never.example")
    assert tls_emulator.store.domains == {}
    assert tls_emulator.stats.requests["POST /v1/domains"] == 2


async def test_an_update_answered_5xx_after_processing_is_retried(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    ids = await world(tls_emulator)
    tls_emulator.faults.add("PATCH", "/v1/mailboxes/*", ErrorAfter(), times=1)
    mailbox = await make_sdk().mailboxes.update(ids["mailbox"], enabled=False, storage_gb=30)
    assert (mailbox.enabled, mailbox.storage_gb) == (False, 30)
    assert tls_emulator.stats.requests == {"PATCH /v1/mailboxes/{uuid}": 2}


@pytest.mark.parametrize("reaction", [ErrorAfter(), Drop()], ids=["error_after", "drop"])
async def test_a_delete_that_failed_after_processing_succeeds_on_retry(
    reaction: Reaction, make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    ids = await world(tls_emulator)
    tls_emulator.faults.add("DELETE", "/v1/mailboxes/*", reaction, times=1)
    assert await make_sdk().mailboxes.delete(ids["mailbox"]) is None  # 2nd try: "not found"
    assert tls_emulator.store.mailboxes == {}
    assert tls_emulator.stats.requests == {"DELETE /v1/mailboxes/{uuid}": 2}


# --- dropped connections -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(CREATES))
async def test_a_create_whose_connection_dropped_after_processing_returns_the_one_object(
    kind: str, make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    spec = CREATES[kind]
    ids = await world(tls_emulator)
    tls_emulator.faults.add("POST", POST_PATHS[kind], Drop(after_processing=True), times=1)

    created = await spec.create(make_sdk(), ids)

    [stored] = spec.stored(tls_emulator, ids)
    assert created.uuid == stored.uuid
    assert tls_emulator.stats.dropped == 1
    assert tls_emulator.stats.requests[spec.method_path] == 1


async def test_a_create_whose_connection_dropped_before_processing_makes_one_object(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    tls_emulator.faults.add("POST", "/v1/domains", Drop(after_processing=False), times=1)
    domain = await make_sdk().domains.create(name="dropped.example")
    assert list(tls_emulator.store.domains) == [domain.uuid]
    assert tls_emulator.stats.dropped == 1
    assert tls_emulator.stats.requests == {"POST /v1/domains": 2, "GET /v1/domains": 1}


async def test_a_get_retries_after_a_dropped_connection(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    await world(tls_emulator)
    tls_emulator.faults.add("GET", "/v1/domains", Drop(), times=1)
    [domain] = await make_sdk().domains.list()
    assert domain.name == "example.com"
    assert tls_emulator.stats.dropped == 1
    assert tls_emulator.stats.requests == {"GET /v1/domains": 2}


# --- forced 429 ----------------------------------------------------------------------------------

async def test_a_forced_429_is_retried_after_retry_after(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    tls_emulator.faults.add("POST", "/v1/domains", RateLimit(retry_after=1), times=1)
    client = make_sdk(max_retries=1)

    domain = await client.domains.create(name="limited.example")

    assert list(tls_emulator.store.domains) == [domain.uuid]
    assert tls_emulator.stats.rate_limited == 1
    # A 429 is not ambiguous (nothing was done): the POST is simply sent again.
    assert tls_emulator.stats.requests == {"POST /v1/domains": 2}
    # The second attempt came at least Retry-After later (a lower bound, not a speed check).
    key = tls_emulator.keys.get(KEY)
    assert key is not None
    first, second = tls_emulator.stats.accepted[key.id]
    assert second - first >= 1.0 - 0.1


# --- seeded chaos --------------------------------------------------------------------------------

async def test_concurrent_creates_under_random_ambiguous_failures(
    make_sdk: Callable[..., AsyncClient], tls_emulator: Emulator
) -> None:
    ids = await world(tls_emulator)
    tls_emulator.faults.reseed(2026)
    tls_emulator.faults.add("POST", "/v1/mailboxes", ErrorAfter(), probability=0.3)
    tls_emulator.faults.add("POST", "/v1/mailboxes", Drop(), probability=0.3)
    client = make_sdk(max_retries=3)
    names = [f"user{i}" for i in range(20)]

    created = await asyncio.gather(*(
        client.mailboxes.create(domain_uuid=ids["domain"], local_part=name, password="pw")
        for name in names
    ))

    assert [m.address for m in created] == [f"{name}@example.com" for name in names]
    stored = {m.uuid: m.address for m in tls_emulator.store.mailboxes.values()}
    assert len(stored) == 21  # alice and the 20: no duplicate, nothing missing
    assert all(stored[m.uuid] == m.address for m in created)
    assert tls_emulator.stats.requests["POST /v1/mailboxes"] == 20  # none re-sent
    faulted = sum(rule.fired for rule in tls_emulator.faults.rules)
    assert faulted > 0
