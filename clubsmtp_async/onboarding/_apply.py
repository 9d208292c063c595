"""`apply()`: execute a plan through the bulk engine, in dependency order, paced by the client.

Every action runs as one item of one `BulkStream`, in plan order: an action
first waits for the actions it depends on, and runs only if each of them ended
*satisfied* (done, or skipped because its goal already held); otherwise it is
skipped, saying which dependency failed. Everything else goes on. Requests go
through the client, so its limiter paces them, its retry policy retries them,
and its safe creates make an ambiguous failure (a 500 after the server acted, a
dropped connection) look the object up instead of creating it twice.

An action whose precondition no longer holds is reported for that action and
never repeated blindly: a create whose object exists is looked up and counted
as satisfied ("already exists"); a delete of an object already gone is
satisfied ("already gone"); an update of a mailbox that is gone is skipped.
That is also why an interrupted apply converges when run again.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from .._bulk_engine import BulkStream, run_options
from .._errors import ClubSMTPError, InvalidRequestError, NotFoundError, ValidationError
from .._models import Alias, ListEntry, NewAlias, NewMailbox
from .._retry import is_ambiguous
from ._actions import (
    Action,
    AddListEntry,
    AliasTarget,
    CreateAlias,
    CreateDomain,
    CreateMailbox,
    DeleteAlias,
    DeleteDomain,
    DeleteMailbox,
    RemoveListEntry,
    ReplaceAlias,
    UpdateMailbox,
)
from ._passwords import GeneratedPasswords, PasswordStatus, resolve_passwords
from ._plan import Plan, plan
from ._report import ActionOutcome, ApplyProgress, ApplyReport, ProgressCallback
from ._spec import TenantSpec

if TYPE_CHECKING:
    from .._client import AsyncClient

__all__ = ["DEFAULT_CONCURRENCY", "PasswordCallback", "apply", "kept_passwords"]

logger = logging.getLogger("clubsmtp_async.onboarding")

DEFAULT_CONCURRENCY = 32
PasswordCallback = Callable[[str, str, PasswordStatus], "Awaitable[None] | None"]
"""``on_password(address, password, status)`` for each generated password: with
``"pending"`` just before its mailbox's create is sent, then with ``"created"`` or
``"not-created"`` once that is known (nothing more if the answer never came). A
plain function or a coroutine function; if the pending call raises, the create
is not sent."""

T = TypeVar("T")


class _Skip(Exception):
    """Ends an action as skipped; `satisfied` says whether its goal holds."""

    def __init__(self, reason: str, *, satisfied: bool, uuid: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.satisfied = satisfied
        self.uuid = uuid


async def _maybe_await(value: Awaitable[None] | None) -> None:
    if inspect.isawaitable(value):
        await value


def _find(items: list[T], match: Callable[[T], bool]) -> T | None:
    return next((item for item in items if match(item)), None)


def _local(address: str) -> str:
    return address.rpartition("@")[0]


class _Executor:
    """The state of one apply: the objects created so far and every outcome."""

    def __init__(self, client: AsyncClient, the_plan: Plan, passwords: Mapping[str, str],
                 on_password: PasswordCallback | None, generated: set[str]) -> None:
        self.client = client
        self.plan = the_plan
        self.passwords = passwords
        self.on_password = on_password
        self.generated = generated
        self.domains: dict[str, str] = {}  # name → UUID of domains this apply made or found
        self.mailboxes: dict[str, str] = {}  # address → UUID, likewise
        self.outcomes: list[ActionOutcome | None] = [None] * len(the_plan.actions)
        self.statuses: dict[str, PasswordStatus] = {}  # of the generated passwords
        self.finished = [anyio.Event() for _ in the_plan.actions]
        self.performers: dict[type[Any], Callable[[Any], Awaitable[str | None]]] = {
            CreateDomain: self.create_domain, DeleteDomain: self.delete_domain,
            CreateMailbox: self.create_mailbox, UpdateMailbox: self.update_mailbox,
            DeleteMailbox: self.delete_mailbox, AddListEntry: self.add_entry,
            RemoveListEntry: self.remove_entry, CreateAlias: self.create_alias,
            ReplaceAlias: self.replace_alias, DeleteAlias: self.delete_alias,
        }

    async def run(self, index: int) -> ActionOutcome:
        """Wait for the action's dependencies, then perform it (or skip it)."""
        action = self.plan.actions[index]
        try:
            for dep in action.depends_on:
                await self.finished[dep].wait()
            outcome = await self._outcome(index, action)
            self.outcomes[index] = outcome
            return outcome
        finally:
            self.finished[index].set()

    async def _outcome(self, index: int, action: Action) -> ActionOutcome:
        for dep in action.depends_on:
            blocker = self.outcomes[dep]
            if blocker is None or not blocker.satisfied:
                return ActionOutcome(index, action, "skipped",
                                     reason=f"depends on '{self.plan.actions[dep].describe()}', "
                                     "which did not succeed")
        try:
            uuid = await self.performers[type(action)](action)
        except _Skip as skip:
            return ActionOutcome(index, action, "skipped", reason=skip.reason,
                                 satisfied=skip.satisfied, uuid=skip.uuid)
        except ClubSMTPError as exc:
            return ActionOutcome(index, action, "failed", error=exc)
        except Exception as exc:  # a bug: reported for this action, the others go on
            logger.exception("onboarding: %s raised unexpectedly", action.describe())
            return ActionOutcome(index, action, "failed", error=exc)
        return ActionOutcome(index, action, "done", satisfied=True, uuid=uuid)

    # --- lookups of what an earlier action made -------------------------------------

    def domain_uuid(self, given: str | None, name: str) -> str:
        return given or self.domains[name]

    def mailbox_uuid(self, given: str | None, address: str) -> str:
        return given or self.mailboxes[address]

    def target_uuids(self, targets: tuple[AliasTarget, ...]) -> list[str]:
        return [self.mailbox_uuid(t.uuid, t.address) for t in targets]

    # --- the performers: each returns the UUID of what it created, if anything -----

    async def create_domain(self, action: CreateDomain) -> str | None:
        try:
            domain = await self.client.domains.create(name=action.name)
        except NotFoundError:
            raise
        except InvalidRequestError:
            found = _find(await self.client.domains.list(), lambda d: d.name.lower() == action.name)
            if found is None:
                raise
            self.domains[action.name] = found.uuid
            raise _Skip("already exists", satisfied=True, uuid=found.uuid) from None
        self.domains[action.name] = domain.uuid
        return domain.uuid

    async def delete_domain(self, action: DeleteDomain) -> str | None:
        await self._delete(self.client.domains.delete(action.uuid))
        return None

    async def _password_status(self, address: str, status: PasswordStatus) -> None:
        """Record (and report) where a generated password stands."""
        if address not in self.generated:
            return
        report = self.on_password
        if status == "pending":  # a failure here means the create is not sent
            if report is not None:
                await _maybe_await(report(address, self.passwords[address], status))
            self.statuses[address] = status
            return
        self.statuses[address] = status
        try:
            if report is not None:
                await _maybe_await(report(address, self.passwords[address], status))
        except ClubSMTPError as exc:  # the pending line already holds the password
            logger.warning("could not record that %s is %s: %s", address, status, exc)

    async def create_mailbox(self, action: CreateMailbox) -> str | None:
        domain_uuid = self.domain_uuid(action.domain_uuid, action.domain)
        address = action.address
        await self._password_status(address, "pending")  # on disk before it is sent
        item = NewMailbox(domain_uuid=domain_uuid, local_part=_local(address),
                          password=self.passwords[address], storage_gb=action.storage_gb)
        try:
            mailbox = await self.client.mailboxes.create_from(item)
        except ClubSMTPError as exc:
            if not is_ambiguous(exc):  # the server did not create it: the password is unused
                await self._password_status(address, "not-created")
            if type(exc) is not InvalidRequestError:
                raise
            found = _find(await self.client.mailboxes.list(domain_uuid),
                          lambda m: m.address.lower() == address)
            if found is None:
                raise
            self.mailboxes[address] = found.uuid
            raise _Skip("already exists (its password was not changed)", satisfied=True,
                        uuid=found.uuid) from None
        await self._password_status(address, "created")
        self.mailboxes[address] = mailbox.uuid
        return mailbox.uuid

    async def update_mailbox(self, action: UpdateMailbox) -> str | None:
        uuid = self.mailbox_uuid(action.uuid, action.address)
        try:
            await self.client.mailboxes.update(uuid, enabled=action.enabled,
                                               storage_gb=action.storage_gb)
        except NotFoundError:
            raise _Skip("the mailbox no longer exists", satisfied=False) from None
        return None

    async def delete_mailbox(self, action: DeleteMailbox) -> str | None:
        await self._delete(self.client.mailboxes.delete(action.uuid))
        return None

    async def add_entry(self, action: AddListEntry) -> str | None:
        uuid = self.mailbox_uuid(action.mailbox_uuid, action.address)
        sender_list = getattr(self.client.mailboxes, action.list)
        try:
            entry: ListEntry = await sender_list.add(uuid, pattern=action.pattern)
        except NotFoundError:
            raise
        except InvalidRequestError:
            entries: list[ListEntry] = await sender_list.list(uuid)
            found = _find(entries, lambda e: e.pattern.lower() == action.pattern)
            if found is None:
                raise
            raise _Skip("already listed", satisfied=True, uuid=found.uuid) from None
        return entry.uuid

    async def remove_entry(self, action: RemoveListEntry) -> str | None:
        sender_list = getattr(self.client.mailboxes, action.list)
        await self._delete(sender_list.remove(action.mailbox_uuid, action.entry_uuid),
                           gone="already removed")
        return None

    async def create_alias(self, action: CreateAlias | ReplaceAlias) -> str | None:
        domain_uuid = self.domain_uuid(action.domain_uuid, action.domain)
        uuids = self.target_uuids(action.forward_to)
        item = NewAlias(domain_uuid=domain_uuid, local_part=_local(action.address),
                        mailbox_uuids=uuids)
        try:
            alias = await self.client.aliases.create_from(item)
        except NotFoundError:
            raise
        except InvalidRequestError:
            found = _find(await self.client.aliases.list(),
                          lambda a: a.address.lower() == action.address)
            if found is None:
                raise
            if not _same_targets(found, uuids):
                raise _Skip("an alias with this address exists with other targets; plan again",
                            satisfied=False) from None
            raise _Skip("already exists", satisfied=True, uuid=found.uuid) from None
        return alias.uuid

    async def replace_alias(self, action: ReplaceAlias) -> str | None:
        with contextlib.suppress(NotFoundError):  # gone already: the create is what matters
            await self.client.aliases.delete(action.uuid)
        return await self.create_alias(action)

    async def delete_alias(self, action: DeleteAlias) -> str | None:
        await self._delete(self.client.aliases.delete(action.uuid))
        return None

    @staticmethod
    async def _delete(call: Awaitable[None], *, gone: str = "already gone") -> None:
        try:
            await call
        except NotFoundError:
            raise _Skip(gone, satisfied=True) from None


