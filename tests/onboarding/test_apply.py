"""`apply()` against the in-process emulator, on asyncio and trio.

Exact results from empty, idempotence, every kind of change, prune, dependency
skips, stale saved plans, injected faults of every kind, interruption, and
passwords that never leak.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
import pytest

from clubsmtp_async import AsyncClient, InvalidRequestError, ValidationError
from clubsmtp_async.onboarding import (
    ApplyProgress,
    ApplyReport,
    Plan,
    PlanError,
    PlanFileError,
    TenantSpec,
    apply,
    load_tenant,
    parse_tenant,
    plan,
)
from clubsmtp_async.testing import Drop, Emulator, ErrorAfter, ErrorBefore, RateLimit

from .conftest import CAROL_PASSWORD, ENV, EXPECTED_STATE, account_state, fast_emulator

pytestmark = pytest.mark.anyio


def tenant(domains: int, mailboxes: int, entries: int, aliases: int) -> TenantSpec:
    """A generated tenant: `mailboxes` per domain, `entries` whitelist entries on each of
    the first mailboxes, `aliases` per domain."""
    lines = []
    for d in range(domains):
        lines.append(f'[[domains]]\nname = "t{d}.example"')
        for m in range(mailboxes):
            wl = [f'"s{e}@w.example"' for e in range(entries)] if m == 0 else []
            lines.append(f'[[domains.mailboxes]]\nlocal_part = "user{m}"\n'
                         f'whitelist = [{", ".join(wl)}]' if wl else
                         f'[[domains.mailboxes]]\nlocal_part = "user{m}"')
        for a in range(aliases):
            lines.append(f'[[domains.aliases]]\nlocal_part = "team{a}"\nforward_to = ["user0"]')
    return parse_tenant("\n".join(lines) + "\n", "toml")


def client_of(emulator: Emulator, **kwargs: Any) -> AsyncClient:
    kwargs.setdefault("requests_per_minute", None)
    client = emulator.client(**kwargs)
    client._retry.backoff_base = 0.001  # retries without long sleeps
    return client


async def test_fresh_tenant_sends_exactly_3_plus_d_m_l_a_requests() -> None:
    emulator = fast_emulator()
    spec = tenant(domains=3, mailboxes=7, entries=4, aliases=2)
    async with client_of(emulator) as client:
        report = await apply(client, spec)
    d, m, l, a = 3, 21, 3 * 4, 3 * 2  # noqa: E741
    assert emulator.stats.total == 3 + d + m + l + a
    assert report.ok
    assert report.counts == {"done": d + m + l + a, "failed": 0, "skipped": 0}
    assert len(report.passwords) == m


async def test_apply_then_apply_again_plans_nothing(tenant_dir: Path) -> None:
    emulator = fast_emulator()
    spec = load_tenant(tenant_dir / "tenant.toml", environ=ENV)
    async with client_of(emulator) as client:
        first = await apply(client, spec, environ=ENV)
        assert first.ok
        assert account_state(emulator) == EXPECTED_STATE
        emulator.stats.reset()
        second = await apply(client, spec, environ=ENV)
    assert not second.plan.has_changes
    assert second.outcomes == []
    # The three lists, then each managed list of an existing mailbox once: alice's
    # whitelist and blacklist, carol's whitelist.
    assert emulator.stats.total == 3 + 3


async def test_passwords_come_from_env_file_or_are_generated_once(tenant_dir: Path) -> None:
    emulator = fast_emulator()
    spec = load_tenant(tenant_dir / "tenant.toml", environ=ENV)
    async with client_of(emulator) as client:
        report = await apply(client, spec, environ=ENV)
    uuids = {m["address"]: m["uuid"] for m in emulator.snapshot()["mailboxes"]}
    assert emulator.check_password(uuids["bob@acme.example"], ENV["BOB_PASSWORD"])
    assert emulator.check_password(uuids["carol@acme.example"], CAROL_PASSWORD)
    generated = dict(report.passwords.reveal())
    assert set(generated) == {"alice@acme.example", "dave@beta.example"}
    for address, password in generated.items():
        assert emulator.check_password(uuids[address], password)
        assert len(password) >= 20
    shown = repr(report) + str(report.passwords) + repr(report.to_json())
    assert not any(p in shown for p in [*generated.values(), ENV["BOB_PASSWORD"]])
    with_passwords = report.to_json(include_passwords=True)["passwords"]
    assert {p["address"]: p["password"] for p in with_passwords} == generated


async def test_no_password_is_ever_logged(tenant_dir: Path, caplog: pytest.LogCaptureFixture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    emulator = fast_emulator()
    emulator.faults.add("POST", "/v1/mailboxes", ErrorAfter(), times=2)
    spec = load_tenant(tenant_dir / "tenant.toml", environ=ENV)
    caplog.set_level(logging.DEBUG)
    async with client_of(emulator) as client:
        report = await apply(client, spec, environ=ENV)
    assert report.ok
    secrets = [p for _, p in report.passwords.reveal()] + [ENV["BOB_PASSWORD"], CAROL_PASSWORD]
    assert caplog.records, "the apply logs what it does"
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + str(record.exc_info or "")
        assert not any(secret in text for secret in secrets), record.getMessage()


async def test_on_password_runs_before_the_create_is_sent() -> None:
    emulator = fast_emulator()
    seen: list[tuple[str, str, bool]] = []

    async def remember(address: str, password: str, status: str) -> None:
        exists = any(m.address == address for m in emulator.store.mailboxes.values())
        seen.append((address, status, exists))
        await anyio.lowlevel.checkpoint()

    async with client_of(emulator) as client:
        report = await apply(client, tenant(1, 3, 0, 0), on_password=remember)
    assert sorted(seen) == sorted(
        [(f"user{i}@t0.example", "pending", False) for i in range(3)]
        + [(f"user{i}@t0.example", "created", True) for i in range(3)])
    assert len(report.passwords) == 3
    assert {report.passwords.status(a) for a in report.passwords} == {"created"}


SEEDED = {"domains": [
    {"name": "acme.example", "mailboxes": [
        {"local_part": "alice", "storage_gb": 5, "whitelist": ["*@old.example"]},
        {"local_part": "bob", "enabled": False},
        {"local_part": "stale"},
    ], "aliases": [{"local_part": "info", "forward_to": ["alice"]},
                   {"local_part": "old", "forward_to": ["stale"]}]},
    {"name": "gone.example", "mailboxes": [{"local_part": "zed"}]},
]}

CHANGES = """\
[[domains]]
name = "acme.example"
  [[domains.mailboxes]]
  local_part = "alice"
  storage_gb = 25
  whitelist = ["*@new.example"]
  [[domains.mailboxes]]
  local_part = "bob"
  enabled = true
  [[domains.mailboxes]]
  local_part = "carol"
  [[domains.aliases]]
  local_part = "info"
  forward_to = ["alice", "carol"]
