"""The pure diff: exact actions for each kind of change, and properties over random accounts.

`simulate` applies actions to a `LiveAccount` as a server would; the properties
say that applying a plan makes the account match the spec on everything the
spec declares, leaves everything else alone (unless pruned), and that planning
again then plans nothing.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clubsmtp_async.onboarding import (
    Action,
    AddListEntry,
    AliasSpec,
    CreateAlias,
    CreateDomain,
    CreateMailbox,
    DeleteAlias,
    DeleteDomain,
    DeleteMailbox,
    DomainSpec,
    LiveAccount,
    MailboxSpec,
    PlanError,
    RemoveListEntry,
    ReplaceAlias,
    TenantSpec,
    UpdateMailbox,
    check_tenant,
    diff,
)
from clubsmtp_async.onboarding._live import LiveAlias, LiveDomain, LiveEntry, LiveMailbox

_ids = itertools.count(1)


def uid() -> str:
    return f"00000000-0000-7000-8000-{next(_ids):012d}"


def live_account(domains: dict[str, dict[str, Any]]) -> LiveAccount:
    """An account from ``{domain: {"mailboxes": {local: (gb, enabled, wl, bl)},
    "aliases": {local: [targets]}}}``."""
    account = LiveAccount()
    for name, content in domains.items():
        account.domains[name] = LiveDomain(uid(), name)
        for local, (gb, enabled, wl, bl) in content.get("mailboxes", {}).items():
            address = f"{local}@{name}"
            account.mailboxes[address] = LiveMailbox(uid(), address, name, gb, enabled)
            account.lists[(address, "whitelist")] = tuple(LiveEntry(uid(), p) for p in wl)
            account.lists[(address, "blacklist")] = tuple(LiveEntry(uid(), p) for p in bl)
    for name, content in domains.items():
        for local, targets in content.get("aliases", {}).items():
            address = f"{local}@{name}"
            account.aliases[address] = LiveAlias(
                uid(), address, name, account.domains[name].uuid, tuple(targets)
            )
    return account


def simulate(live: LiveAccount, actions: list[Action]) -> LiveAccount:
    """The account after every action succeeded, as the API behaves."""
    account = LiveAccount(dict(live.domains), dict(live.mailboxes), dict(live.aliases),
                          dict(live.lists))

    def drop_mailbox(address: str) -> None:
        del account.mailboxes[address]
        for kind in ("whitelist", "blacklist"):
            account.lists.pop((address, kind), None)
        for key, alias in list(account.aliases.items()):
            if address in alias.forward_to:
                targets = tuple(t for t in alias.forward_to if t != address)
                account.aliases[key] = replace(alias, forward_to=targets)

    for action in actions:
        if isinstance(action, DeleteAlias):
            del account.aliases[action.address]
        elif isinstance(action, DeleteMailbox):
            drop_mailbox(action.address)
        elif isinstance(action, DeleteDomain):
            for m in account.mailboxes_of(action.name):
                drop_mailbox(m.address)
            for a in account.aliases_of(action.name):
                del account.aliases[a.address]
            del account.domains[action.name]
        elif isinstance(action, CreateDomain):
            assert action.name not in account.domains
            account.domains[action.name] = LiveDomain(uid(), action.name)
        elif isinstance(action, CreateMailbox):
            assert action.address not in account.mailboxes
            assert action.address not in account.aliases
            gb = 10 if action.storage_gb is None else action.storage_gb
            account.mailboxes[action.address] = LiveMailbox(uid(), action.address, action.domain,
                                                            gb, True)
            account.lists[(action.address, "whitelist")] = ()
            account.lists[(action.address, "blacklist")] = ()
        elif isinstance(action, UpdateMailbox):
            m = account.mailboxes[action.address]
            account.mailboxes[action.address] = replace(
                m,
                enabled=m.enabled if action.enabled is None else action.enabled,
                storage_gb=m.storage_gb if action.storage_gb is None else action.storage_gb,
            )
        elif isinstance(action, RemoveListEntry):
            key = (action.address, action.list)
            entries = account.lists[key]
            assert any(e.uuid == action.entry_uuid for e in entries)
            account.lists[key] = tuple(e for e in entries if e.uuid != action.entry_uuid)
        elif isinstance(action, AddListEntry):
            key = (action.address, action.list)
            assert all(e.pattern.lower() != action.pattern for e in account.lists[key])
            account.lists[key] = (*account.lists[key], LiveEntry(uid(), action.pattern))
        elif isinstance(action, (CreateAlias, ReplaceAlias)):
            if isinstance(action, CreateAlias):
                assert action.address not in account.aliases
                assert action.address not in account.mailboxes
            targets = tuple(t.address for t in action.forward_to)
            assert all(t in account.mailboxes for t in targets)
            domain = account.domains[action.domain]
            account.aliases[action.address] = LiveAlias(uid(), action.address, action.domain,
                                                        domain.uuid, targets)
        else:  # pragma: no cover
            raise AssertionError(action)
    return account


def spec(domains: dict[str, dict[str, Any]]) -> TenantSpec:
    """A checked spec from ``{domain: {"mailboxes": [MailboxSpec], "aliases": {local: [...]}}}``."""
    return check_tenant(TenantSpec(domains=tuple(
        DomainSpec(
            name=name,
            mailboxes=tuple(content.get("mailboxes", ())),
            aliases=tuple(AliasSpec(local_part=local, forward_to=tuple(targets))
                          for local, targets in content.get("aliases", {}).items()),
        )
        for name, content in domains.items()
    )))


def kinds(actions: list[Action]) -> list[tuple[str, str]]:
    return [(type(a).__name__, a.describe()) for a in actions]


# --- each kind of change ------------------------------------------------------------


def test_empty_account_creates_everything_in_dependency_order() -> None:
    desired = spec({"a.example": {
        "mailboxes": [MailboxSpec(local_part="bob", enabled=False, whitelist=("*@x.example",)),
                      MailboxSpec(local_part="alice", storage_gb=20)],
        "aliases": {"info": ["alice", "bob"]},
    }})
    actions = diff(desired, LiveAccount())
    assert [type(a).__name__ for a in actions] == [
        "CreateDomain", "CreateMailbox", "CreateMailbox", "UpdateMailbox", "AddListEntry",
        "CreateAlias",
    ]
    assert [a.subject for a in actions[1:3]] == ["alice@a.example", "bob@a.example"]
    for index, action in enumerate(actions):
        assert all(dep < index for dep in action.depends_on)
    create_alias = actions[5]
    assert isinstance(create_alias, CreateAlias)
    assert set(create_alias.depends_on) == {0, 1, 2}


def test_matching_account_plans_nothing() -> None:
    live = live_account({"a.example": {
        "mailboxes": {"alice": (20, True, ["*@x.example"], [])},
        "aliases": {"info": ["alice@a.example"]},
    }})
    desired = spec({"a.example": {
        "mailboxes": [MailboxSpec(local_part="alice", storage_gb=20, enabled=True,
                                  whitelist=("*@X.example",), blacklist=())],
        "aliases": {"info": ["alice"]},
    }})
    assert diff(desired, live) == []


def test_updates_and_exact_lists() -> None:
    live = live_account({"a.example": {"mailboxes": {
        "alice": (10, True, ["*@keep.example", "*@drop.example", "*@KEEP.example"],
                  ["x@y.example"]),
    }}})
    desired = spec({"a.example": {"mailboxes": [MailboxSpec(
        local_part="alice", storage_gb=30, enabled=False,
        whitelist=("*@keep.example", "*@new.example"))]}})
    actions = diff(desired, live)
    assert kinds(actions) == [
        ("UpdateMailbox", "update mailbox alice@a.example: enabled true → false, "
                          "storage_gb 10 → 30"),
        ("RemoveListEntry", "remove *@drop.example from the whitelist of alice@a.example"),
        ("RemoveListEntry", "remove *@KEEP.example from the whitelist of alice@a.example"),
        ("AddListEntry", "add *@new.example to the whitelist of alice@a.example"),
    ]
    # The blacklist is not declared: left alone.
    assert all(getattr(a, "list", "whitelist") == "whitelist" for a in actions)


def test_only_what_is_declared_is_managed() -> None:
    live = live_account({"a.example": {
        "mailboxes": {"alice": (50, False, ["w@x.example"], ["b@x.example"]),
                      "other": (10, True, [], [])},
        "aliases": {"old": ["other@a.example"]},
    }, "b.example": {}})
    desired = spec({"a.example": {"mailboxes": [MailboxSpec(local_part="alice")]}})
    assert diff(desired, live) == []


def test_alias_targets_change_means_replace() -> None:
    live = live_account({"a.example": {
        "mailboxes": {"alice": (10, True, [], []), "bob": (10, True, [], [])},
        "aliases": {"info": ["alice@a.example"]},
    }})
    desired = spec({"a.example": {
        "mailboxes": [MailboxSpec(local_part="alice"), MailboxSpec(local_part="bob")],
        "aliases": {"info": ["bob", "alice"]},
    }})
    (action,) = diff(desired, live)
    assert isinstance(action, ReplaceAlias)
    assert action.symbol == "-/+"
    assert action.requests == 2
    assert action.was_forward_to == ("alice@a.example",)
    assert [t.address for t in action.forward_to] == ["bob@a.example", "alice@a.example"]


def test_prune_deletes_undeclared_objects_inside_the_spec_domains_only() -> None:
    live = live_account({
        "a.example": {"mailboxes": {"alice": (10, True, ["x@y.example"], []),
                                    "stale": (10, True, [], [])},
                      "aliases": {"old": ["stale@a.example"], "info": ["alice@a.example",
                                                                       "stale@a.example"]}},
        "other.example": {"mailboxes": {"zed": (10, True, [], [])}},
    })
    desired = spec({"a.example": {"mailboxes": [MailboxSpec(local_part="alice")],
                                  "aliases": {"info": ["alice"]}}})
    actions = diff(desired, live, prune=True)
    assert kinds(actions) == [
        ("DeleteAlias", "delete alias old@a.example"),
        ("DeleteMailbox", "delete mailbox stale@a.example"),
    ]
    # info loses stale as the mailbox is deleted: no replace is needed.
    assert diff(desired, simulate(live, actions), prune=True) == []


def test_prune_domains_is_a_separate_guard_and_shows_the_cascade() -> None:
    live = live_account({
        "a.example": {},
        "gone.example": {"mailboxes": {"m1": (10, True, [], []), "m2": (10, True, [], [])},
                         "aliases": {"al": ["m1@gone.example"]}},
    })
    desired = spec({"a.example": {}})
    assert diff(desired, live, prune=True) == []
    (action,) = diff(desired, live, prune_domains=True)
    assert isinstance(action, DeleteDomain)
    assert action.mailboxes == ("m1@gone.example", "m2@gone.example")
    assert action.aliases == ("al@gone.example",)
    assert "with its 2 mailbox(es) and 1 alias(es)" in action.describe()


def test_address_kind_conflicts_need_prune() -> None:
    live = live_account({"a.example": {"mailboxes": {"info": (10, True, [], []),
                                                     "alice": (10, True, [], [])},
                                       "aliases": {"bob": ["alice@a.example"]}}})
    desired = spec({"a.example": {
        "mailboxes": [MailboxSpec(local_part="alice"), MailboxSpec(local_part="bob")],
        "aliases": {"info": ["alice"]},
    }})
    with pytest.raises(PlanError) as caught:
        diff(desired, live)
    assert len(caught.value.problems) == 2
    assert "bob@a.example is an alias on the account but declared as a mailbox" in str(
        caught.value)
    actions = diff(desired, live, prune=True)
    assert kinds(actions)[:2] == [("DeleteAlias", "delete alias bob@a.example"),
                                  ("DeleteMailbox", "delete mailbox info@a.example")]
    create_bob = next(a for a in actions if isinstance(a, CreateMailbox))
    create_info = next(a for a in actions if isinstance(a, CreateAlias))
    assert 0 in create_bob.depends_on
    assert 1 in create_info.depends_on
    assert diff(desired, simulate(live, actions), prune=True) == []


def test_alias_targets_must_exist_somewhere() -> None:
    live = live_account({"b.example": {"mailboxes": {"zed": (10, True, [], [])}},
                         "c.example": {"mailboxes": {"yan": (10, True, [], [])}}})
    ok = spec({"a.example": {"mailboxes": [MailboxSpec(local_part="alice")],
                             "aliases": {"info": ["alice", "zed@b.example"]}},
               "c.example": {}})
    create = next(a for a in diff(ok, live) if isinstance(a, CreateAlias))
    assert [t.uuid is not None for t in create.forward_to] == [False, True]
    bad = spec({"a.example": {"mailboxes": [MailboxSpec(local_part="alice")],
                              "aliases": {"info": ["alice", "nobody@b.example"],
                                          "team": ["yan@c.example"]}},
                "c.example": {}})
    with pytest.raises(PlanError) as caught:
        diff(bad, live, prune=True, prune_domains=True)
    assert caught.value.problems == [
        "alias info@a.example forwards to nobody@b.example, which is neither declared nor on "
        "the account",
        "alias team@a.example forwards to yan@c.example, which this plan deletes",
    ]


def test_order_is_deterministic_whatever_the_read_order() -> None:
    content = {f"d{i}.example": {"mailboxes": {f"u{j}": (10, True, ["p@x.example"], [])
                                               for j in range(4)}} for i in range(3)}
    desired = spec({name: {"mailboxes": [MailboxSpec(local_part=f"u{j}", storage_gb=2,
                                                     whitelist=("q@x.example",))
                                         for j in reversed(range(5))]}
                    for name in reversed(list(content))})
    live = live_account(content)
    first = diff(desired, live)
    shuffled = LiveAccount(
        dict(random.Random(3).sample(list(live.domains.items()), len(live.domains))),
        dict(random.Random(4).sample(list(live.mailboxes.items()), len(live.mailboxes))),
        dict(live.aliases), dict(live.lists),
    )
    assert diff(desired, shuffled) == first


# --- properties over random accounts and specs ---------------------------------------

DOMAINS = ["a.example", "b.example", "c.example"]
LOCALS = ["u0", "u1", "u2", "u3"]
PATTERNS = ["p0@x.example", "p1@x.example", "P1@x.example", "p2@x.example"]
lists = st.lists(st.sampled_from(PATTERNS), max_size=3)


@st.composite
def live_accounts(draw: st.DrawFn) -> LiveAccount:
    content: dict[str, dict[str, Any]] = {}
    for name in draw(st.lists(st.sampled_from(DOMAINS), unique=True)):
        locals_ = draw(st.lists(st.sampled_from(LOCALS), unique=True))
        split = draw(st.integers(0, len(locals_)))
        mailboxes = {local: (draw(st.integers(1, 3)), draw(st.booleans()), draw(lists),
                             draw(lists)) for local in locals_[:split]}
        content[name] = {"mailboxes": mailboxes, "aliases": {}}
        for local in locals_[split:]:
            choices = [f"{m}@{name}" for m in mailboxes]
            content[name]["aliases"][local] = draw(st.lists(st.sampled_from(choices), unique=True)
                                                   if choices else st.just([]))
    return live_account(content)


@st.composite
def tenant_specs(draw: st.DrawFn, live: LiveAccount) -> TenantSpec:
    content: dict[str, dict[str, Any]] = {}
    for name in draw(st.lists(st.sampled_from(DOMAINS), unique=True)):
        locals_ = draw(st.lists(st.sampled_from(LOCALS), unique=True))
        split = draw(st.integers(0, len(locals_)))
        optional_lists = st.none() | st.lists(st.sampled_from(PATTERNS[:2] + PATTERNS[3:]),
                                              unique=True, max_size=2).map(tuple)
        mailboxes = [MailboxSpec(local_part=local,
                                 storage_gb=draw(st.none() | st.integers(1, 3)),
                                 enabled=draw(st.none() | st.booleans()),
                                 whitelist=draw(optional_lists), blacklist=draw(optional_lists))
                     for local in locals_[:split]]
        elsewhere = [a for a in live.mailboxes if not a.endswith("@" + name)]
        choices = [m.local_part for m in mailboxes] + elsewhere
        aliases = {local: draw(st.lists(st.sampled_from(choices), min_size=1, unique=True))
                   for local in locals_[split:] if choices}
        content[name] = {"mailboxes": mailboxes, "aliases": aliases}
    return spec(content)


def assert_matches(desired: TenantSpec, account: LiveAccount) -> None:
    for domain in desired.domains:
        assert domain.name in account.domains
        for m in domain.mailboxes:
            live = account.mailboxes[f"{m.local_part}@{domain.name}"]
            assert m.storage_gb in (None, live.storage_gb)
            assert m.enabled in (None, live.enabled)
            for kind in ("whitelist", "blacklist"):
                patterns = getattr(m, kind)
                if patterns is not None:
                    got = [e.pattern.lower() for e in account.lists[(live.address, kind)]]
                    assert sorted(got) == sorted(patterns)
        for a in domain.aliases:
            live_alias = account.aliases[f"{a.local_part}@{domain.name}"]
            wanted = {t if "@" in t else f"{t}@{domain.name}" for t in a.forward_to}
            assert set(live_alias.forward_to) == wanted


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), prune=st.booleans(), prune_domains=st.booleans())
def test_applying_a_plan_converges_and_replanning_is_empty(
    data: st.DataObject, prune: bool, prune_domains: bool
) -> None:
    live = data.draw(live_accounts())
    desired = data.draw(tenant_specs(live))
    try:
        actions = diff(desired, live, prune=prune, prune_domains=prune_domains)
    except PlanError as exc:
        problems = exc.problems
    else:
        problems = []
    if problems:  # only the two kinds of conflict may stop a plan
        assert all("prune to replace" in p or "forwards to" in p for p in problems)
        return
    assert diff(desired, live, prune=prune, prune_domains=prune_domains) == actions
    for index, action in enumerate(actions):
        assert all(dep < index for dep in action.depends_on)
    after = simulate(live, actions)
    assert_matches(desired, after)
    assert diff(desired, after, prune=prune, prune_domains=prune_domains) == []
    declared = {d.name for d in desired.domains}
    if not prune_domains:
        assert set(live.domains) <= set(after.domains)
    if not prune:  # nothing undeclared inside the spec's domains was deleted
        for address in live.mailboxes:
            if address.rpartition("@")[2] in declared or not prune_domains:
                assert address in after.mailboxes or address in after.aliases