def _same_targets(alias: Alias, uuids: list[str]) -> bool:
    return {t.uuid.lower() for t in alias.forwarding_to} == {u.lower() for u in uuids}


class _Progress:
    """Counts per layer, for `ApplyProgress`."""

    def __init__(self, the_plan: Plan, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.totals = the_plan.layer_totals()
        self.layer_done = dict.fromkeys(self.totals, 0)
        self.total = len(the_plan.actions)
        self.done = self.failed = 0

    async def record(self, outcome: ActionOutcome) -> None:
        layer = outcome.action.layer
        self.layer_done[layer] += 1
        self.done += 1
        self.failed += outcome.status == "failed"
        _log(outcome)
        if self.callback is not None:
            await _maybe_await(self.callback(ApplyProgress(
                outcome, layer, self.layer_done[layer], self.totals[layer], self.done,
                self.total, self.failed,
            )))


def _log(outcome: ActionOutcome) -> None:
    what = outcome.action.describe()
    if outcome.status == "failed":
        logger.warning("failed: %s: %s: %s", what, type(outcome.error).__name__, outcome.error)
    elif outcome.status == "skipped":
        logger.info("skipped: %s: %s", what, outcome.reason)
    else:
        logger.info("done: %s", what)


async def apply(
    client: AsyncClient,
    target: Plan | TenantSpec,
    *,
    prune: bool = False,
    prune_domains: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: ProgressCallback | None = None,
    on_password: PasswordCallback | None = None,
    environ: Mapping[str, str] | None = None,
) -> ApplyReport:
    """Make the account match a spec (planning first), or execute a saved plan.

    Example:
        ```python
        report = await apply(client, load_tenant("tenant.toml"))
        print(report.counts)                       # {"done": 42, "failed": 0, "skipped": 0}
        for address, password in report.passwords.reveal():
            ...                                    # generated passwords, reported once
        ```

    Args:
        client: The client; its limiter paces every request.
        target: A spec (planned first, with `prune` and `prune_domains`) or a `Plan`
            (e.g. `Plan.load("plan.json")`), executed exactly as reviewed.
        prune: With a spec: delete undeclared mailboxes and aliases of its domains.
        prune_domains: With a spec: delete the account's undeclared domains.
        concurrency: At most this many actions in flight.
        on_progress: Called with an `ApplyProgress` after each action (may be async).
        on_password: Called with ``(address, password, status)`` for each generated
            password (see `PasswordCallback`), e.g. a `PasswordFile`, so that even a
            killed process loses none.
        environ: Where ``{ env = ... }`` password sources are read (default: `os.environ`).

    Returns:
        One outcome per action; an action's failure skips only what depends on it.

    Raises:
        PlanError: the spec conflicts with the account, or a password source is
            unusable — before anything is changed.
        PlanFileError: a saved plan made against another server, or inconsistent.
        ValidationError: for a bad `concurrency`, or prune flags with a saved plan.
        ClubSMTPError: reading the account (when planning) failed.

    """
    limit = run_options(concurrency)
    if isinstance(target, Plan):
        if prune or prune_domains:
            raise ValidationError(
                "prune and prune_domains belong to the plan: plan again with them"
            )
        target.check("this plan", base_url=client.base_url)
        the_plan = target
    elif isinstance(target, TenantSpec):
        the_plan = await plan(client, target, prune=prune, prune_domains=prune_domains)
    else:
        raise ValidationError(f"apply() takes a TenantSpec or a Plan, got {type(target).__name__}")
    passwords, generated = resolve_passwords(the_plan.actions, environ)
    executor = _Executor(client, the_plan, passwords, on_password, generated)
    progress = _Progress(the_plan, on_progress)
    outcomes: list[ActionOutcome] = []
    async with BulkStream(
        executor.run, lambda _: None, range(len(the_plan.actions)), concurrency=limit,
        on_progress=None, fail_fast=False,
    ) as stream:
        async for item in stream:
            outcome = item.unwrap()
            outcomes.append(outcome)
            await progress.record(outcome)
    outcomes.sort(key=lambda outcome: outcome.index)
    return ApplyReport(plan=the_plan, outcomes=outcomes,
                       passwords=kept_passwords(passwords, executor.statuses))


def kept_passwords(passwords: Mapping[str, str],
                   statuses: Mapping[str, PasswordStatus]) -> GeneratedPasswords:
    """The generated passwords worth keeping: created, or sent with no answer (pending)."""
    return GeneratedPasswords({address: (passwords[address], status)
                               for address, status in statuses.items()
                               if status != "not-created"})
