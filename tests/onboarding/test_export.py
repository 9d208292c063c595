"""`export()`: the live account as a spec that plans nothing, in every format."""

from __future__ import annotations

import pytest

from clubsmtp_async import ValidationError
from clubsmtp_async.onboarding import dump_tenant, export, parse_tenant, plan

from .conftest import fast_emulator

pytestmark = pytest.mark.anyio

SEED = {"domains": [
    {"name": "acme.example", "mailboxes": [
        {"local_part": "alice", "storage_gb": 7, "whitelist": ["*@a.example", "*@b.example"]},
        {"local_part": "bob", "enabled": False, "blacklist": ["spam@x.example"]},
    ], "aliases": [{"local_part": "info", "forward_to": ["alice", "bob"]}]},
    {"name": "beta.example", "mailboxes": [{"local_part": "carol"}]},
]}


async def test_export_declares_everything_and_replans_empty() -> None:
    emulator = fast_emulator(allow_cross_domain_aliases=True)
    emulator.seed(SEED)
    async with emulator.client(requests_per_minute=None) as client:
        acme = next(d for d in await client.domains.list() if d.name == "beta.example")
        carol = (await client.mailboxes.list(acme.uuid))[0]
        alice = next(m for m in await client.mailboxes.list() if m.address.startswith("alice"))
        await client.aliases.create(domain_uuid=acme.uuid, local_part="x",
                                    mailbox_uuids=[carol.uuid, alice.uuid])
        emulator.stats.reset()
        spec = await export(client)
        assert emulator.stats.total == 3 + 2 * 3  # both lists of each of the 3 mailboxes
        acme_spec = spec.domains[0]
        assert acme_spec.name == "acme.example"
        assert [(m.local_part, m.storage_gb, m.enabled, m.whitelist, m.blacklist)
                for m in acme_spec.mailboxes] == [
            ("alice", 7, True, ("*@a.example", "*@b.example"), ()),
            ("bob", 10, False, (), ("spam@x.example",)),
        ]
        assert spec.domains[1].aliases[0].forward_to == ("carol", "alice@acme.example")
        for fmt in ("toml", "yaml", "json"):
            again = parse_tenant(dump_tenant(spec, fmt), fmt)
            assert again == spec
            p = await plan(client, again, prune=True, prune_domains=True)
            assert not p.has_changes, p.actions
        only = await export(client, domains=["BETA.example"])
        assert [d.name for d in only.domains] == ["beta.example"]
        with pytest.raises(ValidationError, match=r"not on the account: nope\.example"):
            await export(client, domains=["nope.example"])


async def test_an_alias_left_with_no_target_is_left_out() -> None:
    emulator = fast_emulator()
    emulator.seed({"domains": [{"name": "a.example", "mailboxes": [{"local_part": "m"}],
                                "aliases": [{"local_part": "al", "forward_to": ["m"]}]}]})
    async with emulator.client(requests_per_minute=None) as client:
        mailbox = (await client.mailboxes.list())[0]
        await client.mailboxes.delete(mailbox.uuid)
        spec = await export(client)
        assert spec.domains[0].aliases == ()
        assert not (await plan(client, spec)).has_changes


def test_dump_refuses_an_unknown_format() -> None:
    with pytest.raises(ValidationError, match="unknown format"):
        dump_tenant(parse_tenant('[[domains]]\nname = "a.example"\n', "toml"), "xml")
