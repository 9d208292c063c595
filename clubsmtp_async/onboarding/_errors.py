"""What onboarding raises, beside the SDK's own errors.

The tree (all under `clubsmtp_async.ClubSMTPError`)::

    OnboardingError
    ├── TenantFileError (also a ValidationError) — a tenant file is not valid
    ├── PlanFileError (also a ValidationError) — a saved plan cannot be used
    └── PlanError — the desired state cannot be planned against the account

None of them is raised after a request that changes the account was sent:
they all come before anything is applied.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._errors import ClubSMTPError, ValidationError

__all__ = ["OnboardingError", "PlanError", "PlanFileError", "TenantFileError"]


class OnboardingError(ClubSMTPError):
    """Base of the onboarding errors."""


class TenantFileError(OnboardingError, ValidationError):
    """A tenant file (or spec) is not valid; nothing was sent.

    Attributes:
        source: The file (or ``<spec>`` for a spec built in code).
        location: Where in it: ``domains[0].mailboxes[3].storage_gb``, or ``line 7``.
        problem: What is wrong.

    """

    def __init__(self, source: str, location: str, problem: str) -> None:
        self.source = source
        self.location = location
        self.problem = problem
        where = f"{source}: {location}" if location else source
        super().__init__(f"{where}: {problem}")


class PlanFileError(OnboardingError, ValidationError):
    """A saved plan is damaged, of another version, or made for another server."""


class PlanError(OnboardingError):
    """The spec cannot be reached from the account as it is (e.g. an address in use).

    Attributes:
        problems: One sentence per problem found.

    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = "cannot plan" if count == 1 else f"cannot plan ({count} problems)"
        super().__init__(f"{head}: " + "; ".join(self.problems))