"""


async def test_every_kind_of_change_without_prune_leaves_the_rest() -> None:
    emulator = fast_emulator()
    emulator.seed(SEEDED)
    async with client_of(emulator) as client:
        p = await plan(client, parse_tenant(CHANGES, "toml"))
        assert [a.symbol + " " + a.describe() for a in p.actions] == [
            "+ create mailbox carol@acme.example (password: generated)",
            "~ update mailbox alice@acme.example: storage_gb 5 → 25",
            "~ update mailbox bob@acme.example: enabled false → true",
            "- remove *@old.example from the whitelist of alice@acme.example",
            "+ add *@new.example to the whitelist of alice@acme.example",
            "-/+ replace alias info@acme.example: alice@acme.example → alice@acme.example, "
            "carol@acme.example (delete, then create)",
        ]
        report = await apply(client, p)
        assert report.ok
        assert not (await plan(client, parse_tenant(CHANGES, "toml"))).has_changes
    state = account_state(emulator)
    assert state["domains"] == ["acme.example", "gone.example"]
    assert state["mailboxes"]["alice@acme.example"] == (25, True, ["*@new.example"], [])
    assert state["mailboxes"]["bob@acme.example"][1] is True
    assert "stale@acme.example" in state["mailboxes"]
    assert state["aliases"]["info@acme.example"] == ["alice@acme.example", "carol@acme.example"]
    assert "old@acme.example" in state["aliases"]


async def test_prune_and_the_domain_guard() -> None:
    emulator = fast_emulator()
    emulator.seed(SEEDED)
    spec = parse_tenant(CHANGES, "toml")
    async with client_of(emulator) as client:
        pruned = await apply(client, spec, prune=True)
        assert pruned.ok
        state = account_state(emulator)
        assert sorted(state["mailboxes"]) == ["alice@acme.example", "bob@acme.example",
                                              "carol@acme.example", "zed@gone.example"]
        assert sorted(state["aliases"]) == ["info@acme.example"]
        p = await plan(client, spec, prune=True, prune_domains=True)
        (delete,) = p.actions
        assert delete.describe() == "delete domain gone.example with its 1 mailbox(es) and " \
                                    "0 alias(es)"
        assert (await apply(client, p)).ok
    assert account_state(emulator)["domains"] == ["acme.example"]


async def test_a_failed_domain_skips_only_what_depends_on_it() -> None:
    emulator = fast_emulator()
    emulator.create_key()  # ours: the first key, which client_of() uses
    other = emulator.create_key(account="someone-else")
    async with client_of(emulator, api_key=other.token) as theirs:
        await theirs.domains.create(name="t1.example")
    async with client_of(emulator) as client:
        report = await apply(client, tenant(domains=2, mailboxes=2, entries=1, aliases=1))
    by_status: dict[str, list[str]] = {}
    for outcome in report.outcomes:
        by_status.setdefault(outcome.status, []).append(outcome.action.describe())
    assert by_status["failed"] == ["create domain t1.example"]
    failed = report.failed[0]
    assert isinstance(failed.error, InvalidRequestError)
    assert len(by_status["skipped"]) == 4  # 2 mailboxes, 1 list entry, 1 alias of t1
    assert all("t1.example" in text for text in by_status["skipped"])
    skipped = [o for o in report.outcomes if o.status == "skipped"]
    assert all("depends on 'create domain t1.example'" in (o.reason or "") or
               "depends on 'create mailbox" in (o.reason or "") for o in skipped)
    assert len(by_status["done"]) == 5
    assert not report.ok
    assert set(report.passwords) == {"user0@t0.example", "user1@t0.example"}
    assert report.to_json()["counts"] == {"done": 5, "failed": 1, "skipped": 4}


async def test_a_stale_saved_plan_is_reported_per_action_never_duplicated() -> None:
    emulator = fast_emulator()
    emulator.seed(SEEDED)
    spec = parse_tenant(CHANGES, "toml")
    async with client_of(emulator) as client:
        p = Plan.from_json((await plan(client, spec, prune=True)).to_json())
        # Meanwhile, someone does part of the plan by hand.
        acme = next(d for d in await client.domains.list() if d.name == "acme.example")
        await client.mailboxes.create(domain_uuid=acme.uuid, local_part="carol",
                                      password="made-by-hand-1")
        old = next(a for a in await client.aliases.list() if a.address.startswith("old@"))
        await client.aliases.delete(old.uuid)
        report = await apply(client, p)
        assert report.ok
        stale = {o.action.describe(): o.reason for o in report.outcomes if o.status == "skipped"}
        assert stale == {
            "create mailbox carol@acme.example (password: generated)":
                "already exists (its password was not changed)",
            "delete alias old@acme.example": "already gone",
        }
        assert len(report.passwords) == 0  # carol was not created by this apply
        assert not (await plan(client, spec, prune=True)).has_changes
    assert len(emulator.snapshot()["mailboxes"]) == 4


async def test_saved_plans_are_bound_to_their_server_and_flags() -> None:
    emulator = fast_emulator()
    async with client_of(emulator) as client:
        p = await plan(client, tenant(1, 1, 0, 0))
        with pytest.raises(ValidationError, match="belong to the plan"):
            await apply(client, p, prune=True)
    moved = Plan.from_json(p.to_json().replace(b"http://127.0.0.1", b"https://api.clubsmtp.com"))
    async with client_of(emulator) as client:
        with pytest.raises(PlanFileError, match=r"made against https://api\.clubsmtp\.com"):
            await apply(client, moved)
        with pytest.raises(ValidationError, match="TenantSpec or a Plan"):
            await apply(client, {"domains": []})  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="concurrency"):
            await apply(client, p, concurrency=0)
    assert emulator.stats.total == 3


async def test_an_unusable_password_source_stops_before_anything_is_sent(
    tenant_dir: Path,
) -> None:
    emulator = fast_emulator()
    spec = load_tenant(tenant_dir / "tenant.toml", environ=ENV)
    (tenant_dir / "secrets" / "carol.txt").unlink()
    async with client_of(emulator) as client:
        with pytest.raises(PlanError) as caught:
            await apply(client, spec, environ={})
    assert "BOB_PASSWORD, which is not set" in str(caught.value)
    assert "password file of carol@acme.example cannot be read" in str(caught.value)
    assert emulator.stats.total == 3  # the plan's reads only
    assert emulator.snapshot()["domains"] == []


FAULTS = [
    ("ErrorAfter", lambda: ErrorAfter()),
    ("ErrorBefore", lambda: ErrorBefore()),
    ("DropAfter", lambda: Drop()),
    ("DropBefore", lambda: Drop(after_processing=False)),
    ("RateLimit", lambda: RateLimit(retry_after=0)),
]


@pytest.mark.parametrize(("name", "fault"), FAULTS, ids=[name for name, _ in FAULTS])
async def test_injected_faults_converge_with_no_duplicate(name: str, fault: Any) -> None:
    emulator = fast_emulator()
    for path in ("/v1/domains", "/v1/mailboxes", "/v1/mailboxes/*/whitelist", "/v1/aliases",
                 "/v1/aliases/*", "/v1/mailboxes/*"):
        for method in ("POST", "DELETE", "PATCH"):
            emulator.faults.add(method, path, fault(), times=3)
    spec = tenant(domains=2, mailboxes=5, entries=2, aliases=2)
    rounds = 0
    async with client_of(emulator, max_retries=1) as client:
        while True:
            rounds += 1
            report = await apply(client, spec)
            if report.ok:
                break
            assert rounds < 10, report
        assert not (await plan(client, spec)).has_changes
    state = account_state(emulator)
    assert len(state["mailboxes"]) == 10
    assert len(state["aliases"]) == 4
    assert all(len(state["mailboxes"][f"user0@t{d}.example"][2]) == 2 for d in range(2))
    assert sum(len(m["whitelist"]) for m in emulator.snapshot()["mailboxes"]) == 4


async def test_an_interrupted_apply_converges_when_run_again() -> None:
    emulator = fast_emulator()
    spec = tenant(domains=2, mailboxes=6, entries=3, aliases=2)
    done: list[ApplyProgress] = []

    async with client_of(emulator) as client:
        with anyio.CancelScope() as scope:
            def stop_after_ten(progress: ApplyProgress) -> None:
                done.append(progress)
                if progress.done == 10:
                    scope.cancel()

            await apply(client, spec, on_progress=stop_after_ten)
        assert scope.cancelled_caught
        assert len(done) == 10
        report = await apply(client, spec)
        assert report.ok
        assert len(report.plan.actions) < 2 + 12 + 6 + 4
        assert not (await plan(client, spec)).has_changes
    state = account_state(emulator)
    assert len(state["mailboxes"]) == 12
    assert len(state["aliases"]) == 4


async def test_progress_counts_per_layer() -> None:
    emulator = fast_emulator()
    events: list[ApplyProgress] = []

    async def record(progress: ApplyProgress) -> None:
        events.append(progress)

    async with client_of(emulator) as client:
        report: ApplyReport = await apply(client, tenant(2, 3, 1, 1), on_progress=record)
    assert [e.done for e in events] == list(range(1, 13))
    finals = {e.layer: (e.layer_done, e.layer_total) for e in events}
    assert finals == {"domains": (2, 2), "mailboxes": (6, 6), "lists and aliases": (4, 4)}
    assert report.layer_counts()["mailboxes"] == {"done": 6, "failed": 0, "skipped": 0}
