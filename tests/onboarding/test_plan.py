"""`plan()` against the emulator: the fewest reads, exact actions, and a JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clubsmtp_async import LeakyBucketLimiter
from clubsmtp_async.onboarding import (
    CreateMailbox,
    Plan,
    PlanFileError,
    load_tenant,
    parse_tenant,
    plan,
)
from clubsmtp_async.testing import Emulator

from .conftest import ENV, fast_emulator

pytestmark = pytest.mark.anyio

TWO = """\
[[domains]]
name = "acme.example"
[[domains.mailboxes]]
local_part = "alice"
whitelist = ["*@a.example"]
[[domains.mailboxes]]
local_part = "bob"
storage_gb = 3
"""


def _seeded() -> Emulator:
    emulator = fast_emulator()
    emulator.seed({"domains": [{"name": "acme.example", "mailboxes": [
        {"local_part": "alice", "whitelist": ["*@old.example"]},
        {"local_part": "bob", "storage_gb": 3, "blacklist": ["*@x.example"]},
    ]}]})
    emulator.stats.reset()
    return emulator


async def test_reads_three_lists_plus_only_the_managed_lists_of_existing_mailboxes() -> None:
    emulator = _seeded()
    async with emulator.client(requests_per_minute=None) as client:
        p = await plan(client, parse_tenant(TWO, "toml"))
    assert emulator.stats.requests == {
        "GET /v1/domains": 1, "GET /v1/mailboxes": 1, "GET /v1/aliases": 1,
        "GET /v1/mailboxes/{uuid}/whitelist": 1,
    }
    assert p.read_requests == 4
    assert [a.describe() for a in p.actions] == [
        "remove *@old.example from the whitelist of alice@acme.example",
        "add *@a.example to the whitelist of alice@acme.example",
    ]


async def test_a_no_op_replan_without_managed_lists_sends_three_requests() -> None:
    emulator = _seeded()
    spec = parse_tenant('[[domains]]\nname = "acme.example"\n[[domains.mailboxes]]\n'
                        'local_part = "bob"\nstorage_gb = 3\n', "toml")
    async with emulator.client(requests_per_minute=None) as client:
        p = await plan(client, spec)
    assert not p.has_changes
    assert emulator.stats.total == 3
    assert p.requests == 0


async def test_estimate_uses_the_client_rate(tenant_dir: Path) -> None:
    emulator = fast_emulator()
    spec = load_tenant(tenant_dir / "tenant.toml", environ=ENV)
    async with emulator.client(limiter=LeakyBucketLimiter(6000, burst=100)) as client:
        p = await plan(client, spec)
    # 2 domains, 4 mailboxes, 1 update (bob disabled), 2 list entries, 2 aliases.
    assert p.requests == 11
    assert p.requests_per_minute == 6000
    assert p.estimated_seconds == pytest.approx(11 * 60 / 6000)
    assert p.summary.create == 10
    assert p.summary.update == 1
    assert p.summary.by_action == {"add_list_entry": 2, "create_alias": 2, "create_domain": 2,
                                   "create_mailbox": 4, "update_mailbox": 1}
    assert p.layer_totals() == {"deletions": 0, "domains": 2, "mailboxes": 5,
                                "lists and aliases": 4}
    async with emulator.client(requests_per_minute=None) as client:
        assert (await plan(client, spec)).estimated_seconds is None


async def test_plan_json_round_trip_keeps_every_action_and_no_password(
    tenant_dir: Path, tmp_path: Path
) -> None:
    spec = load_tenant(tenant_dir / "tenant.toml", environ=ENV)
    async with fast_emulator().client(requests_per_minute=None) as client:
        p = await plan(client, spec)
    path = tmp_path / "plan.json"
    p.save(path)
    text = path.read_text()
    assert ENV["BOB_PASSWORD"] not in text
    assert '"password": {\n' in text or '"env": "BOB_PASSWORD"' in text
    loaded = Plan.load(path)
    assert loaded == p
    bob = next(a for a in loaded.actions if isinstance(a, CreateMailbox) and "bob" in a.address)
    assert bob.password is not None
    assert bob.password.env == "BOB_PASSWORD"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: "not json", "not valid JSON"),
        (lambda d: {**d, "format": "terraform"}, "not a saved plan"),
        (lambda d: {**d, "version": 99}, "version 99 is not supported"),
        (lambda d: {**d, "actions": [{"action": "explode"}]}, "damaged plan"),
        (lambda d: {**d, "requests": d["requests"] + 1}, "request count does not match"),
        (lambda d: {**d, "actions": [{**d["actions"][0], "depends_on": [5]}, *d["actions"][1:]]},
         "depends on a later action"),
        (lambda d: {**d, "surprise": 1}, "damaged plan"),
    ],
)
async def test_a_damaged_plan_is_refused(tenant_dir: Path, edit: object, message: str) -> None:
    async with fast_emulator().client(requests_per_minute=None) as client:
        p = await plan(client, load_tenant(tenant_dir / "tenant.toml", environ=ENV))
    data = json.loads(p.to_json())
    edited = edit(data)  # type: ignore[operator]
    raw = edited if isinstance(edited, str) else json.dumps(edited)
    with pytest.raises(PlanFileError, match=message):
        Plan.from_json(raw)


async def test_a_plan_edited_to_hide_what_it_does_is_refused() -> None:
    emulator = _seeded()
    async with emulator.client(requests_per_minute=None) as client:
        p = await plan(client, parse_tenant('[[domains]]\nname = "new.example"\n', "toml"),
                       prune_domains=True)
    data = json.loads(p.to_json())
    assert data["summary"]["delete"] == 1
    data["summary"]["delete"] = 0
    with pytest.raises(PlanFileError, match="the summary does not match"):
        Plan.from_json(json.dumps(data))


async def test_a_plan_whose_action_misses_a_uuid_is_refused(tenant_dir: Path) -> None:
    async with fast_emulator().client(requests_per_minute=None) as client:
        p = await plan(client, load_tenant(tenant_dir / "tenant.toml", environ=ENV))
    data = json.loads(p.to_json())
    create = next(a for a in data["actions"] if a["action"] == "create_mailbox")
    create["depends_on"] = []
    with pytest.raises(PlanFileError, match=r"needs acme\.example, which no action it depends on"):
        Plan.from_json(json.dumps(data))


async def test_pruning_domains_with_an_empty_spec_is_refused() -> None:
    from clubsmtp_async.onboarding import PlanError, TenantSpec

    emulator = _seeded()
    async with emulator.client(requests_per_minute=None) as client:
        with pytest.raises(PlanError, match="would delete every domain"):
            await plan(client, TenantSpec(), prune_domains=True)
        assert not (await plan(client, TenantSpec())).has_changes


def test_a_plan_nested_too_deeply_is_a_plan_file_error() -> None:
    with pytest.raises(PlanFileError, match="nested too deeply"):
        Plan.from_json('{"format": "clubsmtp-plan", "x": ' + "[" * 5_000 + "]" * 5_000 + "}")
