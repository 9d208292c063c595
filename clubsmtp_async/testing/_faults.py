"""Fault injection: rules that make matching ``/v1`` requests slow or fail.

A rule is *matcher → reaction*. The matcher is a method (or ``*``) and a path
pattern with the scope syntax (``*`` matches anything, ``/`` included). The
reactions:

- `Latency` — wait a fixed time, or a random time in a range, before handling.
- `ErrorBefore` — answer an error (default 500 ``api_error``) without handling.
- `ErrorAfter` — handle the request (the object *is* created or changed), then
  answer the error instead of the real response: the ambiguous failure.
- `Drop` — close the connection without any response, after handling (default)
  or before it.
- `RateLimit` — answer 429 ``rate_limit_error`` with ``Retry-After``.

Each rule fires on every match, or with `probability`, and expires after
`times` firings. For one request, every matching latency rule fires (delays
add up) and then at most one other rule: the first in insertion order that
fires. Faults apply after authentication, scopes and the rate limit, so a
faulted request has used rate budget, as a real server failure would.

All randomness comes from one ``random.Random(seed)``: the same seed and the
same sequence of requests give the same faults.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._rules import matches_pattern

__all__ = [
    "Drop",
    "ErrorAfter",
    "ErrorBefore",
    "FaultInjector",
    "FaultPlan",
    "FaultRule",
    "Latency",
    "MAX_LATENCY",
    "MAX_RETRY_AFTER",
    "RateLimit",
    "Reaction",
]

MAX_LATENCY = 3600.0
"""The longest latency a rule may add, in seconds."""
MAX_RETRY_AFTER = 86_400
"""The longest ``Retry-After`` an injected 429 may give, in seconds."""


def _number(value: object, low: float, high: float) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float))
            and math.isfinite(value) and low <= value <= high)


@dataclass(frozen=True)
class Latency:
    """Delay the request by `seconds`, or by a uniform random time up to `max_seconds`."""

    seconds: float
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        highest = self.seconds if self.max_seconds is None else self.max_seconds
        if not (_number(self.seconds, 0, MAX_LATENCY) and _number(highest, self.seconds,
                                                                  MAX_LATENCY)):
            raise ValueError(f"latency needs 0 <= seconds <= max_seconds <= {MAX_LATENCY:g}")


@dataclass(frozen=True)
class ErrorBefore:
    """Answer an error without handling the request.

    Attributes:
        status: The HTTP status (400-599).
        message: The error message of the envelope.
        type: The error type of the envelope.
        body: A raw body to send instead of the JSON envelope (e.g. an HTML
            page from a proxy), with `content_type`.
        content_type: The content type of a raw `body`.

    """

    status: int = 500
    message: str = "Internal server error."
    type: str = "api_error"
    body: str | None = None
    content_type: str = "text/html; charset=utf-8"

    def __post_init__(self) -> None:
        if isinstance(self.status, bool) or not isinstance(self.status, int) or not (
            400 <= self.status <= 599
        ):
            raise ValueError("an error status must be an integer in 400..599")
        if not isinstance(self.message, str) or not isinstance(self.type, str):
            raise ValueError("an error's message and type must be strings")
        if self.body is not None and not isinstance(self.body, str):
            raise ValueError("an error's body must be a string")
        if not isinstance(self.content_type, str) or not all(
            " " <= ch <= "~" for ch in self.content_type
        ):
            raise ValueError("content_type must be printable ASCII")


@dataclass(frozen=True)
class ErrorAfter(ErrorBefore):
    """Handle the request, then answer an error instead of its response."""


@dataclass(frozen=True)
class Drop:
    """Close the connection without a response, after handling the request by default."""

    after_processing: bool = True


@dataclass(frozen=True)
class RateLimit:
    """Answer 429 ``rate_limit_error`` with ``Retry-After: retry_after``."""

    retry_after: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.retry_after, bool) or not isinstance(self.retry_after, int) or not (
            0 <= self.retry_after <= MAX_RETRY_AFTER
        ):
            raise ValueError(f"retry_after must be an integer in 0..{MAX_RETRY_AFTER}")


Reaction = Latency | ErrorBefore | ErrorAfter | Drop | RateLimit

_KINDS: dict[str, type[Any]] = {
    "latency": Latency,
    "error_before": ErrorBefore,
    "error_after": ErrorAfter,
    "drop": Drop,
    "rate_limit": RateLimit,
}


def _kind(reaction: Reaction) -> str:
    return next(name for name, cls in _KINDS.items() if type(reaction) is cls)


@dataclass
class FaultRule:
    """A registered rule and how often it fired.

    Attributes:
        id: Identifier for removal (``fault_1``, ``fault_2``, ...).
        method: HTTP method or ``*``.
        path: Path pattern (``*`` wildcards).
        reaction: What happens when it fires.
        times: Firings left before the rule expires (None: unlimited).
        probability: Chance of firing per matching request (None: always).
        fired: How many times it fired so far.

    """

    id: str
    method: str
    path: str
    reaction: Reaction
    times: int | None = None
    probability: float | None = None
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether the rule's matcher covers this request."""
        return self.method in ("*", method.upper()) and matches_pattern(self.path, path)

    def to_json(self) -> dict[str, Any]:
        """The rule as the admin API shows it."""
        reaction = {k: v for k, v in vars(self.reaction).items() if v is not None}
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "kind": _kind(self.reaction),
            **reaction,
            "times": self.times,
            "probability": self.probability,
            "fired": self.fired,
        }


