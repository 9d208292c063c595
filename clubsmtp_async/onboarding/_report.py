"""What `apply` gives back: one outcome per action, progress events, the report.

Nothing here does I/O. The report serialises to JSON; generated passwords go
into it only when asked (``to_json(include_passwords=True)``), and never into
``repr()``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from .._errors import APIStatusError, ClubSMTPError
from ._actions import LAYERS, Action
from ._passwords import GeneratedPasswords
from ._plan import Plan

__all__ = [
    "ActionOutcome",
    "ApplyProgress",
    "ApplyReport",
    "OutcomeStatus",
    "ProgressCallback",
    "error_json",
]

OutcomeStatus = Literal["done", "failed", "skipped"]


@dataclass(frozen=True)
class ActionOutcome:
    """What became of one action.

    Attributes:
        index: The action's index in the plan.
        action: The action.
        status: ``done``; ``failed`` (see `error`); or ``skipped`` (see `reason`).
        reason: Why it was skipped, or what else is worth knowing.
        error: The typed error of a failed action.
        satisfied: True when the action's goal holds afterwards: done, or skipped
            because it already held (e.g. the object already existed). Actions
            that depend on it run only if it is satisfied.
        uuid: The UUID of the object created, when there is one.

    """

    index: int
    action: Action
    status: OutcomeStatus
    reason: str | None = None
    error: Exception | None = None
    satisfied: bool = False
    uuid: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The outcome as plain JSON values."""
        out: dict[str, Any] = {
            "index": self.index,
            "action": msgspec.to_builtins(self.action),
            "status": self.status,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        if self.error is not None:
            out["error"] = error_json(self.error)
        if self.uuid is not None:
            out["uuid"] = self.uuid
        return out


def error_json(error: BaseException) -> dict[str, Any]:
    """An error as JSON: its class, message and HTTP status when it has one.

    The SDK's messages never contain a secret (see `clubsmtp_async._errors`).
    """
    out: dict[str, Any] = {"type": type(error).__name__}
    out["message"] = str(error) if isinstance(error, ClubSMTPError) else type(error).__name__
    if isinstance(error, APIStatusError):
        out["status_code"] = error.status_code
    return out


@dataclass(frozen=True)
class ApplyProgress:
    """How far an apply is, passed to ``on_progress`` after each action.

    Attributes:
        outcome: The action that just finished.
        layer: Its layer (one of `LAYERS`).
        layer_done: Actions of that layer finished so far.
        layer_total: Actions of that layer in the plan.
        done: Actions finished so far (all layers).
        total: Actions in the plan.
        failed: Actions failed so far.

    """

    outcome: ActionOutcome
    layer: str
    layer_done: int
    layer_total: int
    done: int
    total: int
    failed: int


ProgressCallback = Callable[[ApplyProgress], "Awaitable[None] | None"]
"""``on_progress``: a plain function, or a coroutine function (awaited)."""


@dataclass
class ApplyReport:
    """The result of an apply: one outcome per action of its plan.

    Attributes:
        plan: The plan that was applied.
        outcomes: One per action, in plan order.
        passwords: The generated passwords of the mailboxes this apply created, or
            may have created (hidden from ``repr()``; read with ``passwords.reveal()``).

    """

    plan: Plan
    outcomes: list[ActionOutcome] = field(default_factory=list)
    passwords: GeneratedPasswords = field(default_factory=GeneratedPasswords)

    @property
    def counts(self) -> dict[str, int]:
        """``{"done": n, "failed": n, "skipped": n}``."""
        counts = Counter(outcome.status for outcome in self.outcomes)
        return {status: counts.get(status, 0) for status in ("done", "failed", "skipped")}

    @property
    def ok(self) -> bool:
        """True when every action of the plan ended satisfied (nothing failed or was blocked)."""
        return len(self.outcomes) == len(self.plan.actions) and all(
            outcome.satisfied for outcome in self.outcomes
        )

    @property
    def failed(self) -> list[ActionOutcome]:
        """The failed actions."""
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    @property
    def complete(self) -> bool:
        """True when every action has an outcome (False after an interruption)."""
        return len(self.outcomes) == len(self.plan.actions)

    def layer_counts(self) -> dict[str, dict[str, int]]:
        """Per layer, the counts of each status."""
        table = {layer: {"done": 0, "failed": 0, "skipped": 0} for layer in LAYERS}
        for outcome in self.outcomes:
            table[outcome.action.layer][outcome.status] += 1
        return table

    def to_json(self, *, include_passwords: bool = False) -> dict[str, Any]:
        """The report as plain JSON values.

        Args:
            include_passwords: Put the generated passwords in (``"passwords":
                [{"address", "password", "status"}]``, status ``created``, or
                ``pending`` when the create's answer never came). Only for output
                that goes to a safe place, such as a file created 0600.

        """
        out: dict[str, Any] = {
            "ok": self.ok,
            "complete": self.complete,
            "counts": self.counts,
            "actions": len(self.plan.actions),
            "outcomes": [outcome.to_json() for outcome in self.outcomes],
            "generated_passwords": len(self.passwords),
        }
        if include_passwords:
            out["passwords"] = self.passwords.to_json()
        return out

    def __repr__(self) -> str:
        counts = self.counts
        return (f"<ApplyReport done={counts['done']} failed={counts['failed']} "
                f"skipped={counts['skipped']} of {len(self.plan.actions)}, {self.passwords!r}>")
