"""`plan()`: read the account, diff it against the spec, and describe what apply will do.

A `Plan` is a frozen struct that round-trips through JSON, so the plan a person
reviewed is exactly what ``apply`` of the saved file executes. It carries the
request count and the time those requests take at the client's rate: onboarding
is rate-bound, and the key's ceiling is its physical limit.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import msgspec

from ._actions import (
    LAYERS,
    Action,
    AddListEntry,
    CreateAlias,
    CreateDomain,
    CreateMailbox,
    ReplaceAlias,
    UpdateMailbox,
)
from ._diff import diff, managed_lists
from ._errors import PlanError, PlanFileError
from ._live import read_account
from ._spec import TenantSpec

if TYPE_CHECKING:
    from .._client import AsyncClient

__all__ = ["PLAN_FORMAT", "PLAN_VERSION", "Plan", "PlanSummary", "client_rate", "eta_text", "plan"]

PLAN_FORMAT = "clubsmtp-plan"
PLAN_VERSION = 1

_VERB = {"+": "create", "~": "update", "-/+": "replace", "-": "delete"}


class PlanSummary(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Counts of a plan's actions.

    Attributes:
        create: Objects and list entries to create.
        update: Mailboxes to change.
        replace: Aliases to delete and create again with other targets.
        delete: Objects and list entries to delete.
        by_action: Count per action kind (``create_mailbox``, ...).

    """

    create: int = 0
    update: int = 0
    replace: int = 0
    delete: int = 0
    by_action: dict[str, int] = {}

    @classmethod
    def of(cls, actions: tuple[Action, ...]) -> PlanSummary:
        """The counts of these actions."""
        verbs = Counter(_VERB[action.symbol] for action in actions)
        kinds = Counter(_tag(action) for action in actions)
        return cls(by_action=dict(sorted(kinds.items())), **verbs)

    @property
    def total(self) -> int:
        """All changes."""
        return self.create + self.update + self.replace + self.delete


def _unresolved(actions: tuple[Action, ...], action: Action) -> str | None:
    """What the action needs without a UUID and that none of its dependencies creates."""
    created = set()
    for dep in action.depends_on:
        made = actions[dep]
        if isinstance(made, CreateDomain):
            created.add(made.name)
        elif isinstance(made, CreateMailbox):
            created.add(made.address)
    needed: list[str] = []
    if isinstance(action, (CreateMailbox, CreateAlias)) and action.domain_uuid is None:
        needed.append(action.domain)
    if isinstance(action, UpdateMailbox) and action.uuid is None:
        needed.append(action.address)
    if isinstance(action, AddListEntry) and action.mailbox_uuid is None:
        needed.append(action.address)
    if isinstance(action, (CreateAlias, ReplaceAlias)):
        needed.extend(t.address for t in action.forward_to if t.uuid is None)
    return next((name for name in needed if name not in created), None)


def _tag(action: Action) -> str:
    tag = type(action).__struct_config__.tag
    assert isinstance(tag, str)  # every action declares its tag
    return tag


def client_rate(client: AsyncClient) -> float | None:
    """The client's pace in requests per minute, when its limiter has one."""
    rate = getattr(client.limiter, "requests_per_minute", None)
    if isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate > 0:
        return float(rate)
    return None