@dataclass
class FaultPlan:
    """What to do to one request: total latency, then at most one outcome."""

    latency: float = 0.0
    outcome: ErrorBefore | Drop | RateLimit | None = None
    fired: list[str] = field(default_factory=list)


class FaultInjector:
    """The fault rules of one emulator.

    Args:
        seed: Seed of the random generator (None: unpredictable).

    """

    def __init__(self, seed: int | str | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self.reseed(seed)

    def reseed(self, seed: int | str | None) -> None:
        """Restart the random sequence from `seed`."""
        self._rng = random.Random(None if seed is None else f"faults:{seed}")  # noqa: S311

    @property
    def rules(self) -> list[FaultRule]:
        """The active rules, in insertion order."""
        return list(self._rules)

    def add(
        self,
        method: str,
        path: str,
        reaction: Reaction,
        *,
        times: int | None = None,
        probability: float | None = None,
    ) -> FaultRule:
        """Register a rule.

        Example:
            >>> injector = FaultInjector(seed=1)
            >>> rule = injector.add("POST", "/v1/mailboxes", ErrorAfter(), times=1)

        Args:
            method: HTTP method or ``*``.
            path: Path pattern, e.g. ``/v1/mailboxes`` or ``/v1/mailboxes/*``.
            reaction: One of `Latency`, `ErrorBefore`, `ErrorAfter`, `Drop`, `RateLimit`.
            times: Expire after this many firings (>= 1); None for unlimited.
            probability: Fire with this chance (0..1); None for always.

        Returns:
            The rule, whose `id` can be passed to `remove`.

        Raises:
            ValueError: on an invalid `times` or `probability`.

        """
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)
                                  or times < 1):
            raise ValueError("times must be an integer of at least 1")
        if probability is not None and not _number(probability, 0.0, 1.0):
            raise ValueError("probability must be between 0 and 1")
        if not isinstance(method, str) or not isinstance(path, str):
            raise ValueError("method and path must be strings")
        if not (path == "*" or path.startswith("/")):
            raise ValueError("a fault path must be * or start with /")
        if not isinstance(reaction, tuple(_KINDS.values())):
            raise TypeError(f"not a fault reaction: {reaction!r}")
        rule = FaultRule(f"fault_{next(self._ids)}", method.upper(), path, reaction, times,
                         probability)
        self._rules.append(rule)
        return rule

    def add_json(self, spec: Mapping[str, Any]) -> FaultRule:
        """Register a rule from its JSON form (see the admin API docs).

        Raises:
            ValueError: if the spec is malformed.

        """
        from ._admin_schema import fault_rule, reaction_of  # that module imports this one

        rule = fault_rule(spec)
        return self.add(rule.method, rule.path, reaction_of(rule), times=rule.times,
                        probability=rule.probability)

    def remove(self, rule_id: str) -> bool:
        """Remove a rule by id; returns whether it existed."""
        before = len(self._rules)
        self._rules = [rule for rule in self._rules if rule.id != rule_id]
        return len(self._rules) != before

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def _fires(self, rule: FaultRule) -> bool:
        if rule.probability is not None and self._rng.random() >= rule.probability:
            return False
        rule.fired += 1
        if rule.times is not None:
            rule.times -= 1
        return True

    def plan(self, method: str, path: str) -> FaultPlan:
        """Decide the faults for one request, consuming the rules that fire."""
        plan = FaultPlan()
        for rule in self._rules:
            is_latency = isinstance(rule.reaction, Latency)
            if (plan.outcome is not None and not is_latency) or not rule.matches(method, path):
                continue
            if not self._fires(rule):
                continue
            plan.fired.append(rule.id)
            if isinstance(rule.reaction, Latency):
                plan.latency += self._delay(rule.reaction)
            else:
                plan.outcome = rule.reaction
        self._rules = [rule for rule in self._rules if rule.times != 0]
        return plan

    def _delay(self, latency: Latency) -> float:
        if latency.max_seconds is None:
            return latency.seconds
        return self._rng.uniform(latency.seconds, latency.max_seconds)