class Plan(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What `apply` will do, in order, and what it will cost.

    Attributes:
        actions: The actions in dependency order (indices are stable).
        summary: Counts per kind of change.
        requests: Requests `apply` sends when nothing fails.
        read_requests: Requests `plan` took to read the account.
        requests_per_minute: The rate the estimate assumes (None: unpaced).
        estimated_seconds: ``requests`` at that rate (None: unpaced).
        base_url: The API the plan was made against; apply refuses another.
        prune: Whether undeclared mailboxes and aliases are deleted.
        prune_domains: Whether undeclared domains are deleted.
        created_at: When the plan was made (UTC).

    """

    actions: tuple[Action, ...]
    summary: PlanSummary
    requests: int
    read_requests: int
    requests_per_minute: float | None
    estimated_seconds: float | None
    base_url: str
    prune: bool = False
    prune_domains: bool = False
    created_at: datetime
    format: Literal["clubsmtp-plan"] = "clubsmtp-plan"
    version: int = PLAN_VERSION

    @classmethod
    def build(
        cls,
        actions: list[Action],
        *,
        base_url: str,
        read_requests: int,
        requests_per_minute: float | None,
        prune: bool = False,
        prune_domains: bool = False,
    ) -> Plan:
        """A plan of these actions, with its summary, request count and estimate."""
        frozen = tuple(actions)
        requests = sum(action.requests for action in frozen)
        eta = None if requests_per_minute is None else requests * 60.0 / requests_per_minute
        return cls(
            actions=frozen, summary=PlanSummary.of(frozen), requests=requests,
            read_requests=read_requests, requests_per_minute=requests_per_minute,
            estimated_seconds=eta, base_url=base_url, prune=prune, prune_domains=prune_domains,
            created_at=datetime.now(timezone.utc),
        )

    @property
    def has_changes(self) -> bool:
        """True unless the account already matches the spec."""
        return bool(self.actions)

    def layer_totals(self) -> dict[str, int]:
        """Actions per layer, in `LAYERS` order (layers with none included)."""
        counts = Counter(action.layer for action in self.actions)
        return {layer: counts.get(layer, 0) for layer in LAYERS}

    def to_json(self) -> bytes:
        """The plan as JSON (no password: only where each comes from)."""
        return msgspec.json.format(msgspec.json.encode(self), indent=2) + b"\n"

    @classmethod
    def from_json(cls, data: bytes | str, *, source: str = "<plan>") -> Plan:
        """A plan from its JSON.

        Raises:
            PlanFileError: if it is not a plan of this version, or is inconsistent.

        """
        try:
            raw = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise PlanFileError(f"{source}: not valid JSON: {exc}") from None
        except RecursionError:
            raise PlanFileError(f"{source}: not a saved plan: nested too deeply") from None
        if not isinstance(raw, dict) or raw.get("format") != PLAN_FORMAT:
            raise PlanFileError(f"{source}: not a saved plan (no \"format\": \"{PLAN_FORMAT}\")")
        if raw.get("version") != PLAN_VERSION:
            raise PlanFileError(f"{source}: plan version {raw.get('version')!r} is not "
                                f"supported (this version reads {PLAN_VERSION}); plan again")
        try:
            loaded = msgspec.convert(raw, cls)
        except msgspec.ValidationError as exc:
            raise PlanFileError(f"{source}: damaged plan: {exc}") from None
        except RecursionError:
            raise PlanFileError(f"{source}: damaged plan: nested too deeply") from None
        loaded.check(source)
        return loaded

    def check(self, source: str = "<plan>", *, base_url: str | None = None) -> None:
        """Refuse a plan whose dependencies or counts do not add up (e.g. edited by hand).

        Args:
            source: What to call the plan in messages.
            base_url: Also refuse a plan made against another API than this one.

        Raises:
            PlanFileError: naming the first inconsistency.

        """
        if base_url is not None and self.base_url != base_url:
            raise PlanFileError(
                f"{source} was made against {self.base_url}, but the client talks to "
                f"{base_url}; plan again against this server"
            )
        for index, action in enumerate(self.actions):
            if any(not 0 <= dep < index for dep in action.depends_on):
                raise PlanFileError(f"{source}: action {index} depends on a later action")
            missing = _unresolved(self.actions, action)
            if missing is not None:
                raise PlanFileError(f"{source}: action {index} ({action.describe()}) needs "
                                    f"{missing}, which no action it depends on creates")
        if self.requests != sum(action.requests for action in self.actions):
            raise PlanFileError(f"{source}: the request count does not match the actions")
        if self.summary != PlanSummary.of(self.actions):
            raise PlanFileError(f"{source}: the summary does not match the actions")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the plan to a JSON file."""
        Path(path).write_bytes(self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Plan:
        """Read a plan saved with `save`.

        Raises:
            PlanFileError: if the file cannot be read or is not a usable plan.

        """
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise PlanFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
        return cls.from_json(data, source=str(path))

    def __repr__(self) -> str:
        eta = "unpaced" if self.estimated_seconds is None else f"~{self.estimated_seconds:.0f}s"
        return (f"<Plan {len(self.actions)} action(s): +{self.summary.create} "
                f"~{self.summary.update} -/+{self.summary.replace} -{self.summary.delete}, "
                f"{self.requests} request(s), {eta}>")


async def plan(
    client: AsyncClient, spec: TenantSpec, *, prune: bool = False, prune_domains: bool = False
) -> Plan:
    """Compare the account with a spec and return the actions that reconcile them.

    Reads the account with the fewest requests: the domains, the mailboxes and
    the aliases (three requests), then a mailbox's whitelist or blacklist only
    when the mailbox exists and the spec manages that list.

    Example:
        ```python
        spec = load_tenant("tenant.toml")
        p = await plan(client, spec)
        print(p.summary, p.requests, p.estimated_seconds)
        ```

    Args:
        client: The client (its limiter paces the reads and sets the estimate).
        spec: The desired state, e.g. from `load_tenant`.
        prune: Also delete the mailboxes and aliases of the spec's domains that
            the spec does not declare.
        prune_domains: Also delete the account's domains that the spec does not
            declare, with everything on them.

    Returns:
        The plan; ``plan.has_changes`` is False when the account matches.

    Raises:
        PlanError: if the spec conflicts with the account (e.g. an address in use).
        ClubSMTPError: if reading the account failed.

    """
    from ._check import check_tenant

    checked = check_tenant(spec, check_sources=False)  # apply resolves the passwords
    if prune_domains and not checked.domains:
        raise PlanError(["the spec declares no domain: with prune_domains it would delete "
                         "every domain of the account, so it is refused"])
    live = await read_account(client, managed_lists(checked))
    actions = diff(checked, live, prune=prune, prune_domains=prune_domains)
    return Plan.build(
        actions, base_url=client.base_url, read_requests=live.reads,
        requests_per_minute=client_rate(client), prune=prune, prune_domains=prune_domains,
    )


def eta_text(seconds: float | None) -> str:
    """A duration for people: ``42 s``, ``17 min``, ``2.5 h`` (``unpaced`` for None)."""
    if seconds is None:
        return "unpaced"
    if seconds < 90:
        return f"{math.ceil(seconds)} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
